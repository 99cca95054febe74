package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chargeplane/chargeplane/cloud/identity"
	"github.com/chargeplane/chargeplane/cloud/postgres"
	"github.com/chargeplane/chargeplane/cloud/server"
	"github.com/chargeplane/chargeplane/migrations"
)

// createAdmin creates a platform admin with a verified email on the
// configured Postgres (migrating it first): how a fresh install gets its
// first administrator, who then creates tenants and users through the API.
// The password is read from stdin (-password-stdin) or generated and
// printed once.
func createAdmin(ctx context.Context, cfg server.Config, f *adminFlags, stdin io.Reader, stdout, stderr io.Writer) error {
	password := ""
	if f.passwordStdin {
		if stdin == nil {
			return usageError{errors.New("-password-stdin: no stdin")}
		}
		line, err := bufio.NewReader(io.LimitReader(stdin, identity.MaxPasswordBytes+2)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read password: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	} else {
		// 26 characters of base32: 130 bits.
		password = rand.Text()
	}
	if err := identity.CheckPassword("password", password); err != nil {
		return usageError{err}
	}
	if _, err := identity.NormalizeEmail("email", f.email); err != nil {
		return usageError{err}
	}

	pool, err := postgres.Open(ctx, postgres.Config{URL: cfg.Postgres.URL, MaxConns: 2})
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := postgres.Migrate(ctx, pool, migrations.FS); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Creating a user touches only Postgres; the client connects lazily
	// and is never used here.
	ropts, err := redis.ParseURL(cfg.Redis.URL)
	if err != nil {
		return errors.New("redis.url: not a valid redis:// URL")
	}
	rdb := redis.NewClient(ropts)
	defer func() { _ = rdb.Close() }()
	ident := identity.New(pool, rdb, server.IdentityConfig(cfg), identity.LogMailer{Logger: newLogger(cfg.Log, stderr)}, time.Now)
	u, err := ident.BootstrapAdmin(ctx, f.email, password, f.name)
	if err != nil {
		return err
	}
	_, _ = fmt.Fprintf(stderr, "created platform admin %q (%s)\n", u.Email, u.ID)
	if f.passwordStdin {
		return nil
	}
	_, err = fmt.Fprintf(stdout, "password: %s\n", password)
	return err
}
