package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chargeplane/chargeplane/cloud/access"
	"github.com/chargeplane/chargeplane/cloud/identity"
	"github.com/chargeplane/chargeplane/cloud/postgres/pgtest"
	"github.com/chargeplane/chargeplane/cloud/presence/presencetest"
	"github.com/chargeplane/chargeplane/cloud/server"
)

func TestCreateAdmin(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.MustDB(t)
	vars := env(map[string]string{"CHARGEPLANE_CLOUD_POSTGRES_URL": dbURL})
	createAdmin := func(stdin string, args ...string) (string, error) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), append([]string{"admin", "create-admin"}, args...), strings.NewReader(stdin), &stdout, &stderr, vars)
		t.Logf("stdout: %sstderr: %s", stdout.String(), stderr.String())
		return stdout.String(), err
	}

	out, err := createAdmin("", "-email", "Root@Example.com", "-name", "Root")
	if err != nil {
		t.Fatal(err)
	}
	generated, ok := strings.CutPrefix(strings.TrimSpace(out), "password: ")
	if !ok || len(generated) < identity.MinPasswordLen {
		t.Fatalf("output %q: want \"password: <generated>\"", out)
	}
	out, err = createAdmin("from stdin password\n", "-email", "second@example.com", "-password-stdin")
	if err != nil || out != "" {
		t.Fatalf("create-admin -password-stdin = %q, %v; want no output", out, err)
	}
	_, err = createAdmin("", "-email", "root@example.com")
	if !errors.Is(err, identity.ErrAlreadyExists) {
		t.Errorf("second admin with the same email: %v, want ErrAlreadyExists", err)
	}
	_, err = createAdmin("short\n", "-email", "third@example.com", "-password-stdin")
	if !errors.As(err, new(usageError)) {
		t.Errorf("short password: %v, want a usage error", err)
	}

	// Both can log in as platform admins.
	rdb, prefix := presencetest.MustRedis(t)
	cfg := server.DefaultConfig()
	cfg.Redis.Prefix = prefix
	ident := identity.New(pgtest.MustPool(t, dbURL), rdb, server.IdentityConfig(cfg), identity.LogMailer{Logger: newLogger(cfg.Log, &bytes.Buffer{})}, time.Now)
	for email, pw := range map[string]string{"root@example.com": generated, "second@example.com": "from stdin password"} {
		s, err := ident.Login(t.Context(), email, pw)
		if err != nil {
			t.Fatalf("login %s: %v", email, err)
		}
		if s.Principal.Role != access.RolePlatformAdmin || s.Principal.TenantID != "" {
			t.Errorf("%s logs in as %+v, want a platform admin", email, s.Principal)
		}
	}
}
