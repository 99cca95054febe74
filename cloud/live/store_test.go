package live_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/cloud/fleet"
	"github.com/chargeplane/chargeplane/cloud/live"
	"github.com/chargeplane/chargeplane/cloud/postgres/pgtest"
	"github.com/chargeplane/chargeplane/cloud/presence/presencetest"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

var t0 = time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC) //nolint:gochecknoglobals // test fixture, never written

// event builds a stored event of tenant t1, edge e1, as ingest hands it
// to observers.
func event(tb testing.TB, seq uint64, charger string, connector uint32, kind any) fleet.Event {
	tb.Helper()
	ev := &chargeplanev1.Event{
		EdgeId: "e1", Seq: seq, ChargerId: charger, Connector: connector, Protocol: "bkv",
		OccurredAt: timestamppb.New(t0.Add(time.Duration(seq) * time.Second)),
	}
	var name string
	switch k := kind.(type) {
	case *chargeplanev1.ConnectorStatusChanged:
		ev.Kind, name = &chargeplanev1.Event_ConnectorStatus{ConnectorStatus: k}, fleet.KindConnectorStatus
	case *chargeplanev1.SessionStarted:
		ev.Kind, name = &chargeplanev1.Event_SessionStarted{SessionStarted: k}, fleet.KindSessionStarted
	case *chargeplanev1.SessionEnded:
		ev.Kind, name = &chargeplanev1.Event_SessionEnded{SessionEnded: k}, fleet.KindSessionEnded
	case *chargeplanev1.Heartbeat:
		ev.Kind, name = &chargeplanev1.Event_Heartbeat{Heartbeat: k}, fleet.KindHeartbeat
	default:
		tb.Fatalf("event kind %T", kind)
	}
	b, err := proto.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	return fleet.Event{
		TenantID: "t1", EdgeID: "e1", Seq: seq, ChargerID: charger, Connector: connector, Kind: name,
		OccurredAt: ev.GetOccurredAt().AsTime(), Protocol: "bkv", Payload: b,
	}
}

func statusChanged(s chargeplanev1.ConnectorStatus, raw, ref string) *chargeplanev1.ConnectorStatusChanged {
	return &chargeplanev1.ConnectorStatusChanged{Status: s, RawStatus: raw, SessionRef: ref}
}

const (
	available = chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_AVAILABLE
	charging  = chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_CHARGING
	finishing = chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_FINISHING
	faulted   = chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_FAULTED
)

// TestFeedKeepsTheNewestStatus drives connector status through the feed
// (the ingest observer) with events in and out of seq order, and checks
// what is stored and what watchers are told.
func TestFeedKeepsTheNewestStatus(t *testing.T) {
	t.Parallel()
	pool := pgtest.MustPool(t, pgtest.MustDB(t))
	rdb, prefix := presencetest.MustRedis(t)
	hub := MustHub(t, rdb, prefix, 64)
	statuses := live.NewStatuses(pool)
	feed := live.NewFeed(statuses, hub)
	ctx := t.Context()
	sub, err := hub.Subscribe(ctx, "t1", live.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	get := func(charger string, connector uint32) live.Entry {
		t.Helper()
		e, err := statuses.Get(ctx, "t1", "e1", charger, connector)
		if err != nil {
			t.Fatalf("Get(%s, %d): %v", charger, connector, err)
		}
		return e
	}
	observe := func(events ...fleet.Event) {
		t.Helper()
		if err := feed.Observe(ctx, events); err != nil {
			t.Fatalf("Observe: %v", err)
		}
	}

	// One batch: seq 3 then an older seq 2 for the same connector, a
	// session start on another, and a heartbeat (ignored).
	observe(
		event(t, 3, "c1", 1, statusChanged(available, "0x00", "")),
		event(t, 2, "c1", 1, statusChanged(faulted, "0x10", "")),
		event(t, 4, "c1", 2, &chargeplanev1.SessionStarted{SessionRef: "s1", AuthMethod: "card"}),
		event(t, 5, "c1", 0, &chargeplanev1.Heartbeat{}),
	)
	if e := get("c1", 1); e.Status != available || e.Seq != 3 || e.RawStatus != "0x00" || !e.UpdatedAt.Equal(t0.Add(3*time.Second)) {
		t.Errorf("c1/1 = %+v, want available from seq 3", e)
	}
	if e := get("c1", 2); e.Status != charging || e.SessionRef != "s1" {
		t.Errorf("c1/2 = %+v, want charging session s1", e)
	}
	// Watchers got the session start and both stored statuses.
	seen := map[string]int{}
	for range 3 {
		u := receive(t, sub)
		switch k := u.GetKind().(type) {
		case *chargeplanev1.LiveUpdate_ConnectorStatus:
			seen["status"]++
			if k.ConnectorStatus.GetConnector() == 1 && k.ConnectorStatus.GetStatus() != available {
				t.Errorf("published status of c1/1 = %v, want available", k.ConnectorStatus.GetStatus())
			}
		case *chargeplanev1.LiveUpdate_SessionStarted:
			seen["session_started"]++
		}
	}
	if diff := cmp.Diff(map[string]int{"status": 2, "session_started": 1}, seen); diff != "" {
		t.Errorf("updates published (-want +got):\n%s", diff)
	}

	// A later batch delivers an event older than what is stored: nothing
	// changes and nothing is published about it.
	observe(event(t, 1, "c1", 1, statusChanged(faulted, "0x10", "")))
	if e := get("c1", 1); e.Status != available || e.Seq != 3 {
		t.Errorf("c1/1 after a late event = %+v, want available from seq 3", e)
	}
	// The session ends normally: finishing; then on a fault: faulted.
	observe(event(t, 6, "c1", 2, &chargeplanev1.SessionEnded{SessionRef: "s1", Reason: chargeplanev1.EndReason_END_REASON_FULL}))
	if e := get("c1", 2); e.Status != finishing || e.SessionRef != "" {
		t.Errorf("c1/2 after the end = %+v, want finishing without session", e)
	}
	observe(event(t, 7, "c1", 2, &chargeplanev1.SessionEnded{SessionRef: "s2", Reason: chargeplanev1.EndReason_END_REASON_FAULT}))
	if e := get("c1", 2); e.Status != faulted {
		t.Errorf("c1/2 after a fault end = %+v, want faulted", e)
	}
	// The next update watchers see is c1/2 finishing (seq 6): the late
	// seq 1 event was not published.
	for {
		u := receive(t, sub)
		if cs := u.GetConnectorStatus(); cs != nil {
			if cs.GetSeq() != 6 || cs.GetStatus() != finishing {
				t.Errorf("next status published = %v, want c1/2 finishing at seq 6", cs)
			}
			break
		}
	}

	if _, err := statuses.Get(ctx, "t2", "e1", "c1", 1); !errors.Is(err, live.ErrNotFound) {
		t.Errorf("Get of another tenant = %v, want ErrNotFound", err)
	}
}

func TestListPagesAndFilters(t *testing.T) {
	t.Parallel()
	pool := pgtest.MustPool(t, pgtest.MustDB(t))
	statuses := live.NewStatuses(pool)
	ctx := t.Context()
	var entries []live.Entry
	for i, k := range []struct {
		edge, charger string
		connector     uint32
		status        chargeplanev1.ConnectorStatus
	}{
		{"e1", "c1", 1, available}, {"e1", "c1", 2, charging}, {"e1", "c2", 1, available},
		{"e2", "c1", 1, charging}, {"e2", "c3", 1, available},
	} {
		entries = append(entries, live.Entry{
			TenantID: "t1", EdgeID: k.edge, ChargerID: k.charger, Connector: k.connector, Status: k.status,
			UpdatedAt: t0, Seq: uint64(i + 1),
		})
	}
	entries = append(entries, live.Entry{TenantID: "t2", EdgeID: "e9", ChargerID: "c1", Connector: 1, Status: available, UpdatedAt: t0, Seq: 1})
	if _, err := statuses.Apply(ctx, entries); err != nil {
		t.Fatal(err)
	}
	keys := func(es []live.Entry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.EdgeID+"/"+e.ChargerID+"/"+string(rune('0'+e.Connector)))
		}
		return out
	}
	var got []string
	var after *live.Cursor
	for page := 0; page < 5; page++ {
		es, err := statuses.List(ctx, live.StatusFilter{TenantID: "t1"}, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, keys(es)...)
		if len(es) < 2 {
			break
		}
		last := es[len(es)-1]
		after = &live.Cursor{EdgeID: last.EdgeID, ChargerID: last.ChargerID, Connector: last.Connector}
	}
	if diff := cmp.Diff([]string{"e1/c1/1", "e1/c1/2", "e1/c2/1", "e2/c1/1", "e2/c3/1"}, got); diff != "" {
		t.Errorf("pages of t1 (-want +got):\n%s", diff)
	}
	for name, tc := range map[string]struct {
		f    live.StatusFilter
		want []string
	}{
		"by charger":       {live.StatusFilter{TenantID: "t1", ChargerID: "c1"}, []string{"e1/c1/1", "e1/c1/2", "e2/c1/1"}},
		"by edge":          {live.StatusFilter{TenantID: "t1", EdgeID: "e2"}, []string{"e2/c1/1", "e2/c3/1"}},
		"by status":        {live.StatusFilter{TenantID: "t1", Status: charging}, []string{"e1/c1/2", "e2/c1/1"}},
		"other tenant":     {live.StatusFilter{TenantID: "t2"}, []string{"e9/c1/1"}},
		"edge of a tenant": {live.StatusFilter{TenantID: "t1", EdgeID: "e9"}, nil},
	} {
		es, err := statuses.List(ctx, tc.f, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, keys(es)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

// TestRebuildFromEvents: connector status is derived data; Rebuild
// recomputes it from the events table.
func TestRebuildFromEvents(t *testing.T) {
	t.Parallel()
	pool := pgtest.MustPool(t, pgtest.MustDB(t))
	ctx := t.Context()
	events := []fleet.Event{
		event(t, 1, "c1", 1, statusChanged(available, "", "")),
		event(t, 2, "c1", 1, &chargeplanev1.SessionStarted{SessionRef: "s1"}),
		event(t, 3, "c1", 2, statusChanged(faulted, "0x10", "")),
		event(t, 4, "c1", 0, &chargeplanev1.Heartbeat{}),
	}
	if _, err := fleet.New(pool).WriteEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	statuses := live.NewStatuses(pool)
	// A stale row the events do not support: Rebuild removes it.
	if _, err := statuses.Apply(ctx, []live.Entry{{TenantID: "t1", EdgeID: "e1", ChargerID: "gone", Connector: 1, Status: charging, UpdatedAt: t0, Seq: 99}}); err != nil {
		t.Fatal(err)
	}
	n, err := statuses.Rebuild(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("Rebuild applied %d events, want 3", n)
	}
	es, err := statuses.List(ctx, live.StatusFilter{TenantID: "t1"}, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Status != charging || es[0].SessionRef != "s1" || es[1].Status != faulted {
		t.Errorf("rebuilt statuses = %+v, want c1/1 charging s1 and c1/2 faulted", es)
	}
}
