package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type dbConfig struct {
	URL      string        `yaml:"url"`
	Password string        `yaml:"password" secret:"true"`
	Timeout  time.Duration `yaml:"timeout"`
}

type testConfig struct {
	Name   string         `yaml:"name"`
	Port   int            `yaml:"port"`
	Debug  bool           `yaml:"debug"`
	Addr   netip.AddrPort `yaml:"addr"`
	Tags   []string       `yaml:"tags"`
	DB     dbConfig       `yaml:"db"`
	Ignore string         `yaml:"-"`
}

func defaults() testConfig {
	return testConfig{Name: "def", Port: 1, DB: dbConfig{URL: "pg://default", Timeout: time.Second}}
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrecedence(t *testing.T) {
	cfg := defaults()
	path := writeFile(t, "name: file\nport: 2\ndb:\n  timeout: 5s\n  password: hunter2\naddr: 127.0.0.1:9000\n")
	env := map[string]string{"X_PORT": "3", "X_DB_URL": "pg://env", "X_TAGS": "a, b,,c"}
	if err := Load(&cfg, path, func(k string) string { return env[k] }, "X"); err != nil {
		t.Fatal(err)
	}
	if err := Set(&cfg, "debug", "true"); err != nil {
		t.Fatal(err)
	}
	if err := Set(&cfg, "port", "4"); err != nil {
		t.Fatal(err)
	}
	want := testConfig{
		Name: "file", Port: 4, Debug: true, Addr: netip.MustParseAddrPort("127.0.0.1:9000"),
		Tags: []string{"a", "b", "c"},
		DB:   dbConfig{URL: "pg://env", Password: "hunter2", Timeout: 5 * time.Second},
	}
	if diff := cmp.Diff(want, cfg, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
		t.Fatalf("config (-want +got):\n%s", diff)
	}
}

func TestUnknownYAMLKeyNamed(t *testing.T) {
	cfg := defaults()
	err := Load(&cfg, writeFile(t, "db:\n  ulr: x\n"), nil, "X")
	if err == nil || !strings.Contains(err.Error(), "ulr") {
		t.Fatalf("err = %v, want it to name the unknown key", err)
	}
}

func TestEmptyFileKeepsDefaults(t *testing.T) {
	cfg := defaults()
	if err := Load(&cfg, writeFile(t, ""), nil, "X"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(defaults(), cfg, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

func TestBadValuesNameTheKey(t *testing.T) {
	cfg := defaults()
	env := map[string]string{"X_DB_TIMEOUT": "soon", "X_PORT": "many"}
	err := Load(&cfg, "", func(k string) string { return env[k] }, "X")
	for _, want := range []string{"X_DB_TIMEOUT (db.timeout)", "X_PORT (port)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to mention %q", err, want)
		}
	}
	if err := Set(&cfg, "db.nope", "1"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Set unknown key err = %v", err)
	}
	if err := Set(&cfg, "db", "1"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Set on a section err = %v", err)
	}
	if err := Set(&cfg, "addr", "not-an-addr"); err == nil || !strings.Contains(err.Error(), "addr") {
		t.Errorf("Set bad addr err = %v", err)
	}
}

func TestKeysAndRedacted(t *testing.T) {
	cfg := defaults()
	cfg.DB.Password = "hunter2"
	got := Keys(cfg)
	want := []string{"name", "port", "debug", "addr", "tags", "db.url", "db.password", "db.timeout"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Keys (-want +got):\n%s", diff)
	}
	r := Redacted(cfg)
	if r.DB.Password != "REDACTED" || cfg.DB.Password != "hunter2" || r.DB.URL != cfg.DB.URL {
		t.Fatalf("Redacted = %+v (orig %+v)", r.DB, cfg.DB)
	}
}
