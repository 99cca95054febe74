// Package edgetest runs a whole edge agent in-process for tests: real Badger
// in a temp dir, real gateway on 127.0.0.1:0, real uplink to the broker the
// test names. Test code only; production code never imports it.
package edgetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chargeplane/chargeplane/edge/adapter"
	"github.com/chargeplane/chargeplane/edge/agent"
)

// Edge is a running in-process edge agent.
type Edge struct {
	// ChargerAddr is where simulated chargers connect; AdminURL the admin base URL.
	ChargerAddr string
	AdminURL    string
	Config      agent.Config
	Registry    *prometheus.Registry
	// Commands reaches the connected chargers, as the cloud and admin page do.
	Commands *adapter.Registry

	stop     context.CancelFunc
	done     chan error
	stopOnce sync.Once
	err      error
}

// Option adjusts the agent's config before it starts.
type Option func(*agent.Config)

// WithConfig lets a test change any setting.
func WithConfig(f func(*agent.Config)) Option { return func(c *agent.Config) { f(c) } }

// WithCredential sets the credential the cloud issued for this edge
// (cloudtest's ProvisionEdge): the cloud's SyncService refuses edges without one.
func WithCredential(cred string) Option { return func(c *agent.Config) { c.Uplink.Credential = cred } }

// MQTTURL returns TEST_MQTT_URL or the local Mosquitto.
func MQTTURL() string {
	if u := os.Getenv("TEST_MQTT_URL"); u != "" {
		return u
	}
	return "tcp://127.0.0.1:1883"
}

// Start runs an agent for tenant/edge ids with the given topic root and cloud
// URL, and stops it when the test ends. The store directory is kept across
// Stop so a test can restart an agent on the same store with WithStoreDir.
func Start(tb testing.TB, tenantID, edgeID, topicRoot, cloudURL string, opts ...Option) *Edge {
	tb.Helper()
	cfg := agent.DefaultConfig()
	cfg.TenantID, cfg.EdgeID = tenantID, edgeID
	cfg.Gateway.Addr = "127.0.0.1:0"
	cfg.Gateway.ShutdownTimeout = 2 * time.Second
	cfg.Admin.Addr = "127.0.0.1:0"
	cfg.Store.Dir = tb.TempDir()
	cfg.Uplink.MQTTURL = MQTTURL()
	cfg.Uplink.TopicRoot = topicRoot
	cfg.Uplink.CloudURL = cloudURL
	cfg.Uplink.ClientID = fmt.Sprintf("edgetest-%s-%d", edgeID, time.Now().UnixNano())
	cfg.Uplink.RetryMin = 50 * time.Millisecond
	cfg.Uplink.RetryMax = time.Second
	cfg.Log.Level = "debug"
	for _, o := range opts {
		o(&cfg)
	}
	logger := slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if cfg.Log.Level == "debug" && os.Getenv("TEST_LOG_DEBUG") != "" {
		logger = slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Edge{Config: cfg, Registry: prometheus.NewRegistry(), stop: cancel, done: make(chan error, 1)}
	readyc := make(chan agent.Addrs, 1)
	go func() {
		e.done <- agent.Run(ctx, cfg, "test", logger, e.Registry, agent.Hooks{
			Ready:    func(a agent.Addrs) { readyc <- a },
			Registry: func(r *adapter.Registry) { e.Commands = r },
		})
	}()
	select {
	case a := <-readyc:
		e.ChargerAddr = a.Chargers.String()
		e.AdminURL = "http://" + a.Admin.String()
	case err := <-e.done:
		cancel()
		tb.Fatalf("edge agent did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		tb.Fatal("edge agent did not start within 30s")
	}
	tb.Cleanup(func() {
		if err := e.Stop(); err != nil {
			tb.Errorf("edge agent: %v", err)
		}
	})
	return e
}

// Stop stops the agent and waits for it; safe to call twice.
func (e *Edge) Stop() error {
	e.stopOnce.Do(func() {
		e.stop()
		select {
		case e.err = <-e.done:
		case <-time.After(30 * time.Second):
			e.err = errors.New("agent did not stop within 30s")
		}
	})
	return e.err
}

// Ready reports whether the admin /readyz answers 200.
func (e *Edge) Ready(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.AdminURL+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

// testWriter sends log lines to the test log, so they show only on failure
// or with -v.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Helper()
	w.tb.Log(string(p))
	return len(p), nil
}

// WaitConfig waits (up to 15 s) until the agent holds a site config pulled
// from the cloud, so that card decisions are the cloud's and not the
// fallback list's.
func (e *Edge) WaitConfig(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if v, err := e.configVersion(); err == nil && v > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatal("edge did not pull its site config from the cloud within 15s")
}

func (e *Edge) configVersion() (uint64, error) {
	resp, err := http.Get(e.AdminURL + "/status")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var st struct {
		ConfigVersion uint64 `json:"config_version"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return 0, fmt.Errorf("decode /status: %w", err)
	}
	return st.ConfigVersion, nil
}
