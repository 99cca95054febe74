package ingest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/cloud/fleet"
	"github.com/chargeplane/chargeplane/cloud/presence"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/topic"
)

// message is a received MQTT message, as paho hands it over.
type message struct {
	topic   string
	payload []byte
	acked   bool
}

func (m *message) Duplicate() bool   { return false }
func (m *message) Qos() byte         { return 1 }
func (m *message) Retained() bool    { return false }
func (m *message) Topic() string     { return m.topic }
func (m *message) MessageID() uint16 { return 1 }
func (m *message) Payload() []byte   { return m.payload }
func (m *message) Ack()              { m.acked = true }

func batch(t *testing.T, events ...*chargeplanev1.Event) []byte {
	t.Helper()
	b, err := proto.Marshal(&chargeplanev1.EventBatch{Events: events})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecode(t *testing.T) {
	t.Parallel()
	space, err := topic.New("r")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	hb := func(seq uint64, mod func(*chargeplanev1.Event)) *chargeplanev1.Event {
		e := &chargeplanev1.Event{
			Seq: seq, ChargerId: "c1", Protocol: "bkv", OccurredAt: timestamppb.New(at),
			Kind: &chargeplanev1.Event_Heartbeat{Heartbeat: &chargeplanev1.Heartbeat{Firmware: "v1"}},
		}
		if mod != nil {
			mod(e)
		}
		return e
	}
	events := space.Stream("t1", "e1", topic.Up, topic.KindEvents)
	tests := []struct {
		name       string
		topic      string
		payload    []byte
		wantKind   itemKind
		wantReason string
		wantState  string
		wantEvents int
	}{
		{name: "heartbeat batch", topic: events, payload: batch(t, hb(1, nil), hb(2, nil)), wantKind: kindEvents, wantEvents: 2},
		{name: "edge id may be left out", topic: events, payload: batch(t, hb(1, func(e *chargeplanev1.Event) { e.EdgeId = "" })), wantKind: kindEvents, wantEvents: 1},
		{name: "unknown event kind is kept", topic: events, payload: batch(t, hb(1, func(e *chargeplanev1.Event) { e.Kind = nil; e.ChargerId = "" })), wantKind: kindEvents, wantEvents: 1},
		{name: "empty batch", topic: events, payload: nil, wantKind: kindIgnored},
		{name: "garbage", topic: events, payload: []byte{0xff, 0xff, 0xff}, wantKind: kindInvalid, wantReason: reasonDecode},
		{name: "another edge's event", topic: events, payload: batch(t, hb(1, func(e *chargeplanev1.Event) { e.EdgeId = "e2" })), wantKind: kindInvalid, wantReason: reasonEvent},
		{name: "seq zero", topic: events, payload: batch(t, hb(0, nil)), wantKind: kindInvalid, wantReason: reasonEvent},
		{name: "seq beyond bigint", topic: events, payload: batch(t, hb(1<<63, nil)), wantKind: kindInvalid, wantReason: reasonEvent},
		{name: "no time", topic: events, payload: batch(t, hb(1, func(e *chargeplanev1.Event) { e.OccurredAt = nil })), wantKind: kindInvalid, wantReason: reasonEvent},
		{name: "heartbeat without charger", topic: events, payload: batch(t, hb(1, func(e *chargeplanev1.Event) { e.ChargerId = "" })), wantKind: kindInvalid, wantReason: reasonEvent},
		{name: "NUL in charger id", topic: events, payload: batch(t, hb(1, func(e *chargeplanev1.Event) { e.ChargerId = "c\x00" })), wantKind: kindInvalid, wantReason: reasonEvent},
		{name: "unknown stream kind", topic: space.Stream("t1", "e1", topic.Up, "alarms"), payload: batch(t, hb(1, nil)), wantKind: kindInvalid, wantReason: reasonTopic},
		{name: "too deep a topic", topic: events + "/x", payload: batch(t, hb(1, nil)), wantKind: kindInvalid, wantReason: reasonTopic},
		{name: "state online", topic: space.State("t1", "e1"), payload: []byte(topic.StateOnline), wantKind: kindState, wantState: topic.StateOnline},
		{name: "state offline", topic: space.State("t1", "e1"), payload: []byte(topic.StateOffline), wantKind: kindState, wantState: topic.StateOffline},
		{name: "state cleared", topic: space.State("t1", "e1"), payload: nil, wantKind: kindIgnored},
		{name: "state nonsense", topic: space.State("t1", "e1"), payload: []byte("maybe"), wantKind: kindInvalid, wantReason: reasonState},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			it := decode(space, &message{topic: tt.topic, payload: tt.payload})
			if it.kind != tt.wantKind || it.reason != tt.wantReason || it.state != tt.wantState || len(it.events) != tt.wantEvents {
				t.Errorf("decode = kind %d reason %q state %q %d events (err %v); want kind %d reason %q state %q %d events",
					it.kind, it.reason, it.state, len(it.events), it.err, tt.wantKind, tt.wantReason, tt.wantState, tt.wantEvents)
			}
			wantStream := streamOther
			switch tt.topic {
			case events:
				wantStream = streamEvents
			case space.State("t1", "e1"):
				wantStream = streamState
			}
			if it.stream != wantStream {
				t.Errorf("stream = %q, want %q", it.stream, wantStream)
			}
			if it.kind == kindInvalid && !errors.Is(it.err, errInvalid) {
				t.Errorf("invalid item's err = %v, want errInvalid", it.err)
			}
			for _, e := range it.events {
				if e.EdgeID != "e1" || e.TenantID != "t1" {
					t.Errorf("event %d stored as %s/%s, want t1/e1 from the topic", e.Seq, e.TenantID, e.EdgeID)
				}
				var back chargeplanev1.Event
				if err := proto.Unmarshal(e.Payload, &back); err != nil || back.GetEdgeId() != "e1" {
					t.Errorf("payload of event %d = %v, %v; want an Event with edge_id e1", e.Seq, &back, err)
				}
			}
		})
	}
}

func TestLatestUpdatesKeepsNewestPerCharger(t *testing.T) {
	t.Parallel()
	at := time.Unix(100, 0)
	items := []item{
		{upd: []presence.Update{{EdgeID: "e", ChargerID: "a", Seq: 5, Connected: true, LastSeen: at}}},
		{upd: []presence.Update{
			{EdgeID: "e", ChargerID: "a", Seq: 3},
			{EdgeID: "e", ChargerID: "b", Seq: 4, Connected: true, LastSeen: at},
			{EdgeID: "e", ChargerID: "a", Seq: 6, LastSeen: at},
		}},
	}
	want := []presence.Update{
		{EdgeID: "e", ChargerID: "a", Seq: 6, LastSeen: at},
		{EdgeID: "e", ChargerID: "b", Seq: 4, Connected: true, LastSeen: at},
	}
	if diff := cmp.Diff(want, latestUpdates(items)); diff != "" {
		t.Errorf("latestUpdates (-want +got):\n%s", diff)
	}
}

func TestKindName(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		e    *chargeplanev1.Event
		want string
	}{
		{&chargeplanev1.Event{Kind: &chargeplanev1.Event_SessionEnded{SessionEnded: &chargeplanev1.SessionEnded{}}}, fleet.KindSessionEnded},
		{&chargeplanev1.Event{Kind: &chargeplanev1.Event_ConnectorStatus{ConnectorStatus: &chargeplanev1.ConnectorStatusChanged{}}}, fleet.KindConnectorStatus},
		{&chargeplanev1.Event{Kind: &chargeplanev1.Event_CommandResult{CommandResult: &chargeplanev1.CommandResult{}}}, fleet.KindCommandResult},
		{&chargeplanev1.Event{}, fleet.KindUnknown},
	} {
		if got := kindName(tt.e); got != tt.want {
			t.Errorf("kindName(%v) = %q, want %q", tt.e, got, tt.want)
		}
	}
}

func TestToUpdate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind          string
		wantOK        bool
		wantConnected bool
	}{
		{fleet.KindChargerConnected, true, true},
		{fleet.KindHeartbeat, true, true},
		{fleet.KindChargerDisconnected, true, false},
		{fleet.KindUnknown, false, false},
		{fleet.KindSessionEnded, true, true},
		{fleet.KindConnectorStatus, true, true},
		{fleet.KindCommandResult, false, false},
	}
	for _, tt := range tests {
		u, ok := toUpdate(fleet.Event{Kind: tt.kind, EdgeID: "e", ChargerID: "c", Seq: 1})
		if ok != tt.wantOK || u.Connected != tt.wantConnected {
			t.Errorf("toUpdate(%s) = connected %v, %v; want %v, %v", tt.kind, u.Connected, ok, tt.wantConnected, tt.wantOK)
		}
	}
}
