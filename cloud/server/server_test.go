package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chargeplane/chargeplane/cloud/cloudtest"
	"github.com/chargeplane/chargeplane/cloud/server"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/mqtttest"
)

func TestReadyzWhenAllUp(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	code, body := c.Get("/readyz")
	if code != http.StatusOK {
		t.Fatalf("/readyz = %d %s, want 200", code, body)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("/readyz body %q: %v", body, err)
	}
	if got["status"] != "ready" {
		t.Errorf("/readyz body = %v, want status ready", got)
	}
	if code, _ := c.Get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d, want 200", code)
	}
	code, body = c.Get("/metrics")
	if code != http.StatusOK || !strings.Contains(body, "chargeplane_ingest_connected 1") {
		t.Errorf("/metrics = %d, want 200 with chargeplane_ingest_connected 1; body:\n%.2000s", code, body)
	}
}

func TestReadyzNamesTheBrokerWhenItIsGone(t *testing.T) {
	t.Parallel()
	b := mqtttest.Start(t)
	c := cloudtest.Start(t, cloudtest.WithMQTTURL(b.URL()))
	b.Stop()
	var body string
	// Both MQTT clients (ingest and command sender) notice the loss.
	c.Eventually("/readyz to name both MQTT clients", func() bool {
		var code int
		code, body = c.Get("/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, `"mqtt_commands"`) && strings.Contains(body, `"mqtt"`)
	})
	var got struct {
		Status  string   `json:"status"`
		Failing []string `json:"failing"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("/readyz body %q: %v", body, err)
	}
	if diff := cmp.Diff([]string{"mqtt", "mqtt_commands"}, got.Failing); diff != "" {
		t.Errorf("/readyz failing (-want +got):\n%s", diff)
	}
	b.Restart()
	c.WaitReady()
}

func TestRunStopsCleanlyAndTwiceIsFine(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	c.Stop()
	c.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+"/healthz", nil)
	if res, err := http.DefaultClient.Do(req); err == nil {
		_ = res.Body.Close()
		t.Error("HTTP server still answers after Stop")
	}
}

func TestRunRefusesInvalidConfigBeforeOpeningAnything(t *testing.T) {
	t.Parallel()
	cfg := server.DefaultConfig() // no postgres.url
	called := false
	err := server.Run(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), func(string) { called = true })
	if err == nil || !strings.Contains(err.Error(), "postgres.url: required") {
		t.Errorf("Run = %v, want an error naming postgres.url", err)
	}
	if called {
		t.Error("ready called for an invalid config")
	}
}

func TestRunFailsWhenHTTPAddrIsTaken(t *testing.T) {
	t.Parallel()
	first := cloudtest.Start(t)
	addr := strings.TrimPrefix(first.URL, "http://")
	cfg := first.Config
	cfg.HTTP.Addr = addr
	cfg.MQTT.ClientID += "-second"
	err := server.Run(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), func(string) {})
	if err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Errorf("Run on a taken address = %v, want a listen error", err)
	}
}

func TestValidateAuth(t *testing.T) {
	t.Parallel()
	cfg := server.DefaultConfig()
	cfg.Postgres.URL = "postgres://127.0.0.1/cp"
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults with a postgres.url: %v", err)
	}
	cfg.Auth.SessionTTL = time.Second
	cfg.Auth.LockoutAfter = 0
	cfg.Auth.LockoutFor = 0
	cfg.Auth.RateLimit.KeyPerMinute = -1
	cfg.Auth.BootstrapAdmin = server.BootstrapAdminConfig{Email: "root", Password: "hunter2"}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad auth section")
	}
	for _, want := range []string{"auth.session_ttl", "auth.lockout_after", "auth.lockout_for", "auth.rate_limit.key_per_minute",
		"auth.bootstrap_admin.email", "auth.bootstrap_admin.password: at least 10 characters"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v; want it to name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(cfg.String(), "hunter2") {
		t.Error("the bootstrap password leaks into an error or the printed config")
	}
}

func TestBootstrapAdminLogsIn(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	// Start logged the configured admin in; WhoAmI shows who that is.
	res, err := c.AuthClient(c.ClientOptions(c.AdminToken)).WhoAmI(t.Context(), connect.NewRequest(&chargeplanev1.WhoAmIRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Msg.GetRole() != chargeplanev1.Role_ROLE_PLATFORM_ADMIN || res.Msg.GetTenantId() != "" {
		t.Fatalf("WhoAmI = %v, want a platform admin", res.Msg)
	}
	// A second replica on the same database leaves the admin as it is.
	c2 := cloudtest.Start(t, cloudtest.WithShared(c))
	if _, err := c2.AuthClient(c2.ClientOptions(c.AdminToken)).WhoAmI(t.Context(), connect.NewRequest(&chargeplanev1.WhoAmIRequest{})); err != nil {
		t.Fatalf("the first replica's admin session on the second: %v", err)
	}
}

func TestValidateRetention(t *testing.T) {
	t.Parallel()
	cfg := server.DefaultConfig()
	cfg.Postgres.URL = "postgres://127.0.0.1/cp"
	cfg.Retention = server.RetentionConfig{Events: 0, Commands: 0, Interval: time.Hour}
	if err := cfg.Validate(); err != nil {
		t.Errorf("retention 0 (keep forever): %v", err)
	}
	cfg.Retention = server.RetentionConfig{Events: 90 * time.Second, Commands: -time.Hour, Interval: 0}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad retention section")
	}
	for _, want := range []string{"retention.events: must be 0 (keep forever) or at least 24h0m0s, got 1m30s",
		"retention.commands", "retention.interval: must be 1m–24h, got 0s"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v; want it to say %s", err, want)
		}
	}
}

// TestOperationsMetrics: the cloud serves the ingest lag, the online
// chargers per tenant and the retention counters on /metrics.
func TestOperationsMetrics(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	e := c.Edge("t1", "e1")
	e.Publish(e.Event(1, "c1", time.Now(), &chargeplanev1.ChargerConnected{}))
	c.Eventually("the event stored", func() bool { return c.Metric("chargeplane_ingest_events_total", "result", "stored") == 1 })
	var body string
	c.Eventually("t1's charger online in /metrics", func() bool {
		_, body = c.Get("/metrics")
		return strings.Contains(body, `chargeplane_chargers_online{tenant="t1"} 1`)
	})
	for _, want := range []string{"chargeplane_ingest_lag_seconds_count 1",
		`chargeplane_retention_deleted_total{table="events"} 0`, `chargeplane_retention_deleted_total{table="commands"} 0`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
