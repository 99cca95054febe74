package adapter

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chargeplane/chargeplane/edge/command"
	"github.com/chargeplane/chargeplane/edge/control"
	"github.com/chargeplane/chargeplane/edge/gateway"
	"github.com/chargeplane/chargeplane/edge/store"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/protocol/bkv"
)

// Frames from shared/protocols/vectors/bkv.json (testdata/vectors.json).
const (
	// bkv-status-up-1: gateway 82231214002700, socket 1, both ports idle (0x80).
	vStatusIdle = "fcfe0091100000000000018223121400270004010110170a010200000000000000000901038223121400270065019403014a0104013effff030107250301961e28015b030108000301098004010a000004019508e304010b000004010c000104010d000004010e000028015b030108010301098004010a000004019508e304010b000004010c000104010d000004010e000030fcee"
	// bkv-status-down-1: its ack.
	vStatusAck = "fcff002f100000000000008223121400270004010110170a010200000000000000000901038223121400270003010f017efcee"
	// bkv-status-up-3: gateway 82241218000382, socket 1 port A in use (0x90, business 9, 0.4 W), port B idle.
	vStatusCharging = "fcfe0091100000000000018224121800038204010110170a010200000000000000000901038224121800038265019403014a0104013effff0301071d0301961e28015b030108000301099004010a000904019508f704010b000404010c002a04010d000004010e000028015b030108010301098004010a000004019508f704010b000104010c000104010d000004010e00005dfcee"
	// bkv-status-up-4: the same gateway, both ports idle.
	vStatusIdle2 = "fcfe0091100000000000018224121800038204010110170a010200000000000000000901038224121800038265019403014a0104013effff0301071d0301961e28015b030108000301098004010a000004019508f904010b001104010c003804010d000004010e000028015b030108010301098004010a000004019508f904010b000104010c000104010d000004010e000063fcee"
	// bkv-end-up-3: gateway 82241218000382, socket 1 port A, status 0xB0, business 15, 0 Wh, 1 min.
	vEnd = "fcfe0025001500000000018224121800038200110201ffff1d1e00b0000f0001000200000001a0fcee"
	// bkv-cardswipe-up-1: gateway 86004459453005, socket 1 port A, business 26, card 000000000002.
	vSwipe = "fcfe00330015000000000186004459453005001f0b0100001a900000000000020000000000000000000000000000000000000000bdfcee"
	// bkv-balance-up-1: gateway 82220420000552, socket 2 port A, card 000000298352.
	vBalance = "fcfe001c001500000000018222042000055200081a020000000029835273fcee"
	// bkv-event-up-1 and bkv-event-down-1: exception on socket 2 and its ack.
	vEvent    = "fcfe006b100000000000018223081100144704010110100a010200000000000000000901038223081100144703014a020301540803014b000301550003014c000301560003014d0004014e08bc04014f08bc04015000000401510000030152000301530003015780030158b0affcee"
	vEventAck = "fcff0033100000000000008223081100144704010110100a010200000000000000000901038223081100144703014a0203010f0119fcee"
)

type bkvSessionHarness struct {
	addr     string
	store    *store.Store
	registry *Registry
	logs     *logBuffer
}

type bkvHarnessOpt func(*Deps)

func withCards(cfg control.AuthConfig) bkvHarnessOpt {
	return func(d *Deps) { d.Authorizer = control.NewAuthorizer(cfg) }
}

func withCommandTiming(timeout time.Duration, retries int) bkvHarnessOpt {
	return func(d *Deps) { d.CommandTimeout, d.CommandRetries = timeout, retries }
}

// mustStartBKVSessions runs the BKV adapter with a registry behind a real
// gateway on 127.0.0.1:0 and a real store.
func mustStartBKVSessions(t *testing.T, opts ...bkvHarnessOpt) *bkvSessionHarness {
	t.Helper()
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	scfg := store.DefaultConfig()
	scfg.Dir = t.TempDir()
	st, err := store.Open(scfg, "edge-a", logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	deps := Deps{Store: st, Now: time.Now, Location: shanghai, Logger: logger, Registerer: reg, MaxGarbage: 512,
		CommandTimeout: 2 * time.Second, CommandRetries: 1}
	for _, o := range opts {
		o(&deps)
	}
	deps.Registry = NewRegistry(deps)
	a := NewBKV(deps)
	gcfg := gateway.DefaultConfig()
	gcfg.Addr = "127.0.0.1:0"
	gcfg.ShutdownTimeout = time.Second
	gw := gateway.New(gcfg, []gateway.Protocol{a.Protocol()}, logger, reg)
	addr, err := gw.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("store: %v", err)
		}
	})
	return &bkvSessionHarness{addr: addr.String(), store: st, registry: deps.Registry, logs: logs}
}

func (h *bkvSessionHarness) dial(t *testing.T) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(context.Background(), "tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (h *bkvSessionHarness) events(t *testing.T) []*chargeplanev1.Event {
	t.Helper()
	evs, err := h.store.Pending(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// waitEvents polls the store until cond holds for its events.
func (h *bkvSessionHarness) waitEvents(t *testing.T, what string, cond func([]*chargeplanev1.Event) bool) []*chargeplanev1.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		evs := h.events(t)
		if cond(evs) {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; events: %v", what, evs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func writeHex(t *testing.T, c net.Conn, frames ...string) {
	t.Helper()
	for _, f := range frames {
		if _, err := c.Write(unhex(t, f)); err != nil {
			t.Fatal(err)
		}
	}
}

func sendBKVFrame(t *testing.T, c net.Conn, f *bkv.Frame) {
	t.Helper()
	b, err := bkv.Append(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// readBKVFrame reads and decodes one whole frame from c.
func readBKVFrame(t *testing.T, c net.Conn) *bkv.Frame {
	t.Helper()
	f, err := readBKVFrameErr(c)
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	return f
}

func readBKVFrameErr(c net.Conn) (*bkv.Frame, error) {
	head := make([]byte, 4)
	if _, err := io.ReadFull(c, head); err != nil {
		return nil, err
	}
	n := int(head[2])<<8 | int(head[3])
	rest := make([]byte, n)
	if _, err := io.ReadFull(c, rest); err != nil {
		return nil, err
	}
	return bkv.Decode(append(head, rest...))
}

func countKind(evs []*chargeplanev1.Event, pick func(*chargeplanev1.Event) bool) int {
	n := 0
	for _, e := range evs {
		if pick(e) {
			n++
		}
	}
	return n
}

func isEnded(e *chargeplanev1.Event) bool   { return e.GetSessionEnded() != nil }
func isStarted(e *chargeplanev1.Event) bool { return e.GetSessionStarted() != nil }

func TestBKVConnectorNumbering(t *testing.T) {
	for _, tc := range []struct {
		socket, port uint8
		want         uint32
	}{{1, 0, 1}, {1, 1, 2}, {2, 0, 3}, {2, 1, 4}, {250, 1, 500}} {
		if got := bkvConnector(tc.socket, tc.port); got != tc.want {
			t.Errorf("connector(%d, %d) = %d, want %d", tc.socket, tc.port, got, tc.want)
		}
		s, p, ok := bkvSocketPort(tc.want)
		if !ok || s != tc.socket || p != tc.port {
			t.Errorf("socketPort(%d) = %d, %d, %v", tc.want, s, p, ok)
		}
	}
	for _, c := range []uint32{0, 501} {
		if _, _, ok := bkvSocketPort(c); ok {
			t.Errorf("socketPort(%d) ok, want out of range", c)
		}
	}
}

func TestBKVStatusReportStoredThenAcked(t *testing.T) {
	h := mustStartBKVSessions(t)
	c := h.dial(t)
	writeHex(t, c, vStatusIdle)
	want := unhex(t, vStatusAck)
	if got := readFrame(t, c, len(want)); !bytes.Equal(got, want) {
		t.Fatalf("ack\n got %x\nwant %x", got, want)
	}
	// Acked, so stored: connected + one status per port, no meter (idle).
	evs := h.events(t)
	if len(evs) != 3 || evs[0].GetChargerConnected() == nil {
		t.Fatalf("events %v, want connected + 2 statuses", evs)
	}
	for i, conn := range []uint32{1, 2} {
		e := evs[i+1]
		cs := e.GetConnectorStatus()
		if e.GetConnector() != conn || cs.GetStatus() != chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_AVAILABLE ||
			cs.GetRawStatus() != "0x80" || cs.GetSessionRef() != "" || cs.GetMeter().GetVoltageMv() != 227500 {
			t.Errorf("event %d = %v, want connector %d available 0x80 at 227.5 V", i+1, e, conn)
		}
	}
	// The same report again changes nothing: no new events.
	writeHex(t, c, vStatusIdle)
	readFrame(t, c, len(want))
	if n := len(h.events(t)); n != 3 {
		t.Fatalf("unchanged report stored events: %d, want 3", n)
	}

	// Another gateway: port A charging (business 9), then idle.
	c2 := h.dial(t)
	writeHex(t, c2, vStatusCharging)
	if f := readBKVFrame(t, c2); f.Body.(*bkv.StatusReportAck).Result != bkv.ResultOK {
		t.Fatalf("ack %v", f.Body)
	}
	evs = h.events(t)[3:]
	if len(evs) != 4 {
		t.Fatalf("events %v, want connected, status A, meter A, status B", evs)
	}
	if cs := evs[1].GetConnectorStatus(); cs.GetStatus() != chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_CHARGING || cs.GetSessionRef() != "9" || cs.GetRawStatus() != "0x90" {
		t.Errorf("status A = %v", evs[1])
	}
	if m := evs[2].GetMeterReport(); m.GetSessionRef() != "9" || m.GetMeter().GetPowerMw() != 400 || m.GetMeter().GetCurrentMa() != 42 || evs[2].GetConnector() != 1 {
		t.Errorf("meter = %v, want 0.4 W, 42 mA on connector 1", evs[2])
	}
	writeHex(t, c2, vStatusIdle2)
	readBKVFrame(t, c2)
	evs = h.events(t)[7:]
	if len(evs) != 1 || evs[0].GetConnector() != 1 || evs[0].GetConnectorStatus().GetStatus() != chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_AVAILABLE {
		t.Fatalf("after the session: %v, want one status change of connector 1 to available", evs)
	}
}

func TestBKVEndReportStoredOnceAndAckedEachTime(t *testing.T) {
	h := mustStartBKVSessions(t)
	c := h.dial(t)
	for try := range 3 {
		writeHex(t, c, vEnd)
		f := readBKVFrame(t, c)
		ack, ok := f.Body.(*bkv.CardEndReply)
		if !ok || ack.Socket != 1 || ack.Result != bkv.ResultOK || f.MsgID != 0 || f.Command != bkv.CommandCharge {
			t.Fatalf("try %d: reply %+v %+v, want 0x0C ack for socket 1", try, f, f.Body)
		}
		// Acknowledged, so the end is stored — once.
		evs := h.events(t)
		if n := countKind(evs, isEnded); n != 1 {
			t.Fatalf("try %d: %d SessionEnded stored, want 1", try, n)
		}
	}
	var ev *chargeplanev1.Event
	for _, e := range h.events(t) {
		if isEnded(e) {
			ev = e
		}
	}
	se := ev.GetSessionEnded()
	if ev.GetConnector() != 1 || se.GetSessionRef() != "15" || se.GetDurationS() != 60 || se.GetEnergyMwh() != 0 ||
		se.GetReason() != chargeplanev1.EndReason_END_REASON_LIMIT_REACHED || se.GetRawReason() != "status=0xb0" ||
		se.GetFinalMeter().GetPowerMw() != 100 || se.GetFinalMeter().GetCurrentMa() != 2 {
		t.Fatalf("session ended = %v", ev)
	}
}

func TestBKVCardSwipe(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      control.AuthConfig
		accepted bool
		reason   string
		balance  int64
	}{
		{"listed card accepted", control.AuthConfig{UnknownCards: control.UnknownReject, Cards: []control.Card{{ID: "000000000002", BalanceFen: 5001}}}, true, "listed", 5001},
		{"unknown card refused", control.AuthConfig{UnknownCards: control.UnknownReject}, false, "unknown_card", 0},
		{"blocked card refused", control.AuthConfig{UnknownCards: control.UnknownAccept, Cards: []control.Card{{ID: "000000000002", BalanceFen: 100, Blocked: true}}}, false, "blocked", 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := mustStartBKVSessions(t, withCards(tc.cfg))
			c := h.dial(t)
			writeHex(t, c, vSwipe)
			f := readBKVFrame(t, c)
			order, ok := f.Body.(*bkv.CardOrder)
			if !ok {
				t.Fatalf("reply %T, want a card order", f.Body)
			}
			// The order came after the decision was stored.
			evs := h.events(t)
			if len(evs) != 2 {
				t.Fatalf("events %v, want connected + card presented", evs)
			}
			cp := evs[1].GetCardPresented()
			if evs[1].GetConnector() != 1 || cp.GetCardId() != "000000000002" || cp.GetAccepted() != tc.accepted || cp.GetReason() != tc.reason || cp.GetBalanceFen() != tc.balance {
				t.Fatalf("card presented = %v", evs[1])
			}
			if f.MsgID == 0 || order.Socket != 1 || order.Port != 0 || order.BusinessNo != 26 || order.Mode != bkv.BillByTime {
				t.Fatalf("order %+v msg id %d", order, f.MsgID)
			}
			if !tc.accepted {
				if order.Switch != bkv.SwitchOff {
					t.Fatalf("refused card got order %+v, want switch off", order)
				}
				return
			}
			if order.Switch != bkv.SwitchOn || order.Duration != bkvCardOrderMinutes {
				t.Fatalf("order %+v, want on for 240 minutes", order)
			}
			// A confirmation with another msg id starts nothing; the right one does.
			sendBKVFrame(t, c, &bkv.Frame{Direction: bkv.Up, Command: bkv.CommandCharge, MsgID: f.MsgID + 100, GatewayID: f.GatewayID,
				Body: &bkv.OrderConfirm{Socket: 1, Port: 0, Result: bkv.ResultOK}})
			sendBKVFrame(t, c, &bkv.Frame{Direction: bkv.Up, Command: bkv.CommandCharge, MsgID: f.MsgID, GatewayID: f.GatewayID,
				Body: &bkv.OrderConfirm{Socket: 1, Port: 0, Result: bkv.ResultOK}})
			evs = h.waitEvents(t, "session started", func(evs []*chargeplanev1.Event) bool { return countKind(evs, isStarted) > 0 })
			if n := countKind(evs, isStarted); n != 1 {
				t.Fatalf("%d SessionStarted, want 1", n)
			}
			ss := evs[len(evs)-1].GetSessionStarted()
			if ss.GetSessionRef() != "26" || ss.GetAuthMethod() != "card" || ss.GetCardId() != "000000000002" || ss.GetLimit().GetDurationS() != 240*60 {
				t.Fatalf("session started = %v", ss)
			}
		})
	}
}

func TestBKVBalanceQuery(t *testing.T) {
	h := mustStartBKVSessions(t, withCards(control.AuthConfig{UnknownCards: control.UnknownReject, Cards: []control.Card{{ID: "000000298352", BalanceFen: 5001}}}))
	c := h.dial(t)
	writeHex(t, c, vBalance)
	f := readBKVFrame(t, c)
	bal, ok := f.Body.(*bkv.Balance)
	if !ok || bal.Socket != 2 || bal.Port != 0 || bal.Card.String() != "000000298352" || bal.Balance != 5001 || f.MsgID == 0 {
		t.Fatalf("reply %+v %+v, want balance 5001 for socket 2", f, f.Body)
	}
	evs := h.events(t)
	if len(evs) != 2 || evs[1].GetConnector() != 3 || !evs[1].GetCardPresented().GetAccepted() || evs[1].GetCardPresented().GetBalanceFen() != 5001 {
		t.Fatalf("events %v", evs)
	}
}

func TestBKVExceptionEventStoredThenAcked(t *testing.T) {
	h := mustStartBKVSessions(t)
	c := h.dial(t)
	writeHex(t, c, vEvent)
	want := unhex(t, vEventAck)
	if got := readFrame(t, c, len(want)); !bytes.Equal(got, want) {
		t.Fatalf("ack\n got %x\nwant %x", got, want)
	}
	evs := h.events(t)
	if len(evs) != 2 {
		t.Fatalf("events %v, want connected + one alarm", evs)
	}
	al := evs[1].GetAlarm()
	if evs[1].GetConnector() != 0 || al.GetCode() != "other" || al.GetRaw() != "socket=2 reason=8 status=0 over_voltage=2236 under_voltage=2236" {
		t.Fatalf("alarm = %v", evs[1])
	}
}

// fakeGateway identifies as a gateway with a heartbeat and returns the
// connection and the gateway id.
func fakeGateway(t *testing.T, h *bkvSessionHarness) (net.Conn, bkv.GatewayID) {
	t.Helper()
	c := h.dial(t)
	writeHex(t, c, hbUp)
	readFrame(t, c, len(unhex(t, hbDown)))
	id, err := bkv.ParseGatewayID("82200520004869")
	if err != nil {
		t.Fatal(err)
	}
	return c, id
}

type doResult struct {
	res command.Result
	err error
}

func doAsync(h *bkvSessionHarness, cmd command.Command) <-chan doResult {
	ch := make(chan doResult, 1)
	go func() {
		res, err := h.registry.Do(context.Background(), "82200520004869", protoBKV, cmd)
		ch <- doResult{res, err}
	}()
	return ch
}

func TestBKVStartStopCommands(t *testing.T) {
	h := mustStartBKVSessions(t)
	c, id := fakeGateway(t, h)

	done := doAsync(h, command.Command{ID: "cmd-1", Kind: command.Start, Connector: 4,
		Limit: &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_DurationS{DurationS: 1800}}})
	f := readBKVFrame(t, c)
	ctl, ok := f.Body.(*bkv.Control)
	if !ok || f.MsgID == 0 || ctl.Socket != 2 || ctl.Port != 1 || ctl.Switch != bkv.SwitchOn || ctl.Mode != bkv.ControlByTime || ctl.Minutes != 30 {
		t.Fatalf("start frame %+v %+v, want socket 2 port B on for 30 min", f, f.Body)
	}
	// A reply with another msg id is not this command's.
	sendBKVFrame(t, c, &bkv.Frame{Direction: bkv.Up, Command: bkv.CommandCharge, MsgID: f.MsgID + 1, GatewayID: id,
		Body: &bkv.ControlResult{Result: bkv.ResultFailed, Socket: 2, Port: 1}})
	sendBKVFrame(t, c, &bkv.Frame{Direction: bkv.Up, Command: bkv.CommandCharge, MsgID: f.MsgID, GatewayID: id,
		Body: &bkv.ControlResult{Result: bkv.ResultOK, Socket: 2, Port: 1, BusinessNo: 7}})
	r := <-done
	if r.err != nil || r.res.Status != command.ResultAccepted || r.res.SessionRef != "7" {
		t.Fatalf("start = %+v, %v", r.res, r.err)
	}
	evs := h.events(t)
	started, result := evs[len(evs)-2], evs[len(evs)-1]
	if ss := started.GetSessionStarted(); started.GetConnector() != 4 || ss.GetSessionRef() != "7" || ss.GetAuthMethod() != "remote" || ss.GetLimit().GetDurationS() != 1800 {
		t.Fatalf("session started = %v", started)
	}
	if cr := result.GetCommandResult(); cr.GetCommandId() != "cmd-1" || cr.GetStatus() != command.ResultAccepted || cr.GetCommand() != command.Start {
		t.Fatalf("command result = %v", result)
	}

	// Stop: the gateway answers, then reports the end: a remote stop.
	done = doAsync(h, command.Command{ID: "cmd-2", Kind: command.Stop, Connector: 4})
	f2 := readBKVFrame(t, c)
	if ctl, ok := f2.Body.(*bkv.Control); !ok || ctl.Switch != bkv.SwitchOff || ctl.Socket != 2 || ctl.Port != 1 || f2.MsgID == f.MsgID {
		t.Fatalf("stop frame %+v %+v", f2, f2.Body)
	}
	sendBKVFrame(t, c, &bkv.Frame{Direction: bkv.Up, Command: bkv.CommandCharge, MsgID: f2.MsgID, GatewayID: id,
		Body: &bkv.ControlResult{Result: bkv.ResultOK, Socket: 2, Port: 1, BusinessNo: 7}})
	if r := <-done; r.err != nil || r.res.Status != command.ResultAccepted {
		t.Fatalf("stop = %+v, %v", r.res, r.err)
	}
	sendBKVFrame(t, c, &bkv.Frame{Direction: bkv.Up, Command: bkv.CommandCharge, GatewayID: id,
		Body: &bkv.ChargeEnd{EndHead: bkv.EndHead{Socket: 2, Port: 1, Status: 0x90, BusinessNo: 7, Energy: 12, Minutes: 5}}})
	readBKVFrame(t, c)
	evs = h.events(t)
	se := evs[len(evs)-1].GetSessionEnded()
	if se.GetReason() != chargeplanev1.EndReason_END_REASON_REMOTE || se.GetEnergyMwh() != 12000 || se.GetDurationS() != 300 ||
		se.GetStartedAt() == nil || se.GetEndedAt() == nil || evs[len(evs)-1].GetConnector() != 4 {
		t.Fatalf("session ended = %v", evs[len(evs)-1])
	}
}

func TestBKVCommandTimesOutAfterRetries(t *testing.T) {
	h := mustStartBKVSessions(t, withCommandTiming(100*time.Millisecond, 2))
	c, _ := fakeGateway(t, h)
	done := doAsync(h, command.Command{ID: "cmd-9", Kind: command.Start, Connector: 1})
	var first *bkv.Frame
	for i := range 3 {
		f := readBKVFrame(t, c)
		if first == nil {
			first = f
		}
		if f.MsgID != first.MsgID {
			t.Fatalf("try %d msg id %d, want the same id %d on every resend", i, f.MsgID, first.MsgID)
		}
	}
	r := <-done
	if r.err != nil || r.res.Status != command.ResultTimedOut {
		t.Fatalf("Do = %+v, %v; want timed_out", r.res, r.err)
	}
	// No fourth send after the result.
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var ne net.Error
	if f, err := readBKVFrameErr(c); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("extra frame after the last retry: %+v %v", f, err)
	}
	evs := h.events(t)
	if cr := evs[len(evs)-1].GetCommandResult(); cr.GetCommandId() != "cmd-9" || cr.GetStatus() != command.ResultTimedOut {
		t.Fatalf("stored result %v, want timed_out", evs[len(evs)-1])
	}
	if countKind(evs, isStarted) != 0 {
		t.Fatal("a start never confirmed stored SessionStarted")
	}
}

func TestBKVCommandArguments(t *testing.T) {
	h := mustStartBKVSessions(t)
	fakeGateway(t, h)
	for _, tc := range []struct {
		name string
		cmd  command.Command
		want error
	}{
		{"unknown kind", command.Command{Kind: "reboot"}, command.ErrUnsupported},
		{"start by amount", command.Command{Kind: command.Start, Connector: 1, Limit: &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_AmountFen{AmountFen: 100}}}, command.ErrUnsupported},
		{"start beyond 900 minutes", command.Command{Kind: command.Start, Connector: 1, Limit: &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_DurationS{DurationS: 901 * 60}}}, command.ErrInvalidCommand},
		{"stop connector 0", command.Command{Kind: command.Stop}, command.ErrInvalidCommand},
		{"pair without mac", command.Command{Kind: command.Pair, Params: map[string]string{"socket": "1"}}, command.ErrInvalidCommand},
		{"pair socket 251", command.Command{Kind: command.Pair, Params: map[string]string{"socket": "251", "mac": "5b0000000001"}}, command.ErrInvalidCommand},
		{"set unknown parameter", command.Command{Kind: command.SetParameters, Connector: 1, Params: map[string]string{"colour": "1"}}, command.ErrInvalidCommand},
		{"set query-only parameter", command.Command{Kind: command.SetParameters, Connector: 1, Params: map[string]string{"trickle_threshold": "1"}}, command.ErrInvalidCommand},
		{"set too large", command.Command{Kind: command.SetParameters, Connector: 1, Params: map[string]string{"high_temperature_threshold": "256"}}, command.ErrInvalidCommand},
		{"ota ipv6", command.Command{Kind: command.OTA, Params: map[string]string{"server": "[::1]:21", "file": "a"}}, command.ErrInvalidCommand},
		{"ota long file", command.Command{Kind: command.OTA, Params: map[string]string{"server": "10.0.0.1:21", "file": "abcdefghijklmn"}}, command.ErrInvalidCommand},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := h.registry.Do(context.Background(), "82200520004869", protoBKV, tc.cmd)
			if !errors.Is(err, tc.want) || res.Status != command.ResultRejected {
				t.Fatalf("Do = %+v, %v; want rejected with %v", res, err, tc.want)
			}
		})
	}
}

func TestBKVReconnectReplacesSession(t *testing.T) {
	h := mustStartBKVSessions(t)
	first, _ := fakeGateway(t, h)
	fakeGateway(t, h)
	if _, err := first.Read(make([]byte, 1)); err == nil {
		t.Fatal("first connection still open after the gateway reconnected")
	}
	h.waitEvents(t, "replaced disconnect", func(evs []*chargeplanev1.Event) bool {
		for _, e := range evs {
			if e.GetChargerDisconnected().GetReason() == "replaced" {
				return true
			}
		}
		return false
	})
	if got := h.registry.Connected(); len(got) != 1 || got[0] != (Connected{ChargerID: "82200520004869", Protocol: "bkv"}) {
		t.Fatalf("connected = %v, want the new session", got)
	}
}

func TestBKVGarbageDetachesOnlyThatSession(t *testing.T) {
	h := mustStartBKVSessions(t)
	fakeGateway(t, h)
	bad := h.dial(t)
	writeHex(t, bad, vStatusIdle)
	readFrame(t, bad, len(unhex(t, vStatusAck)))
	if _, err := bad.Write(bytes.Repeat([]byte{0xfc, 0x00, 0x12}, 400)); err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Read(make([]byte, 1)); err == nil {
		t.Fatal("garbage connection still open")
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(h.registry.Connected()) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("connected = %v, want only the good gateway", h.registry.Connected())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := h.registry.Do(context.Background(), "82231214002700", protoBKV, command.Command{Kind: command.Stop, Connector: 1}); !errors.Is(err, command.ErrNotConnected) {
		t.Fatalf("command to the closed gateway: %v, want ErrNotConnected", err)
	}
}

func TestBKVCommandFailsWhenConnectionCloses(t *testing.T) {
	h := mustStartBKVSessions(t, withCommandTiming(5*time.Second, 2))
	c, _ := fakeGateway(t, h)
	done := doAsync(h, command.Command{ID: "cmd-3", Kind: command.QueryStatus, Connector: 1})
	if f := readBKVFrame(t, c); f.Body.(*bkv.StatusQuery).Socket != 1 {
		t.Fatalf("query %+v", f.Body)
	}
	_ = c.Close()
	r := <-done
	if !errors.Is(r.err, command.ErrNotConnected) || r.res.Status != command.ResultFailed {
		t.Fatalf("Do = %+v, %v; want failed with ErrNotConnected before the timeout", r.res, r.err)
	}
}

func TestBKVUnknownMessagesKeepTheConnection(t *testing.T) {
	h := mustStartBKVSessions(t)
	c := h.dial(t)
	// bkv-1013-up-1: the undocumented report sent after reconnecting, then a
	// heartbeat of the same gateway (bkv-heartbeat-up-1 re-addressed).
	writeHex(t, c, "fcfe0042100000000000018224121800038204010110130a010200000000000000000901038224121800038203014a010301087f0901062025112411232504015a31119efcee")
	hb, err := bkv.Decode(unhex(t, hbUp))
	if err != nil {
		t.Fatal(err)
	}
	hb.GatewayID, _ = bkv.ParseGatewayID("82241218000382")
	sendBKVFrame(t, c, hb)
	if f := readBKVFrame(t, c); f.Command != bkv.CommandHeartbeat {
		t.Fatalf("reply %+v, want the heartbeat's", f)
	}
	evs := h.events(t)
	if len(evs) != 2 || evs[0].GetChargerConnected() == nil || evs[1].GetHeartbeat() == nil {
		t.Fatalf("events %v, want connected + heartbeat only", evs)
	}
}

// TestBKVLargeFrameGrowsReadBuffer: a status report of 16 sockets is larger
// than a connection's initial read buffer; it must still be read whole,
// stored and acknowledged.
func TestBKVLargeFrameGrowsReadBuffer(t *testing.T) {
	h := mustStartBKVSessions(t)
	c := h.dial(t)
	id, err := bkv.ParseGatewayID("82200520007777")
	if err != nil {
		t.Fatal(err)
	}
	report := &bkv.StatusReport{}
	for s := uint8(1); s <= 16; s++ {
		report.Sockets = append(report.Sockets, bkv.SocketReport{Socket: s, SocketFirmware: 0xffff, Temperature: 30, RSSI: 20,
			Ports: []bkv.PortReport{{Port: 0, Status: 0x80, Voltage: 2200}, {Port: 1, Status: 0x80, Voltage: 2200}}})
	}
	big, err := bkv.Append(nil, &bkv.Frame{Direction: bkv.Up, Command: bkv.CommandBKV, GatewayID: id, Body: report})
	if err != nil {
		t.Fatal(err)
	}
	if len(big) <= initialReadBuffer || len(big) > readBufferSize {
		t.Fatalf("test frame is %d bytes; it must exceed the initial buffer (%d) and fit the largest (%d)", len(big), initialReadBuffer, readBufferSize)
	}
	if _, err := c.Write(big); err != nil {
		t.Fatal(err)
	}
	if _, ok := readBKVFrame(t, c).Body.(*bkv.StatusReportAck); !ok {
		t.Fatal("large status report not acknowledged")
	}
	statuses := 0
	for _, e := range h.events(t) {
		if e.GetConnectorStatus() != nil && e.GetChargerId() == "82200520007777" {
			statuses++
		}
	}
	if statuses != 32 {
		t.Fatalf("%d connector statuses stored, want 32 (16 sockets × 2 ports)", statuses)
	}
}
