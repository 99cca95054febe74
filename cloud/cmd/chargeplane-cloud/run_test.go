package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chargeplane/chargeplane/cloud/postgres"
	"github.com/chargeplane/chargeplane/cloud/postgres/pgtest"
	"github.com/chargeplane/chargeplane/cloud/presence/presencetest"
	"github.com/chargeplane/chargeplane/migrations"
	"github.com/chargeplane/chargeplane/shared/config"
	"github.com/chargeplane/chargeplane/shared/mqtttest"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// fakeSecretURL carries a password check-config must never print.
const fakeSecretURL = "postgres://cp:s3cret@db:5432/cp" //nolint:gosec // fake credentials, for the redaction test

func TestCheckConfigPrecedence(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cloud.yaml")
	yaml := `
http:
  addr: 127.0.0.1:1001
presence:
  timeout: 1m
redis:
  prefix: "file:"
mqtt:
  password: hunter2
log:
  format: json
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"check-config", "-config", path,
		"-set", "presence.timeout=2m", "-set", "http.addr=127.0.0.1:1003", "-http-addr", "127.0.0.1:1004",
	}, nil, &stdout, &stderr, env(map[string]string{
		"CHARGEPLANE_CLOUD_HTTP_ADDR":    "127.0.0.1:1002",
		"CHARGEPLANE_CLOUD_REDIS_PREFIX": "env:",
		"CHARGEPLANE_CLOUD_POSTGRES_URL": fakeSecretURL,
	}))
	if err != nil {
		t.Fatalf("check-config: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"addr: 127.0.0.1:1004", // flag beats -set beats env beats file
		"timeout: 2m0s",        // -set beats file
		"prefix: 'env:'",       // env beats file
		"format: json",         // file beats default
		"url: REDACTED",
		"password: REDACTED",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check-config output lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"hunter2", "s3cret"} {
		if strings.Contains(out+stderr.String(), secret) {
			t.Errorf("check-config printed the secret %q", secret)
		}
	}
}

func TestInvalidConfigNamesEveryProblem(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"serve", "-set", "ingest.batch_events=0", "-set", "log.format=xml", "-set", "mqtt.topic_root=a/#"}, nil,
		&stdout, &stderr, env(nil))
	if err == nil {
		t.Fatal("serve with an invalid config: no error")
	}
	for _, key := range []string{"postgres.url: required", "ingest.batch_events:", "log.format:", "mqtt.topic_root:"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error lacks %q: %v", key, err)
		}
	}
	if stdout.Len() != 0 {
		t.Errorf("invalid config printed %q", stdout.String())
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{"unknown command", []string{"launch"}},
		{"unknown flag", []string{"serve", "-verbose"}},
		{"stray argument", []string{"check-config", "extra"}},
		{"-create-db outside migrate", []string{"serve", "-create-db"}},
		{"bad -set", []string{"check-config", "-set", "novalue"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := run(t.Context(), tt.args, nil, &bytes.Buffer{}, &bytes.Buffer{}, env(nil))
			if !errors.As(err, new(usageError)) {
				t.Errorf("run(%q) = %v, want a usage error", tt.args, err)
			}
		})
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cloud.yaml")
	if err := os.WriteFile(path, []byte("presence:\n  timout: 1m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(t.Context(), []string{"check-config", "-config", path}, nil, &bytes.Buffer{}, &bytes.Buffer{}, env(nil))
	if err == nil || !strings.Contains(err.Error(), "timout") {
		t.Errorf("unknown YAML key: err = %v, want it named", err)
	}
	err = run(t.Context(), []string{"check-config", "-set", "presence.timeout=soon"}, nil, &bytes.Buffer{}, &bytes.Buffer{}, env(nil))
	if err == nil || !strings.Contains(err.Error(), "presence.timeout") {
		t.Errorf("bad -set value: err = %v, want presence.timeout named", err)
	}
	err = run(t.Context(), []string{"check-config", "-set", "no.such=1"}, nil, &bytes.Buffer{}, &bytes.Buffer{}, env(nil))
	if !errors.Is(err, config.ErrUnknownKey) {
		t.Errorf("unknown -set key: err = %v, want config.ErrUnknownKey", err)
	}
}

func TestMigrateCreatesTheDatabase(t *testing.T) {
	t.Parallel()
	name := "chargeplane_cmd_" + strings.ToLower(rand.Text()[:10])
	dbURL := pgtest.WithDatabase(pgtest.AdminURL(), name)
	admin := pgtest.MustPool(t, pgtest.AdminURL())
	t.Cleanup(func() {
		if _, err := admin.Exec(context.Background(), `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	vars := env(map[string]string{"CHARGEPLANE_CLOUD_POSTGRES_URL": dbURL})

	var out bytes.Buffer
	if err := run(t.Context(), []string{"migrate", "-create-db"}, nil, &out, &bytes.Buffer{}, vars); err != nil {
		t.Fatalf("migrate -create-db: %v", err)
	}
	if !strings.Contains(out.String(), "created database") || !strings.Contains(out.String(), "applied 0001_") {
		t.Errorf("first migrate printed:\n%s", out.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"migrate", "-create-db"}, nil, &out, &bytes.Buffer{}, vars); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	ms, err := postgres.ParseMigrations(migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	last := ms[len(ms)-1]
	if strings.Contains(out.String(), "applied") || !strings.Contains(out.String(), fmt.Sprintf("schema at %04d_%s\n", last.Version, last.Name)) {
		t.Errorf("second migrate printed:\n%s", out.String())
	}
}

// TestServeRunsUntilCanceled runs the binary's serve path against the real
// services and stops it as SIGTERM would.
func TestServeRunsUntilCanceled(t *testing.T) {
	t.Parallel()
	_, prefix := presencetest.MustRedis(t)
	mqtttest.MustReach(t, mqtttest.URL())
	id := strings.ToLower(rand.Text()[:10])
	vars := env(map[string]string{
		"CHARGEPLANE_CLOUD_POSTGRES_URL": pgtest.MustDB(t),
		"CHARGEPLANE_CLOUD_REDIS_URL":    presencetest.URL(),
		"CHARGEPLANE_CLOUD_MQTT_URL":     mqtttest.URL(),
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-http-addr", "127.0.0.1:0", "-set", "redis.prefix=" + prefix,
			"-set", "mqtt.client_id=cmdtest-" + id, "-set", "mqtt.topic_root=cmdtest/" + id}, nil,
			&bytes.Buffer{}, stderr, vars)
	}()

	addrRE := regexp.MustCompile(`msg=serving addr=(\S+)`)
	var addr string
	deadline := time.Now().Add(15 * time.Second)
	for addr == "" {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve stopped early: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not log its address:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for ready := false; !ready; {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never 200:\n%s", stderr.String())
		}
		res, err := http.Get("http://" + addr + "/readyz") //nolint:noctx // test polling a local server
		if err == nil {
			ready = res.StatusCode == http.StatusOK
			_ = res.Body.Close()
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve returned %v after cancel", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
	mqtttest.ForgetSession(t, mqtttest.URL(), "cmdtest-"+id)
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
