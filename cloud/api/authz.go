package api

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/chargeplane/chargeplane/cloud/access"
	"github.com/chargeplane/chargeplane/cloud/identity"
)

// RateLimits bound the calls of one subject per minute, counted in Redis so
// that every replica shares the count. Zero or less means no limit.
type RateLimits struct {
	// UserPerMinute limits each user's login session.
	UserPerMinute int
	// KeyPerMinute limits each API key.
	KeyPerMinute int
	// PublicPerMinute limits the public procedures (login, registration,
	// password reset) per client IP address.
	PublicPerMinute int
}

// rateWindow is the fixed window the limits count in.
const rateWindow = time.Minute

// authz is the one interceptor in front of every operator service: it
// authenticates the bearer token (a login session or an API key) into an
// access.Principal in the context, checks the procedure's rule, and applies
// the caller's rate limit. Handlers take the caller from access.Caller.
type authz struct {
	ident  *identity.Store
	policy access.Policy
	limits RateLimits
	logger *slog.Logger
}

// rateLimitError refuses a call over its subject's limit; its text is for
// clients.
type rateLimitError struct {
	subject    string
	retryAfter time.Duration
}

func (e *rateLimitError) Error() string {
	return fmt.Sprintf("rate limit exceeded for %s: retry after %ds", e.subject, e.retrySeconds())
}

// retrySeconds rounds up so that a client waiting that long is let in.
func (e *rateLimitError) retrySeconds() int64 {
	return int64((e.retryAfter + time.Second - 1) / time.Second)
}

// authorize decides one call and returns the context the handler runs in.
func (a *authz) authorize(ctx context.Context, procedure string, header string, peer connect.Peer) (context.Context, error) {
	rule, known := a.policy[procedure]
	if known && rule.Public {
		// A stale token must not stop a login, so public calls ignore it.
		return ctx, a.limit(ctx, "ip:"+peerIP(peer), a.limits.PublicPerMinute)
	}
	var caller *access.Principal
	if header != "" {
		token, err := bearerToken(header)
		if err != nil {
			return ctx, err
		}
		p, err := a.ident.Authenticate(ctx, token)
		if err != nil {
			return ctx, err
		}
		caller = &p
	}
	if err := a.policy.Check(procedure, caller); err != nil {
		return ctx, err
	}
	limit := a.limits.UserPerMinute
	if caller.APIKeyID != "" {
		limit = a.limits.KeyPerMinute
	}
	if err := a.limit(ctx, caller.Subject(), limit); err != nil {
		return ctx, err
	}
	return access.WithPrincipal(ctx, *caller), nil
}

// limit counts one call of subject against limit per rateWindow.
func (a *authz) limit(ctx context.Context, subject string, limit int) error {
	if limit <= 0 {
		return nil
	}
	ok, retry, err := a.ident.Allow(ctx, subject, limit, rateWindow)
	if err != nil {
		return err
	}
	if !ok {
		return &rateLimitError{subject: subject, retryAfter: retry}
	}
	return nil
}

func (a *authz) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		ctx, err := a.authorize(ctx, req.Spec().Procedure, req.Header().Get("Authorization"), req.Peer())
		if err != nil {
			// The observing interceptor outside this one maps the error.
			return nil, err
		}
		return next(ctx, req)
	}
}

// WrapStreamingClient leaves clients alone: authz is a handler option.
func (a *authz) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler authorizes streaming calls (LiveService.Watch) the
// same way; no unary interceptor sees them, so it maps its own errors.
func (a *authz) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		procedure := conn.Spec().Procedure
		ctx, err := a.authorize(ctx, procedure, conn.RequestHeader().Get("Authorization"), conn.Peer())
		if err != nil {
			return connectError(ctx, a.logger, procedure, err)
		}
		return next(ctx, conn)
	}
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// header (RFC 6750 section 2.1; the scheme is case-insensitive, RFC 7235
// section 2.1).
func bearerToken(header string) (string, error) {
	scheme, token, _ := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", fmt.Errorf("authorization header: want \"Bearer <session token or API key>\": %w", access.ErrUnauthenticated)
	}
	return token, nil
}

// peerIP is the client's address without the port: a client opening many
// connections still counts once.
func peerIP(p connect.Peer) string {
	host, _, err := net.SplitHostPort(p.Addr)
	if err != nil {
		return p.Addr
	}
	return host
}

// rateLimitedError is the Connect error of a call over its limit: the
// Retry-After header (RFC 9110 section 10.2.3) says when to come back.
func rateLimitedError(e *rateLimitError) *connect.Error {
	cerr := connect.NewError(connect.CodeResourceExhausted, e)
	cerr.Meta().Set("Retry-After", strconv.FormatInt(e.retrySeconds(), 10))
	return cerr
}
