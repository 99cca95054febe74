package adapter

// Real BKV and AP3000 sessions over TCP recording through control.Book,
// the way the agent wires them: adapters → Book → store, and the Book's
// commands → Registry → the charger's connection.

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chargeplane/chargeplane/edge/command"
	"github.com/chargeplane/chargeplane/edge/control"
	"github.com/chargeplane/chargeplane/edge/gateway"
	"github.com/chargeplane/chargeplane/edge/store"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/protocol/ap3000"
	"github.com/chargeplane/chargeplane/shared/protocol/bkv"
)

type bookHarness struct {
	addr     string
	st       *store.Store
	book     *control.Book
	registry *Registry
}

type bookHarnessConfig struct {
	book    control.BookConfig
	now     func() time.Time
	loc     *time.Location
	timeout time.Duration
	retries int
}

func startWithBook(t *testing.T, hc bookHarnessConfig) *bookHarness {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	scfg := store.DefaultConfig()
	scfg.Dir = t.TempDir()
	st, err := store.Open(scfg, "edge-a", logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if hc.now == nil {
		hc.now = time.Now
	}
	if hc.loc == nil {
		hc.loc = time.UTC
	}
	if hc.timeout == 0 {
		hc.timeout = 2 * time.Second
	}
	book, err := control.NewBook(context.Background(), hc.book, control.BookDeps{
		Store: st, Now: hc.now, Location: hc.loc, Logger: logger, Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	deps := Deps{
		Store: book, Authorizer: book, Now: hc.now, Location: hc.loc, Logger: logger, Registerer: reg, MaxGarbage: 512,
		CommandTimeout: hc.timeout, CommandRetries: hc.retries,
	}
	deps.Registry = NewRegistry(deps)
	book.SetExecutor(deps.Registry)
	gcfg := gateway.DefaultConfig()
	gcfg.Addr = "127.0.0.1:0"
	gcfg.ShutdownTimeout = time.Second
	gw := gateway.New(gcfg, []gateway.Protocol{NewBKV(deps).Protocol(), NewAP3000(deps).Protocol()}, logger, reg)
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
		if err := book.Close(); err != nil {
			t.Errorf("book: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("store: %v", err)
		}
	})
	return &bookHarness{addr: addr.String(), st: st, book: book, registry: deps.Registry}
}

func (h *bookHarness) dial(t *testing.T) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(context.Background(), "tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (h *bookHarness) events(t *testing.T) []*chargeplanev1.Event {
	t.Helper()
	evs, err := h.st.Pending(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func (h *bookHarness) waitFor(t *testing.T, what string, cond func([]*chargeplanev1.Event) bool) []*chargeplanev1.Event {
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
		time.Sleep(5 * time.Millisecond)
	}
}

func endedEvents(evs []*chargeplanev1.Event) []*chargeplanev1.Event {
	return apOfKind[*chargeplanev1.Event_SessionEnded](evs)
}

// bkvGatewayConn is one connection of a fake BKV gateway.
type bkvGatewayConn struct {
	t  *testing.T
	c  net.Conn
	id bkv.GatewayID
}

func (g bkvGatewayConn) send(body bkv.Message) {
	g.t.Helper()
	sendBKVFrame(g.t, g.c, &bkv.Frame{Direction: bkv.Up, Command: bkvCommandOf(body), GatewayID: g.id, Body: body})
}

func (g bkvGatewayConn) reply(msgID uint32, body bkv.Message) {
	g.t.Helper()
	sendBKVFrame(g.t, g.c, &bkv.Frame{Direction: bkv.Up, Command: bkvCommandOf(body), MsgID: msgID, GatewayID: g.id, Body: body})
}

func bkvCommandOf(body bkv.Message) uint16 {
	if _, ok := body.(interface{ BKVCommand() uint16 }); ok {
		return bkv.CommandBKV
	}
	return bkv.CommandCharge
}

// status reports socket 1 with port A charging session bn at wh Wh.
func (g bkvGatewayConn) status(bn, wh uint16) {
	g.t.Helper()
	g.send(&bkv.StatusReport{Sockets: []bkv.SocketReport{{Socket: 1, SocketFirmware: 0xFFFF, Temperature: 30, RSSI: 20, Ports: []bkv.PortReport{
		{Port: 0, Status: 0x90, BusinessNo: bn, Voltage: 2200, Power: 15000, Current: 6800, Energy: wh, Minutes: 10},
		{Port: 1, Status: 0x80, Voltage: 2200},
	}}}})
}

// readUntil reads frames until one has a body of type T, returning it and
// its frame; other frames (acks) are skipped.
func readUntil[T bkv.Message](t *testing.T, c net.Conn) (*bkv.Frame, T) {
	t.Helper()
	for {
		f := readBKVFrame(t, c)
		if m, ok := f.Body.(T); ok {
			return f, m
		}
	}
}

// connectGateway opens a connection as gateway id and identifies it with a
// status report of port A in session bn at wh Wh.
func (h *bookHarness) connectGateway(t *testing.T, id string, bn, wh uint16) bkvGatewayConn {
	t.Helper()
	gid, err := bkv.ParseGatewayID(id)
	if err != nil {
		t.Fatal(err)
	}
	g := bkvGatewayConn{t: t, c: h.dial(t), id: gid}
	g.status(bn, wh)
	readUntil[*bkv.StatusReportAck](t, g.c)
	return g
}

func flatTariff(elec, service string) control.TariffConfig {
	e, err1 := control.ParseYuan(elec)
	s, err2 := control.ParseYuan(service)
	if err1 != nil || err2 != nil {
		panic("bad test tariff")
	}
	return control.TariffConfig{ID: "flat", Periods: []control.TariffPeriodConfig{{Electricity: control.Price(e), Service: control.Price(s)}}}
}

// TestBookBKVCardSessionBilledOnce: swipe → card order → confirmation →
// meter → end report, billed by the edge; the end report repeated on a new
// connection after a reconnect is acknowledged and not recorded again.
func TestBookBKVCardSessionBilledOnce(t *testing.T) {
	h := startWithBook(t, bookHarnessConfig{book: control.BookConfig{
		Fallback: control.AuthConfig{UnknownCards: control.UnknownReject, Cards: []control.Card{{ID: "000000000002", BalanceFen: 5001}}},
		Tariff:   flatTariff("0.6523", "0.4"),
	}})
	c := h.dial(t)
	writeHex(t, c, vSwipe) // gateway 86004459453005, socket 1 port A, business 26
	swipe, err := bkv.Decode(unhex(t, vSwipe))
	if err != nil {
		t.Fatal(err)
	}
	g := bkvGatewayConn{t: t, c: c, id: swipe.GatewayID}
	card := swipe.Body.(*bkv.CardSwipe).Card
	f, order := readUntil[*bkv.CardOrder](t, c)
	if order.Switch != bkv.SwitchOn {
		t.Fatalf("order %+v, want the card accepted", order)
	}
	g.reply(f.MsgID, &bkv.OrderConfirm{Socket: 1, Port: 0, Result: bkv.ResultOK})
	h.waitFor(t, "session started", func(evs []*chargeplanev1.Event) bool { return countKind(evs, isStarted) == 1 })
	g.status(26, 1000) // 1 kWh so far
	readUntil[*bkv.StatusReportAck](t, c)
	if open := h.book.OpenSessions(); len(open) != 1 || open[0].EnergyMWh != 1_000_000 || open[0].AuthMethod != "card" ||
		open[0].LimitFen != 5001 || open[0].AmountFen != 65+40 {
		t.Fatalf("open sessions %+v", open)
	}
	cardEnd := &bkv.CardEnd{EndHead: bkv.EndHead{Socket: 1, Port: 0, Status: 0x90, BusinessNo: 26, Energy: 1500, Minutes: 30}, Card: card, Amount: 77}
	g.send(cardEnd)
	readUntil[*bkv.CardEndReply](t, c)

	ended := endedEvents(h.events(t))
	if len(ended) != 1 {
		t.Fatalf("%d SessionEnded, want 1", len(ended))
	}
	se := ended[0].GetSessionEnded()
	// 1.5 kWh × 65.23 = 97.845 → 98 fen electricity, × 40 = 60 fen service.
	if se.GetAmountFen() != 158 || se.GetElectricityFen() != 98 || se.GetServiceFen() != 60 || se.GetChargerAmountFen() != 77 ||
		se.GetAuthMethod() != "card" || se.GetCardId() != "000000000002" || se.GetTariff().GetId() != "flat" ||
		se.GetStartedAt() == nil || se.GetEndedAt() == nil || se.GetEnergyMwh() != 1_500_000 {
		t.Fatalf("session ended %v", se)
	}
	if got := h.book.Balance("000000000002"); got != 5001-158 {
		t.Errorf("balance %d, want %d", got, 5001-158)
	}

	// The gateway did not hear the ack (say), reconnects and repeats it.
	c2 := h.dial(t)
	g2 := bkvGatewayConn{t: t, c: c2, id: swipe.GatewayID}
	g2.send(cardEnd)
	if _, ack := readUntil[*bkv.CardEndReply](t, c2); ack.Result != bkv.ResultOK {
		t.Fatalf("repeat answered %+v", ack)
	}
	evs := h.events(t)
	if n := len(endedEvents(evs)); n != 1 || h.st.PendingSessionCount() != 1 {
		t.Fatalf("after the repeat on a new connection: %d SessionEnded, %d ledger sessions; want 1", n, h.st.PendingSessionCount())
	}
	if got := h.book.Balance("000000000002"); got != 5001-158 {
		t.Errorf("balance %d after the repeat, want one debit", got)
	}
}

// TestBookBKVReconnectMidSession: a gateway that reconnects while a session
// runs keeps reporting it on the new connection and ends it there: one
// SessionEnded, with the start time and billing of the session the edge
// saw start on the first connection.
func TestBookBKVReconnectMidSession(t *testing.T) {
	h := startWithBook(t, bookHarnessConfig{book: control.BookConfig{Fallback: control.DefaultAuthConfig(), Tariff: flatTariff("1", "0")}})
	const gw = "82200520004869"
	g1 := h.connectGateway(t, gw, 0, 0)

	done := make(chan doResult, 1)
	go func() {
		res, err := h.book.Execute(context.Background(), gw, protoBKV, command.Command{ID: "cmd-start", Kind: command.Start, Connector: 1})
		done <- doResult{res, err}
	}()
	f, ctl := readUntil[*bkv.Control](t, g1.c)
	if ctl.Switch != bkv.SwitchOn || ctl.Minutes != 900 {
		t.Fatalf("start %+v", ctl)
	}
	g1.reply(f.MsgID, &bkv.ControlResult{Result: bkv.ResultOK, Socket: 1, Port: 0, BusinessNo: 7})
	if r := <-done; r.err != nil || r.res.Status != command.ResultAccepted || r.res.SessionRef != "7" {
		t.Fatalf("start = %+v, %v", r.res, r.err)
	}
	g1.status(7, 400)
	readUntil[*bkv.StatusReportAck](t, g1.c)

	// The gateway reconnects: the first connection is replaced.
	g2 := h.connectGateway(t, gw, 7, 900)
	if _, err := g1.c.Read(make([]byte, 1)); err == nil {
		t.Fatal("first connection still open")
	}
	open := h.book.OpenSessions()
	if len(open) != 1 || open[0].SessionRef != "7" || open[0].EnergyMWh != 900_000 || open[0].AuthMethod != "remote" {
		t.Fatalf("open sessions after the reconnect %+v", open)
	}
	// The start was never seen on this connection; the end report has no times.
	g2.send(&bkv.ChargeEnd{EndHead: bkv.EndHead{Socket: 1, Port: 0, Status: 0x90, BusinessNo: 7, Energy: 1200, Minutes: 20}})
	readUntil[*bkv.CardEndReply](t, g2.c)
	// And once more on a third connection.
	g3 := h.connectGateway(t, gw, 0, 0)
	g3.send(&bkv.ChargeEnd{EndHead: bkv.EndHead{Socket: 1, Port: 0, Status: 0x90, BusinessNo: 7, Energy: 1200, Minutes: 20}})
	readUntil[*bkv.CardEndReply](t, g3.c)

	evs := h.events(t)
	ended := endedEvents(evs)
	if len(ended) != 1 || h.st.PendingSessionCount() != 1 {
		t.Fatalf("%d SessionEnded (%d in the ledger), want 1: %v", len(ended), h.st.PendingSessionCount(), ended)
	}
	started := apOfKind[*chargeplanev1.Event_SessionStarted](evs)
	se := ended[0].GetSessionEnded()
	if len(started) != 1 || se.GetStartedAt() == nil || !se.GetStartedAt().AsTime().Equal(started[0].GetOccurredAt().AsTime()) {
		t.Fatalf("started_at %v, want the SessionStarted's time %v", se.GetStartedAt(), started)
	}
	if se.GetEnergyMwh() != 1_200_000 || se.GetAmountFen() != 120 || se.GetAuthMethod() != "remote" || se.GetStartCommandId() != "cmd-start" ||
		se.GetReason() != chargeplanev1.EndReason_END_REASON_OTHER {
		t.Fatalf("session ended %v", se)
	}
	if n := len(h.book.OpenSessions()); n != 0 {
		t.Fatalf("%d sessions still open", n)
	}
}

// TestBookBKVAmountLimitStop: a remote start with an amount limit starts
// the port without one; the Book stops it when the metered amount reaches
// the limit, and the end is recorded as limit reached.
func TestBookBKVAmountLimitStop(t *testing.T) {
	h := startWithBook(t, bookHarnessConfig{book: control.BookConfig{Fallback: control.DefaultAuthConfig(), Tariff: flatTariff("1", "0")}})
	const gw = "82200520004869"
	g := h.connectGateway(t, gw, 0, 0)
	done := make(chan doResult, 1)
	go func() {
		res, err := h.book.Execute(context.Background(), gw, protoBKV, command.Command{ID: "cmd-1", Kind: command.Start, Connector: 1,
			Limit: &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_AmountFen{AmountFen: 50}}})
		done <- doResult{res, err}
	}()
	f, ctl := readUntil[*bkv.Control](t, g.c)
	// BKV cannot start by amount: the port runs for the protocol's longest.
	if ctl.Switch != bkv.SwitchOn || ctl.Mode != bkv.ControlByTime || ctl.Minutes != 900 {
		t.Fatalf("start %+v", ctl)
	}
	g.reply(f.MsgID, &bkv.ControlResult{Result: bkv.ResultOK, Socket: 1, Port: 0, BusinessNo: 8})
	if r := <-done; r.err != nil || r.res.Status != command.ResultAccepted {
		t.Fatalf("start = %+v, %v", r.res, r.err)
	}
	g.status(8, 300) // 30 fen
	readUntil[*bkv.StatusReportAck](t, g.c)
	g.status(8, 600) // 60 fen ≥ 50: the Book stops it
	f, stop := readUntil[*bkv.Control](t, g.c)
	if stop.Switch != bkv.SwitchOff || stop.Socket != 1 || stop.Port != 0 {
		t.Fatalf("after the limit: %+v, want a stop of socket 1 port A", stop)
	}
	g.reply(f.MsgID, &bkv.ControlResult{Result: bkv.ResultOK, Socket: 1, Port: 0, BusinessNo: 8})
	h.waitFor(t, "the stop's result", func(evs []*chargeplanev1.Event) bool {
		for _, e := range apOfKind[*chargeplanev1.Event_CommandResult](evs) {
			if cr := e.GetCommandResult(); strings.HasPrefix(cr.GetCommandId(), "limit:") && cr.GetStatus() == command.ResultAccepted {
				return true
			}
		}
		return false
	})
	g.send(&bkv.ChargeEnd{EndHead: bkv.EndHead{Socket: 1, Port: 0, Status: 0x90, BusinessNo: 8, Energy: 610, Minutes: 12}})
	readUntil[*bkv.CardEndReply](t, g.c)
	// No second stop went out meanwhile.
	_ = g.c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if f, err := readBKVFrameErr(g.c); err == nil {
		t.Fatalf("unexpected frame after the end: %+v", f.Body)
	}
	ended := endedEvents(h.events(t))
	if len(ended) != 1 {
		t.Fatalf("%d SessionEnded", len(ended))
	}
	if se := ended[0].GetSessionEnded(); se.GetReason() != chargeplanev1.EndReason_END_REASON_LIMIT_REACHED || se.GetAmountFen() != 61 ||
		se.GetAuthMethod() != "remote" || se.GetStartCommandId() != "cmd-1" {
		t.Fatalf("session ended %v", se)
	}
}

// TestBookBKVStartNeverAnswered: a start the gateway never confirms times
// out and leaves no session open.
func TestBookBKVStartNeverAnswered(t *testing.T) {
	h := startWithBook(t, bookHarnessConfig{book: control.DefaultBookConfig(), timeout: 100 * time.Millisecond, retries: 1})
	const gw = "82200520004869"
	g := h.connectGateway(t, gw, 0, 0)
	res, err := h.book.Execute(context.Background(), gw, protoBKV, command.Command{ID: "cmd-x", Kind: command.Start, Connector: 1,
		Limit: &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_AmountFen{AmountFen: 500}}})
	if err != nil || res.Status != command.ResultTimedOut {
		t.Fatalf("start = %+v, %v; want timed_out", res, err)
	}
	if open := h.book.OpenSessions(); len(open) != 0 {
		t.Fatalf("open sessions %+v", open)
	}
	evs := h.events(t)
	if countKind(evs, isStarted) != 0 {
		t.Fatal("SessionStarted stored for an unconfirmed start")
	}
	cr := apOfKind[*chargeplanev1.Event_CommandResult](evs)
	if len(cr) != 1 || cr[0].GetCommandResult().GetStatus() != command.ResultTimedOut {
		t.Fatalf("command results %v", cr)
	}
	// The port later reports a session the edge did not start: it is the
	// charger's, not the timed-out command's.
	g.status(3, 100)
	readUntil[*bkv.StatusReportAck](t, g.c)
	g.send(&bkv.ChargeEnd{EndHead: bkv.EndHead{Socket: 1, Port: 0, Status: 0x90, BusinessNo: 3, Energy: 100, Minutes: 1}})
	readUntil[*bkv.CardEndReply](t, g.c)
	if se := endedEvents(h.events(t))[0].GetSessionEnded(); se.GetAuthMethod() != "charger" || se.GetStartCommandId() != "" {
		t.Fatalf("session ended %v", se)
	}
}

// TestBookAP3000CardSessionAndReconnect: card swipe → 0x82 start → power
// heartbeats → the device reconnects mid-session and keeps reporting →
// settlement, repeated after another reconnect: one billed SessionEnded.
func TestBookAP3000CardSessionAndReconnect(t *testing.T) {
	now := func() time.Time { return time.Unix(1604914697, 0).UTC() }
	h := startWithBook(t, bookHarnessConfig{now: now, book: control.BookConfig{
		Fallback: control.AuthConfig{UnknownCards: control.UnknownReject, Cards: []control.Card{{ID: apCardDec, BalanceFen: 10000}}},
		Tariff:   flatTariff("0.6523", "0.4"),
	}})
	ah := &ap3kHarness{addr: h.addr, store: h.st, registry: h.registry}
	d := ah.dial(t)
	d.send(apCard) // card 7a8d05dd on port 1 (connector 2)
	d.expect(apCardAck)
	f := d.nextDecoded()
	start, ok := f.Body.(*ap3000.Charge)
	if !ok || start.Action != ap3000.ActionStart || start.Port != 1 {
		t.Fatalf("after the card: %#v", f.Body)
	}
	port := uint8(1)
	d.sendFrame(&ap3000.Frame{PhysicalID: f.PhysicalID, MessageID: f.MessageID, Body: &ap3000.ChargeReply{OrderNo: &start.OrderNo, Port: &port, WaitingPorts: new(uint16)}})
	h.waitFor(t, "session started", func(evs []*chargeplanev1.Event) bool { return countKind(evs, isStarted) == 1 })
	power := func(dev *ap3kDevice, centiKWh uint16) {
		t.Helper()
		dev.sendFrame(&ap3000.Frame{PhysicalID: f.PhysicalID, MessageID: 9, Body: &ap3000.PowerHeartbeat{
			Port: 1, Status: 1, Duration: 600, Energy: centiKWh, Power: 10000, MaxPower: 10000, MinPower: 10000, AvgPower: 10000, OrderNo: start.OrderNo,
		}})
	}
	power(d, 40) // 0.4 kWh
	h.waitFor(t, "first meter", func([]*chargeplanev1.Event) bool {
		o := h.book.OpenSessions()
		return len(o) == 1 && o[0].EnergyMWh == 400_000
	})
	open := h.book.OpenSessions()
	if open[0].AuthMethod != "card" || open[0].CardID != apCardDec || open[0].Connector != 2 || open[0].LimitFen != 10000 {
		t.Fatalf("open %+v", open)
	}

	// Reconnect: the device registers again and goes on reporting.
	d2 := apIdentify(t, ah)
	power(d2, 90)
	h.waitFor(t, "meter after the reconnect", func([]*chargeplanev1.Event) bool {
		o := h.book.OpenSessions()
		return len(o) == 1 && o[0].EnergyMWh == 900_000
	})
	settle := &ap3000.Settlement{Duration: 1200, Energy: 100, Port: 1, StopReason: ap3000.StopFull, OrderNo: start.OrderNo, CardOrCode: ap3000.CardID{0x7a, 0x8d, 0x05, 0xdd}}
	d2.sendFrame(&ap3000.Frame{PhysicalID: f.PhysicalID, MessageID: 10, Body: settle})
	if r := d2.nextDecoded(); r.Command != ap3000.CmdSettlement {
		t.Fatalf("settlement answered with %#v", r.Body)
	}
	d3 := apIdentify(t, ah)
	d3.sendFrame(&ap3000.Frame{PhysicalID: f.PhysicalID, MessageID: 11, Body: settle})
	if r := d3.nextDecoded(); r.Command != ap3000.CmdSettlement {
		t.Fatalf("repeated settlement answered with %#v", r.Body)
	}
	ended := endedEvents(h.events(t))
	if len(ended) != 1 || h.st.PendingSessionCount() != 1 {
		t.Fatalf("%d SessionEnded (%d in the ledger), want 1", len(ended), h.st.PendingSessionCount())
	}
	se := ended[0].GetSessionEnded()
	// 1 kWh: 65.23 → 65 + 40.
	if ended[0].GetConnector() != 2 || se.GetSessionRef() != start.OrderNo.String() || se.GetEnergyMwh() != 1_000_000 ||
		se.GetAmountFen() != 105 || se.GetAuthMethod() != "card" || se.GetCardId() != apCardDec {
		t.Fatalf("session ended %v", se)
	}
	if got := h.book.Balance(apCardDec); got != 10000-105 {
		t.Errorf("balance %d", got)
	}
}

// TestBookAP3000CardBalanceLimit: a card may spend its balance; when the
// metered amount reaches it the Book stops the order (by its number, which
// an AP3000 stop needs) and the settlement is recorded as limit reached.
func TestBookAP3000CardBalanceLimit(t *testing.T) {
	now := func() time.Time { return time.Unix(1604914697, 0).UTC() }
	h := startWithBook(t, bookHarnessConfig{now: now, book: control.BookConfig{
		Fallback: control.AuthConfig{UnknownCards: control.UnknownReject, Cards: []control.Card{{ID: apCardDec, BalanceFen: 50}}},
		Tariff:   flatTariff("1", "0"),
	}})
	ah := &ap3kHarness{addr: h.addr, store: h.st, registry: h.registry}
	d := ah.dial(t)
	d.send(apCard)
	d.next() // the card reply
	f := d.nextDecoded()
	start := f.Body.(*ap3000.Charge)
	port := uint8(1)
	d.sendFrame(&ap3000.Frame{PhysicalID: f.PhysicalID, MessageID: f.MessageID, Body: &ap3000.ChargeReply{OrderNo: &start.OrderNo, Port: &port, WaitingPorts: new(uint16)}})
	h.waitFor(t, "session started", func(evs []*chargeplanev1.Event) bool { return countKind(evs, isStarted) == 1 })
	if open := h.book.OpenSessions(); len(open) != 1 || open[0].LimitFen != 50 {
		t.Fatalf("open %+v, want the card's balance as its limit", open)
	}
	d.sendFrame(&ap3000.Frame{PhysicalID: f.PhysicalID, MessageID: 20, Body: &ap3000.PowerHeartbeat{
		Port: 1, Status: 1, Duration: 600, Energy: 60, Power: 10000, OrderNo: start.OrderNo, // 0.6 kWh: 60 fen
	}})
	f = d.nextDecoded()
	stop, ok := f.Body.(*ap3000.Charge)
	if !ok || stop.Action != ap3000.ActionStop || stop.Port != 1 || stop.OrderNo != start.OrderNo {
		t.Fatalf("after the balance was spent: %#v, want a stop of order %s", f.Body, start.OrderNo)
	}
	d.sendFrame(&ap3000.Frame{PhysicalID: f.PhysicalID, MessageID: f.MessageID, Body: &ap3000.ChargeReply{OrderNo: &start.OrderNo, Port: &port}})
	d.sendFrame(&ap3000.Frame{PhysicalID: f.PhysicalID, MessageID: 21, Body: &ap3000.Settlement{
		Duration: 620, Energy: 61, Port: 1, StopReason: ap3000.StopServer, OrderNo: start.OrderNo,
	}})
	if r := d.nextDecoded(); r.Command != ap3000.CmdSettlement {
		t.Fatalf("settlement answered with %#v", r.Body)
	}
	ended := endedEvents(h.events(t))
	if len(ended) != 1 {
		t.Fatalf("%d SessionEnded", len(ended))
	}
	if se := ended[0].GetSessionEnded(); se.GetReason() != chargeplanev1.EndReason_END_REASON_LIMIT_REACHED || se.GetAmountFen() != 61 || se.GetCardId() != apCardDec {
		t.Fatalf("session ended %v", se)
	}
	// The card is spent (61 of 50): the next swipe is refused.
	if d := h.book.Authorize(apCardDec); d.Accepted || d.Reason != "no_balance" || d.BalanceFen != -11 {
		t.Fatalf("next swipe %+v", d)
	}
}
