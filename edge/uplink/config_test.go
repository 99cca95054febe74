package uplink

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chargeplane/chargeplane/shared/config"
)

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	_, goodCA := selfSignedCert(t, dir)
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		edit    func(*Config)
		wantKey string // "" = valid
		wantIs  error
	}{
		{name: "defaults", edit: func(*Config) {}},
		{name: "CA file and credential", edit: func(c *Config) { c.TLSCAFile = goodCA; c.Credential = "s" }},
		{name: "missing CA file", edit: func(c *Config) { c.TLSCAFile = filepath.Join(dir, "nope.pem") }, wantKey: "uplink.tls_ca_file", wantIs: os.ErrNotExist},
		{name: "CA file without a certificate", edit: func(c *Config) { c.TLSCAFile = garbage }, wantKey: "uplink.tls_ca_file", wantIs: errNoCertificates},
		{name: "no window", edit: func(c *Config) { c.MaxInflight = 0 }, wantKey: "uplink.max_inflight"},
		{name: "huge window", edit: func(c *Config) { c.MaxInflight = maxMaxInflight + 1 }, wantKey: "uplink.max_inflight"},
		{name: "no config poll", edit: func(c *Config) { c.ConfigPoll = 0 }, wantKey: "uplink.config_poll"},
		{name: "no session poll", edit: func(c *Config) { c.SessionPoll = 0 }, wantKey: "uplink.session_poll"},
		{name: "no call timeout", edit: func(c *Config) { c.CallTimeout = 0 }, wantKey: "uplink.call_timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.edit(&cfg)
			err := cfg.Validate()
			if tc.wantKey == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantKey) {
				t.Fatalf("Validate = %v, want an error naming %s", err, tc.wantKey)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("Validate = %v, want it to wrap %v", err, tc.wantIs)
			}
		})
	}
}

func TestMQTTCredentials(t *testing.T) {
	for _, tc := range []struct {
		name                       string
		username, password, cred   string
		wantUsername, wantPassword string
	}{
		{name: "anonymous"},
		{name: "credential only", cred: "sec", wantUsername: "edge-9", wantPassword: "sec"},
		{name: "explicit login wins", username: "u", password: "p", cred: "sec", wantUsername: "u", wantPassword: "p"},
		{name: "username with credential as password", username: "u", cred: "sec", wantUsername: "u", wantPassword: "sec"},
		{name: "password without username", password: "p", cred: "sec", wantUsername: "edge-9", wantPassword: "p"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Username, cfg.Password, cfg.Credential = tc.username, tc.password, tc.cred
			u, p := cfg.MQTTCredentials("edge-9")
			if u != tc.wantUsername || p != tc.wantPassword {
				t.Errorf("MQTTCredentials = %q, %q; want %q, %q", u, p, tc.wantUsername, tc.wantPassword)
			}
		})
	}
}

func TestTLSConfig(t *testing.T) {
	cfg := DefaultConfig()
	if tc, err := cfg.TLSConfig(); tc != nil || err != nil {
		t.Fatalf("TLSConfig without settings = %v, %v; want nil (library defaults)", tc, err)
	}
	_, ca := selfSignedCert(t, t.TempDir())
	cfg.TLSCAFile = ca
	a, err := cfg.TLSConfig()
	if err != nil || a.RootCAs == nil || a.InsecureSkipVerify {
		t.Fatalf("TLSConfig with a CA = %+v, %v", a, err)
	}
	b, _ := cfg.TLSConfig()
	if a == b {
		t.Error("TLSConfig returned the same value twice: clients would share it")
	}
}

func TestCredentialIsRedacted(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Credential, cfg.Password = "edge-secret", "pw"
	r := config.Redacted(cfg)
	if r.Credential != "REDACTED" || r.Password != "REDACTED" {
		t.Errorf("redacted credential %q, password %q", r.Credential, r.Password)
	}
}
