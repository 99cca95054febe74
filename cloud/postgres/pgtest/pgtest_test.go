package pgtest_test

import (
	"context"
	"testing"

	"github.com/chargeplane/chargeplane/cloud/postgres/pgtest"
)

func TestMustDBIsMigratedAndIsolated(t *testing.T) {
	t.Parallel()
	a := pgtest.MustPool(t, pgtest.MustDB(t))
	b := pgtest.MustPool(t, pgtest.MustDB(t))
	ctx := t.Context()

	if _, err := a.Exec(ctx, `INSERT INTO chargers (tenant_id, edge_id, charger_id, first_seen, last_seen) VALUES ('t', 'e', 'c', now(), now())`); err != nil {
		t.Fatalf("insert into a fresh database: %v", err)
	}
	var n int
	if err := b.QueryRow(ctx, `SELECT count(*) FROM chargers`).Scan(&n); err != nil {
		t.Fatalf("count: %v", err)
	}
	if n != 0 {
		t.Errorf("second database sees %d chargers of the first, want 0", n)
	}
	var versions int
	if err := b.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&versions); err != nil {
		t.Fatalf("schema_migrations: %v", err)
	}
	if versions == 0 {
		t.Error("template database has no applied migrations")
	}
}

func TestMustEmptyDBHasNoSchema(t *testing.T) {
	t.Parallel()
	pool := pgtest.MustPool(t, pgtest.MustEmptyDB(t))
	var exists bool
	err := pool.QueryRow(context.Background(), `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	if exists {
		t.Error("empty database has schema_migrations")
	}
}

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"postgres://u@h:5432/postgres?sslmode=disable", "postgres://u@h:5432/x?sslmode=disable"},
		{"postgresql://u:p@h/postgres", "postgresql://u:p@h/x"},
		{"host=h user=u", "host=h user=u dbname=x"},
	}
	for _, tt := range tests {
		if got := pgtest.WithDatabase(tt.in, "x"); got != tt.want {
			t.Errorf("WithDatabase(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
