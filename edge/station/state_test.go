package station

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/types/known/timestamppb"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// recorder is the next link of the chain: it keeps what it was given, or
// fails with err when set.
type recorder struct {
	mu  sync.Mutex
	err error
	evs []*chargeplanev1.Event
}

var errDiskFull = errors.New("disk full")

func (r *recorder) Append(_ context.Context, evs ...*chargeplanev1.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.evs = append(r.evs, evs...)
	return nil
}

func (r *recorder) fail(err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.evs)
}

var t0 = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

// at returns t0 plus s seconds.
func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

// ev builds an event of charger "gw1" (bkv) on connector conn at second s.
func ev(s int, conn uint32, kind any) *chargeplanev1.Event {
	return evFor("gw1", "bkv", s, conn, kind)
}

func evFor(id, protocol string, s int, conn uint32, kind any) *chargeplanev1.Event {
	e := &chargeplanev1.Event{ChargerId: id, Protocol: protocol, Connector: conn, OccurredAt: timestamppb.New(at(s))}
	switch k := kind.(type) {
	case *chargeplanev1.ChargerConnected:
		e.Kind = &chargeplanev1.Event_ChargerConnected{ChargerConnected: k}
	case *chargeplanev1.ChargerDisconnected:
		e.Kind = &chargeplanev1.Event_ChargerDisconnected{ChargerDisconnected: k}
	case *chargeplanev1.Heartbeat:
		e.Kind = &chargeplanev1.Event_Heartbeat{Heartbeat: k}
	case *chargeplanev1.ConnectorStatusChanged:
		e.Kind = &chargeplanev1.Event_ConnectorStatus{ConnectorStatus: k}
	case *chargeplanev1.MeterReport:
		e.Kind = &chargeplanev1.Event_MeterReport{MeterReport: k}
	case *chargeplanev1.SessionStarted:
		e.Kind = &chargeplanev1.Event_SessionStarted{SessionStarted: k}
	case *chargeplanev1.SessionEnded:
		e.Kind = &chargeplanev1.Event_SessionEnded{SessionEnded: k}
	case *chargeplanev1.CardPresented:
		e.Kind = &chargeplanev1.Event_CardPresented{CardPresented: k}
	case *chargeplanev1.Alarm:
		e.Kind = &chargeplanev1.Event_Alarm{Alarm: k}
	case *chargeplanev1.CommandResult:
		e.Kind = &chargeplanev1.Event_CommandResult{CommandResult: k}
	default:
		panic(fmt.Sprintf("ev: unexpected kind %T", kind))
	}
	return e
}

func status(st chargeplanev1.ConnectorStatus, raw, ref string, mv *chargeplanev1.MeterValues) *chargeplanev1.ConnectorStatusChanged {
	return &chargeplanev1.ConnectorStatusChanged{Status: st, RawStatus: raw, SessionRef: ref, Meter: mv}
}

const (
	available = chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_AVAILABLE
	charging  = chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_CHARGING
	faulted   = chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_FAULTED
)

func temp(c int32) *int32 { return &c }

func mustAppend(t *testing.T, s *State, evs ...*chargeplanev1.Event) {
	t.Helper()
	if err := s.Append(context.Background(), evs...); err != nil {
		t.Fatal(err)
	}
}

func mustCharger(t *testing.T, s *State, id string) Charger {
	t.Helper()
	c, ok := s.Charger(id)
	if !ok {
		t.Fatalf("charger %s unknown", id)
	}
	return c
}

func newState(t *testing.T) (*State, *recorder, *prometheus.Registry) {
	t.Helper()
	rec := &recorder{}
	reg := prometheus.NewRegistry()
	return New(rec, func() time.Time { return at(9999) }, reg), rec, reg
}

// TestSessionLifecycle feeds one BKV gateway's day through the state: it
// connects, reports its sockets, a card starts a session, meters arrive,
// the session ends, the link drops and comes back.
func TestSessionLifecycle(t *testing.T) {
	s, rec, _ := newState(t)
	idle := &chargeplanev1.MeterValues{VoltageMv: 229_900, TemperatureC: temp(30)}
	mustAppend(t, s,
		ev(0, 0, &chargeplanev1.ChargerConnected{RemoteAddr: "10.0.0.7:5000"}),
		ev(1, 0, &chargeplanev1.Heartbeat{Iccid: "89860463112070319417", Firmware: "V1.r46", Signal: 25}),
		ev(2, 1, status(available, "0x80", "", idle)),
		ev(2, 2, status(available, "0x80", "", idle)),
	)
	want := Charger{
		ChargerID: "gw1", Protocol: "bkv", Connected: true, Since: at(0), RemoteAddr: "10.0.0.7:5000",
		Firmware: "V1.r46", ICCID: "89860463112070319417", Signal: 25, LastHeartbeat: at(1), TemperatureC: temp(30),
		Connectors: []Connector{
			{Number: 1, Status: "available", RawStatus: "0x80", UpdatedAt: at(2),
				Meter: &Meter{VoltageV: 229.9, TemperatureC: temp(30), At: at(2)}},
			{Number: 2, Status: "available", RawStatus: "0x80", UpdatedAt: at(2),
				Meter: &Meter{VoltageV: 229.9, TemperatureC: temp(30), At: at(2)}},
		},
	}
	if diff := cmp.Diff(want, mustCharger(t, s, "gw1")); diff != "" {
		t.Fatalf("after connect (-want +got):\n%s", diff)
	}

	// Card swipe, confirmed start, two meter reports: power in 0.1 W units
	// become W, mWh become Wh.
	mustAppend(t, s,
		ev(10, 1, &chargeplanev1.CardPresented{CardId: "000000000002", Accepted: true, Reason: "listed", BalanceFen: 500}),
		ev(11, 1, &chargeplanev1.SessionStarted{SessionRef: "26", AuthMethod: "card", CardId: "000000000002"}),
	)
	mustAppend(t, s, ev(12, 1, status(charging, "0x90", "26",
		&chargeplanev1.MeterValues{PowerMw: 400, VoltageMv: 230_100, CurrentMa: 2, TemperatureC: temp(31)})))
	mustAppend(t, s, ev(70, 1, &chargeplanev1.MeterReport{SessionRef: "26", Meter: &chargeplanev1.MeterValues{
		PowerMw: 1_234_500, VoltageMv: 230_100, CurrentMa: 5_370, EnergyMwh: 21_000, DurationS: 60, TemperatureC: temp(33),
	}}))
	got := mustCharger(t, s, "gw1")
	wantConn := Connector{
		Number: 1, Status: "charging", RawStatus: "0x90", SessionRef: "26", SessionStartedAt: at(11), UpdatedAt: at(70),
		Meter:    &Meter{PowerW: 1234.5, VoltageV: 230.1, CurrentA: 5.37, EnergyWh: 21, DurationS: 60, TemperatureC: temp(33), At: at(70)},
		LastCard: &Card{At: at(10), CardID: "000000000002", Accepted: true, Reason: "listed", BalanceFen: 500},
	}
	if diff := cmp.Diff(wantConn, got.Connectors[0]); diff != "" {
		t.Fatalf("charging connector (-want +got):\n%s", diff)
	}
	if *got.TemperatureC != 33 {
		t.Fatalf("charger temperature = %d, want the latest report's 33", *got.TemperatureC)
	}

	// The end report; a repeat of it (stored again after a reconnect) and a
	// late meter report of the ended session change nothing.
	end := ev(90, 1, &chargeplanev1.SessionEnded{SessionRef: "26", EndedAt: timestamppb.New(at(89)), EnergyMwh: 22_000,
		DurationS: 78, Reason: chargeplanev1.EndReason_END_REASON_LOCAL, AmountFen: 15})
	mustAppend(t, s, end)
	afterEnd := mustCharger(t, s, "gw1")
	wantConn = Connector{
		Number: 1, Status: "finishing", UpdatedAt: at(90),
		LastCard:    wantConn.LastCard,
		LastSession: &EndedSession{SessionRef: "26", EndedAt: at(89), EnergyWh: 22, DurationS: 78, Reason: "local", AmountFen: 15},
	}
	if diff := cmp.Diff(wantConn, afterEnd.Connectors[0]); diff != "" {
		t.Fatalf("ended connector (-want +got):\n%s", diff)
	}
	mustAppend(t, s, ev(95, 1, &chargeplanev1.MeterReport{SessionRef: "26", Meter: &chargeplanev1.MeterValues{PowerMw: 9}}),
		ev(95, 1, status(charging, "0x90", "26", nil)),
		evFor("gw1", "bkv", 96, 1, &chargeplanev1.SessionEnded{SessionRef: "26", EndedAt: timestamppb.New(at(89)), EnergyMwh: 22_000}))
	if diff := cmp.Diff(afterEnd, mustCharger(t, s, "gw1")); diff != "" {
		t.Fatalf("late reports of an ended session changed the view (-want +got):\n%s", diff)
	}
	mustAppend(t, s, ev(100, 1, status(available, "0x80", "", nil)))
	if c := mustCharger(t, s, "gw1").Connectors[0]; c.Status != "available" || c.SessionRef != "" || c.LastSession.SessionRef != "26" {
		t.Fatalf("after the free report: %+v", c)
	}

	// The link drops: every connector is offline, the reason is kept.
	mustAppend(t, s, ev(200, 0, &chargeplanev1.ChargerDisconnected{Reason: "idle_timeout", Detail: "read: i/o timeout"}))
	got = mustCharger(t, s, "gw1")
	if got.Connected || !got.Since.Equal(at(200)) ||
		!cmp.Equal(got.LastDisconnect, &Disconnect{At: at(200), Reason: "idle_timeout", Detail: "read: i/o timeout"}) {
		t.Fatalf("after disconnect: %+v", got)
	}
	for _, c := range got.Connectors {
		if c.Status != "offline" || c.RawStatus != "0x80" {
			t.Fatalf("connector %d of a disconnected charger: %+v", c.Number, c)
		}
	}

	// It reconnects from another address: the last reported statuses are
	// shown again until it reports anew.
	mustAppend(t, s, ev(260, 0, &chargeplanev1.ChargerConnected{RemoteAddr: "10.0.0.8:6000"}))
	got = mustCharger(t, s, "gw1")
	if !got.Connected || got.RemoteAddr != "10.0.0.8:6000" || !got.Since.Equal(at(260)) || got.LastDisconnect.Reason != "idle_timeout" ||
		got.Connectors[0].Status != "available" || got.Connectors[1].Status != "available" {
		t.Fatalf("after reconnect: %+v", got)
	}
	if n := rec.count(); n != 15 {
		t.Fatalf("next recorder got %d events, want all 15", n)
	}
}

// TestFailedAppendLeavesStateUnchanged: what the next recorder refused is
// not shown, and its error comes back unchanged.
func TestFailedAppendLeavesStateUnchanged(t *testing.T) {
	s, rec, reg := newState(t)
	mustAppend(t, s,
		ev(0, 0, &chargeplanev1.ChargerConnected{RemoteAddr: "10.0.0.7:5000"}),
		ev(1, 1, status(available, "0x80", "", nil)),
	)
	before := s.Chargers()
	rec.fail(errDiskFull)
	err := s.Append(context.Background(),
		ev(5, 1, &chargeplanev1.SessionStarted{SessionRef: "7"}),
		ev(6, 1, &chargeplanev1.MeterReport{SessionRef: "7", Meter: &chargeplanev1.MeterValues{PowerMw: 5}}),
		evFor("gw2", "ap3000", 6, 0, &chargeplanev1.ChargerConnected{}),
		ev(7, 0, &chargeplanev1.ChargerDisconnected{Reason: "eof"}),
	)
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("Append = %v, want the recorder's error", err)
	}
	if diff := cmp.Diff(before, s.Chargers()); diff != "" {
		t.Fatalf("a failed append changed the view (-before +after):\n%s", diff)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(gauges(1, map[string]int{"available": 1})),
		"chargeplane_edge_chargers_connected", "chargeplane_edge_connectors"); err != nil {
		t.Fatal(err)
	}
}

// TestReconnectOrder: the replaced connection's disconnect may be stored
// after the new connection's connect; the charger stays connected.
func TestReconnectOrder(t *testing.T) {
	s, _, _ := newState(t)
	mustAppend(t, s,
		ev(0, 0, &chargeplanev1.ChargerConnected{RemoteAddr: "a:1"}),
		ev(1, 1, &chargeplanev1.SessionStarted{SessionRef: "9"}),
		ev(10, 0, &chargeplanev1.ChargerConnected{RemoteAddr: "b:2"}),
		ev(10, 0, &chargeplanev1.ChargerDisconnected{Reason: "replaced"}),
		// The resumed session is announced again on the new connection.
		ev(11, 1, &chargeplanev1.SessionStarted{SessionRef: "9"}),
	)
	got := mustCharger(t, s, "gw1")
	if !got.Connected || got.RemoteAddr != "b:2" || got.LastDisconnect.Reason != "replaced" {
		t.Fatalf("after replace: %+v", got)
	}
	if c := got.Connectors[0]; c.Status != "charging" || c.SessionRef != "9" || !c.SessionStartedAt.Equal(at(1)) {
		t.Fatalf("resumed session: %+v", c)
	}
	mustAppend(t, s, ev(20, 0, &chargeplanev1.ChargerDisconnected{Reason: "eof"}))
	if got := mustCharger(t, s, "gw1"); got.Connected || got.Connectors[0].Status != "offline" {
		t.Fatalf("after the last connection closed: %+v", got)
	}
	// A second disconnect (never more than connects) keeps it disconnected
	// and a connect makes it connected again at once.
	mustAppend(t, s, ev(21, 0, &chargeplanev1.ChargerDisconnected{Reason: "eof"}),
		ev(22, 0, &chargeplanev1.ChargerConnected{RemoteAddr: "c:3"}))
	if got := mustCharger(t, s, "gw1"); !got.Connected {
		t.Fatalf("after reconnect: %+v", got)
	}
}

// TestAP3000Reports: statuses map to the view's names, a report without
// totals keeps the session's energy, alarms land on their connector or the
// charger, and connector 0 is not a connector.
func TestAP3000Reports(t *testing.T) {
	s, _, _ := newState(t)
	ap := func(sec int, conn uint32, kind any) *chargeplanev1.Event {
		return evFor("ap1", "ap3000", sec, conn, kind)
	}
	mustAppend(t, s,
		ap(0, 0, &chargeplanev1.ChargerConnected{}),
		ap(0, 0, &chargeplanev1.Heartbeat{Firmware: "V1.05"}),
		ap(1, 0, &chargeplanev1.Heartbeat{Signal: 20}),
		// Charging before the order number is known.
		ap(1, 1, status(charging, "0x01", "", nil)),
		ap(2, 1, &chargeplanev1.MeterReport{SessionRef: "ord1", Meter: &chargeplanev1.MeterValues{PowerMw: 150_000, EnergyMwh: 30_000, DurationS: 600}}),
		ap(3, 1, &chargeplanev1.MeterReport{Meter: &chargeplanev1.MeterValues{PowerMw: 149_000, VoltageMv: 220_000}}),
		ap(3, 2, status(faulted, "0x0b", "", nil)),
		ap(3, 3, status(chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_UNSPECIFIED, "0x7f", "", nil)),
		ap(4, 2, &chargeplanev1.Alarm{Code: "over_temperature", Severity: "critical", Raw: "0x02"}),
		ap(5, 0, &chargeplanev1.Alarm{Code: "fault", Severity: "warning", Message: "smoke"}),
		ap(5, 0, &chargeplanev1.MeterReport{Meter: &chargeplanev1.MeterValues{TemperatureC: temp(41)}}),
	)
	got := mustCharger(t, s, "ap1")
	if got.Firmware != "V1.05" || got.Signal != 20 || got.LastHeartbeat != at(1) {
		t.Fatalf("heartbeat fields: %+v", got)
	}
	if got.LastAlarm == nil || got.LastAlarm.Message != "smoke" || got.TemperatureC == nil || *got.TemperatureC != 41 {
		t.Fatalf("charger alarm/temperature: %+v", got)
	}
	if len(got.Connectors) != 3 {
		t.Fatalf("connectors = %+v, want 1–3 only", got.Connectors)
	}
	c1, c2, c3 := got.Connectors[0], got.Connectors[1], got.Connectors[2]
	wantMeter := &Meter{PowerW: 149, VoltageV: 220, EnergyWh: 30, DurationS: 600, At: at(3)}
	if c1.SessionRef != "ord1" || c1.Status != "charging" || !cmp.Equal(c1.Meter, wantMeter) {
		t.Fatalf("connector 1: %+v meter %+v", c1, c1.Meter)
	}
	if c2.Status != "faulted" || c2.LastAlarm == nil || c2.LastAlarm.Code != "over_temperature" {
		t.Fatalf("connector 2: %+v", c2)
	}
	if c3.Status != "unknown" || c3.RawStatus != "0x7f" {
		t.Fatalf("connector 3: %+v", c3)
	}
}

// TestCommandResultCreatesNoCharger: a command for an id that never
// connected is stored as a failed result; that id must not appear.
func TestCommandResultCreatesNoCharger(t *testing.T) {
	s, rec, _ := newState(t)
	mustAppend(t, s, evFor("nope", "bkv", 0, 1, &chargeplanev1.CommandResult{CommandId: "c1", Command: "stop", Status: "failed"}))
	if _, ok := s.Charger("nope"); ok || len(s.Chargers()) != 0 || rec.count() != 1 {
		t.Fatalf("chargers = %+v, recorded %d", s.Chargers(), rec.count())
	}
}

// TestSnapshotsAreCopies: a snapshot handed out is not changed by later
// events (the admin page encodes it without holding the lock).
func TestSnapshotsAreCopies(t *testing.T) {
	s, _, _ := newState(t)
	mustAppend(t, s, ev(0, 0, &chargeplanev1.ChargerConnected{}),
		ev(1, 1, &chargeplanev1.MeterReport{SessionRef: "1", Meter: &chargeplanev1.MeterValues{PowerMw: 1000, TemperatureC: temp(20)}}))
	snap := mustCharger(t, s, "gw1")
	mustAppend(t, s, ev(2, 1, &chargeplanev1.MeterReport{SessionRef: "1", Meter: &chargeplanev1.MeterValues{PowerMw: 2000, TemperatureC: temp(25)}}))
	if snap.Connectors[0].Meter.PowerW != 1 || *snap.Connectors[0].Meter.TemperatureC != 20 || *snap.TemperatureC != 20 {
		t.Fatalf("snapshot changed: %+v", snap.Connectors[0].Meter)
	}
	snap.Connectors[0].Meter.PowerW = 99
	if got := mustCharger(t, s, "gw1"); got.Connectors[0].Meter.PowerW != 2 {
		t.Fatalf("writing a snapshot changed the state: %+v", got.Connectors[0].Meter)
	}
}

// gauges renders the expected metrics text.
func gauges(connected int, byStatus map[string]int) string {
	var b strings.Builder
	b.WriteString("# HELP chargeplane_edge_chargers_connected Chargers with an open connection.\n")
	b.WriteString("# TYPE chargeplane_edge_chargers_connected gauge\n")
	fmt.Fprintf(&b, "chargeplane_edge_chargers_connected %d\n", connected)
	b.WriteString("# HELP chargeplane_edge_connectors Connectors of the chargers seen since start, by status (offline while their charger is disconnected).\n")
	b.WriteString("# TYPE chargeplane_edge_connectors gauge\n")
	for _, st := range []string{"available", "charging", "faulted", "finishing", "offline", "preparing", "unknown"} {
		fmt.Fprintf(&b, "chargeplane_edge_connectors{status=%q} %d\n", st, byStatus[st])
	}
	return b.String()
}

// TestMetrics: the gauges follow the view, including offline connectors of
// a disconnected charger.
func TestMetrics(t *testing.T) {
	s, _, reg := newState(t)
	mustAppend(t, s,
		ev(0, 0, &chargeplanev1.ChargerConnected{}),
		ev(1, 1, status(available, "0x80", "", nil)),
		ev(1, 2, status(charging, "0x90", "3", nil)),
		evFor("ap1", "ap3000", 0, 0, &chargeplanev1.ChargerConnected{}),
		evFor("ap1", "ap3000", 1, 1, status(faulted, "0x0b", "", nil)),
	)
	names := []string{"chargeplane_edge_chargers_connected", "chargeplane_edge_connectors"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(gauges(2, map[string]int{"available": 1, "charging": 1, "faulted": 1})), names...); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, evFor("ap1", "ap3000", 5, 0, &chargeplanev1.ChargerDisconnected{Reason: "eof"}))
	if err := testutil.GatherAndCompare(reg, strings.NewReader(gauges(1, map[string]int{"available": 1, "charging": 1, "offline": 1})), names...); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentAppends: sessions of many chargers record at once while the
// page reads; every fact is folded exactly once (run with -race).
func TestConcurrentAppends(t *testing.T) {
	s, rec, _ := newState(t)
	const chargers, reports = 16, 50
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				for _, c := range s.Chargers() {
					_ = len(c.Connectors)
				}
			}
		}
	}()
	var writers sync.WaitGroup
	for i := range chargers {
		writers.Add(1)
		go func() {
			defer writers.Done()
			id := fmt.Sprintf("gw%02d", i)
			if err := s.Append(context.Background(), evFor(id, "bkv", 0, 0, &chargeplanev1.ChargerConnected{})); err != nil {
				t.Error(err)
			}
			for r := 1; r <= reports; r++ {
				if err := s.Append(context.Background(), evFor(id, "bkv", r, 1, &chargeplanev1.MeterReport{
					SessionRef: "1", Meter: &chargeplanev1.MeterValues{EnergyMwh: int64(r) * 1000, DurationS: int64(r)},
				})); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	got := s.Chargers()
	if len(got) != chargers || rec.count() != chargers*(reports+1) {
		t.Fatalf("%d chargers, %d events recorded", len(got), rec.count())
	}
	for i, c := range got {
		if want := fmt.Sprintf("gw%02d", i); c.ChargerID != want || !c.Connected || c.Connectors[0].Meter.EnergyWh != reports {
			t.Fatalf("charger %d = %+v, want %s connected with %d Wh", i, c, want, reports)
		}
	}
}
