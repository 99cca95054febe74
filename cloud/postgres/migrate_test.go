package postgres_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/chargeplane/chargeplane/cloud/postgres"
	"github.com/chargeplane/chargeplane/cloud/postgres/pgtest"
	"github.com/chargeplane/chargeplane/migrations"
)

func versions(ms []postgres.Migration) []int {
	out := []int{}
	for _, m := range ms {
		out = append(out, m.Version)
	}
	return out
}

func TestMigrateTwiceConcurrently(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dbURL := pgtest.MustEmptyDB(t)
	// Two pools: two replicas starting at the same moment.
	pools := [2]*pgxpool.Pool{pgtest.MustPool(t, dbURL), pgtest.MustPool(t, dbURL)}
	var applied [2][]postgres.Migration
	var g errgroup.Group
	for i := range pools {
		g.Go(func() error {
			var err error
			applied[i], err = postgres.Migrate(ctx, pools[i], migrations.FS)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("concurrent Migrate: %v", err)
	}
	all, err := postgres.ParseMigrations(migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	// Exactly one of them applied everything, the other found nothing to do.
	got := append(versions(applied[0]), versions(applied[1])...)
	if diff := cmp.Diff(versions(all), got); diff != "" {
		t.Errorf("versions applied by both replicas together (-want +got):\n%s", diff)
	}
	rec, err := postgres.Applied(ctx, pools[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(rec) != len(all) {
		t.Errorf("schema_migrations has %d rows, want %d", len(rec), len(all))
	}

	again, err := postgres.Migrate(ctx, pools[1], migrations.FS)
	if err != nil {
		t.Fatalf("third Migrate: %v", err)
	}
	if len(again) != 0 {
		t.Errorf("third Migrate applied %v, want nothing", versions(again))
	}
}

func TestMigrateAppliesOnlyPendingAndStopsAtFailure(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := pgtest.MustPool(t, pgtest.MustEmptyDB(t))
	fsys := fstest.MapFS{
		"0001_a.up.sql":   {Data: []byte(`CREATE TABLE a (id int); CREATE TABLE a2 (id int);`)},
		"0001_a.down.sql": {Data: []byte(`DROP TABLE a2; DROP TABLE a;`)},
	}
	if _, err := postgres.Migrate(ctx, pool, fsys); err != nil {
		t.Fatal(err)
	}
	fsys["0002_b.up.sql"] = &fstest.MapFile{Data: []byte(`CREATE TABLE b (id int);`)}
	fsys["0002_b.down.sql"] = &fstest.MapFile{Data: []byte(`DROP TABLE b;`)}
	fsys["0003_bad.up.sql"] = &fstest.MapFile{Data: []byte(`CREATE TABLE c (id int); SELECT no_such_function();`)}
	fsys["0003_bad.down.sql"] = &fstest.MapFile{Data: []byte(`DROP TABLE c;`)}

	applied, err := postgres.Migrate(ctx, pool, fsys)
	if err == nil {
		t.Fatal("Migrate with a failing migration: no error")
	}
	if diff := cmp.Diff([]int{2}, versions(applied)); diff != "" {
		t.Errorf("applied before the failure (-want +got):\n%s", diff)
	}
	var c bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('c') IS NOT NULL`).Scan(&c); err != nil {
		t.Fatal(err)
	}
	if c {
		t.Error("table c of the failed migration exists: the migration was not rolled back")
	}
}

func TestParseMigrationsRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fsys fstest.MapFS
	}{
		{"misnamed file", fstest.MapFS{"1_a.up.sql": {}}},
		{"up without down", fstest.MapFS{"0001_a.up.sql": {}}},
		{"down without up", fstest.MapFS{"0001_a.down.sql": {}}},
		{"duplicate version", fstest.MapFS{
			"0001_a.up.sql": {}, "0001_a.down.sql": {},
			"0001_b.up.sql": {}, "0001_b.down.sql": {},
		}},
		{"version zero", fstest.MapFS{"0000_a.up.sql": {}, "0000_a.down.sql": {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := postgres.ParseMigrations(tt.fsys)
			if !errors.Is(err, postgres.ErrBadMigrations) {
				t.Errorf("ParseMigrations: err = %v, want ErrBadMigrations", err)
			}
		})
	}
}

func TestEnsureDatabase(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	// A name no other test uses, dropped afterwards through the admin connection.
	admin := pgtest.MustPool(t, pgtest.AdminURL())
	name := "chargeplane_ensure_" + rand.Text()[:10]
	dbURL := pgtest.WithDatabase(pgtest.AdminURL(), name)
	t.Cleanup(func() {
		if _, err := admin.Exec(context.Background(), `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})

	created, err := postgres.EnsureDatabase(ctx, dbURL)
	if err != nil || !created {
		t.Fatalf("first EnsureDatabase = %v, %v; want true, nil", created, err)
	}
	created, err = postgres.EnsureDatabase(ctx, dbURL)
	if err != nil || created {
		t.Fatalf("second EnsureDatabase = %v, %v; want false, nil", created, err)
	}
	pool := pgtest.MustPool(t, dbURL)
	if err := pool.Ping(ctx); err != nil {
		t.Errorf("ping created database: %v", err)
	}
	pool.Close()
}
