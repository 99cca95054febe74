package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/google/go-cmp/cmp"

	"github.com/chargeplane/chargeplane/cloud/postgres/pgtest"
	"github.com/chargeplane/chargeplane/cloud/site"
	"github.com/chargeplane/chargeplane/shared/mqtttest"
)

// admin runs an admin command line and returns its stdout.
func admin(t *testing.T, vars func(string) string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), args, nil, &stdout, &stderr, vars)
	t.Logf("%s\nstdout: %sstderr: %s", strings.Join(args, " "), stdout.String(), stderr.String())
	return stdout.String(), err
}

func credentialOf(t *testing.T, out string) string {
	t.Helper()
	cred, ok := strings.CutPrefix(strings.TrimSpace(out), "credential: ")
	if !ok || strings.Contains(cred, "\n") || cred == "" {
		t.Fatalf("output %q is not one line \"credential: ...\"", out)
	}
	return cred
}

func TestAdminCommands(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.MustDB(t)
	root := "clitest/" + strings.ToLower(rand.Text()[:10])
	vars := env(map[string]string{
		"CHARGEPLANE_CLOUD_POSTGRES_URL":    dbURL,
		"CHARGEPLANE_CLOUD_MQTT_URL":        mqtttest.URL(),
		"CHARGEPLANE_CLOUD_MQTT_TOPIC_ROOT": root,
	})
	hints := make(chan string, 10)
	sub := mqtttest.MustConnect(t, mqtttest.URL(), "clitest-sub-"+strings.ToLower(rand.Text()[:8]))
	if err := mqtttest.Wait(sub.Subscribe(root+"/t1/e1/down/config", 1, func(_ paho.Client, m paho.Message) { hints <- string(m.Payload()) })); err != nil {
		t.Fatal(err)
	}
	pool := pgtest.MustPool(t, dbURL)
	sites := site.New(pool, time.Now)
	ctx := t.Context()

	out, err := admin(t, vars, "edge", "create", "-tenant", "t1", "-edge", "e1", "-name", "Depot")
	if err != nil {
		t.Fatal(err)
	}
	cred := credentialOf(t, out)
	if e, err := sites.Authenticate(ctx, cred); err != nil || e.TenantID != "t1" || e.Name != "Depot" {
		t.Fatalf("printed credential authenticates as %+v, %v", e, err)
	}
	if _, err := admin(t, vars, "edge", "create", "-tenant", "t2", "-edge", "e1"); !errors.Is(err, site.ErrAlreadyExists) {
		t.Errorf("edge create of a taken id = %v, want ErrAlreadyExists", err)
	}

	out, err = admin(t, vars, "card", "put", "-tenant", "t1", "-card", "AB12", "-balance-fen", "5000", "-offline-limit-fen", "300")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := sites.Config(ctx, "", "e1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]site.Card{{ID: "ab12", BalanceFen: 5000, OfflineLimitFen: 300, Version: cfg.Version}}, cfg.Cards); diff != "" {
		t.Errorf("cards after card put (-want +got):\n%s", diff)
	}
	if !strings.Contains(out, `card "ab12" of tenant "t1": balance_fen=5000`) {
		t.Errorf("card put printed %q", out)
	}
	if got := waitHint(t, hints); got != cfg.Version {
		t.Errorf("hint after card put = %d, want %d", got, cfg.Version)
	}

	if _, err := admin(t, vars, "tariff", "set", "-edge", "e1", "-electricity", "0.6523", "-service", "0.40"); err != nil {
		t.Fatal(err)
	}
	cfg, _, err = sites.Config(ctx, "t1", "e1", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := &site.Tariff{ID: "v" + strconv.FormatUint(cfg.Version, 10), Periods: []site.TariffPeriod{{StartMinute: 0, ElectricityMfenPerKWh: 65230, ServiceMfenPerKWh: 40000}}}
	if diff := cmp.Diff(want, cfg.Tariff); diff != "" {
		t.Errorf("tariff after tariff set (-want +got):\n%s", diff)
	}
	if got := waitHint(t, hints); got != cfg.Version {
		t.Errorf("hint after tariff set = %d, want %d", got, cfg.Version)
	}

	out, err = admin(t, vars, "edge", "rotate", "-edge", "e1")
	if err != nil {
		t.Fatal(err)
	}
	rotated := credentialOf(t, out)
	if _, err := sites.Authenticate(ctx, cred); !errors.Is(err, site.ErrInvalidCredential) {
		t.Errorf("old credential after rotate: %v, want ErrInvalidCredential", err)
	}
	if _, err := admin(t, vars, "edge", "revoke", "-edge", "e1", "-tenant", "t1"); err != nil {
		t.Fatal(err)
	}
	if _, err := sites.Authenticate(ctx, rotated); !errors.Is(err, site.ErrRevoked) {
		t.Errorf("credential after revoke: %v, want ErrRevoked", err)
	}
	if _, err := admin(t, vars, "edge", "revoke", "-edge", "e1", "-tenant", "t2"); !errors.Is(err, site.ErrNotFound) {
		t.Errorf("revoke in another tenant = %v, want ErrNotFound", err)
	}
}

func TestAdminCommandsWorkWithoutABroker(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.MustDB(t)
	b := mqtttest.Start(t)
	b.Stop() // the broker's address now refuses connections
	vars := env(map[string]string{"CHARGEPLANE_CLOUD_POSTGRES_URL": dbURL, "CHARGEPLANE_CLOUD_MQTT_URL": b.URL()})
	if _, err := admin(t, vars, "edge", "create", "-tenant", "t1", "-edge", "e1"); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	err := run(t.Context(), []string{"card", "put", "-tenant", "t1", "-card", "c1", "-balance-fen", "1"}, nil, &bytes.Buffer{}, &stderr, vars)
	if err != nil {
		t.Fatalf("card put with the broker down = %v, want the change made", err)
	}
	if !strings.Contains(stderr.String(), "config-changed hint not sent") {
		t.Errorf("stderr does not say the hint was not sent: %s", stderr.String())
	}
	cfg, _, err := site.New(pgtest.MustPool(t, dbURL), time.Now).Config(context.Background(), "", "e1", 0)
	if err != nil || len(cfg.Cards) != 1 {
		t.Errorf("cards = %+v, %v; want the card stored", cfg.Cards, err)
	}
}

func TestAdminUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"edge"}, "edge: want a subcommand: create, rotate, revoke"},
		{"unknown subcommand", []string{"card", "delete"}, `card: unknown subcommand "delete": want put`},
		{"missing flags", []string{"edge", "create", "-name", "x"}, "edge create: missing -tenant, -edge"},
		{"flag of another command", []string{"edge", "revoke", "-edge", "e1", "-balance-fen", "3"}, "flag provided but not defined: -balance-fen"},
		{"bad price", []string{"tariff", "set", "-edge", "e1", "-electricity", "0,65", "-service", "0", "-postgres-url", "postgres://127.0.0.1:1/x"},
			`-electricity: price "0,65": want yuan per kWh as a decimal with at most 5 decimals, like 0.6523`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := run(t.Context(), tt.args, nil, &bytes.Buffer{}, &bytes.Buffer{}, env(nil))
			if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) = %v, want a usage error containing %q", tt.args, err, tt.want)
			}
		})
	}
}

func waitHint(t *testing.T, hints <-chan string) uint64 {
	t.Helper()
	select {
	case h := <-hints:
		v, err := strconv.ParseUint(h, 10, 64)
		if err != nil {
			t.Fatalf("hint %q is not a decimal version", h)
		}
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("no hint within 10s")
		return 0
	}
}
