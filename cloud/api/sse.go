package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/chargeplane/chargeplane/cloud/access"
	"github.com/chargeplane/chargeplane/cloud/live"
)

// LiveEventsPath is where LiveEvents is mounted.
const LiveEventsPath = "/v1/live/events"

// LiveEvents serves LiveService.Watch as Server-Sent Events for browsers
// (EventSource): GET /v1/live/events?tenant_id=&edge_id=&charger_id= answers
// text/event-stream, one "data:" line per update (chargeplane.v1.LiveUpdate
// as protojson), a comment line as soon as the stream is live and then
// every heartbeat interval, and an "event: error" before it ends when the
// watcher fell behind or the feed was lost (EventSource then reconnects).
//
// The credential is the Authorization: Bearer header or, because
// EventSource cannot set headers, the access_token query parameter. Only
// staff roles (access.Staff) may watch.
type LiveEvents struct {
	hub       *live.Hub
	auth      func(ctx context.Context, bearer string) (access.Principal, error)
	heartbeat time.Duration
	log       *slog.Logger
}

// NewLiveEvents returns the SSE handler. auth turns a bearer credential
// (session token or API key) into the caller, failing for a missing,
// unknown or revoked one; heartbeat is the interval of the keep-alive
// comments (15 s in production: below common proxies' idle timeouts).
func NewLiveEvents(hub *live.Hub, auth func(ctx context.Context, bearer string) (access.Principal, error),
	heartbeat time.Duration, logger *slog.Logger,
) *LiveEvents {
	return &LiveEvents{hub: hub, auth: auth, heartbeat: heartbeat, log: logger.With("component", "sse")}
}

// sseWriteTimeout bounds each write to a client, so that a client that
// stopped reading is dropped instead of holding the subscription.
const sseWriteTimeout = 30 * time.Second

func liveBearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	return r.URL.Query().Get("access_token")
}

// ServeHTTP implements http.Handler.
func (h *LiveEvents) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed: use GET", http.StatusMethodNotAllowed)
		return
	}
	tok := liveBearer(r)
	if tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="chargeplane"`)
		http.Error(w, "unauthenticated: send Authorization: Bearer <token> or access_token=<token>", http.StatusUnauthorized)
		return
	}
	p, err := h.auth(r.Context(), tok)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="chargeplane", error="invalid_token"`)
		http.Error(w, "unauthenticated: invalid or revoked credential", http.StatusUnauthorized)
		return
	}
	if !slices.Contains(access.Staff(), p.Role) {
		http.Error(w, fmt.Sprintf("permission denied: role %s may not watch live events", p.Role), http.StatusForbidden)
		return
	}
	q := r.URL.Query()
	tenant, err := p.Tenant(q.Get("tenant_id"))
	if err != nil {
		http.Error(w, "permission denied: "+err.Error(), http.StatusForbidden)
		return
	}
	f, err := liveFilter(q.Get("edge_id"), q.Get("charger_id"))
	if err != nil {
		http.Error(w, "invalid argument: "+err.Error(), http.StatusBadRequest)
		return
	}
	sub, err := h.hub.Subscribe(r.Context(), tenant, f)
	if err != nil {
		if r.Context().Err() == nil {
			h.log.WarnContext(r.Context(), "live subscribe failed", "tenant_id", tenant, "err", err)
			http.Error(w, "live feed unavailable, retry later", http.StatusServiceUnavailable)
		}
		return
	}
	defer sub.Close()

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	// Tell nginx-like proxies not to buffer the stream.
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(s string) bool {
		// Streams outlive any server-wide WriteTimeout: each write gets its own.
		if err := rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return false
		}
		if _, err := w.Write([]byte(s)); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write(": live\n\n") {
		return
	}
	t := time.NewTicker(h.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
			if !write(": heartbeat\n\n") {
				return
			}
		case u, ok := <-sub.Updates():
			if !ok {
				// The error texts of live are written for clients.
				why := live.ErrClosed
				if err := sub.Err(); err != nil {
					why = err
				}
				msg, _ := json.Marshal(map[string]string{"error": why.Error()}) // a string map always marshals
				write("event: error\ndata: " + string(msg) + "\n\n")
				return
			}
			b, err := protojson.Marshal(u)
			if err != nil {
				h.log.ErrorContext(r.Context(), "encode live update", "err", err)
				return
			}
			if !write("data: " + string(b) + "\n\n") {
				return
			}
		}
	}
}
