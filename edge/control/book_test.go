package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/edge/command"
	"github.com/chargeplane/chargeplane/edge/store"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// bookEnv is a Book over a real store in a temporary directory, with a
// clock and an online flag the test sets.
type bookEnv struct {
	t      *testing.T
	dir    string
	cfg    BookConfig
	loc    *time.Location
	st     *store.Store
	book   *Book
	online atomic.Bool

	mu  sync.Mutex
	now time.Time
}

func shanghai(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustBook(t *testing.T, cfg BookConfig) *bookEnv {
	t.Helper()
	e := &bookEnv{t: t, dir: t.TempDir(), cfg: cfg, loc: shanghai(t), now: time.Date(2025, 6, 1, 10, 0, 0, 0, shanghai(t))}
	e.open()
	t.Cleanup(e.close)
	return e
}

func (e *bookEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *bookEnv) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

func (e *bookEnv) open() {
	e.t.Helper()
	scfg := store.DefaultConfig()
	scfg.Dir = e.dir
	st, err := store.Open(scfg, "edge-a", nil, prometheus.NewRegistry())
	if err != nil {
		e.t.Fatal(err)
	}
	e.st = st
	b, err := NewBook(context.Background(), e.cfg, BookDeps{
		Store: st, Now: e.clock, Location: e.loc, Logger: slog.New(slog.DiscardHandler),
		Registerer: prometheus.NewRegistry(), Online: e.online.Load,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.book = b
}

func (e *bookEnv) close() {
	if e.book == nil {
		return
	}
	if err := e.book.Close(); err != nil {
		e.t.Error(err)
	}
	if err := e.st.Close(); err != nil {
		e.t.Error(err)
	}
	e.book, e.st = nil, nil
}

// restart closes the Book and the store and opens both again.
func (e *bookEnv) restart() {
	e.t.Helper()
	e.close()
	e.open()
}

func (e *bookEnv) append(evs ...*chargeplanev1.Event) {
	e.t.Helper()
	if err := e.book.Append(context.Background(), evs...); err != nil {
		e.t.Fatal(err)
	}
}

// ended returns every SessionEnded in the outbox.
func (e *bookEnv) ended() []*chargeplanev1.Event {
	e.t.Helper()
	evs, err := e.st.Pending(context.Background(), 0, 10000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*chargeplanev1.Event
	for _, ev := range evs {
		if ev.GetSessionEnded() != nil {
			out = append(out, ev)
		}
	}
	return out
}

// local parses a wall-clock time on 2025-06-01 in Shanghai.
func (e *bookEnv) local(hhmm string) time.Time {
	e.t.Helper()
	at, err := time.ParseInLocation(time.DateTime, "2025-06-01 "+hhmm+":00", e.loc)
	if err != nil {
		e.t.Fatal(err)
	}
	return at
}

func ev(charger string, conn uint32, at time.Time) *chargeplanev1.Event {
	return &chargeplanev1.Event{OccurredAt: timestamppb.New(at), ChargerId: charger, Connector: conn, Protocol: "bkv"}
}

func started(charger string, conn uint32, ref, card string, at time.Time) *chargeplanev1.Event {
	e := ev(charger, conn, at)
	method := "charger"
	if card != "" {
		method = "card"
	}
	e.Kind = &chargeplanev1.Event_SessionStarted{SessionStarted: &chargeplanev1.SessionStarted{SessionRef: ref, CardId: card, AuthMethod: method}}
	return e
}

func metered(charger string, conn uint32, ref string, mwh int64, at time.Time) *chargeplanev1.Event {
	e := ev(charger, conn, at)
	e.Kind = &chargeplanev1.Event_MeterReport{MeterReport: &chargeplanev1.MeterReport{SessionRef: ref, Meter: &chargeplanev1.MeterValues{EnergyMwh: mwh}}}
	return e
}

// end is an end report as a charger sends it: no times, no billing.
func end(charger string, conn uint32, ref, card string, mwh int64, at time.Time) *chargeplanev1.Event {
	e := ev(charger, conn, at)
	e.Kind = &chargeplanev1.Event_SessionEnded{SessionEnded: &chargeplanev1.SessionEnded{
		SessionRef: ref, CardId: card, EnergyMwh: mwh, DurationS: 600, Reason: chargeplanev1.EndReason_END_REASON_OTHER,
	}}
	return e
}

func peakValleyConfig() TariffConfig {
	return TariffConfig{ID: "pv", Periods: []TariffPeriodConfig{
		{Start: 0, Electricity: 35120, Service: 40000},
		{Start: 480, Electricity: 65230, Service: 40000},
		{Start: 1320, Electricity: 35120, Service: 0},
	}}
}

func flatConfig(yuan int64) TariffConfig {
	return TariffConfig{ID: "flat", Periods: []TariffPeriodConfig{{Electricity: Price(yuan * MilliFenPerYuan)}}}
}

func TestBookCardDecisions(t *testing.T) {
	e := mustBook(t, BookConfig{
		Fallback: AuthConfig{UnknownCards: UnknownReject, Cards: []Card{{ID: "AA01", BalanceFen: 500}, {ID: "bb02", BalanceFen: 100, Blocked: true}, {ID: "cc03"}}},
		Tariff:   DefaultTariffConfig(),
	})
	b := e.book
	// Fallback list, no cloud (offline): the balance is the limit.
	for card, want := range map[string]Decision{
		"aa01": {Accepted: true, Reason: "listed", BalanceFen: 500, LimitFen: 500, Offline: true},
		"BB02": {Reason: "blocked", BalanceFen: 100, Offline: true},
		"cc03": {Reason: "no_balance", Offline: true},
		"ff09": {Reason: "unknown_card", Offline: true},
	} {
		if got := b.Authorize(card); got != want {
			t.Errorf("fallback Authorize(%s) = %+v, want %+v", card, got, want)
		}
	}
	if b.ConfigVersion() != 0 {
		t.Fatalf("config version %d before any SiteConfig", b.ConfigVersion())
	}

	if err := b.ApplyConfig(context.Background(), &chargeplanev1.SiteConfig{Version: 3, UnknownCards: UnknownAccept, Cards: []*chargeplanev1.CardEntry{
		{CardId: "aa01", BalanceFen: 300, OfflineLimitFen: 200, UserId: "u1"},
		{CardId: "dd04", BalanceFen: -50, OfflineLimitFen: 100},
		{CardId: "ee05", BalanceFen: 0},
		{CardId: "bb02", BalanceFen: 1000, Blocked: true},
	}}); err != nil {
		t.Fatal(err)
	}
	if b.ConfigVersion() != 3 {
		t.Fatalf("config version %d, want 3", b.ConfigVersion())
	}
	e.online.Store(true)
	for card, want := range map[string]Decision{
		"aa01": {Accepted: true, Reason: "listed", BalanceFen: 300, LimitFen: 300},
		"dd04": {Reason: "no_balance", BalanceFen: -50},
		"ee05": {Reason: "no_balance"},
		"bb02": {Reason: "blocked", BalanceFen: 1000},
		"ff09": {Accepted: true, Reason: "unknown_accepted"},
		"cc03": {Accepted: true, Reason: "unknown_accepted"}, // not in the cloud's list any more
	} {
		if got := b.Authorize(card); got != want {
			t.Errorf("online Authorize(%s) = %+v, want %+v", card, got, want)
		}
	}
	e.online.Store(false)
	for card, want := range map[string]Decision{
		"aa01": {Accepted: true, Reason: "listed", BalanceFen: 300, LimitFen: 500, Offline: true},
		"dd04": {Accepted: true, Reason: "listed", BalanceFen: -50, LimitFen: 50, Offline: true},
		"ee05": {Reason: "no_balance", Offline: true},
	} {
		if got := b.Authorize(card); got != want {
			t.Errorf("offline Authorize(%s) = %+v, want %+v", card, got, want)
		}
	}
	if got := b.Balance("AA01"); got != 300 {
		t.Errorf("Balance = %d, want 300", got)
	}
	if got := b.Balance("ff09"); got != 0 {
		t.Errorf("Balance(unknown) = %d, want 0", got)
	}
}

// TestBookSessionBilledAcrossPeriods: energy goes to the period each meter
// delta was observed in; the end report's extra energy to the period of
// ended_at; the stored SessionEnded carries the billing.
func TestBookSessionBilledAcrossPeriods(t *testing.T) {
	e := mustBook(t, BookConfig{Fallback: DefaultAuthConfig(), Tariff: DefaultTariffConfig()})
	ctx := context.Background()
	if err := e.book.ApplyConfig(ctx, &chargeplanev1.SiteConfig{Version: 1, Tariff: peakValleyConfig().Proto(), Cards: []*chargeplanev1.CardEntry{
		{CardId: "aa01", BalanceFen: 5000, UserId: "user-7"},
	}}); err != nil {
		t.Fatal(err)
	}
	e.online.Store(true)
	if d := e.book.Authorize("aa01"); !d.Accepted || d.LimitFen != 5000 {
		t.Fatalf("decision %+v", d)
	}
	e.append(started("gw1", 3, "41", "aa01", e.local("07:50")))
	e.append(metered("gw1", 3, "41", 1_000_000, e.local("07:55")))  // 1 kWh valley
	e.append(metered("gw1", 3, "41", 3_000_000, e.local("08:05")))  // 2 kWh peak
	e.append(metered("gw1", 3, "41", 2_000_000, e.local("08:10")))  // backwards: ignored
	e.append(metered("gw1", 3, "41", 10_000_000, e.local("21:59"))) // 7 kWh peak
	e.append(metered("gw1", 3, "41", 12_000_000, e.local("22:10"))) // 2 kWh night
	open := e.book.OpenSessions()
	// valley 35.12 + peak 9 × 65.23 = 587.07 + night 70.24 = 692.43 → 692; service 400.
	if len(open) != 1 || open[0].EnergyMWh != 12_000_000 || open[0].AmountFen != 692+400 || open[0].AuthMethod != AuthCard ||
		open[0].UserID != "user-7" || open[0].LimitFen != 5000 || open[0].Offline {
		t.Fatalf("open sessions %+v", open)
	}

	// The end report: 0.5 kWh more, at 22:20 (night).
	e.append(end("gw1", 3, "41", "", 12_500_000, e.local("22:20")))
	ended := e.ended()
	if len(ended) != 1 {
		t.Fatalf("%d SessionEnded stored, want 1", len(ended))
	}
	se := ended[0].GetSessionEnded()
	// electricity: 35.12 + 587.07 + 2.5 × 35.12 = 87.8 → 709.99 → 710; service 10 kWh × 40 = 400.
	if se.GetElectricityFen() != 710 || se.GetServiceFen() != 400 || se.GetAmountFen() != 1110 {
		t.Errorf("billed %d + %d = %d, want 710 + 400 = 1110", se.GetElectricityFen(), se.GetServiceFen(), se.GetAmountFen())
	}
	if se.GetTariff().GetId() != "pv" || len(se.GetTariff().GetPeriods()) != 3 || se.GetAuthMethod() != AuthCard || se.GetCardId() != "aa01" ||
		se.GetUserId() != "user-7" || se.GetOffline() || !se.GetStartedAt().AsTime().Equal(e.local("07:50")) || !se.GetEndedAt().AsTime().Equal(e.local("22:20")) {
		t.Errorf("session ended %v", se)
	}
	if len(e.book.OpenSessions()) != 0 {
		t.Errorf("open sessions after the end: %+v", e.book.OpenSessions())
	}
	if got := e.book.Balance("aa01"); got != 5000-1110 {
		t.Errorf("balance %d, want %d after the local debit", got, 5000-1110)
	}
	pending, err := e.book.PendingSessions(ctx, 10)
	if err != nil || len(pending) != 1 || pending[0].GetSessionEnded().GetAmountFen() != 1110 || e.book.PendingSessionCount() != 1 {
		t.Fatalf("pending sessions %v (%d), %v", pending, e.book.PendingSessionCount(), err)
	}
	if got := testutil.ToFloat64(e.book.m.billed); got != 1110 {
		t.Errorf("billed metric %v", got)
	}
	if got := testutil.ToFloat64(e.book.m.ended.WithLabelValues(AuthCard)); got != 1 {
		t.Errorf("ended{card} metric %v", got)
	}
}

// TestBookUnseenStart: an end with no open session is a session the edge
// never saw start: "charger", or "card" when it names one, all energy at
// the period of its start.
func TestBookUnseenStart(t *testing.T) {
	e := mustBook(t, BookConfig{Fallback: AuthConfig{UnknownCards: UnknownReject, Cards: []Card{{ID: "aa01", BalanceFen: 10_000}}}, Tariff: peakValleyConfig()})
	// Ended 08:05 after 600 s: started 07:55, valley. 2 kWh × 35.12 + 2 × 40 = 150.24 → 150.
	e.append(end("gw1", 1, "9", "", 2_000_000, e.local("08:05")))
	e.append(end("gw1", 2, "10", "AA01", 2_000_000, e.local("08:05")))
	got := e.ended()
	if len(got) != 2 {
		t.Fatalf("%d ends stored", len(got))
	}
	for i, want := range []string{AuthCharger, AuthCard} {
		se := got[i].GetSessionEnded()
		if se.GetAuthMethod() != want || se.GetAmountFen() != 150 || !se.GetStartedAt().AsTime().Equal(e.local("07:55")) {
			t.Errorf("end %d: %v, want %s, 150 fen, started 07:55", i, se, want)
		}
	}
	if b := e.book.Balance("aa01"); b != 10_000-150 {
		t.Errorf("balance %d: the card's session must be debited", b)
	}
}

func TestBookRepeatedEndRecordedOnce(t *testing.T) {
	e := mustBook(t, BookConfig{Fallback: AuthConfig{UnknownCards: UnknownReject, Cards: []Card{{ID: "aa01", BalanceFen: 10_000}}}, Tariff: flatConfig(1)})
	e.append(started("gw1", 1, "15", "aa01", e.local("09:00")))
	e.append(end("gw1", 1, "15", "aa01", 1_000_000, e.local("10:00")))
	// The charger re-sends it (after a reconnect): acknowledged, not stored.
	e.append(end("gw1", 1, "15", "aa01", 1_000_000, e.local("10:05")))
	// Concurrently from two connections.
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.book.Append(context.Background(), end("gw1", 1, "15", "aa01", 1_000_000, e.local("10:06"))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := len(e.ended()); n != 1 || e.book.PendingSessionCount() != 1 {
		t.Fatalf("%d ends stored, %d pending sessions; want 1", n, e.book.PendingSessionCount())
	}
	if b := e.book.Balance("aa01"); b != 10_000-100 {
		t.Errorf("balance %d, want one debit of 100", b)
	}
	// Two ends in one Append: the second is the repeat.
	e.append(end("gw1", 2, "16", "", 0, e.local("10:10")), end("gw1", 2, "16", "", 0, e.local("10:10")))
	if n := len(e.ended()); n != 2 {
		t.Fatalf("%d ends stored, want 2", n)
	}
	// A ref the charger reuses later for a new session that the edge saw
	// start is a new session, not a repeat.
	e.append(started("gw1", 1, "15", "", e.local("11:00")))
	e.append(end("gw1", 1, "15", "", 2_000_000, e.local("12:00")))
	got := e.ended()
	if len(got) != 3 || got[2].GetSessionEnded().GetAmountFen() != 200 {
		t.Fatalf("reused ref: ends %v", got)
	}
}

// TestBookDebitsAcrossSyncAndConfig: a local debit counts until a config
// that includes the session is applied — never twice, never lost — also
// across restarts.
func TestBookDebitsAcrossSyncAndConfig(t *testing.T) {
	e := mustBook(t, BookConfig{Fallback: DefaultAuthConfig(), Tariff: DefaultTariffConfig()})
	ctx := context.Background()
	apply := func(version uint64, balance int64) {
		t.Helper()
		if err := e.book.ApplyConfig(ctx, &chargeplanev1.SiteConfig{Version: version, Tariff: flatConfig(1).Proto(),
			Cards: []*chargeplanev1.CardEntry{{CardId: "aa01", BalanceFen: balance}}}); err != nil {
			t.Fatal(err)
		}
	}
	session := func(ref string, kwh int64) uint64 {
		t.Helper()
		e.append(started("gw1", 1, ref, "aa01", e.clock()))
		ev := end("gw1", 1, ref, "", kwh*1_000_000, e.clock())
		e.append(ev)
		if ev.GetSeq() == 0 || ev.GetSessionEnded().GetAmountFen() != kwh*100 {
			t.Fatalf("session %s: seq %d amount %d", ref, ev.GetSeq(), ev.GetSessionEnded().GetAmountFen())
		}
		return ev.GetSeq()
	}
	balance := func(want int64, when string) {
		t.Helper()
		if got := e.book.Balance("aa01"); got != want {
			t.Fatalf("%s: balance %d, want %d", when, got, want)
		}
	}
	apply(1, 1000)
	s1 := session("1", 2) // 200 fen
	balance(800, "after session 1")
	// The cloud stored it; configs from version 2 include it. Held: 1.
	if err := e.book.MarkSessionsSynced(ctx, []uint64{s1}, 2); err != nil {
		t.Fatal(err)
	}
	balance(800, "synced, config 2 not yet applied")
	e.restart()
	balance(800, "after a restart")
	apply(2, 800)
	balance(800, "config 2 includes session 1")
	e.restart()
	balance(800, "after a restart with config 2")

	// Session 2 is recorded, the edge restarts before the cloud confirms it;
	// the debit is linked to its seq again from the ledger.
	s2 := session("2", 3) // 300 fen
	balance(500, "after session 2")
	e.restart()
	apply(3, 800+1000) // a top-up of 1000, not including session 2 yet
	balance(1500, "top-up, session 2 still local")
	if err := e.book.MarkSessionsSynced(ctx, []uint64{s2}, 4); err != nil {
		t.Fatal(err)
	}
	apply(4, 1500)
	balance(1500, "config 4 includes session 2")

	// The config that includes session 3 arrives before the push is marked
	// synced (the two run in different loops): the debit goes as soon as the
	// mark says it is included.
	s3 := session("3", 1) // 100 fen
	apply(5, 1400)
	balance(1300, "config 5 already includes session 3, not yet marked") // counted twice for that moment
	if err := e.book.MarkSessionsSynced(ctx, []uint64{s3}, 5); err != nil {
		t.Fatal(err)
	}
	balance(1400, "marked with a version already held")

	// A cloud with no config version for the edge covers nothing.
	s4 := session("4", 1)
	if err := e.book.MarkSessionsSynced(ctx, []uint64{s4}, 0); err != nil {
		t.Fatal(err)
	}
	apply(6, 1400)
	balance(1300, "version 0 covers nothing")
	if e.book.PendingSessionCount() != 0 {
		t.Errorf("%d sessions still pending", e.book.PendingSessionCount())
	}
	// Unknown and repeated seqs are ignored.
	if err := e.book.MarkSessionsSynced(ctx, []uint64{s1, 999}, 7); err != nil {
		t.Fatal(err)
	}
	balance(1300, "marking again")
}

func TestBookRestartKeepsOpenSessions(t *testing.T) {
	e := mustBook(t, BookConfig{Fallback: AuthConfig{UnknownCards: UnknownReject, Cards: []Card{{ID: "aa01", BalanceFen: 900}}}, Tariff: peakValleyConfig()})
	if d := e.book.Authorize("aa01"); !d.Accepted {
		t.Fatal(d)
	}
	e.append(started("gw1", 5, "77", "aa01", e.local("07:00")))
	e.append(metered("gw1", 5, "77", 1_000_000, e.local("07:30"))) // valley, stored (first reading)
	e.append(metered("gw1", 5, "77", 2_000_000, e.local("09:00"))) // peak, stored (new period)
	e.restart()
	open := e.book.OpenSessions()
	if len(open) != 1 || open[0].SessionRef != "77" || open[0].Connector != 5 || open[0].EnergyMWh != 2_000_000 ||
		open[0].LimitFen != 900 || open[0].AuthMethod != AuthCard || !open[0].StartedAt.Equal(e.local("07:00")) {
		t.Fatalf("open sessions after restart %+v", open)
	}
	e.append(end("gw1", 5, "77", "", 2_000_000, e.local("23:00")))
	se := e.ended()[0].GetSessionEnded()
	// 1 kWh valley (35.12 + 40) + 1 kWh peak (65.23 + 40) = 180.35 → 100 + 80.
	if se.GetElectricityFen() != 100 || se.GetServiceFen() != 80 {
		t.Errorf("after restart billed %d + %d, want 100 + 80", se.GetElectricityFen(), se.GetServiceFen())
	}
	e.restart()
	if n := len(e.book.OpenSessions()); n != 0 {
		t.Errorf("%d open sessions after the end and a restart", n)
	}
	if b := e.book.Balance("aa01"); b != 900-180 {
		t.Errorf("balance after restart %d, want %d", b, 900-180)
	}
}

// chargerStub stands in for the adapter registry in the Book's own tests:
// it answers starts like a charger (the SessionStarted recorded through the
// Book before the result) and records every command. The adapter tests run
// the Book against real BKV and AP3000 sessions.
type chargerStub struct {
	book *Book
	at   func() time.Time

	mu       sync.Mutex
	cmds     []command.Command
	nextRef  int
	start    string // result status of starts: accepted (default) or another
	stop     string
	startErr error
}

func (c *chargerStub) Do(ctx context.Context, chargerID, protocol string, cmd command.Command) (command.Result, error) {
	c.mu.Lock()
	c.cmds = append(c.cmds, cmd)
	status := c.start
	if cmd.Kind == command.Stop {
		status = c.stop
	}
	c.nextRef++
	ref := fmt.Sprint(100 + c.nextRef)
	c.mu.Unlock()
	if status == "" {
		status = command.ResultAccepted
	}
	if cmd.Kind != command.Start || status != command.ResultAccepted {
		return command.Result{Status: status}, nil
	}
	s := ev(chargerID, cmd.Connector, c.at())
	s.Protocol = protocol
	s.Kind = &chargeplanev1.Event_SessionStarted{SessionStarted: &chargeplanev1.SessionStarted{SessionRef: ref, AuthMethod: "remote", Limit: cmd.Limit}}
	if err := c.book.Append(ctx, s); err != nil {
		return command.Result{}, err
	}
	return command.Result{Status: command.ResultAccepted, SessionRef: ref}, nil
}

func (c *chargerStub) commands() []command.Command {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]command.Command(nil), c.cmds...)
}

func TestBookExecuteStartWithAmountLimit(t *testing.T) {
	e := mustBook(t, BookConfig{Fallback: DefaultAuthConfig(), Tariff: flatConfig(1)}) // 1 yuan/kWh
	ex := &chargerStub{book: e.book, at: e.clock, stop: command.ResultFailed}
	e.book.SetExecutor(ex)
	ctx := context.Background()
	res, err := e.book.Execute(ctx, "gw1", "bkv", command.Command{ID: "c-1", Kind: command.Start, Connector: 2,
		Limit:  &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_AmountFen{AmountFen: 100}},
		Params: map[string]string{ParamSource: SourceLocal}})
	if err != nil || res.Status != command.ResultAccepted || res.SessionRef != "101" {
		t.Fatalf("start = %+v, %v", res, err)
	}
	sent := ex.commands()[0]
	if sent.Limit != nil || len(sent.Params) != 0 {
		t.Errorf("charger got limit %v params %v; the amount limit stays with the Book", sent.Limit, sent.Params)
	}
	open := e.book.OpenSessions()
	if len(open) != 1 || open[0].AuthMethod != AuthLocal || open[0].LimitFen != 100 || open[0].SessionRef != "101" {
		t.Fatalf("open %+v", open)
	}
	stops := func() int {
		n := 0
		for _, c := range ex.commands() {
			if c.Kind == command.Stop {
				n++
			}
		}
		return n
	}
	waitStops := func(want int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for stops() < want {
			if time.Now().After(deadline) {
				t.Fatalf("%d stops sent, want %d", stops(), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	e.append(metered("gw1", 2, "101", 500_000, e.clock())) // 50 fen
	e.append(metered("gw1", 2, "101", 999_000, e.clock())) // 99.9 → 100 fen: reached
	waitStops(1)
	if c := ex.commands()[1]; c.Connector != 2 || c.Params["session_ref"] != "101" || !strings.HasPrefix(c.ID, "limit:") {
		t.Errorf("stop %+v", c)
	}
	// The stop failed (the stub says so): a reading within 30 s sends none…
	rearmed := func() bool {
		e.book.mu.Lock()
		defer e.book.mu.Unlock()
		s := e.book.open[sessKey{"gw1", 2, "101"}]
		return s != nil && !s.rec.LimitStopSent
	}
	for deadline := time.Now().Add(5 * time.Second); !rearmed(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("failed limit stop never re-armed")
		}
	}
	e.advance(10 * time.Second)
	e.append(metered("gw1", 2, "101", 1_100_000, e.clock()))
	time.Sleep(20 * time.Millisecond)
	if n := stops(); n != 1 {
		t.Fatalf("%d stops within the retry delay, want 1", n)
	}
	// …a reading after it sends one more, which succeeds: no more after that.
	ex.mu.Lock()
	ex.stop = command.ResultAccepted
	ex.mu.Unlock()
	e.advance(31 * time.Second)
	e.append(metered("gw1", 2, "101", 1_200_000, e.clock()))
	waitStops(2)
	e.advance(time.Minute)
	e.append(metered("gw1", 2, "101", 1_300_000, e.clock()))
	time.Sleep(20 * time.Millisecond)
	if n := stops(); n != 2 {
		t.Fatalf("%d stops, want 2", n)
	}
	if got := testutil.ToFloat64(e.book.m.limitStops); got != 2 {
		t.Errorf("limit stops metric %v", got)
	}
	end := end("gw1", 2, "101", "", 1_300_000, e.clock())
	end.GetSessionEnded().Reason = chargeplanev1.EndReason_END_REASON_REMOTE
	e.append(end)
	se := e.ended()[0].GetSessionEnded()
	if se.GetReason() != chargeplanev1.EndReason_END_REASON_LIMIT_REACHED || se.GetAuthMethod() != AuthLocal ||
		se.GetStartCommandId() != "c-1" || se.GetAmountFen() != 130 {
		t.Errorf("session ended %v", se)
	}
}

func TestBookExecuteStartAuthorizesCardAndUser(t *testing.T) {
	e := mustBook(t, BookConfig{Fallback: DefaultAuthConfig(), Tariff: flatConfig(1)})
	ctx := context.Background()
	if err := e.book.ApplyConfig(ctx, &chargeplanev1.SiteConfig{Version: 1, Cards: []*chargeplanev1.CardEntry{
		{CardId: "aa01", BalanceFen: 300, UserId: "u1"},
		{CardId: "bb02", BalanceFen: 0, UserId: "u2"},
	}}); err != nil {
		t.Fatal(err)
	}
	e.online.Store(true)
	ex := &chargerStub{book: e.book, at: e.clock}
	e.book.SetExecutor(ex)

	// The user's wallet is card aa01: a start for u1 may spend 300, or less
	// when the command says so.
	res, err := e.book.Execute(ctx, "gw1", "bkv", command.Command{ID: "c-1", Kind: command.Start, Connector: 1,
		Params: map[string]string{ParamUserID: "u1"}})
	if err != nil || res.Status != command.ResultAccepted {
		t.Fatalf("start = %+v, %v", res, err)
	}
	res, err = e.book.Execute(ctx, "gw1", "bkv", command.Command{ID: "c-2", Kind: command.Start, Connector: 2,
		Limit: &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_AmountFen{AmountFen: 50}}, Params: map[string]string{ParamCardID: "AA01"}})
	if err != nil || res.Status != command.ResultAccepted {
		t.Fatalf("start = %+v, %v", res, err)
	}
	open := e.book.OpenSessions()
	if len(open) != 2 || open[0].UserID != "u1" || open[0].CardID != "aa01" || open[0].LimitFen != 300 || open[0].AuthMethod != AuthRemote ||
		open[1].CardID != "AA01" || open[1].LimitFen != 50 || open[1].UserID != "u1" {
		t.Fatalf("open %+v", open)
	}

	// No balance: refused without reaching the charger, and the refusal is
	// recorded for the command's issuer.
	res, err = e.book.Execute(ctx, "gw1", "bkv", command.Command{ID: "c-3", Kind: command.Start, Connector: 3, Params: map[string]string{ParamUserID: "u2"}})
	if err != nil || res.Status != command.ResultRejected || !strings.Contains(res.Detail, "no_balance") {
		t.Fatalf("start without balance = %+v, %v", res, err)
	}
	if n := len(ex.commands()); n != 2 {
		t.Fatalf("%d commands reached the charger, want 2", n)
	}
	evs, err := e.st.Pending(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1].GetCommandResult()
	if last.GetCommandId() != "c-3" || last.GetStatus() != command.ResultRejected {
		t.Fatalf("last event %v, want the rejected c-3", evs[len(evs)-1])
	}
	// An amount limit must be positive.
	res, err = e.book.Execute(ctx, "gw1", "bkv", command.Command{ID: "c-4", Kind: command.Start, Connector: 4,
		Limit: &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_AmountFen{AmountFen: 0}}})
	if !errors.Is(err, command.ErrInvalidCommand) || res.Status != command.ResultRejected {
		t.Errorf("zero amount limit: %+v, %v; want rejected with ErrInvalidCommand", res, err)
	}
	if n := len(ex.commands()); n != 2 {
		t.Fatalf("%d commands reached the charger, want 2", n)
	}
}

func TestBookExecuteStartNeverConfirmed(t *testing.T) {
	e := mustBook(t, BookConfig{Fallback: DefaultAuthConfig(), Tariff: flatConfig(1)})
	ctx := context.Background()
	if _, err := e.book.Execute(ctx, "gw1", "bkv", command.Command{Kind: command.Start}); !errors.Is(err, ErrNoExecutor) {
		t.Fatalf("without an executor: %v", err)
	}
	ex := &chargerStub{book: e.book, at: e.clock, start: command.ResultTimedOut}
	e.book.SetExecutor(ex)
	res, err := e.book.Execute(ctx, "gw1", "bkv", command.Command{ID: "c-1", Kind: command.Start, Connector: 1,
		Limit: &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_AmountFen{AmountFen: 100}}})
	if err != nil || res.Status != command.ResultTimedOut {
		t.Fatalf("start = %+v, %v", res, err)
	}
	if open := e.book.OpenSessions(); len(open) != 0 {
		t.Fatalf("open sessions after an unconfirmed start: %+v", open)
	}
	// Nothing pending is left either: a session the charger starts later on
	// its own is not taken for that start, and a new start is not refused
	// as "in progress".
	e.append(started("gw1", 1, "5", "", e.clock()))
	if open := e.book.OpenSessions(); len(open) != 1 || open[0].AuthMethod != AuthCharger || open[0].LimitFen != 0 {
		t.Fatalf("later session %+v", open)
	}
	ex.start = ""
	if res, err := e.book.Execute(ctx, "gw1", "bkv", command.Command{ID: "c-2", Kind: command.Start, Connector: 1}); err != nil || res.Status != command.ResultAccepted {
		t.Fatalf("second start = %+v, %v", res, err)
	}
}

func TestBookExecuteStopMarksOperatorStop(t *testing.T) {
	e := mustBook(t, BookConfig{Fallback: DefaultAuthConfig(), Tariff: flatConfig(1)})
	ex := &chargerStub{book: e.book, at: e.clock}
	e.book.SetExecutor(ex)
	ctx := context.Background()
	e.append(started("gw1", 1, "5", "", e.clock()), started("gw1", 2, "6", "", e.clock()))
	if res, err := e.book.Execute(ctx, "gw1", "bkv", command.Command{ID: "s", Kind: command.Stop, Connector: 1}); err != nil || res.Status != command.ResultAccepted {
		t.Fatalf("stop = %+v, %v", res, err)
	}
	ex.stop = command.ResultRejected
	if res, _ := e.book.Execute(ctx, "gw1", "bkv", command.Command{ID: "s2", Kind: command.Stop, Connector: 2}); res.Status != command.ResultRejected {
		t.Fatalf("stop = %+v", res)
	}
	e.append(end("gw1", 1, "5", "", 0, e.clock()), end("gw1", 2, "6", "", 0, e.clock()))
	got := e.ended()
	if r := got[0].GetSessionEnded().GetReason(); r != chargeplanev1.EndReason_END_REASON_REMOTE {
		t.Errorf("stopped by the operator: reason %v, want remote", r)
	}
	if r := got[1].GetSessionEnded().GetReason(); r != chargeplanev1.EndReason_END_REASON_OTHER {
		t.Errorf("stop refused by the charger: reason %v, want the charger's", r)
	}
	// Other kinds pass straight through.
	if _, err := e.book.Execute(ctx, "gw1", "bkv", command.Command{ID: "q", Kind: command.QueryStatus}); err != nil {
		t.Fatal(err)
	}
	if cmds := ex.commands(); cmds[len(cmds)-1].ID != "q" {
		t.Errorf("query not passed on: %+v", cmds)
	}
}

func TestBookApplyConfig(t *testing.T) {
	e := mustBook(t, BookConfig{Fallback: DefaultAuthConfig(), Tariff: flatConfig(1)})
	ctx := context.Background()
	if err := e.book.ApplyConfig(ctx, &chargeplanev1.SiteConfig{Version: 5, Cards: []*chargeplanev1.CardEntry{{CardId: "aa01", BalanceFen: 10}}}); err != nil {
		t.Fatal(err)
	}
	// Older or equal versions are ignored.
	if err := e.book.ApplyConfig(ctx, &chargeplanev1.SiteConfig{Version: 5, Cards: []*chargeplanev1.CardEntry{{CardId: "aa01", BalanceFen: 99}}}); err != nil {
		t.Fatal(err)
	}
	if e.book.Balance("aa01") != 10 || e.book.ConfigVersion() != 5 {
		t.Fatalf("stale config applied: balance %d version %d", e.book.Balance("aa01"), e.book.ConfigVersion())
	}
	for _, bad := range []*chargeplanev1.SiteConfig{
		nil,
		{Version: 0},
		{Version: 6, UnknownCards: "maybe"},
		{Version: 6, Cards: []*chargeplanev1.CardEntry{{CardId: "a"}, {CardId: "A"}}},
		{Version: 6, Tariff: &chargeplanev1.Tariff{Id: "t", Periods: []*chargeplanev1.TariffPeriod{{StartMinute: 60}}}},
	} {
		if err := e.book.ApplyConfig(ctx, bad); err == nil {
			t.Errorf("ApplyConfig(%v) accepted", bad)
		}
	}
	// Without a tariff of its own a config keeps the fallback tariff; the
	// config survives a restart.
	e.restart()
	if e.book.ConfigVersion() != 5 || e.book.Balance("aa01") != 10 {
		t.Fatalf("after restart: version %d balance %d", e.book.ConfigVersion(), e.book.Balance("aa01"))
	}
	e.append(end("gw1", 1, "1", "", 1_000_000, e.clock()))
	if se := e.ended()[0].GetSessionEnded(); se.GetTariff().GetId() != "flat" || se.GetAmountFen() != 100 {
		t.Errorf("session %v, want the fallback tariff", se)
	}
}

// TestBookSessionOpenedAndEndedInOneAppend: the store refuses a key both
// put and deleted; a session that starts and ends in one Append writes
// neither.
func TestBookSessionOpenedAndEndedInOneAppend(t *testing.T) {
	e := mustBook(t, BookConfig{Fallback: DefaultAuthConfig(), Tariff: flatConfig(1)})
	e.append(started("gw1", 1, "1", "", e.clock()), metered("gw1", 1, "1", 1_000_000, e.clock()), end("gw1", 1, "1", "", 1_000_000, e.clock()))
	if got := e.ended(); len(got) != 1 || got[0].GetSessionEnded().GetAmountFen() != 100 || len(e.book.OpenSessions()) != 0 {
		t.Fatalf("ended %v open %v", got, e.book.OpenSessions())
	}
	e.restart()
	if n := len(e.book.OpenSessions()); n != 0 {
		t.Fatalf("%d open sessions stored", n)
	}
}

// refusingExec is an Executor and Refuser recording what it was told to refuse.
type refusingExec struct {
	mu      sync.Mutex
	refused [][]string
}

func (r *refusingExec) Do(context.Context, string, string, command.Command) (command.Result, error) {
	return command.Result{}, errors.New("not used")
}

func (r *refusingExec) Refuse(ids []string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refused = append(r.refused, ids)
	return len(ids)
}

// TestBookRefusedChargers: a config's refused chargers are refused at once
// (the Refuser hears of them), survive a restart, and a newer config without
// them lets them in again.
func TestBookRefusedChargers(t *testing.T) {
	e := mustBook(t, BookConfig{Fallback: DefaultAuthConfig(), Tariff: flatConfig(1)})
	ex := &refusingExec{}
	e.book.SetExecutor(ex)
	ctx := context.Background()
	if e.book.Refused("gw1") {
		t.Fatal("fallback config refuses gw1")
	}
	if err := e.book.ApplyConfig(ctx, &chargeplanev1.SiteConfig{Version: 2, RefusedChargers: []string{"gw1", "gw2"}}); err != nil {
		t.Fatal(err)
	}
	if !e.book.Refused("gw1") || !e.book.Refused("gw2") || e.book.Refused("gw3") {
		t.Errorf("Refused gw1 %v gw2 %v gw3 %v, want true true false", e.book.Refused("gw1"), e.book.Refused("gw2"), e.book.Refused("gw3"))
	}
	if got := fmt.Sprint(ex.refused); got != "[[gw1 gw2]]" {
		t.Errorf("refuser was told %s, want [[gw1 gw2]]", got)
	}
	e.restart()
	if !e.book.Refused("gw1") {
		t.Error("after restart gw1 is no longer refused")
	}
	if err := e.book.ApplyConfig(ctx, &chargeplanev1.SiteConfig{Version: 3}); err != nil {
		t.Fatal(err)
	}
	if e.book.Refused("gw1") {
		t.Error("gw1 still refused after a config without it")
	}
}
