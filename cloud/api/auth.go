package api

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"connectrpc.com/connect"

	"github.com/chargeplane/chargeplane/cloud/site"
)

// edgeAuth authenticates every call of the edge-facing SyncService: the
// caller sends its edge credential as "Authorization: Bearer <credential>"
// (RFC 6750 section 2.1), the credential must be the current one of a
// non-revoked edge, and the request's edge_id must be that edge. Handlers
// find the edge with authenticatedEdge. It is the one place SyncService
// authentication happens.
type edgeAuth struct {
	site *site.Store
}

type edgeKey struct{}

// authenticatedEdge returns the edge edgeAuth let through.
func authenticatedEdge(ctx context.Context) (site.Edge, error) {
	e, ok := ctx.Value(edgeKey{}).(site.Edge)
	if !ok {
		// A handler mounted without edgeAuth: a wiring bug, not the caller's.
		return site.Edge{}, errors.New("no authenticated edge in the context")
	}
	return e, nil
}

// edgeRequest is what every SyncService request has.
type edgeRequest interface{ GetEdgeId() string }

func (a *edgeAuth) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		cred, err := bearer(req.Header().Get("Authorization"))
		if err != nil {
			return nil, err
		}
		edge, err := a.site.Authenticate(ctx, cred)
		if err != nil {
			return nil, err
		}
		msg, ok := req.Any().(edgeRequest)
		if !ok {
			return nil, fmt.Errorf("edge auth: %s: request has no edge_id", req.Spec().Procedure)
		}
		if err := checkID("edge_id", msg.GetEdgeId(), true); err != nil {
			return nil, err
		}
		if msg.GetEdgeId() != edge.ID {
			return nil, &authError{denied: true, msg: fmt.Sprintf("the credential is edge %q's; it cannot act for edge %q", edge.ID, msg.GetEdgeId())}
		}
		return next(context.WithValue(ctx, edgeKey{}, edge), req)
	}
}

// WrapStreamingClient leaves clients alone: edgeAuth is a handler option.
func (a *edgeAuth) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler refuses every streaming call: SyncService has none,
// and one added later must not slip past authentication.
func (a *edgeAuth) WrapStreamingHandler(connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(context.Context, connect.StreamingHandlerConn) error {
		return connect.NewError(connect.CodeUnauthenticated, &authError{msg: "streaming calls are not authenticated for edges"})
	}
}

// bearer returns the credential of an Authorization header.
func bearer(header string) (string, error) {
	if header == "" {
		return "", &authError{msg: "missing credential: send the edge credential as \"Authorization: Bearer <credential>\""}
	}
	scheme, cred, _ := strings.Cut(header, " ")
	// The scheme is case-insensitive (RFC 7235 section 2.1).
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(cred) == "" {
		return "", &authError{msg: "Authorization header: want \"Bearer <edge credential>\""}
	}
	return strings.TrimSpace(cred), nil
}
