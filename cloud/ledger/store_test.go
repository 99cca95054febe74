package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chargeplane/chargeplane/cloud/ledger"
	"github.com/chargeplane/chargeplane/cloud/postgres/pgtest"
	"github.com/chargeplane/chargeplane/cloud/site"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) //nolint:gochecknoglobals // test fixture.

type fixture struct {
	pool   *pgxpool.Pool
	ledger *ledger.Store
	site   *site.Store
}

func newFixture(t testing.TB) fixture {
	t.Helper()
	pool := pgtest.MustPool(t, pgtest.MustDB(t))
	f := fixture{pool: pool, ledger: ledger.New(pool), site: site.New(pool, time.Now)}
	if _, _, err := f.site.CreateEdge(context.Background(), "t1", "e1", ""); err != nil {
		t.Fatal(err)
	}
	return f
}

func session(seq uint64, ref string, card string, amount int64) ledger.Session {
	start := t0.Add(time.Duration(seq) * time.Minute)
	return ledger.Session{
		EdgeID: "e1", Seq: seq, TenantID: "t1", ChargerID: "c1", Connector: 1, SessionRef: ref,
		StartedAt: start, EndedAt: start.Add(time.Minute), EnergyMWh: 100, DurationS: 60, Reason: "local",
		AmountFen: amount, ElectricityFen: amount, CardID: card, Payload: []byte{1},
	}
}

func TestPushDuplicatesWithinABatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	if _, err := f.site.PutCards(ctx, "t1", []site.Card{{ID: "aa", BalanceFen: 100}}); err != nil {
		t.Fatal(err)
	}
	sameAs1 := session(5, "r1", "aa", 10)
	sameAs1.StartedAt = session(1, "", "", 0).StartedAt
	res, err := f.ledger.Push(ctx, "t1", "e1", []ledger.Session{
		session(3, "r3", "aa", 10),
		session(1, "r1", "aa", 10),
		session(3, "r3", "aa", 10), // the same seq twice
		sameAs1,                    // session 1 again under seq 5
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ledger.PushResult{Stored: []uint64{1, 3}, Duplicates: []uint64{5}, ConfigVersion: res.Change.Version, Change: res.Change}, res); diff != "" {
		t.Errorf("push (-want +got):\n%s", diff)
	}
	if len(res.Change.Edges) != 1 || res.Change.Version == 0 {
		t.Errorf("debit change = %+v, want a version hinting e1", res.Change)
	}
	cfg, _, err := f.site.Config(ctx, "t1", "e1", 0)
	if err != nil || cfg.Cards[0].BalanceFen != 80 {
		t.Errorf("balance after two debits of 10 = %+v, %v; want 80", cfg.Cards, err)
	}
	// Nothing new: no debit, the version stays.
	again, err := f.ledger.Push(ctx, "t1", "e1", []ledger.Session{session(1, "r1", "aa", 10)})
	if err != nil || len(again.Stored) != 0 || again.ConfigVersion != res.ConfigVersion || again.Change.Version != 0 {
		t.Errorf("push of a stored session = %+v, %v", again, err)
	}
	empty, err := f.ledger.Push(ctx, "t1", "e1", nil)
	if err != nil || empty.ConfigVersion != res.ConfigVersion {
		t.Errorf("empty push = %+v, %v; want the current version", empty, err)
	}
}

func TestPushRefusesWhatCannotBeStored(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	upper := session(2, "r", "AA", 1)
	noPayload := session(2, "r", "", 1)
	noPayload.Payload = nil
	for name, batch := range map[string][]ledger.Session{
		"seq 0":         {session(1, "r", "", 0), session(0, "r0", "", 0)},
		"seq too big":   {session(1<<63, "r", "", 0)},
		"upper card":    {upper},
		"no payload":    {noPayload},
		"no end time":   {{EdgeID: "e1", Seq: 1, StartedAt: t0, Payload: []byte{1}}},
		"too many":      make([]ledger.Session, ledger.MaxPush+1),
		"big connector": {func() ledger.Session { s := session(1, "r", "", 0); s.Connector = 1 << 31; return s }()},
	} {
		if _, err := f.ledger.Push(t.Context(), "t1", "e1", batch); !errors.Is(err, ledger.ErrInvalidSession) {
			t.Errorf("%s: Push = %v, want ErrInvalidSession", name, err)
		}
	}
}

// seed inserts n sessions straight into the table: tenants t0..t4, 20
// edges, 500 chargers, 20,000 cards (a third of the sessions without one),
// one session every 7 s.
func seed(t testing.TB, pool *pgxpool.Pool, n int) {
	t.Helper()
	ctx := context.Background()
	_, err := pool.Exec(ctx, `INSERT INTO sessions (edge_id, seq, tenant_id, charger_id, connector, session_ref,
			started_at, ended_at, energy_mwh, duration_s, reason, amount_fen, electricity_fen, service_fen, card_id, user_id, payload)
		SELECT 'e' || (i % 20), i, 't' || (i % 20 % 5), 'c' || (i % 500), 1, 'r' || i,
			$1::timestamptz + i * interval '7 seconds', $1::timestamptz + i * interval '7 seconds' + interval '1 hour',
			1000, 3600, 'local', 100, 50, 50, CASE WHEN i % 3 = 0 THEN '' ELSE 'card' || (i % 20000) END,
			CASE WHEN i % 3 = 0 THEN 'u' || (i % 5000) ELSE '' END, '\x00'
		FROM generate_series(1, $2::bigint) AS i`, t0, n)
	if err != nil {
		t.Fatalf("seed %d sessions: %v", n, err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE sessions`); err != nil {
		t.Fatal(err)
	}
}

// shape is a history query issue 5 serves, with the indexes that can
// answer it.
type shape struct {
	filter  ledger.Filter
	after   *ledger.Cursor
	indexes []string
}

func shapes(deep time.Time) map[string]shape {
	cursor := &ledger.Cursor{StartedAt: deep, EdgeID: "e9", Seq: 1 << 40}
	tenant := []string{"sessions_tenant_started_idx"}
	return map[string]shape{
		"tenant first page":         {ledger.Filter{TenantID: "t3"}, nil, tenant},
		"tenant deep page":          {ledger.Filter{TenantID: "t3"}, cursor, tenant},
		"tenant and edge deep page": {ledger.Filter{TenantID: "t3", EdgeID: "e8"}, cursor, []string{"sessions_tenant_started_idx", "sessions_edge_started_idx"}},
		"tenant and charger":        {ledger.Filter{TenantID: "t3", ChargerID: "c13"}, nil, []string{"sessions_tenant_charger_idx"}},
		"charger deep page":         {ledger.Filter{TenantID: "t3", ChargerID: "c13"}, cursor, []string{"sessions_tenant_charger_idx"}},
		"tenant and card":           {ledger.Filter{TenantID: "t3", CardID: "CARD13"}, nil, []string{"sessions_tenant_card_idx"}},
		"tenant and time range":     {ledger.Filter{TenantID: "t3", From: deep.Add(-24 * time.Hour), To: deep}, nil, tenant},
		// A driver's own sessions.
		"tenant and user": {ledger.Filter{TenantID: "t3", UserID: "u3"}, nil, []string{"sessions_tenant_user_idx"}},
	}
}

// TestListSessionsUsesAnIndexForEveryShape checks the plan of each query
// shape: the index made for it, and never a sequential scan, so that a page
// costs about the same at any depth and table size. (Where few rows match,
// as for one charger, Postgres may fetch them all by the index and sort
// them; that stays cheap.)
func TestListSessionsUsesAnIndexForEveryShape(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const n = 50_000
	seed(t, f.pool, n)
	deep := t0.Add(n / 2 * 7 * time.Second)
	for name, sh := range shapes(deep) {
		t.Run(name, func(t *testing.T) {
			plan, err := f.ledger.ExplainList(t.Context(), sh.filter, sh.after, 101)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(plan, "Seq Scan") || !slices.ContainsFunc(sh.indexes, func(ix string) bool { return strings.Contains(plan, ix) }) {
				t.Errorf("plan does not use %v:\n%s", sh.indexes, plan)
			}
			rows, err := f.ledger.List(t.Context(), sh.filter, sh.after, 101)
			if err != nil || len(rows) == 0 {
				t.Fatalf("List = %d rows, %v; want some", len(rows), err)
			}
			for _, r := range rows {
				if r.TenantID != "t3" || sh.filter.CardID != "" && r.CardID != "card13" || sh.filter.UserID != "" && r.UserID != sh.filter.UserID || sh.after != nil && !r.StartedAt.Before(deep) {
					t.Fatalf("row %+v does not match the filter", r)
				}
			}
		})
	}
}

// BenchmarkListSessions measures each history query shape on 1,000,000
// sessions and reports its p50 and p99 latency:
//
//	go test -run '^$' -bench ListSessions -benchtime 200x ./cloud/ledger
func BenchmarkListSessions(b *testing.B) {
	f := newFixture(b)
	const n = 1_000_000
	seed(b, f.pool, n)
	deep := t0.Add(n / 2 * 7 * time.Second)
	for name, sh := range shapes(deep) {
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				if _, err := f.ledger.List(context.Background(), sh.filter, sh.after, 101); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
		})
	}
}

func TestDuplicatesAreReportedOnceInOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	batch := []ledger.Session{session(9, "r9", "", 0), session(2, "r2", "", 0)}
	if _, err := f.ledger.Push(t.Context(), "t1", "e1", batch); err != nil {
		t.Fatal(err)
	}
	res, err := f.ledger.Push(t.Context(), "t1", "e1", append(batch, session(9, "r9", "", 0), session(4, "r4", "", 0)))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fmt.Sprint([]uint64{4}, []uint64{2, 9}), fmt.Sprint(res.Stored, res.Duplicates)); diff != "" {
		t.Errorf("stored, duplicates (-want +got):\n%s", diff)
	}
}

// BenchmarkPush measures Push of batches of 1000 new sessions, half of them
// debiting one of 100 cards:
//
//	go test -run '^$' -bench Push -benchtime 50x ./cloud/ledger
func BenchmarkPush(b *testing.B) {
	f := newFixture(b)
	cards := make([]site.Card, 100)
	for i := range cards {
		cards[i] = site.Card{ID: fmt.Sprintf("card%d", i), BalanceFen: 1_000_000}
	}
	if _, err := f.site.PutCards(context.Background(), "t1", cards); err != nil {
		b.Fatal(err)
	}
	seq := uint64(0)
	b.ReportAllocs()
	for b.Loop() {
		batch := make([]ledger.Session, ledger.MaxPush)
		for i := range batch {
			seq++
			card := ""
			if seq%2 == 0 {
				card = fmt.Sprintf("card%d", seq%100)
			}
			batch[i] = session(seq, fmt.Sprintf("r%d", seq), card, 10)
			batch[i].Payload = make([]byte, 300)
		}
		res, err := f.ledger.Push(context.Background(), "t1", "e1", batch)
		if err != nil || len(res.Stored) != ledger.MaxPush {
			b.Fatalf("Push = %d stored, %v", len(res.Stored), err)
		}
	}
	b.ReportMetric(float64(b.N*ledger.MaxPush)/b.Elapsed().Seconds(), "sessions/s")
}
