package presence_test

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/chargeplane/chargeplane/cloud/postgres/pgtest"
	"github.com/chargeplane/chargeplane/cloud/presence"
)

// TestOnlineCollectorCountsPerTenant scrapes chargeplane_chargers_online
// from the real Postgres and Redis: chargers count by their tenant when
// connected, fresh and on an edge that is not offline.
func TestOnlineCollectorCountsPerTenant(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := pgtest.MustPool(t, pgtest.MustDB(t))
	s, clk := newStore(t)
	now := clk.Now()
	chargers := []struct{ tenant, edge, charger string }{
		{"t1", "e1", "c1"}, {"t1", "e1", "c2"}, {"t1", "e2", "c3"}, {"t1", "e2", "c4"},
		{"t2", "e3", "c5"},
		{"t3", "e4", "c6"}, {"t3", "e5", "c7"},
	}
	for _, c := range chargers {
		if _, err := pool.Exec(ctx, `INSERT INTO chargers (tenant_id, edge_id, charger_id, first_seen, last_seen) VALUES ($1, $2, $3, $4, $4)`,
			c.tenant, c.edge, c.charger, now); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.Apply(ctx, []presence.Update{
		{EdgeID: "e1", ChargerID: "c1", Seq: 1, Connected: true, LastSeen: now},
		{EdgeID: "e1", ChargerID: "c2", Seq: 2, Connected: true, LastSeen: now.Add(-time.Minute)},
		{EdgeID: "e2", ChargerID: "c3", Seq: 1, Connected: true, LastSeen: now},
		{EdgeID: "e2", ChargerID: "c4", Seq: 2, Connected: false, LastSeen: now},
		{EdgeID: "e3", ChargerID: "c5", Seq: 1, Connected: true, LastSeen: now},
		{EdgeID: "e4", ChargerID: "c6", Seq: 1, Connected: true, LastSeen: now.Add(-time.Hour)}, // stale
		// Presence of an edge Postgres has no charger of counts nowhere.
		{EdgeID: "e9", ChargerID: "c9", Seq: 1, Connected: true, LastSeen: now},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetEdgeState(ctx, "e3", presence.EdgeOffline); err != nil {
		t.Fatal(err)
	}
	c := presence.NewOnlineCollector(pool, s, 2*time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	want := `# HELP chargeplane_chargers_online Chargers online now (connected, heard from within presence.timeout, edge not offline), by tenant.
# TYPE chargeplane_chargers_online gauge
chargeplane_chargers_online{tenant="t1"} 3
chargeplane_chargers_online{tenant="t2"} 0
chargeplane_chargers_online{tenant="t3"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}

	// The clock moves past c1..c3's timeout: t1 has none online.
	clk.Add(4 * time.Minute)
	if err := testutil.CollectAndCompare(c, strings.NewReader(strings.Replace(want, `"t1"} 3`, `"t1"} 0`, 1))); err != nil {
		t.Errorf("after the timeout: %v", err)
	}
}

// TestOnlineCollectorAnswersWhenPostgresFails: a failing query leaves the
// metric out of the scrape instead of failing it.
func TestOnlineCollectorAnswersWhenPostgresFails(t *testing.T) {
	t.Parallel()
	pool := pgtest.MustPool(t, pgtest.MustDB(t))
	s, _ := newStore(t)
	var logs strings.Builder
	c := presence.NewOnlineCollector(pool, s, 2*time.Second, slog.New(slog.NewTextHandler(&logs, nil)))
	pool.Close()
	if n := testutil.CollectAndCount(c); n != 0 {
		t.Errorf("scrape with Postgres closed gave %d series, want 0", n)
	}
	if !strings.Contains(logs.String(), "chargeplane_chargers_online left out of this scrape") {
		t.Errorf("the failure was not logged; logs:\n%s", logs.String())
	}
}
