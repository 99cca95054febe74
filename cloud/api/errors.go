package api

import (
	"context"
	"errors"
	"log/slog"

	"connectrpc.com/connect"
)

// FieldError reports a request field whose value is invalid. Its text names
// the field and says what is expected; it is written for clients and holds
// nothing internal.
type FieldError struct {
	Field  string
	Reason string
}

// Error returns "field: reason", the text clients see.
func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// connectError is the one place where an error returned by a handler becomes
// a Connect error. Anything it does not recognise is logged with the request
// id and answered with a generic CodeInternal, so no internal detail reaches
// the client.
func connectError(ctx context.Context, logger *slog.Logger, procedure string, err error) *connect.Error {
	var (
		field *FieldError
		cerr  *connect.Error
	)
	switch {
	case errors.As(err, &field):
		return connect.NewError(connect.CodeInvalidArgument, field)
	case errors.As(err, &cerr):
		// Already a Connect error: produced by connect itself (a malformed
		// request) or by the panic handler, which logged it.
		return cerr
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, errors.New("request canceled"))
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("deadline exceeded"))
	default:
		logger.ErrorContext(ctx, "request failed", "procedure", procedure, "request_id", RequestID(ctx), "err", err)
		return connect.NewError(connect.CodeInternal, errors.New("internal error"))
	}
}
