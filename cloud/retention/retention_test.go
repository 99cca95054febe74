package retention_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/chargeplane/chargeplane/cloud/postgres/pgtest"
	"github.com/chargeplane/chargeplane/cloud/retention"
)

const day = 24 * time.Hour

// now is the fixed clock of every test: rows are aged relative to it.
func now() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// addEvents inserts n events of edge, seqs from first, received age ago.
func addEvents(t *testing.T, pool *pgxpool.Pool, edge string, first, n int, age time.Duration) {
	t.Helper()
	_, err := pool.Exec(t.Context(), `INSERT INTO events (edge_id, seq, tenant_id, charger_id, kind, occurred_at, received_at, payload)
		SELECT $1, s, 't1', 'c1', 'heartbeat', $4, $4, '\x'::bytea FROM generate_series($2::bigint, $2::bigint + $3 - 1) s`,
		edge, first, n, now().Add(-age))
	if err != nil {
		t.Fatal(err)
	}
}

func addCommand(t *testing.T, pool *pgxpool.Pool, id string, age time.Duration) {
	t.Helper()
	at := now().Add(-age)
	_, err := pool.Exec(t.Context(), `INSERT INTO commands (tenant_id, command_id, edge_id, charger_id, kind, state, requested_by, requested_at, expires_at, deadline)
		VALUES ('t1', $1, 'e1', 'c1', 'reboot', 'accepted', 'user:u1', $2, $2, $2)`, id, at)
	if err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, pool *pgxpool.Pool, sql string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestPruneDeletesOnlyExpiredRowsAndNoMoneyRecords(t *testing.T) {
	t.Parallel()
	pool := pgtest.MustPool(t, pgtest.MustDB(t))
	addEvents(t, pool, "e1", 1, 23, 91*day) // expired: 23 rows, batches of 5
	addEvents(t, pool, "e1", 24, 4, 89*day) // kept
	addEvents(t, pool, "e2", 1, 2, 90*day-time.Second)
	addCommand(t, pool, "old", 366*day)
	addCommand(t, pool, "new", 364*day)
	// Money records as old as anything: never touched.
	ctx := t.Context()
	old := now().Add(-1000 * day)
	if _, err := pool.Exec(ctx, `INSERT INTO sessions (edge_id, seq, tenant_id, charger_id, connector, session_ref, started_at, ended_at,
		energy_mwh, duration_s, reason, amount_fen, electricity_fen, service_fen, payload, received_at)
		VALUES ('e1', 1, 't1', 'c1', 1, 's1', $1, $1, 1000, 60, 'local', 10, 6, 4, '\x'::bytea, $1)`, old); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO wallet_entries (edge_id, seq, tenant_id, card_id, amount_fen, created_at)
		VALUES ('e1', 1, 't1', 'card1', 10, $1)`, old); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	p, err := retention.New(pool, retention.Config{Events: 90 * day, Commands: 365 * day, Interval: time.Hour, BatchRows: 5},
		now, discard(), reg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Prune(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int64{"events": 23, "commands": 1}, got); diff != "" {
		t.Errorf("Prune deleted (-want +got):\n%s", diff)
	}
	if n := count(t, pool, `SELECT count(*) FROM events`); n != 6 {
		t.Errorf("events left = %d, want 6", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM commands WHERE command_id = 'new'`); n != 1 || count(t, pool, `SELECT count(*) FROM commands`) != 1 {
		t.Error("commands: want only the one within 365 days left")
	}
	if count(t, pool, `SELECT count(*) FROM sessions`) != 1 || count(t, pool, `SELECT count(*) FROM wallet_entries`) != 1 {
		t.Error("a session or wallet entry was deleted")
	}
	for table, want := range map[string]float64{"events": 23, "commands": 1} {
		if n := testutil.ToFloat64(counterOf(t, reg, table)); n != want {
			t.Errorf("chargeplane_retention_deleted_total{table=%q} = %v, want %v", table, n, want)
		}
	}
	// Nothing more is due: a second prune deletes nothing.
	if got, err := p.Prune(ctx); err != nil || got["events"] != 0 || got["commands"] != 0 {
		t.Errorf("second Prune = %v, %v; want nothing deleted", got, err)
	}
}

func TestZeroKeepsATableForever(t *testing.T) {
	t.Parallel()
	pool := pgtest.MustPool(t, pgtest.MustDB(t))
	addEvents(t, pool, "e1", 1, 3, 1000*day)
	addCommand(t, pool, "old", 1000*day)
	p, err := retention.New(pool, retention.Config{Commands: 365 * day, Interval: time.Hour},
		now, discard(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Prune(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int64{"commands": 1}, got); diff != "" {
		t.Errorf("Prune deleted (-want +got):\n%s", diff)
	}
	if n := count(t, pool, `SELECT count(*) FROM events`); n != 3 {
		t.Errorf("events left = %d, want all 3 (events: 0 keeps them)", n)
	}
}

// TestConcurrentPrunersDeleteEachRowOnce runs two replicas' pruners on one
// database at once: together they delete every expired row, each once, and
// their counters add up to exactly that.
func TestConcurrentPrunersDeleteEachRowOnce(t *testing.T) {
	t.Parallel()
	pool := pgtest.MustPool(t, pgtest.MustDB(t))
	const expired = 20_000
	addEvents(t, pool, "e1", 1, expired, 100*day)
	addEvents(t, pool, "e1", expired+1, 50, day)
	regs := []*prometheus.Registry{prometheus.NewRegistry(), prometheus.NewRegistry()}
	var pruners []*retention.Pruner
	for _, reg := range regs {
		// Each replica has its own pool, as separate processes do.
		p, err := retention.New(pgtest.MustPool(t, pool.Config().ConnString()),
			retention.Config{Events: 90 * day, Interval: time.Hour, BatchRows: 500},
			now, discard(), reg)
		if err != nil {
			t.Fatal(err)
		}
		pruners = append(pruners, p)
	}
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		deleted [2]int64
		errs    [2]error
	)
	for i, p := range pruners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var got map[string]int64
			got, errs[i] = p.Prune(context.Background())
			deleted[i] = got["events"]
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("pruner %d: %v", i, err)
		}
	}
	if sum := deleted[0] + deleted[1]; sum != expired {
		t.Errorf("pruners deleted %d + %d = %d rows, want %d", deleted[0], deleted[1], sum, expired)
	}
	metrics := testutil.ToFloat64(counterOf(t, regs[0], "events")) + testutil.ToFloat64(counterOf(t, regs[1], "events"))
	if metrics != expired {
		t.Errorf("deleted counters add up to %v, want %d", metrics, expired)
	}
	if n := count(t, pool, `SELECT count(*) FROM events`); n != 50 {
		t.Errorf("events left = %d, want the 50 unexpired", n)
	}
}

// TestRunPrunesAtStartAndStopsWithContext: Run prunes without waiting an
// interval and returns nil when its context ends.
func TestRunPrunesAtStartAndStopsWithContext(t *testing.T) {
	t.Parallel()
	pool := pgtest.MustPool(t, pgtest.MustDB(t))
	addEvents(t, pool, "e1", 1, 10, 100*day)
	p, err := retention.New(pool, retention.Config{Events: 90 * day, Interval: time.Hour},
		now, discard(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for deadline := time.Now().Add(10 * time.Second); count(t, pool, `SELECT count(*) FROM events`) != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Run did not prune at start")
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after its context ended", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestNewRefusesABadConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]retention.Config{
		"no interval":       {Events: day},
		"negative events":   {Events: -day, Interval: time.Hour},
		"negative commands": {Commands: -day, Interval: time.Hour},
		"negative batch":    {Events: day, Interval: time.Hour, BatchRows: -1},
	} {
		if _, err := retention.New(nil, cfg, time.Now, discard(), prometheus.NewRegistry()); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}

// counterOf returns chargeplane_retention_deleted_total{table} of reg as a
// collector testutil can read.
func counterOf(t *testing.T, reg *prometheus.Registry, table string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "chargeplane_retention_deleted_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "table" && l.GetValue() == table {
					c := prometheus.NewCounter(prometheus.CounterOpts{Name: "copy"})
					c.Add(m.GetCounter().GetValue())
					return c
				}
			}
		}
	}
	t.Fatalf("chargeplane_retention_deleted_total{table=%q} not found", table)
	return nil
}
