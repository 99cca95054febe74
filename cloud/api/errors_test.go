package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/chargeplane/chargeplane/cloud/access"
	"github.com/chargeplane/chargeplane/cloud/fleet"
	"github.com/chargeplane/chargeplane/cloud/identity"
	"github.com/chargeplane/chargeplane/cloud/ledger"
	"github.com/chargeplane/chargeplane/cloud/site"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

func TestConnectError(t *testing.T) {
	t.Parallel()
	secret := errors.New("dial tcp 10.0.0.7:5432: password authentication failed for user cp")
	tests := []struct {
		name     string
		err      error
		wantCode connect.Code
		wantMsg  string
		wantLog  bool
	}{
		{"field error", fmt.Errorf("list: %w", &FieldError{Field: "page_size", Reason: "too big"}), connect.CodeInvalidArgument, "page_size: too big", false},
		{"connect error passes through", connect.NewError(connect.CodeNotFound, errors.New("gone")), connect.CodeNotFound, "gone", false},
		{"canceled", fmt.Errorf("query: %w", context.Canceled), connect.CodeCanceled, "request canceled", false},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), connect.CodeDeadlineExceeded, "deadline exceeded", false},
		{"site validation", fmt.Errorf("put cards: %w", &site.InvalidError{Field: "cards", Reason: "none"}), connect.CodeInvalidArgument, "cards: none", false},
		{"not found", fmt.Errorf(`edge "e1": %w`, site.ErrNotFound), connect.CodeNotFound, `edge "e1": not found`, false},
		{"already exists", fmt.Errorf(`edge "e1": %w`, site.ErrAlreadyExists), connect.CodeAlreadyExists, `edge "e1": already exists`, false},
		{"bad credential", site.ErrInvalidCredential, connect.CodeUnauthenticated, "invalid edge credential", false},
		{"revoked credential", fmt.Errorf(`edge "e1": %w`, site.ErrRevoked), connect.CodeUnauthenticated, `edge "e1": edge credential revoked`, false},
		{"no credential", &authError{msg: "missing"}, connect.CodeUnauthenticated, "missing", false},
		{"credential of another edge", &authError{denied: true, msg: "not yours"}, connect.CodePermissionDenied, "not yours", false},
		{"identity validation", fmt.Errorf("register: %w", &identity.InvalidError{Field: "email", Reason: "required"}), connect.CodeInvalidArgument, "email: required", false},
		{"no caller", fmt.Errorf("needs a credential: %w", access.ErrUnauthenticated), connect.CodeUnauthenticated, "needs a credential: unauthenticated", false},
		{"role refused", fmt.Errorf("role viewer may not call /p: %w", access.ErrDenied), connect.CodePermissionDenied, "role viewer may not call /p: permission denied", false},
		{"wrong password", identity.ErrBadCredentials, connect.CodeUnauthenticated, "wrong email or password", false},
		{"locked", fmt.Errorf("try again later: %w", identity.ErrLocked), connect.CodeResourceExhausted, "try again later: account locked", false},
		{"unverified", identity.ErrEmailNotVerified, connect.CodeFailedPrecondition, "email not verified", false},
		{"disabled", identity.ErrDisabled, connect.CodePermissionDenied, "account disabled", false},
		{"bad token", identity.ErrInvalidToken, connect.CodeInvalidArgument, "invalid or expired token", false},
		{"user not found", fmt.Errorf(`user "u1": %w`, identity.ErrNotFound), connect.CodeNotFound, `user "u1": not found`, false},
		{"email taken", fmt.Errorf(`email "a@b.c": %w`, identity.ErrAlreadyExists), connect.CodeAlreadyExists, `email "a@b.c": already exists`, false},
		{"rate limited", &rateLimitError{subject: "user:u1", retryAfter: 1500 * time.Millisecond}, connect.CodeResourceExhausted, "rate limit exceeded for user:u1: retry after 2s", false},
		{"anything else is internal and hidden", fmt.Errorf("list chargers: %w", secret), connect.CodeInternal, "internal error", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, nil))
			got := connectError(context.Background(), logger, "/p", tt.err)
			if got.Code() != tt.wantCode || got.Message() != tt.wantMsg {
				t.Errorf("connectError = %v %q, want %v %q", got.Code(), got.Message(), tt.wantCode, tt.wantMsg)
			}
			if logged := strings.Contains(logs.String(), "request failed"); logged != tt.wantLog {
				t.Errorf("logged = %v, want %v; log: %s", logged, tt.wantLog, logs.String())
			}
			if tt.wantLog && !strings.Contains(logs.String(), "password authentication failed") {
				t.Errorf("the real error is not in the log: %s", logs.String())
			}
			var field *FieldError
			if errors.As(tt.err, &field) && !errors.As(got, &field) {
				t.Errorf("FieldError cause lost: %v", got)
			}
			var limited *rateLimitError
			if errors.As(tt.err, &limited) && got.Meta().Get("Retry-After") != "2" {
				t.Errorf("Retry-After = %q, want 2", got.Meta().Get("Retry-After"))
			}
			for _, sentinel := range []error{site.ErrNotFound, site.ErrAlreadyExists, site.ErrInvalidCredential, site.ErrRevoked,
				access.ErrUnauthenticated, access.ErrDenied, identity.ErrBadCredentials, identity.ErrLocked, identity.ErrNotFound} {
				if errors.Is(tt.err, sentinel) && !errors.Is(got, sentinel) {
					t.Errorf("cause %v lost: %v", sentinel, got)
				}
			}
		})
	}
}

func TestPageToken(t *testing.T) {
	t.Parallel()
	want := fleet.Cursor{EdgeID: "e/1", ChargerID: "c \"1\""}
	got, err := decodePageToken(encodePageToken(want))
	if err != nil || *got != want {
		t.Errorf("round trip of %v = %v, %v", want, got, err)
	}
	raw := base64.RawURLEncoding.EncodeToString
	for _, tok := range []string{"x", "!!!", raw([]byte(`["a"]`)), raw([]byte(`["", "b"]`)), raw([]byte(`{"a":1}`))} {
		_, err := decodePageToken(tok)
		var field *FieldError
		if !errors.As(err, &field) || field.Field != "page_token" {
			t.Errorf("decodePageToken(%q) = %v, want a page_token FieldError", tok, err)
		}
	}
}

func TestSessionPageToken(t *testing.T) {
	t.Parallel()
	want := ledger.Cursor{StartedAt: time.Date(2025, 3, 1, 8, 0, 0, 123456000, time.UTC), EdgeID: "e/1", Seq: 42}
	got, err := decodeSessionToken(encodeSessionToken(want))
	if err != nil || !got.StartedAt.Equal(want.StartedAt) || got.EdgeID != want.EdgeID || got.Seq != want.Seq {
		t.Errorf("round trip of %v = %v, %v", want, got, err)
	}
	raw := base64.RawURLEncoding.EncodeToString
	// A ListChargers token, and tokens missing a part, are refused.
	for _, tok := range []string{encodePageToken(fleet.Cursor{EdgeID: "e", ChargerID: "c"}), raw([]byte(`{"e":"e1","s":1}`)),
		raw([]byte(`{"t":"2025-03-01T08:00:00Z","s":1}`)), raw([]byte(`{"t":"2025-03-01T08:00:00Z","e":"e1","s":0}`))} {
		_, err := decodeSessionToken(tok)
		var field *FieldError
		if !errors.As(err, &field) || field.Field != "page_token" {
			t.Errorf("decodeSessionToken(%q) = %v, want a page_token FieldError", tok, err)
		}
	}
}

func TestEndReasonNames(t *testing.T) {
	t.Parallel()
	for v := range chargeplanev1.EndReason_name {
		r := chargeplanev1.EndReason(v)
		if got := endReasonOf(endReasonName(r)); got != r {
			t.Errorf("%v: stored as %q, read back as %v", r, endReasonName(r), got)
		}
	}
	if got := endReasonName(chargeplanev1.EndReason_END_REASON_LIMIT_REACHED); got != "limit_reached" {
		t.Errorf("limit reached stored as %q", got)
	}
	// A reason from a newer edge keeps its number.
	if got := endReasonOf(endReasonName(chargeplanev1.EndReason(42))); got != 42 {
		t.Errorf("unknown reason 42 read back as %v", got)
	}
}
