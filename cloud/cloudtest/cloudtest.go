// Package cloudtest runs the whole cloud in-process for end-to-end tests:
// server.Run on 127.0.0.1:0 against the real services, isolated from every
// other test by its own Postgres database (pgtest), Redis key prefix
// (presencetest), MQTT topic root and client id.
//
//	c := cloudtest.Start(t)
//	client := chargeplanev1connect.NewChargerServiceClient(http.DefaultClient, c.URL, c.ClientOptions(c.AdminToken))
//	viewer := c.CreateTenantUser(t, "t1", access.RoleViewer) // a session token of a new t1 viewer
//	sync := c.SyncClient(c.ProvisionEdge(t, "t1", "e1")) // SyncService needs an edge credential
//
// Every operator service needs "Authorization: Bearer <token>": Start
// bootstraps a platform admin and logs it in (AdminToken), and the client
// helpers (EdgeClient, SiteConfigClient, …) send that token unless given
// another. Rate limits are off unless a test sets them (WithConfig).
//
// Test code only: production code never imports this package.
package cloudtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chargeplane/chargeplane/cloud/postgres/pgtest"
	"github.com/chargeplane/chargeplane/cloud/presence/presencetest"
	"github.com/chargeplane/chargeplane/cloud/server"
	"github.com/chargeplane/chargeplane/shared/mqtttest"
	"github.com/chargeplane/chargeplane/shared/topic"
)

// Cloud is a running in-process cloud.
type Cloud struct {
	// URL is the HTTP base URL (http://127.0.0.1:port).
	URL string
	// Config is the configuration the cloud runs with.
	Config server.Config
	// Registry holds the cloud's metrics.
	Registry *prometheus.Registry
	// Space is the cloud's MQTT topic space.
	Space topic.Space
	// AdminToken is a login session token of the bootstrapped platform
	// admin (Config.Auth.BootstrapAdmin).
	AdminToken string

	tb       testing.TB
	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
	logs     *tbWriter
}

// Option adjusts the cloud before it starts.
type Option func(*server.Config)

// WithPresenceTimeout sets presence.timeout.
func WithPresenceTimeout(d time.Duration) Option {
	return func(c *server.Config) { c.Presence.Timeout = d }
}

// WithTopicRoot sets mqtt.topic_root (by default unique per Start).
func WithTopicRoot(root string) Option {
	return func(c *server.Config) { c.MQTT.TopicRoot = root }
}

// WithMQTTURL points the consumer at another broker, such as mqtttest.Broker.
func WithMQTTURL(u string) Option {
	return func(c *server.Config) { c.MQTT.URL = u }
}

// WithShared makes the cloud a second replica of other: same Postgres
// database, Redis prefix, MQTT topic root and bootstrap admin, so that what
// one replica does (a revocation) the other must see.
func WithShared(other *Cloud) Option {
	return func(c *server.Config) {
		c.Postgres.URL = other.Config.Postgres.URL
		c.Redis.Prefix = other.Config.Redis.Prefix
		c.MQTT.TopicRoot = other.Config.MQTT.TopicRoot
		c.Auth.BootstrapAdmin = other.Config.Auth.BootstrapAdmin
	}
}

// WithConfig lets the test change anything else.
func WithConfig(f func(*server.Config)) Option {
	return Option(f)
}

// Start runs a cloud and waits until /readyz answers 200. It is stopped when
// the test ends; its logs go to the test log.
func Start(tb testing.TB, opts ...Option) *Cloud {
	tb.Helper()
	id := randomHex(6)

	cfg := server.DefaultConfig()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Postgres.URL = ""
	cfg.Postgres.MaxConns = 8
	cfg.Redis.URL = presencetest.URL()
	cfg.Redis.Prefix = ""
	cfg.MQTT.URL = mqtttest.URL()
	cfg.MQTT.ClientID = "cloudtest-" + id
	cfg.MQTT.TopicRoot = "cptest/" + id
	cfg.Ingest.BatchWait = 10 * time.Millisecond
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.Log.Level = slog.LevelInfo
	cfg.Auth.BootstrapAdmin = server.BootstrapAdminConfig{Email: "admin@cloudtest.example", Password: "pw-" + randomHex(12)}
	cfg.Auth.RateLimit = server.RateLimitConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	// A database and a Redis prefix of its own, unless shared (WithShared).
	if cfg.Postgres.URL == "" {
		cfg.Postgres.URL = pgtest.MustDB(tb)
	}
	if cfg.Redis.Prefix == "" {
		_, cfg.Redis.Prefix = presencetest.MustRedis(tb)
	}
	if cfg.MQTT.URL != "" {
		mqtttest.MustReach(tb, cfg.MQTT.URL)
	}
	space, err := topic.New(cfg.MQTT.TopicRoot)
	if err != nil {
		tb.Fatalf("cloudtest: %v", err)
	}

	logs := &tbWriter{tb: tb}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: cfg.Log.Level}))
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cloud{
		Config:   cfg,
		Registry: prometheus.NewRegistry(),
		Space:    space,
		tb:       tb,
		cancel:   cancel,
		done:     make(chan error, 1),
		logs:     logs,
	}
	addrs := make(chan string, 1)
	go func() {
		c.done <- server.Run(ctx, cfg, logger, c.Registry, func(addr string) { addrs <- addr })
	}()
	// Cleanups run last-registered first: stop the cloud, then forget its
	// persistent session, which the broker would keep forever.
	tb.Cleanup(func() {
		if cfg.MQTT.URL != "" {
			mqtttest.ForgetSession(tb, cfg.MQTT.URL, cfg.MQTT.ClientID)
		}
	})
	tb.Cleanup(c.Stop)

	select {
	case addr := <-addrs:
		c.URL = "http://" + addr
	case err := <-c.done:
		c.done <- err // for Stop
		tb.Fatalf("cloudtest: cloud did not start: %v", err)
	case <-time.After(20 * time.Second):
		tb.Fatal("cloudtest: cloud did not start within 20s")
	}
	c.WaitReady()
	c.AdminToken = c.Login(tb, cfg.Auth.BootstrapAdmin.Email, cfg.Auth.BootstrapAdmin.Password)
	return c
}

// WaitReady polls /readyz until it answers 200, failing the test after 10 s.
func (c *Cloud) WaitReady() {
	c.tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		code, body := c.Get("/readyz")
		if code == http.StatusOK {
			return
		}
		last = fmt.Sprintf("%d %s", code, body)
		time.Sleep(20 * time.Millisecond)
	}
	c.tb.Fatalf("cloudtest: /readyz not 200 within 10s, last: %s", last)
}

// Get fetches path from the cloud and returns status and body.
func (c *Cloud) Get(path string) (int, string) {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+path, nil)
	if err != nil {
		c.tb.Fatalf("cloudtest: %v", err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.tb.Fatalf("cloudtest: GET %s: %v", path, err)
	}
	defer func() { _ = res.Body.Close() }()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(res.Body)
	return res.StatusCode, buf.String()
}

// Stop stops the cloud and waits for Run to return, failing the test if it
// returned an error. It is safe to call more than once.
func (c *Cloud) Stop() {
	c.stopOnce.Do(func() {
		c.cancel()
		select {
		case err := <-c.done:
			if err != nil {
				c.tb.Errorf("cloudtest: server.Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			c.tb.Error("cloudtest: cloud did not stop within 30s")
		}
		c.logs.close()
	})
}

// tbWriter sends log lines to the test log until closed; lines written after
// the test ended are dropped instead of panicking.
type tbWriter struct {
	tb     testing.TB
	mu     sync.Mutex
	closed bool
}

func (w *tbWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.tb.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *tbWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
