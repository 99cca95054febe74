package presence_test

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chargeplane/chargeplane/cloud/presence"
	"github.com/chargeplane/chargeplane/cloud/presence/presencetest"
)

// clock is a hand-set fake clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newStore(t *testing.T) (*presence.Store, *clock) {
	t.Helper()
	rdb, prefix := presencetest.MustRedis(t)
	clk := &clock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	return presence.New(rdb, presence.Config{Prefix: prefix, Timeout: 3 * time.Minute}, clk.Now), clk
}

func TestTransitions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, clk := newStore(t)
	c1 := presence.Key{EdgeID: "e1", ChargerID: "c1"}
	// upd builds its update when the step runs, at the fake clock's time then.
	upd := func(seq uint64, connected bool, ago time.Duration) func() presence.Update {
		return func() presence.Update {
			return presence.Update{EdgeID: "e1", ChargerID: "c1", Seq: seq, Connected: connected, LastSeen: clk.Now().Add(-ago)}
		}
	}
	steps := []struct {
		name        string
		do          func() error
		wantApplied int
		wantOnline  bool
		wantCount   int
	}{
		{name: "unknown charger is offline", do: func() error { return nil }},
		{name: "connect makes it online", do: applyN(t, s, upd(10, true, 0), 1), wantOnline: true, wantCount: 1},
		{name: "an older disconnect changes nothing", do: applyN(t, s, upd(9, false, 0), 0), wantOnline: true, wantCount: 1},
		{name: "the same event again changes nothing", do: applyN(t, s, upd(10, false, 0), 0), wantOnline: true, wantCount: 1},
		{name: "edge offline takes its chargers offline", do: func() error { return s.SetEdgeState(ctx, "e1", presence.EdgeOffline) }},
		{name: "edge online again brings them back", do: func() error { return s.SetEdgeState(ctx, "e1", presence.EdgeOnline) }, wantOnline: true, wantCount: 1},
		{name: "exactly at the timeout still online", do: func() error { clk.Add(3 * time.Minute); return nil }, wantOnline: true, wantCount: 1},
		{name: "past the timeout offline", do: func() error { clk.Add(time.Millisecond); return nil }},
		{name: "a heartbeat brings it back", do: applyN(t, s, upd(11, true, 0), 1), wantOnline: true, wantCount: 1},
		{name: "a stale newer event is offline", do: applyN(t, s, upd(12, true, 10*time.Minute), 1)},
		{name: "a fresh newer event", do: applyN(t, s, upd(13, true, 0), 1), wantOnline: true, wantCount: 1},
		{name: "disconnect takes it offline", do: applyN(t, s, upd(14, false, 0), 1)},
	}
	for _, step := range steps {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		st, err := s.Chargers(ctx, []presence.Key{c1})
		if err != nil {
			t.Fatalf("%s: Chargers: %v", step.name, err)
		}
		if st[0].Online != step.wantOnline {
			t.Errorf("%s: online = %v (%+v), want %v", step.name, st[0].Online, st[0], step.wantOnline)
		}
		n, err := s.OnlineCount(ctx, []string{"e1", "e2"})
		if err != nil {
			t.Fatalf("%s: OnlineCount: %v", step.name, err)
		}
		if n != step.wantCount {
			t.Errorf("%s: OnlineCount = %d, want %d", step.name, n, step.wantCount)
		}
	}
}

func applyN(t *testing.T, s *presence.Store, mk func() presence.Update, want int) func() error {
	return func() error {
		u := mk()
		got, err := s.Apply(t.Context(), []presence.Update{u})
		if err == nil && got != want {
			t.Errorf("Apply(seq %d) applied %d, want %d", u.Seq, got, want)
		}
		return err
	}
}

func TestSeqComparedExactlyBeyondFloatPrecision(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, clk := newStore(t)
	// 2^53+1 and 2^53 are the same double; as strings they differ.
	const big = 1<<53 + 1
	at := clk.Now()
	for _, u := range []presence.Update{
		{EdgeID: "e", ChargerID: "c", Seq: big, Connected: true, LastSeen: at},
		{EdgeID: "e", ChargerID: "c", Seq: big - 1, Connected: false, LastSeen: at},
	} {
		if _, err := s.Apply(ctx, []presence.Update{u}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.Chargers(ctx, []presence.Key{{EdgeID: "e", ChargerID: "c"}})
	if err != nil {
		t.Fatal(err)
	}
	if !st[0].Connected {
		t.Error("seq 2^53 applied over seq 2^53+1")
	}
	n, err := s.Apply(ctx, []presence.Update{{EdgeID: "e", ChargerID: "c", Seq: 1<<64 - 1, LastSeen: at}})
	if err != nil || n != 1 {
		t.Errorf("Apply(max uint64) = %d, %v; want 1, nil", n, err)
	}
}

func TestChargersReadsManyAndCapsFutureSightings(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, clk := newStore(t)
	_, err := s.Apply(ctx, []presence.Update{
		{EdgeID: "e1", ChargerID: "a", Seq: 1, Connected: true, LastSeen: clk.Now().Add(time.Hour)},
		{EdgeID: "e2", ChargerID: "b", Seq: 1, Connected: true, LastSeen: clk.Now()},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetEdgeState(ctx, "e2", presence.EdgeOffline); err != nil {
		t.Fatal(err)
	}
	got, err := s.Chargers(ctx, []presence.Key{{"e1", "a"}, {"e2", "b"}, {"e3", "x"}})
	if err != nil {
		t.Fatal(err)
	}
	now := clk.Now()
	want := []presence.Status{
		{Known: true, Connected: true, LastSeen: now, Online: true},
		{Known: true, Connected: true, LastSeen: now, EdgeOffline: true},
		{},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Chargers (-want +got):\n%s", diff)
	}
	// An edge clock an hour ahead does not keep the charger online longer.
	clk.Add(4 * time.Minute)
	got, err = s.Chargers(ctx, []presence.Key{{"e1", "a"}})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Online {
		t.Error("charger reported an hour in the future still online after the timeout")
	}
}

func TestSetEdgeStateRejectsUnknownState(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	err := s.SetEdgeState(t.Context(), "e1", "sleeping")
	if err == nil {
		t.Fatal("SetEdgeState(sleeping): no error")
	}
}

func TestIsOnline(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	tests := []struct {
		name                   string
		connected, edgeOffline bool
		lastSeen               time.Time
		want                   bool
	}{
		{"connected and fresh", true, false, now, true},
		{"disconnected", false, false, now, false},
		{"edge offline", true, true, now, false},
		{"at the timeout", true, false, now.Add(-time.Minute), true},
		{"past the timeout", true, false, now.Add(-time.Minute - 1), false},
	}
	for _, tt := range tests {
		if got := presence.IsOnline(tt.connected, tt.edgeOffline, tt.lastSeen, now, time.Minute); got != tt.want {
			t.Errorf("%s: IsOnline = %v, want %v", tt.name, got, tt.want)
		}
	}
}
