// Package pgtest gives tests their own Postgres database on the real server
// (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres),
// so test packages and parallel tests never share rows.
//
// MustDB clones a database that already holds the schema of migrations/: the
// schema is migrated once into a template database (named after a hash of
// the migration files, built under an advisory lock so that test binaries
// running in parallel build it once), and each test gets
// CREATE DATABASE … TEMPLATE, which takes milliseconds. The clone is dropped
// WITH (FORCE) when the test ends.
//
// Test code only: production code never imports this package.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chargeplane/chargeplane/cloud/postgres"
	"github.com/chargeplane/chargeplane/migrations"
)

// DefaultAdminURL is used when TEST_DATABASE_URL is unset. It must name a
// role that may create databases.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// templateLockKey serialises template builds across test binaries.
const templateLockKey int64 = 0x5047_5445_5354_0001 // "PGTEST" + 1

// template is built at most once per test binary.
//
//nolint:gochecknoglobals // once-per-process memo of a test helper; never used by production code.
var template struct {
	once sync.Once
	name string
	err  error
}

// AdminURL returns TEST_DATABASE_URL or DefaultAdminURL.
func AdminURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultAdminURL
}

// MustDB returns the URL of a new database holding the current schema,
// dropped when the test ends.
func MustDB(tb testing.TB) string {
	tb.Helper()
	admin := mustAdmin(tb)
	template.once.Do(func() {
		template.name, template.err = buildTemplate(admin)
	})
	if template.err != nil {
		tb.Fatalf("pgtest: build template database: %v", template.err)
	}
	return create(tb, admin, "TEMPLATE "+pgx.Identifier{template.name}.Sanitize())
}

// MustEmptyDB returns the URL of a new database with no schema at all, for
// tests of the migration runner itself; it is dropped when the test ends.
func MustEmptyDB(tb testing.TB) string {
	tb.Helper()
	return create(tb, mustAdmin(tb), "")
}

// MustPool opens a pool on url, closed when the test ends.
func MustPool(tb testing.TB, dbURL string) *pgxpool.Pool {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := postgres.Open(ctx, postgres.Config{URL: dbURL, MaxConns: 8})
	if err != nil {
		tb.Fatalf("pgtest: open pool: %v", err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// WithDatabase returns dbURL with its database replaced by name. It accepts
// both URLs and key=value connection strings.
func WithDatabase(dbURL, name string) string {
	if strings.HasPrefix(dbURL, "postgres://") || strings.HasPrefix(dbURL, "postgresql://") {
		u, err := url.Parse(dbURL)
		if err == nil {
			u.Path = "/" + name
			return u.String()
		}
	}
	return dbURL + " dbname=" + name
}

func mustAdmin(tb testing.TB) string {
	tb.Helper()
	admin := AdminURL()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Fatalf("pgtest: Postgres is not reachable at %s (TEST_DATABASE_URL): %v\n"+
			"Start it (for example `service postgresql start`) or point TEST_DATABASE_URL at a server where this role may CREATE DATABASE.",
			redact(admin), err)
	}
	_ = conn.Close(ctx)
	return admin
}

func create(tb testing.TB, admin, clause string) string {
	tb.Helper()
	name := "chargeplane_test_" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := exec(ctx, admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" "+clause); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := exec(ctx, admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return WithDatabase(admin, name)
}

// buildTemplate makes sure a database holding the current migrations exists
// and returns its name. The name carries a hash of the migration files, so a
// changed schema gets a new template and an old one is never reused.
func buildTemplate(admin string) (string, error) {
	sum, err := migrationsHash(migrations.FS)
	if err != nil {
		return "", err
	}
	name := "chargeplane_tpl_" + sum
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, templateLockKey); err != nil {
		return "", fmt.Errorf("take template lock: %w", err)
	}
	// Closing conn (deferred) releases the lock too; unlock explicitly so the
	// next builder need not wait for the close.
	defer func() { _, _ = conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, templateLockKey) }()

	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", fmt.Errorf("look up template: %w", err)
	}
	if exists {
		return name, nil
	}
	// Build under another name and rename when complete, so that a build cut
	// short (a killed test binary) never leaves a half-migrated template.
	building := name + "_build"
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{building}.Sanitize()+" WITH (FORCE)"); err != nil {
		return "", fmt.Errorf("drop stale build: %w", err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{building}.Sanitize()); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	pool, err := postgres.Open(ctx, postgres.Config{URL: WithDatabase(admin, building), MaxConns: 2})
	if err != nil {
		return "", err
	}
	_, err = postgres.Migrate(ctx, pool, migrations.FS)
	pool.Close()
	if err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{building}.Sanitize()+" RENAME TO "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("rename template: %w", err)
	}
	return name, nil
}

func migrationsHash(fsys fs.FS) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		_, _ = fmt.Fprintf(h, "%s\x00%d\x00", path, len(raw)) // hash writes never fail
		_, _ = h.Write(raw)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash migrations: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

func exec(ctx context.Context, dbURL, sql string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	_, err = conn.Exec(ctx, sql)
	if err != nil {
		return fmt.Errorf("%s: %w", strings.Fields(sql)[0], err)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

func redact(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil || u.Scheme == "" {
		return "(connection string)"
	}
	return u.Redacted()
}
