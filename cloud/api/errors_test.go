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

	"connectrpc.com/connect"

	"github.com/chargeplane/chargeplane/cloud/fleet"
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
