// Package admin serves the edge's local HTTP endpoint: /healthz (the process
// is alive), /readyz (it can take charger connections), /metrics (Prometheus)
// and /status (a JSON summary for installers and scripts). The caller mounts
// the installer's routes on it: ChargerRoutes (the site's chargers from
// station state, and commands), FramesRoute (raw frames) and PageRoute (the
// installer page at /, which uses those routes). It listens on loopback by
// default: it is for the site, not the internet.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config holds the admin listener settings.
type Config struct {
	Addr string `yaml:"addr"`
	// Pprof mounts Go's profiler under /debug/pprof/ for diagnosing a
	// slow or growing agent in the field. Off by default: profiles reveal
	// internals and cost CPU while taken.
	Pprof bool `yaml:"pprof"`
}

// DefaultConfig listens on loopback.
func DefaultConfig() Config { return Config{Addr: "127.0.0.1:8601"} }

// Validate names the bad key.
func (c Config) Validate() error {
	if c.Addr == "" {
		return errors.New("admin.addr: required")
	}
	return nil
}

// Check is one readiness condition; a nil error means ready.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Server is the admin HTTP server.
type Server struct {
	cfg    Config
	log    *slog.Logger
	checks []Check
	status func() any
	srv    *http.Server
	ln     net.Listener
}

// Route is an extra endpoint a caller mounts on the admin server.
type Route struct {
	// Pattern is a net/http ServeMux pattern, e.g. "GET /chargers/{id}/frames".
	Pattern string
	Handler http.Handler
}

// New builds the server. status returns the /status document.
func New(cfg Config, checks []Check, status func() any, gatherer prometheus.Gatherer, logger *slog.Logger, routes ...Route) *Server {
	s := &Server{cfg: cfg, log: logger.With("component", "admin"), checks: checks, status: status}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.status())
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	for _, r := range routes {
		mux.Handle(r.Pattern, r.Handler)
	}
	if cfg.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// A command waits for the charger: 10 s × 3 tries by default, so
		// the write deadline leaves room for a timed-out result to arrive.
		WriteTimeout:   90 * time.Second,
		IdleTimeout:    60 * time.Second,
		MaxHeaderBytes: 16 << 10,
	}
	return s
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	failed := map[string]string{}
	for _, c := range s.checks {
		if err := c.Fn(ctx); err != nil {
			failed[c.Name] = err.Error()
		}
	}
	if len(failed) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "failed": failed})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ready": true})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// Listen opens the listener and returns its address.
func (s *Server) Listen() (net.Addr, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", s.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("admin listen %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	return ln.Addr(), nil
}

// Run serves until ctx ends, then shuts down within a few seconds.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("admin serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("admin shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("admin serve: %w", err)
	}
	return nil
}
