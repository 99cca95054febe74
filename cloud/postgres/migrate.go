package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationLockKey is the pg_advisory_lock key every replica takes while
// migrating, so that replicas starting together apply each migration once.
// It is the first 8 bytes of sha256("chargeplane.migrations") with the sign
// bit cleared; any fixed value works as long as nothing else in the database
// takes the same advisory lock.
const migrationLockKey int64 = 0x7cc0_d09c_50aa_fc67

// ErrBadMigrations reports a migration set that cannot be applied as given:
// a misnamed file, a duplicate version, or an up file without its down.
var ErrBadMigrations = errors.New("bad migration files")

// Migration is one numbered schema change.
type Migration struct {
	Version int
	Name    string
	// SQL of the up file.
	SQL string
}

var migrationFile = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.(up|down)\.sql$`) //nolint:gochecknoglobals // compiled once, read-only.

// ParseMigrations reads the NNNN_name.up.sql / NNNN_name.down.sql files at
// the top of fsys and returns the up migrations in version order. Every up
// file needs its down file; other files are an error too, so that a typo is
// not silently skipped.
func ParseMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	ups := map[int]Migration{}
	downs := map[int]string{}
	var errs []error
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		m := migrationFile.FindStringSubmatch(e.Name())
		if m == nil {
			errs = append(errs, fmt.Errorf("%s: want NNNN_name.up.sql or NNNN_name.down.sql: %w", e.Name(), ErrBadMigrations))
			continue
		}
		version, _ := strconv.Atoi(m[1]) // four digits: cannot fail
		if version == 0 {
			errs = append(errs, fmt.Errorf("%s: versions start at 0001: %w", e.Name(), ErrBadMigrations))
			continue
		}
		if m[3] == "down" {
			if prev, ok := downs[version]; ok {
				errs = append(errs, fmt.Errorf("%s: version %d already used by %s: %w", e.Name(), version, prev, ErrBadMigrations))
			}
			downs[version] = m[2]
			continue
		}
		if prev, ok := ups[version]; ok {
			errs = append(errs, fmt.Errorf("%s: version %d already used by %s: %w", e.Name(), version, prev.Name, ErrBadMigrations))
			continue
		}
		raw, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		ups[version] = Migration{Version: version, Name: m[2], SQL: string(raw)}
	}
	for v, m := range ups {
		if name, ok := downs[v]; !ok || name != m.Name {
			errs = append(errs, fmt.Errorf("%04d_%s.up.sql has no %04d_%s.down.sql: %w", v, m.Name, v, m.Name, ErrBadMigrations))
		}
	}
	for v, name := range downs {
		if _, ok := ups[v]; !ok {
			errs = append(errs, fmt.Errorf("%04d_%s.down.sql has no up file: %w", v, name, ErrBadMigrations))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	out := make([]Migration, 0, len(ups))
	for _, m := range ups {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	return out, nil
}

// Migrate applies the migrations in fsys that the database has not recorded
// in schema_migrations, in version order, each in its own transaction, and
// returns the ones it applied (none when the schema is current).
//
// It holds a session-level advisory lock for the whole run, so replicas that
// start together queue up: the first applies, the others find nothing left to
// do. A database that already has versions this binary does not know (a newer
// replica migrated it) is left alone: during a rolling upgrade old and new
// replicas share one schema, which is why migrations must stay additive.
func Migrate(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS) ([]Migration, error) {
	all, err := ParseMigrations(fsys)
	if err != nil {
		return nil, err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
		return nil, fmt.Errorf("take migration lock: %w", err)
	}
	defer func() {
		unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(unlockCtx, `SELECT pg_advisory_unlock($1)`, migrationLockKey); err != nil {
			// A session lock lives as long as its connection: closing the
			// connection is what releases it when the unlock could not be sent.
			_ = conn.Conn().Close(unlockCtx)
		}
	}()

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer     PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	rows, err := conn.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	appliedVersions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	done := make(map[int]bool, len(appliedVersions))
	for _, v := range appliedVersions {
		done[int(v)] = true
	}

	var applied []Migration
	for _, m := range all {
		if done[m.Version] {
			continue
		}
		if err := applyMigration(ctx, conn.Conn(), m); err != nil {
			return applied, err
		}
		applied = append(applied, m)
	}
	return applied, nil
}

func applyMigration(ctx context.Context, conn *pgx.Conn, m Migration) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migration %04d_%s: begin: %w", m.Version, m.Name, err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // no-op after Commit
	// No arguments: pgx sends the file with the simple protocol, so it may
	// hold several statements.
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
		return fmt.Errorf("migration %04d_%s: record: %w", m.Version, m.Name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migration %04d_%s: commit: %w", m.Version, m.Name, err)
	}
	return nil
}

// Applied lists the migrations recorded in schema_migrations, oldest first.
func Applied(ctx context.Context, pool *pgxpool.Pool) ([]AppliedMigration, error) {
	rows, err := pool.Query(ctx, `SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AppliedMigration, error) {
		var a AppliedMigration
		err := r.Scan(&a.Version, &a.Name, &a.AppliedAt)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	return out, nil
}

// AppliedMigration is a row of schema_migrations.
type AppliedMigration struct {
	Version   int
	Name      string
	AppliedAt time.Time
}
