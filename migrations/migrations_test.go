package migrations_test

import (
	"fmt"
	"io/fs"
	"slices"
	"testing"

	"github.com/chargeplane/chargeplane/cloud/postgres"
	"github.com/chargeplane/chargeplane/cloud/postgres/pgtest"
	"github.com/chargeplane/chargeplane/migrations"
)

func TestFilesAreWellFormed(t *testing.T) {
	t.Parallel()
	ms, err := postgres.ParseMigrations(migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.Version != i+1 {
			t.Errorf("migration %04d_%s: want version %d: versions are consecutive from 1", m.Version, m.Name, i+1)
		}
	}
}

// TestUpDownUp applies every migration, then every down file newest first,
// then every migration again: the down files must undo exactly what the up
// files did.
func TestUpDownUp(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := pgtest.MustPool(t, pgtest.MustEmptyDB(t))
	ms, err := postgres.ParseMigrations(migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Migrate(ctx, pool, migrations.FS); err != nil {
		t.Fatalf("up: %v", err)
	}
	for _, m := range slices.Backward(ms) {
		down, err := fs.ReadFile(migrations.FS, fileName(m, "down"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, string(down)); err != nil {
			t.Fatalf("down %s: %v", fileName(m, "down"), err)
		}
		if _, err := pool.Exec(ctx, `DELETE FROM schema_migrations WHERE version = $1`, m.Version); err != nil {
			t.Fatal(err)
		}
	}
	var tables int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("%d tables left after every down migration, want 0", tables)
	}
	again, err := postgres.Migrate(ctx, pool, migrations.FS)
	if err != nil {
		t.Fatalf("up again: %v", err)
	}
	if len(again) != len(ms) {
		t.Errorf("up again applied %d migrations, want %d", len(again), len(ms))
	}
}

func fileName(m postgres.Migration, dir string) string {
	return fmt.Sprintf("%04d_%s.%s.sql", m.Version, m.Name, dir)
}
