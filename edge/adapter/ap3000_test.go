package adapter

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chargeplane/chargeplane/edge/command"
	"github.com/chargeplane/chargeplane/edge/control"
	"github.com/chargeplane/chargeplane/edge/gateway"
	"github.com/chargeplane/chargeplane/edge/store"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/protocol/ap3000"
)

// Frames from shared/protocol/ap3000/testdata/vectors.json, all from device
// 3b37ab04 (code 04 dual socket, number 11220795).
const (
	apICCID   = "3839383630343438313631383730303634383135"                                                                       // ap3000-iccid-1
	apReg     = "444e5913003b37ab04b900207e00021421000000e4009104"                                                               // ap3000-20-up-1, firmware 126
	apRegAck  = "444e590a003b37ab04b9002000ef02"                                                                                 // ap3000-20-down-1
	apTime    = "444e5909003b37ab04b90022f002"                                                                                   // ap3000-22-up-1
	apTimeAck = "444e590d003b37ab04b90022090ea95f1304"                                                                           // ap3000-22-down-1, 1604914697
	apHB      = "444e5910003b37ab0401002198080200000905ee02"                                                                     // ap3000-21-up-1, ports idle, signal 9
	apHBAck   = "444e590a003b37ab04010021003802"                                                                                 // ap3000-21-down-1
	apCard    = "444e5911003b37ab040100027a8d05dd000100000a04"                                                                   // ap3000-02-up-1, card 7a8d05dd on port 1
	apCardAck = "444e5914003b37ab040100027a8d05dd000010270000014404"                                                             // ap3000-02-down-1, status 0, balance 10000
	apSettle  = "444e5928003b37ab04010003100ee80330000101000000000120190901180000130030380102030405e8034405"                     // ap3000-03-up-1
	apSetAck  = "444e590a003b37ab04010003001a02"                                                                                 // ap3000-03-down-1
	apPower   = "444e5932003b37ab040a00060101100e300001e803b0042003e803201909011800001300303801020304050100e8039808c7015500da08" // ap3000-06-up-1
	apAlarm   = "444e590c00b2a134054400420200000b03"                                                                             // ap3000-42-up-1 (device b2a13405)
)

// apCardDec is the vectors' card 7a8d05dd as printed (big-endian decimal).
const apCardDec = "2056062429"

func apUnhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type ap3kHarness struct {
	addr     string
	store    *store.Store
	registry *Registry
}

func startAP3000(t *testing.T, auth control.AuthConfig, timeout time.Duration, retries int) *ap3kHarness {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	scfg := store.DefaultConfig()
	scfg.Dir = t.TempDir()
	st, err := store.Open(scfg, "edge-a", logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	// The instant of ap3000-22-down-1.
	now := func() time.Time { return time.Unix(1604914697, 0).UTC() }
	reg := prometheus.NewRegistry()
	deps := Deps{
		Store: st, Now: now, Location: time.UTC, Logger: logger, Registerer: reg, MaxGarbage: 256,
		Authorizer: control.NewAuthorizer(auth), CommandTimeout: timeout, CommandRetries: retries,
	}
	deps.Registry = NewRegistry(deps)
	a := NewAP3000(deps)
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
	return &ap3kHarness{addr: addr.String(), store: st, registry: deps.Registry}
}

// ap3kDevice is a fake device speaking raw frames.
type ap3kDevice struct {
	t   *testing.T
	c   net.Conn
	buf []byte
}

func (h *ap3kHarness) dial(t *testing.T) *ap3kDevice {
	t.Helper()
	c, err := net.DialTimeout("tcp", h.addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	t.Cleanup(func() { _ = c.Close() })
	return &ap3kDevice{t: t, c: c}
}

func (d *ap3kDevice) send(hexFrame string) {
	d.t.Helper()
	if _, err := d.c.Write(apUnhex(d.t, hexFrame)); err != nil {
		d.t.Fatal(err)
	}
}

func (d *ap3kDevice) sendFrame(f *ap3000.Frame) {
	d.t.Helper()
	b, err := ap3000.Append(nil, f)
	if err != nil {
		d.t.Fatal(err)
	}
	if _, err := d.c.Write(b); err != nil {
		d.t.Fatal(err)
	}
}

// next reads one server frame, raw.
func (d *ap3kDevice) next() []byte {
	d.t.Helper()
	tmp := make([]byte, 1024)
	for {
		n, err := ap3000.Split(d.buf)
		if err != nil {
			d.t.Fatalf("server sent garbage: %v", err)
		}
		if n > 0 {
			f := append([]byte(nil), d.buf[:n]...)
			d.buf = d.buf[n:]
			return f
		}
		m, err := d.c.Read(tmp)
		if err != nil {
			d.t.Fatalf("read from server: %v", err)
		}
		d.buf = append(d.buf, tmp[:m]...)
	}
}

func (d *ap3kDevice) expect(hexFrame string) {
	d.t.Helper()
	if got, want := d.next(), apUnhex(d.t, hexFrame); !bytes.Equal(got, want) {
		d.t.Fatalf("reply\n got %x\nwant %x", got, want)
	}
}

func (d *ap3kDevice) nextDecoded() *ap3000.Frame {
	d.t.Helper()
	f, err := ap3000.DecodeDir(d.next(), ap3000.Down)
	if err != nil {
		d.t.Fatal(err)
	}
	return f
}

func (h *ap3kHarness) events(t *testing.T) []*chargeplanev1.Event {
	t.Helper()
	evs, err := h.store.Pending(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// apOfKind returns the stored events whose oneof is k's type.
func apOfKind[K any](evs []*chargeplanev1.Event) []*chargeplanev1.Event {
	var out []*chargeplanev1.Event
	for _, ev := range evs {
		if _, ok := ev.GetKind().(K); ok {
			out = append(out, ev)
		}
	}
	return out
}

func (h *ap3kHarness) waitFor(t *testing.T, what string, cond func([]*chargeplanev1.Event) bool) []*chargeplanev1.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs := h.events(t)
		if cond(evs) {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; events: %v", what, evs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAP3000ChatterStoredThenAnswered(t *testing.T) {
	h := startAP3000(t, control.DefaultAuthConfig(), time.Second, 0)
	d := h.dial(t)
	// ICCID preamble, then registration broken across two writes.
	d.send(apICCID)
	reg := apUnhex(t, apReg)
	if _, err := d.c.Write(reg[:7]); err != nil {
		t.Fatal(err)
	}
	if _, err := d.c.Write(reg[7:]); err != nil {
		t.Fatal(err)
	}
	d.expect(apRegAck)
	evs := h.events(t) // stored before the reply was written
	if len(evs) != 2 {
		t.Fatalf("after register: %d events, want connected + heartbeat: %v", len(evs), evs)
	}
	if evs[0].GetChargerConnected() == nil || evs[0].GetChargerId() != "3b37ab04" || evs[0].GetProtocol() != "ap3000" {
		t.Errorf("first event %v, want ChargerConnected of 3b37ab04", evs[0])
	}
	if hb := evs[1].GetHeartbeat(); hb.GetIccid() != "89860448161870064815" || hb.GetFirmware() != "V1.26" {
		t.Errorf("heartbeat %v, want the ICCID and firmware V1.26", hb)
	}

	d.send(apHB)
	d.expect(apHBAck)
	evs = h.events(t)
	st := apOfKind[*chargeplanev1.Event_ConnectorStatus](evs)
	if len(st) != 2 {
		t.Fatalf("status events %v, want one per port", st)
	}
	for i, ev := range st {
		if ev.GetConnector() != uint32(i+1) || ev.GetConnectorStatus().GetStatus() != chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_AVAILABLE ||
			ev.GetConnectorStatus().GetRawStatus() != "0x00" {
			t.Errorf("status event %d: %v", i, ev)
		}
	}
	if hbs := apOfKind[*chargeplanev1.Event_Heartbeat](evs); len(hbs) != 2 || hbs[1].GetHeartbeat().GetSignal() != 9 {
		t.Errorf("heartbeats %v, want a second one with signal 9", hbs)
	}

	// The same heartbeat again: answered, no new status events.
	d.send(apHB)
	d.expect(apHBAck)
	if n := len(apOfKind[*chargeplanev1.Event_ConnectorStatus](h.events(t))); n != 2 {
		t.Errorf("%d status events after an unchanged heartbeat, want 2", n)
	}

	d.send(apTime)
	d.expect(apTimeAck)

	// A charging power heartbeat: status change and meter, no reply.
	d.send(apPower)
	evs = h.waitFor(t, "meter report", func(evs []*chargeplanev1.Event) bool {
		return len(apOfKind[*chargeplanev1.Event_MeterReport](evs)) == 1
	})
	mr := apOfKind[*chargeplanev1.Event_MeterReport](evs)[0]
	want := &chargeplanev1.MeterValues{PowerMw: 100_000, EnergyMwh: 480_000, DurationS: 3600, VoltageMv: 220_000, CurrentMa: 455}
	if mr.GetConnector() != 2 || mr.GetMeterReport().GetSessionRef() != "20190901180000130030380102030405" ||
		mr.GetMeterReport().GetMeter().String() != want.String() {
		t.Errorf("meter report %v, want connector 2 with %v", mr, want)
	}
	st = apOfKind[*chargeplanev1.Event_ConnectorStatus](evs)
	if last := st[len(st)-1]; last.GetConnector() != 2 || last.GetConnectorStatus().GetStatus() != chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_CHARGING {
		t.Errorf("last status %v, want connector 2 charging", last)
	}

	// Alarm from another device id on this connection is ignored; on its own
	// connection it is stored.
	d2 := h.dial(t)
	d2.send(apAlarm)
	h.waitFor(t, "alarm", func(evs []*chargeplanev1.Event) bool {
		for _, ev := range apOfKind[*chargeplanev1.Event_Alarm](evs) {
			return ev.GetChargerId() == "b2a13405" && ev.GetAlarm().GetCode() == "fault" &&
				ev.GetAlarm().GetSeverity() == "critical" && ev.GetAlarm().GetRaw() == "0x42 type=0x02 port=0x00 trigger=0x00"
		}
		return false
	})
}

func TestAP3000SettlementStoredOnce(t *testing.T) {
	h := startAP3000(t, control.DefaultAuthConfig(), time.Second, 0)
	d := h.dial(t)
	d.send(apSettle)
	d.expect(apSetAck)
	ended := apOfKind[*chargeplanev1.Event_SessionEnded](h.events(t))
	if len(ended) != 1 {
		t.Fatalf("session ended events %v, want 1 stored before the answer", ended)
	}
	se := ended[0].GetSessionEnded()
	if ended[0].GetConnector() != 2 || se.GetSessionRef() != "20190901180000130030380102030405" ||
		se.GetEnergyMwh() != 480_000 || se.GetDurationS() != 3600 ||
		se.GetReason() != chargeplanev1.EndReason_END_REASON_FULL || se.GetRawReason() != "0x01" || se.GetCardId() != "" ||
		se.GetEndedAt().AsTime().Sub(se.GetStartedAt().AsTime()) != time.Hour {
		t.Errorf("session ended %v", ended[0])
	}
	// The device missed our answer and sends it again: answered, not stored.
	d.send(apSettle)
	d.expect(apSetAck)
	if n := len(apOfKind[*chargeplanev1.Event_SessionEnded](h.events(t))); n != 1 {
		t.Errorf("%d session ended events after a retransmission, want 1", n)
	}
}

func TestAP3000CardSwipe(t *testing.T) {
	auth := control.AuthConfig{UnknownCards: control.UnknownReject, Cards: []control.Card{{ID: apCardDec, BalanceFen: 10000}}}
	t.Run("accepted card starts the port", func(t *testing.T) {
		h := startAP3000(t, auth, 2*time.Second, 0)
		d := h.dial(t)
		d.send(apCard)
		d.expect(apCardAck)
		cp := apOfKind[*chargeplanev1.Event_CardPresented](h.events(t))
		if len(cp) != 1 || cp[0].GetConnector() != 2 || cp[0].GetCardPresented().GetCardId() != apCardDec ||
			!cp[0].GetCardPresented().GetAccepted() || cp[0].GetCardPresented().GetBalanceFen() != 10000 {
			t.Fatalf("card presented %v", cp)
		}
		// Then the start, 240 minutes by time, on the card's port.
		f := d.nextDecoded()
		c, ok := f.Body.(*ap3000.Charge)
		if !ok || c.Action != ap3000.ActionStart || c.Port != 1 || c.RateMode != ap3000.RateTimed || c.DurationOrEnergy != 14400 {
			t.Fatalf("after an accepted card got %#v, want a 240 min start on port 1", f.Body)
		}
		port := uint8(1)
		d.sendFrame(&ap3000.Frame{PhysicalID: f.PhysicalID, MessageID: f.MessageID, Body: &ap3000.ChargeReply{OrderNo: &c.OrderNo, Port: &port, WaitingPorts: new(uint16)}})
		evs := h.waitFor(t, "session started", func(evs []*chargeplanev1.Event) bool {
			return len(apOfKind[*chargeplanev1.Event_SessionStarted](evs)) == 1
		})
		ss := apOfKind[*chargeplanev1.Event_SessionStarted](evs)[0]
		if ss.GetConnector() != 2 || ss.GetSessionStarted().GetAuthMethod() != "card" || ss.GetSessionStarted().GetCardId() != apCardDec ||
			ss.GetSessionStarted().GetSessionRef() != c.OrderNo.String() || ss.GetSessionStarted().GetLimit().GetDurationS() != 14400 {
			t.Errorf("session started %v", ss)
		}
	})
	t.Run("unknown card refused", func(t *testing.T) {
		h := startAP3000(t, control.AuthConfig{UnknownCards: control.UnknownReject}, time.Second, 0)
		d := h.dial(t)
		d.send(apCard)
		f := d.nextDecoded()
		r, ok := f.Body.(*ap3000.CardReply)
		if !ok || r.Status != ap3000.AccountUnregistered || r.Port != 1 || f.MessageID != 1 {
			t.Fatalf("reply %#v, want account status unregistered on port 1", f.Body)
		}
		cp := apOfKind[*chargeplanev1.Event_CardPresented](h.events(t))
		if len(cp) != 1 || cp[0].GetCardPresented().GetAccepted() || cp[0].GetCardPresented().GetReason() != "unknown_card" {
			t.Fatalf("card presented %v, want refused as unknown_card", cp)
		}
		// The next thing the device hears is the answer to its heartbeat, not a start.
		d.send(apHB)
		d.expect(apHBAck)
	})
}

// apIdentify connects a device and registers it, so commands can reach it.
func apIdentify(t *testing.T, h *ap3kHarness) *ap3kDevice {
	t.Helper()
	d := h.dial(t)
	d.send(apReg)
	d.expect(apRegAck)
	return d
}

func TestAP3000StartStopCommands(t *testing.T) {
	h := startAP3000(t, control.DefaultAuthConfig(), 5*time.Second, 0)
	d := apIdentify(t, h)
	ctx := context.Background()

	type outcome struct {
		res command.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := h.registry.Do(ctx, "3b37ab04", "ap3000", command.Command{ID: "c1", Kind: command.Start, Connector: 1,
			Limit: &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_EnergyMwh{EnergyMwh: 1_000_000}}})
		done <- outcome{res, err}
	}()
	f := d.nextDecoded()
	c, ok := f.Body.(*ap3000.Charge)
	if !ok || c.Action != ap3000.ActionStart || c.Port != 0 || c.RateMode != ap3000.RateMetered || c.DurationOrEnergy != 100 {
		t.Fatalf("start frame %#v, want 1 kWh metered on port 0", f.Body)
	}
	port := uint8(0)
	// A reply with another message id does not complete the command.
	d.sendFrame(&ap3000.Frame{PhysicalID: f.PhysicalID, MessageID: f.MessageID + 100, Body: &ap3000.ChargeReply{Answer: ap3000.ChargeNoPlug}})
	d.sendFrame(&ap3000.Frame{PhysicalID: f.PhysicalID, MessageID: f.MessageID, Body: &ap3000.ChargeReply{OrderNo: &c.OrderNo, Port: &port, WaitingPorts: new(uint16)}})
	o := <-done
	if o.err != nil || o.res.Status != command.ResultAccepted || o.res.SessionRef != c.OrderNo.String() {
		t.Fatalf("start: %+v, %v; want accepted with ref %s", o.res, o.err, c.OrderNo)
	}
	evs := h.events(t)
	if ss := apOfKind[*chargeplanev1.Event_SessionStarted](evs); len(ss) != 1 || ss[0].GetSessionStarted().GetAuthMethod() != "remote" || ss[0].GetConnector() != 1 {
		t.Errorf("session started %v", ss)
	}
	if cr := apOfKind[*chargeplanev1.Event_CommandResult](evs); len(cr) != 1 || cr[0].GetCommandResult().GetStatus() != command.ResultAccepted || cr[0].GetCommandResult().GetCommandId() != "c1" {
		t.Errorf("command results %v", cr)
	}

	// Stop uses the order number of the running session.
	go func() {
		res, err := h.registry.Do(ctx, "3b37ab04", "ap3000", command.Command{ID: "c2", Kind: command.Stop, Connector: 1})
		done <- outcome{res, err}
	}()
	f2 := d.nextDecoded()
	c2, ok := f2.Body.(*ap3000.Charge)
	if !ok || c2.Action != ap3000.ActionStop || c2.Port != 0 || c2.OrderNo != c.OrderNo || f2.MessageID == f.MessageID {
		t.Fatalf("stop frame %#v (id %d), want a stop of %s with a fresh id", f2.Body, f2.MessageID, c.OrderNo)
	}
	d.sendFrame(&ap3000.Frame{PhysicalID: f2.PhysicalID, MessageID: f2.MessageID, Body: &ap3000.ChargeReply{Answer: ap3000.ChargeSameState}})
	if o := <-done; o.err != nil || o.res.Status != command.ResultRejected || o.res.Detail == "" {
		t.Errorf("stop answered 'same state': %+v, %v; want rejected with detail", o.res, o.err)
	}

	// Unsupported and malformed commands never reach the device.
	if _, err := h.registry.Do(ctx, "3b37ab04", "ap3000", command.Command{ID: "c3", Kind: command.OTA}); !errors.Is(err, command.ErrUnsupported) {
		t.Errorf("ota: %v, want ErrUnsupported", err)
	}
	if _, err := h.registry.Do(ctx, "3b37ab04", "ap3000", command.Command{ID: "c4", Kind: command.Stop, Connector: 2}); !errors.Is(err, command.ErrInvalidCommand) {
		t.Errorf("stop without a session: %v, want ErrInvalidCommand", err)
	}
	if _, err := h.registry.Do(ctx, "3b37ab04", "ap3000", command.Command{ID: "c5", Kind: command.Start, Connector: 1,
		Limit: &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_AmountFen{AmountFen: 100}}}); !errors.Is(err, command.ErrInvalidCommand) {
		t.Errorf("start by amount: %v, want ErrInvalidCommand", err)
	}
}

func TestAP3000QueryAndSetParameters(t *testing.T) {
	h := startAP3000(t, control.DefaultAuthConfig(), 5*time.Second, 0)
	d := apIdentify(t, h)
	ctx := context.Background()
	done := make(chan command.Result, 1)
	go func() {
		res, err := h.registry.Do(ctx, "3b37ab04", "ap3000", command.Command{ID: "p1", Kind: command.SetParameters,
			Params: map[string]string{"heartbeat_interval_s": "60"}})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	// Read, modify, write the 0x83 group.
	f := d.nextDecoded()
	if _, ok := f.Body.(*ap3000.QueryRunParams1); !ok {
		t.Fatalf("first frame %#v, want 0x90", f.Body)
	}
	cur := ap3000.RunParams1{UnplugPower: 3, UnplugDetectTime: 10, FloatPercent: 20, FloatDetectTime: 1800, FloatTime: 3600, HeartbeatInterval: 180}
	d.sendFrame(&ap3000.Frame{PhysicalID: f.PhysicalID, MessageID: f.MessageID, Body: &ap3000.RunParams1Report{Params: cur}})
	f = d.nextDecoded()
	set, ok := f.Body.(*ap3000.SetRunParams1)
	cur.HeartbeatInterval = 60
	if !ok || set.Params != cur {
		t.Fatalf("second frame %#v, want 0x83 with %+v", f.Body, cur)
	}
	d.sendFrame(&ap3000.Frame{PhysicalID: f.PhysicalID, MessageID: f.MessageID, Body: &ap3000.SetRunParams1Reply{}})
	if res := <-done; res.Status != command.ResultAccepted || res.Values["heartbeat_interval_s"] != "60" || res.Values["float_time_s"] != "3600" {
		t.Errorf("set_parameters: %+v", res)
	}
	if _, err := h.registry.Do(ctx, "3b37ab04", "ap3000", command.Command{ID: "p2", Kind: command.SetParameters,
		Params: map[string]string{"colour": "red"}}); !errors.Is(err, command.ErrInvalidCommand) {
		t.Errorf("unknown parameter: %v, want ErrInvalidCommand", err)
	}
}

func TestAP3000QueryStatus(t *testing.T) {
	h := startAP3000(t, control.DefaultAuthConfig(), 5*time.Second, 0)
	d := apIdentify(t, h)
	done := make(chan command.Result, 1)
	go func() {
		res, err := h.registry.Do(context.Background(), "3b37ab04", "ap3000", command.Command{ID: "q1", Kind: command.QueryStatus})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	if f := d.nextDecoded(); f.Command != ap3000.CmdQueryDevice {
		t.Fatalf("got %#v, want 0x81", f.Body)
	}
	d.send(apHB)
	d.expect(apHBAck)
	res := <-done
	if res.Status != command.ResultAccepted || res.Values["connectors"] != "2" || res.Values["connector_2_status"] != "CONNECTOR_STATUS_AVAILABLE" || res.Values["signal"] != "9" {
		t.Errorf("query_status: %+v", res)
	}
}

func TestAP3000CommandTimesOut(t *testing.T) {
	const retries = 2
	h := startAP3000(t, control.DefaultAuthConfig(), 100*time.Millisecond, retries)
	d := apIdentify(t, h)
	done := make(chan command.Result, 1)
	go func() {
		res, err := h.registry.Do(context.Background(), "3b37ab04", "ap3000", command.Command{ID: "t1", Kind: command.Start, Connector: 2})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	// The same frame, same message id, 1 + retries times.
	first := d.next()
	for i := range retries {
		if again := d.next(); !bytes.Equal(again, first) {
			t.Fatalf("resend %d: %x, want the same frame %x", i+1, again, first)
		}
	}
	if res := <-done; res.Status != command.ResultTimedOut {
		t.Fatalf("result %+v, want timed_out", res)
	}
	cr := apOfKind[*chargeplanev1.Event_CommandResult](h.events(t))
	if len(cr) != 1 || cr[0].GetCommandResult().GetStatus() != command.ResultTimedOut || cr[0].GetCommandResult().GetCommand() != command.Start {
		t.Errorf("command results %v, want one timed_out start", cr)
	}
	if n := len(apOfKind[*chargeplanev1.Event_SessionStarted](h.events(t))); n != 0 {
		t.Errorf("%d session started events for an unanswered start", n)
	}
}

func TestAP3000GarbageClosesOnlyThatConnection(t *testing.T) {
	h := startAP3000(t, control.DefaultAuthConfig(), time.Second, 0)
	good := apIdentify(t, h)
	bad := h.dial(t)
	// Another device identifies itself, then sends more garbage than
	// MaxGarbage.
	bad.sendFrame(&ap3000.Frame{PhysicalID: 0x04000001, MessageID: 7, Body: &ap3000.TimeRequest{}})
	if f := bad.nextDecoded(); f.Command != ap3000.CmdTimeRequest {
		t.Fatalf("got %#v, want the time", f.Body)
	}
	if _, err := bad.c.Write(bytes.Repeat([]byte{0x55}, 1024)); err != nil {
		t.Fatal(err)
	}
	// Closed by the edge: EOF, or a reset when our garbage was still unread.
	if _, err := io.ReadAll(bad.c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("garbage connection: %v, want closed by the edge", err)
	}
	h.waitFor(t, "protocol_error disconnect", func(evs []*chargeplanev1.Event) bool {
		for _, ev := range apOfKind[*chargeplanev1.Event_ChargerDisconnected](evs) {
			if ev.GetChargerId() == "01000004" && ev.GetChargerDisconnected().GetReason() == "protocol_error" {
				return true
			}
		}
		return false
	})
	// The other device's connection is untouched.
	good.send(apHB)
	good.expect(apHBAck)
}

// TestAP3000AnswersOneHeartbeatKind: 0x01 is answered only until the device
// sends 0x21, so the device keeps sending the one the guide recommends (§9).
func TestAP3000AnswersOneHeartbeatKind(t *testing.T) {
	const (
		oldHB    = "444e591d003b37ab04b900017e008c080200030000e40000003b0229070220006d05" // ap3000-01-up-1: ports idle and full
		oldHBAck = "444e590a003b37ab04b9000100d002"                                       // ap3000-01-down-1
	)
	h := startAP3000(t, control.DefaultAuthConfig(), time.Second, 0)
	d := h.dial(t)
	d.send(oldHB)
	d.expect(oldHBAck)
	st := apOfKind[*chargeplanev1.Event_ConnectorStatus](h.events(t))
	if len(st) != 2 || st[1].GetConnectorStatus().GetStatus() != chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_FINISHING {
		t.Fatalf("status events %v, want connector 2 finishing", st)
	}
	d.send(apHB)
	d.expect(apHBAck)
	// Now 0x01 is stored but not answered: the next reply the device reads
	// is the one to its time request.
	d.send(oldHB)
	d.send(apTime)
	d.expect(apTimeAck)
	if n := len(apOfKind[*chargeplanev1.Event_Heartbeat](h.events(t))); n != 4 {
		t.Errorf("%d heartbeat events, want 4 (each frame stored)", n)
	}
}

// TestAP3000Reboot: 0x87 is sent once — never resent, even with retries
// configured — and the device's answer decides the result.
func TestAP3000Reboot(t *testing.T) {
	h := startAP3000(t, control.DefaultAuthConfig(), 200*time.Millisecond, 2)
	d := apIdentify(t, h)
	reboot := func(id string) <-chan command.Result {
		done := make(chan command.Result, 1)
		go func() {
			res, err := h.registry.Do(context.Background(), "3b37ab04", "ap3000", command.Command{ID: id, Kind: command.Reboot})
			if err != nil {
				t.Error(err)
			}
			done <- res
		}()
		return done
	}

	done := reboot("r1")
	f := d.nextDecoded()
	if f.Command != ap3000.CmdReboot {
		t.Fatalf("got %#v, want 0x87", f.Body)
	}
	d.sendFrame(&ap3000.Frame{PhysicalID: f.PhysicalID, MessageID: f.MessageID, Body: &ap3000.RebootReply{Answer: ap3000.AnswerOK}})
	if res := <-done; res.Status != command.ResultAccepted {
		t.Fatalf("answered reboot: %+v, want accepted", res)
	}

	// Unanswered: one frame only, then timed_out.
	done = reboot("r2")
	if f := d.nextDecoded(); f.Command != ap3000.CmdReboot {
		t.Fatalf("got %#v, want 0x87", f.Body)
	}
	res := <-done
	if res.Status != command.ResultTimedOut {
		t.Fatalf("unanswered reboot: %+v, want timed_out", res)
	}
	_ = d.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := d.c.Read(make([]byte, 64)); err == nil {
		t.Fatalf("reboot was resent (%d more bytes)", n)
	}
}
