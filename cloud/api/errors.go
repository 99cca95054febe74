package api

import (
	"context"
	"errors"
	"log/slog"

	"connectrpc.com/connect"

	"github.com/chargeplane/chargeplane/cloud/access"
	"github.com/chargeplane/chargeplane/cloud/command"
	"github.com/chargeplane/chargeplane/cloud/identity"
	"github.com/chargeplane/chargeplane/cloud/live"
	"github.com/chargeplane/chargeplane/cloud/site"
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

// authError refuses a caller: Unauthenticated (no or a bad credential) or,
// when denied is set, PermissionDenied (a good credential used for what it
// does not cover). Its text is for clients.
type authError struct {
	denied bool
	msg    string
}

func (e *authError) Error() string { return e.msg }

// connectError is the one place where an error returned by a handler becomes
// a Connect error. Anything it does not recognise is logged with the request
// id and answered with a generic CodeInternal, so no internal detail reaches
// the client.
func connectError(ctx context.Context, logger *slog.Logger, procedure string, err error) *connect.Error {
	var (
		field   *FieldError
		invalid *site.InvalidError
		idInput *identity.InvalidError
		auth    *authError
		limited *rateLimitError
		cerr    *connect.Error
	)
	switch {
	case errors.As(err, &field):
		return connect.NewError(connect.CodeInvalidArgument, field)
	case errors.As(err, &invalid):
		return connect.NewError(connect.CodeInvalidArgument, invalid)
	case errors.As(err, &idInput):
		return connect.NewError(connect.CodeInvalidArgument, idInput)
	case errors.As(err, &limited):
		return rateLimitedError(limited)
	// Errors wrapping the access and identity sentinels are written for
	// clients: they name the procedure, role, tenant or ids the caller
	// gave, never a secret or an internal detail.
	case errors.Is(err, access.ErrUnauthenticated), errors.Is(err, identity.ErrBadCredentials):
		return connect.NewError(connect.CodeUnauthenticated, err)
	case errors.Is(err, access.ErrDenied), errors.Is(err, identity.ErrDisabled):
		return connect.NewError(connect.CodePermissionDenied, err)
	case errors.Is(err, identity.ErrLocked):
		return connect.NewError(connect.CodeResourceExhausted, err)
	case errors.Is(err, identity.ErrEmailNotVerified):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, identity.ErrInvalidToken):
		return connect.NewError(connect.CodeInvalidArgument, err)
	case errors.Is(err, identity.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, identity.ErrAlreadyExists):
		return connect.NewError(connect.CodeAlreadyExists, err)
	case errors.As(err, &auth) && auth.denied:
		return connect.NewError(connect.CodePermissionDenied, auth)
	case errors.As(err, &auth):
		return connect.NewError(connect.CodeUnauthenticated, auth)
	case errors.Is(err, site.ErrInvalidCredential), errors.Is(err, site.ErrRevoked):
		// The text names at most the edge the credential claims to be.
		return connect.NewError(connect.CodeUnauthenticated, err)
	case errors.Is(err, site.ErrNotFound):
		// Errors wrapping these carry operation names and the ids the
		// caller gave, nothing internal (see site's sentinels).
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, site.ErrAlreadyExists):
		return connect.NewError(connect.CodeAlreadyExists, err)
	case errors.Is(err, command.ErrNotFound), errors.Is(err, live.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, live.ErrSlowSubscriber), errors.Is(err, live.ErrFeedLost), errors.Is(err, live.ErrClosed):
		// The stream ended on the server's side; the client reconnects
		// and reads the current state with ListConnectorStatus.
		return connect.NewError(connect.CodeUnavailable, err)
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
