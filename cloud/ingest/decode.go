package ingest

import (
	"errors"
	"fmt"
	"strings"

	paho "github.com/eclipse/paho.mqtt.golang"
	"google.golang.org/protobuf/proto"

	"github.com/chargeplane/chargeplane/cloud/fleet"
	"github.com/chargeplane/chargeplane/cloud/presence"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/topic"
)

// Reasons a message is rejected, the values of the reason label of
// chargeplane_ingest_invalid_messages_total.
const (
	reasonTopic  = "topic"  // not a topic this consumer knows
	reasonDecode = "decode" // payload is not an EventBatch
	reasonEvent  = "event"  // an event of the batch is invalid
	reasonState  = "state"  // state payload neither online nor offline
	reasonStore  = "store"  // Postgres refused the events (ErrInvalidEvent)
)

// errInvalid marks a message that can never be processed; the wrapped
// message says why.
var errInvalid = errors.New("invalid message")

type itemKind int

const (
	kindEvents itemKind = iota + 1
	kindState
	kindIgnored // valid, nothing to do (an empty batch, a cleared retained state)
	kindInvalid
)

// Streams a message can come from, the values of the kind label of
// chargeplane_ingest_messages_total.
const (
	streamEvents = "events" // {root}/{tenant}/{edge}/up/events
	streamState  = "state"  // {root}/{tenant}/{edge}/state
	streamOther  = "other"  // anything else the subscriptions match
)

// item is one received message, decoded.
type item struct {
	msg    paho.Message
	kind   itemKind
	stream string

	tenant, edge string

	events []fleet.Event     // kindEvents
	state  string            // kindState
	reason string            // kindInvalid
	err    error             // kindInvalid
	upd    []presence.Update // kindEvents: presence as of each charger event
	stored bool              // kindEvents: committed to Postgres, never write again

	fresh    []fleet.Event // kindEvents, once stored: what observers get
	observed bool          // kindEvents: observers had fresh, never again
}

// decode turns a message into an item. It does no I/O: everything it needs
// is in the message and the topic space.
func decode(space topic.Space, m paho.Message) item {
	it := item{msg: m, stream: streamOther}
	name := m.Topic()
	if tenant, edge, ok := parseState(space, name); ok {
		it.tenant, it.edge, it.stream = tenant, edge, streamState
		switch p := string(m.Payload()); p {
		case "":
			it.kind = kindIgnored // a retained state being cleared
		case topic.StateOnline, topic.StateOffline:
			it.kind, it.state = kindState, p
		default:
			return invalid(it, reasonState, fmt.Errorf("state %.32q: want %q or %q: %w", p, topic.StateOnline, topic.StateOffline, errInvalid))
		}
		return it
	}
	t, err := space.Parse(name)
	if err != nil {
		return invalid(it, reasonTopic, fmt.Errorf("%w: %w", errInvalid, err))
	}
	it.tenant, it.edge = t.Tenant, t.Edge
	if t.Dir != topic.Up || t.Kind != topic.KindEvents {
		return invalid(it, reasonTopic, fmt.Errorf("no consumer for %s/%s streams: %w", t.Dir, t.Kind, errInvalid))
	}
	it.stream = streamEvents
	var batch chargeplanev1.EventBatch
	if err := proto.Unmarshal(m.Payload(), &batch); err != nil {
		return invalid(it, reasonDecode, fmt.Errorf("decode EventBatch: %w: %w", errInvalid, err))
	}
	if len(batch.GetEvents()) == 0 {
		it.kind = kindIgnored
		return it
	}
	it.kind = kindEvents
	it.events = make([]fleet.Event, 0, len(batch.GetEvents()))
	for _, e := range batch.GetEvents() {
		fe, err := toEvent(t.Tenant, t.Edge, e)
		if err != nil {
			return invalid(it, reasonEvent, err)
		}
		it.events = append(it.events, fe)
		if u, ok := toUpdate(fe); ok {
			it.upd = append(it.upd, u)
		}
	}
	return it
}

func invalid(it item, reason string, err error) item {
	it.kind, it.reason, it.err = kindInvalid, reason, err
	it.events, it.upd = nil, nil
	return it
}

// parseState recognises {root}/{tenant}/{edge}/state. shared/topic builds
// these names but parses only stream topics, so the candidate is rebuilt
// with topic.Space.State and must come out identical.
func parseState(space topic.Space, name string) (tenant, edge string, ok bool) {
	rest, ok := strings.CutPrefix(name, space.Root()+"/")
	if !ok {
		return "", "", false
	}
	tenant, rest, ok = strings.Cut(rest, "/")
	if !ok {
		return "", "", false
	}
	edge, _, ok = strings.Cut(rest, "/")
	if !ok || !topic.ValidSegment(tenant) || !topic.ValidSegment(edge) || space.State(tenant, edge) != name {
		return "", "", false
	}
	return tenant, edge, true
}

// toEvent checks one event of a batch published on tenant/edge's topic and
// converts it for storage.
func toEvent(tenant, edge string, e *chargeplanev1.Event) (fleet.Event, error) {
	bad := func(format string, args ...any) (fleet.Event, error) {
		return fleet.Event{}, fmt.Errorf("event seq %d: %s: %w", e.GetSeq(), fmt.Sprintf(format, args...), errInvalid)
	}
	switch {
	case e.GetEdgeId() != "" && e.GetEdgeId() != edge:
		return bad("edge_id %.64q on edge %q's topic", e.GetEdgeId(), edge)
	case e.GetSeq() == 0 || e.GetSeq() > fleet.MaxSeq:
		return bad("seq out of range 1..%d", uint64(fleet.MaxSeq))
	case e.GetOccurredAt() == nil:
		return bad("no occurred_at")
	case e.GetOccurredAt().CheckValid() != nil:
		return bad("occurred_at: %v", e.GetOccurredAt().CheckValid())
	case strings.ContainsRune(e.GetChargerId(), 0) || strings.ContainsRune(e.GetProtocol(), 0):
		return bad("NUL in charger_id or protocol")
	}
	// Stored with the edge id filled in, so the row's payload stands alone.
	if e.GetEdgeId() == "" {
		e = proto.CloneOf(e)
		e.EdgeId = edge
	}
	fe := fleet.Event{
		TenantID:   tenant,
		EdgeID:     edge,
		Seq:        e.GetSeq(),
		ChargerID:  e.GetChargerId(),
		Connector:  e.GetConnector(),
		OccurredAt: e.GetOccurredAt().AsTime(),
		Protocol:   e.GetProtocol(),
	}
	switch k := e.GetKind().(type) {
	case *chargeplanev1.Event_ChargerConnected:
		fe.Kind = fleet.KindChargerConnected
	case *chargeplanev1.Event_ChargerDisconnected:
		fe.Kind = fleet.KindChargerDisconnected
	case *chargeplanev1.Event_Heartbeat:
		fe.Kind = fleet.KindHeartbeat
		fe.Firmware = k.Heartbeat.GetFirmware()
		if strings.ContainsRune(fe.Firmware, 0) {
			return bad("NUL in firmware")
		}
	case nil:
		fe.Kind = fleet.KindUnknown
	default:
		// Other kinds are stored under their oneof field name
		// ("session_ended", "connector_status", …) with the full payload;
		// feature packages read them from there.
		fe.Kind = kindName(e)
	}
	if fe.Kind != fleet.KindUnknown && fe.ChargerID == "" {
		return bad("%s without charger_id", fe.Kind)
	}
	payload, err := proto.Marshal(e)
	if err != nil {
		return fleet.Event{}, fmt.Errorf("event seq %d: encode payload: %w", e.GetSeq(), err)
	}
	fe.Payload = payload
	return fe, nil
}

// kindName is the name of the event's oneof field, as stored in events.kind.
func kindName(e *chargeplanev1.Event) string {
	m := e.ProtoReflect()
	fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("kind"))
	if fd == nil {
		return fleet.KindUnknown
	}
	return string(fd.Name())
}

// toUpdate says what an event means for its charger's presence: a heartbeat
// proves the charger is connected as much as a connect does. Kinds unknown
// to this version say nothing.
func toUpdate(e fleet.Event) (presence.Update, bool) {
	var connected bool
	switch e.Kind {
	case fleet.KindChargerConnected, fleet.KindHeartbeat,
		// Anything the charger itself reported proves it is connected.
		fleet.KindConnectorStatus, fleet.KindMeterReport, fleet.KindSessionStarted,
		fleet.KindSessionEnded, fleet.KindCardPresented, fleet.KindAlarm:
		connected = true
	case fleet.KindChargerDisconnected:
		connected = false
	default:
		return presence.Update{}, false
	}
	return presence.Update{EdgeID: e.EdgeID, ChargerID: e.ChargerID, Seq: e.Seq, Connected: connected, LastSeen: e.OccurredAt}, true
}

// latestUpdates keeps, per charger, only the update of the newest event:
// the older ones would be refused by presence anyway.
func latestUpdates(items []item) []presence.Update {
	latest := map[presence.Key]int{}
	var out []presence.Update
	for _, it := range items {
		for _, u := range it.upd {
			k := presence.Key{EdgeID: u.EdgeID, ChargerID: u.ChargerID}
			if i, ok := latest[k]; ok {
				if u.Seq > out[i].Seq {
					out[i] = u
				}
				continue
			}
			latest[k] = len(out)
			out = append(out, u)
		}
	}
	return out
}
