package fleet_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chargeplane/chargeplane/cloud/fleet"
	"github.com/chargeplane/chargeplane/cloud/postgres/pgtest"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) //nolint:gochecknoglobals // test fixture.

func newStore(t *testing.T) *fleet.Store {
	t.Helper()
	return fleet.New(pgtest.MustPool(t, pgtest.MustDB(t)))
}

func ev(edge, charger string, seq uint64, kind string, at time.Time) fleet.Event {
	return fleet.Event{
		TenantID: "t1", EdgeID: edge, Seq: seq, ChargerID: charger, Kind: kind,
		OccurredAt: at, Protocol: "bkv", Payload: []byte("payload"),
	}
}

func heartbeat(edge, charger string, seq uint64, fw string, at time.Time) fleet.Event {
	e := ev(edge, charger, seq, fleet.KindHeartbeat, at)
	e.Firmware = fw
	return e
}

func TestWriteEventsStoresEachEventOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t)
	first := []fleet.Event{
		ev("e1", "c1", 1, fleet.KindChargerConnected, t0),
		heartbeat("e1", "c1", 2, "v1", t0.Add(time.Minute)),
		heartbeat("e1", "c1", 3, "v1", t0.Add(2*time.Minute)),
	}
	res, err := s.WriteEvents(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	stored := func(seqs ...uint64) map[fleet.EventKey]bool {
		m := map[fleet.EventKey]bool{}
		for _, s := range seqs {
			m[fleet.EventKey{EdgeID: "e1", Seq: s}] = true
		}
		return m
	}
	if diff := cmp.Diff(fleet.WriteResult{Inserted: 3, Stored: stored(1, 2, 3)}, res); diff != "" {
		t.Errorf("first write (-want +got):\n%s", diff)
	}
	// The same batch again, overlapping new events, and one event twice.
	second := append(append([]fleet.Event{}, first...),
		heartbeat("e1", "c1", 4, "v1", t0.Add(3*time.Minute)),
		heartbeat("e1", "c1", 4, "v1", t0.Add(3*time.Minute)),
	)
	res, err = s.WriteEvents(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fleet.WriteResult{Inserted: 1, Duplicates: 4, Stored: stored(4)}, res); diff != "" {
		t.Errorf("overlapping write (-want +got):\n%s", diff)
	}
	last, err := s.LastSeq(ctx, "e1")
	if err != nil || last != 4 {
		t.Errorf("LastSeq(e1) = %d, %v; want 4, nil", last, err)
	}
	last, err = s.LastSeq(ctx, "nobody")
	if err != nil || last != 0 {
		t.Errorf("LastSeq(nobody) = %d, %v; want 0, nil", last, err)
	}
}

func TestWriteEventsKeepsNewestChargerFacts(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t)
	steps := []struct {
		name   string
		events []fleet.Event
		want   fleet.Charger
	}{{
		name:   "first heartbeat creates the charger",
		events: []fleet.Event{heartbeat("e1", "c1", 10, "v2", t0)},
		want:   fleet.Charger{Firmware: "v2", FirstSeen: t0, LastSeen: t0},
	}, {
		name:   "an older heartbeat replayed widens the sighting but keeps the newer firmware",
		events: []fleet.Event{heartbeat("e1", "c1", 5, "v1", t0.Add(-time.Hour))},
		want:   fleet.Charger{Firmware: "v2", FirstSeen: t0.Add(-time.Hour), LastSeen: t0},
	}, {
		name: "a newer heartbeat and a later event without firmware",
		events: []fleet.Event{
			heartbeat("e1", "c1", 11, "v3", t0.Add(time.Minute)),
			ev("e1", "c1", 12, fleet.KindChargerDisconnected, t0.Add(2*time.Minute)),
		},
		want: fleet.Charger{Firmware: "v3", FirstSeen: t0.Add(-time.Hour), LastSeen: t0.Add(2 * time.Minute)},
	}}
	for _, step := range steps {
		if _, err := s.WriteEvents(ctx, step.events); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		got, err := s.ListChargers(ctx, fleet.Filter{EdgeID: "e1"}, nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		want := step.want
		want.TenantID, want.EdgeID, want.ChargerID, want.Protocol = "t1", "e1", "c1", "bkv"
		if diff := cmp.Diff([]fleet.Charger{want}, got, cmpTime); diff != "" {
			t.Errorf("%s (-want +got):\n%s", step.name, diff)
		}
	}
}

func TestWriteEventsCapsFutureSightings(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t)
	future := time.Now().Add(24 * time.Hour)
	if _, err := s.WriteEvents(ctx, []fleet.Event{heartbeat("e1", "c1", 1, "", future)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListChargers(ctx, fleet.Filter{}, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].LastSeen.After(time.Now().Add(time.Minute)) {
		t.Errorf("charger seen at %v from an edge clock a day ahead; want capped at now", got)
	}
}

func TestWriteEventsRejectsInvalid(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t)
	tests := []struct {
		name string
		e    fleet.Event
	}{
		{"seq zero", ev("e1", "c1", 0, fleet.KindHeartbeat, t0)},
		{"seq beyond bigint", ev("e1", "c1", fleet.MaxSeq+1, fleet.KindHeartbeat, t0)},
		{"no tenant", func() fleet.Event { e := ev("e1", "c1", 1, fleet.KindHeartbeat, t0); e.TenantID = ""; return e }()},
		{"no time", ev("e1", "c1", 1, fleet.KindHeartbeat, time.Time{})},
		{"connector beyond integer", func() fleet.Event { e := ev("e1", "c1", 1, fleet.KindHeartbeat, t0); e.Connector = 1 << 31; return e }()},
		{"NUL in a text column", ev("e1", "c\x001", 1, fleet.KindHeartbeat, t0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.WriteEvents(ctx, []fleet.Event{tt.e})
			if !errors.Is(err, fleet.ErrInvalidEvent) {
				t.Errorf("WriteEvents: err = %v, want ErrInvalidEvent", err)
			}
		})
	}
	// Nothing of the failed writes was kept.
	got, err := s.ListChargers(ctx, fleet.Filter{}, nil, 10)
	if err != nil || len(got) != 0 {
		t.Errorf("chargers after rejected writes = %v, %v; want none", got, err)
	}
}

func TestListChargersPagesAndFilters(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t)
	var events []fleet.Event
	for e := range 3 {
		for c := range 4 {
			x := ev(fmt.Sprintf("e%d", e), fmt.Sprintf("c%d", c), uint64(c+1), fleet.KindChargerConnected, t0)
			x.TenantID = fmt.Sprintf("t%d", e%2) // e0, e2 → t0; e1 → t1
			events = append(events, x)
		}
	}
	if _, err := s.WriteEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	keys := func(cs []fleet.Charger) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.EdgeID+"/"+c.ChargerID)
		}
		return out
	}
	var all []string
	var after *fleet.Cursor
	for page := 0; ; page++ {
		got, err := s.ListChargers(ctx, fleet.Filter{TenantID: "t0"}, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			break
		}
		all = append(all, keys(got)...)
		last := got[len(got)-1]
		after = &fleet.Cursor{EdgeID: last.EdgeID, ChargerID: last.ChargerID}
		if page > 10 {
			t.Fatal("paging does not end")
		}
	}
	want := []string{"e0/c0", "e0/c1", "e0/c2", "e0/c3", "e2/c0", "e2/c1", "e2/c2", "e2/c3"}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("tenant t0 paged by 3 (-want +got):\n%s", diff)
	}

	got, err := s.ListChargers(ctx, fleet.Filter{TenantID: "t0", EdgeID: "e1"}, nil, 10)
	if err != nil || len(got) != 0 {
		t.Errorf("tenant t0 edge e1 = %v, %v; want none (e1 is t1's)", keys(got), err)
	}

	counts, err := s.CountByEdge(ctx, fleet.Filter{TenantID: "t0"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]fleet.EdgeCount{{"e0", 4}, {"e2", 4}}, counts); diff != "" {
		t.Errorf("CountByEdge(t0) (-want +got):\n%s", diff)
	}
	counts, err = s.CountByEdge(ctx, fleet.Filter{EdgeID: "e1"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]fleet.EdgeCount{{"e1", 4}}, counts); diff != "" {
		t.Errorf("CountByEdge(e1) (-want +got):\n%s", diff)
	}
}

func TestListChargersSortsBytewise(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStore(t)
	var events []fleet.Event
	for i, id := range []string{"a1", "a-1", "B", "a", "é"} {
		events = append(events, ev("e1", id, uint64(i+1), fleet.KindChargerConnected, t0))
	}
	if _, err := s.WriteEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	var got []string
	var after *fleet.Cursor
	for range 10 {
		page, err := s.ListChargers(ctx, fleet.Filter{}, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			got = append(got, c.ChargerID)
		}
		after = &fleet.Cursor{EdgeID: "e1", ChargerID: page[len(page)-1].ChargerID}
	}
	if diff := cmp.Diff([]string{"B", "a", "a-1", "a1", "é"}, got); diff != "" {
		t.Errorf("charger order (-want +got):\n%s", diff)
	}
}

var cmpTime = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }) //nolint:gochecknoglobals // test option.
