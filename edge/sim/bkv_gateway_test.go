package sim

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chargeplane/chargeplane/edge/adapter"
	"github.com/chargeplane/chargeplane/edge/command"
	"github.com/chargeplane/chargeplane/edge/control"
	"github.com/chargeplane/chargeplane/edge/gateway"
	"github.com/chargeplane/chargeplane/edge/store"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/protocol/bkv"
)

type simEdge struct {
	addr     string
	store    *store.Store
	registry *adapter.Registry
}

// mustStartEdge runs the real BKV adapter behind a real gateway and store.
func mustStartEdge(t *testing.T, auth control.AuthConfig) *simEdge {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	scfg := store.DefaultConfig()
	scfg.Dir = t.TempDir()
	st, err := store.Open(scfg, "edge-sim", logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	deps := adapter.Deps{Store: st, Now: time.Now, Location: time.UTC, Logger: logger, Registerer: reg,
		Authorizer: control.NewAuthorizer(auth), CommandTimeout: 2 * time.Second, CommandRetries: 1}
	deps.Registry = adapter.NewRegistry(deps)
	a := adapter.NewBKV(deps)
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
	return &simEdge{addr: addr.String(), store: st, registry: deps.Registry}
}

func (e *simEdge) events(t *testing.T) []*chargeplanev1.Event {
	t.Helper()
	evs, err := e.store.Pending(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func runGateway(t *testing.T, cfg BKVGatewayConfig) *BKVGateway {
	t.Helper()
	g, err := NewBKVGateway(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway sim: %v", err)
		}
	})
	return g
}

func (e *simEdge) do(t *testing.T, id string, cmd command.Command) command.Result {
	t.Helper()
	res, err := e.registry.Do(context.Background(), id, "bkv", cmd)
	if err != nil {
		t.Fatalf("%s: %v", cmd.Kind, err)
	}
	return res
}

func pairAll(t *testing.T, e *simEdge, g *BKVGateway) {
	t.Helper()
	for i, mac := range g.MACs() {
		res := e.do(t, g.ID(), command.Command{Kind: command.Pair, Params: map[string]string{"socket": strconv.Itoa(i + 1), "mac": mac}})
		if res.Status != command.ResultAccepted {
			t.Fatalf("pair socket %d: %+v", i+1, res)
		}
	}
}

// endedOn returns the stored SessionEnded of connector conn and session ref.
func endedOn(evs []*chargeplanev1.Event, conn uint32, ref string) *chargeplanev1.SessionEnded {
	for _, e := range evs {
		if se := e.GetSessionEnded(); se != nil && e.GetConnector() == conn && se.GetSessionRef() == ref {
			return se
		}
	}
	return nil
}

func TestBKVGatewayPairCommandAndSessions(t *testing.T) {
	e := mustStartEdge(t, control.DefaultAuthConfig())
	g := runGateway(t, BKVGatewayConfig{Addr: e.addr, IDBase: 7, Sockets: 4, Minute: 10 * time.Millisecond, Heartbeat: 50 * time.Millisecond})
	waitFor(t, "gateway attached", func() bool { _, ok := e.registry.Protocol(g.ID()); return ok })
	waitFor(t, "a few heartbeats", func() bool {
		n := 0
		for _, ev := range e.events(t) {
			if ev.GetHeartbeat() != nil {
				n++
			}
		}
		return n >= 3
	})
	for _, ev := range e.events(t) {
		if ev.GetConnectorStatus() != nil {
			t.Fatalf("unpaired gateway reported status: %v", ev)
		}
	}

	// Pairing: an unknown MAC fails; the gateway's own MACs pair.
	if res := e.do(t, g.ID(), command.Command{Kind: command.Pair, Params: map[string]string{"socket": "9", "mac": "000000000000"}}); res.Status != command.ResultRejected {
		t.Fatalf("pair unknown mac: %+v", res)
	}
	pairAll(t, e, g)
	if g.Paired() != 4 {
		t.Fatalf("paired %d sockets, want 4", g.Paired())
	}
	waitFor(t, "8 connectors available", func() bool {
		seen := map[uint32]bool{}
		for _, ev := range e.events(t) {
			if ev.GetConnectorStatus().GetStatus() == chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_AVAILABLE {
				seen[ev.GetConnector()] = true
			}
		}
		return len(seen) == 8
	})

	// Parameters.
	res := e.do(t, g.ID(), command.Command{Kind: command.QueryParameters, Params: map[string]string{"socket": "2"}})
	if res.Status != command.ResultAccepted || res.Values["power_limit"] != "7000" {
		t.Fatalf("query parameters: %+v", res)
	}
	if res := e.do(t, g.ID(), command.Command{Kind: command.SetParameters, Params: map[string]string{"socket": "2", "power_limit": "5000", "max_charge_time": "300"}}); res.Status != command.ResultAccepted {
		t.Fatalf("set parameters: %+v", res)
	}
	res = e.do(t, g.ID(), command.Command{Kind: command.QueryParameters, Connector: 3})
	if res.Values["power_limit"] != "5000" || res.Values["max_charge_time"] != "300" {
		t.Fatalf("parameters after set: %+v", res.Values)
	}

	// Sessions: by time, by energy, and one stopped remotely.
	byTime := e.do(t, g.ID(), command.Command{Kind: command.Start, Connector: 1, Limit: &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_DurationS{DurationS: 180}}})
	byEnergy := e.do(t, g.ID(), command.Command{Kind: command.Start, Connector: 2, Limit: &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_EnergyMwh{EnergyMwh: 5000}}})
	stopped := e.do(t, g.ID(), command.Command{Kind: command.Start, Connector: 8})
	for _, r := range []command.Result{byTime, byEnergy, stopped} {
		if r.Status != command.ResultAccepted || r.SessionRef == "" {
			t.Fatalf("start: %+v", r)
		}
	}
	if busy := e.do(t, g.ID(), command.Command{Kind: command.Start, Connector: 8}); busy.Status != command.ResultRejected {
		t.Fatalf("start on a busy port: %+v", busy)
	}
	qs := e.do(t, g.ID(), command.Command{Kind: command.QueryStatus, Connector: 8})
	if qs.Status != command.ResultAccepted || qs.Values["connector_8_status"] != "CONNECTOR_STATUS_CHARGING" || qs.Values["connector_8_session_ref"] != stopped.SessionRef {
		t.Fatalf("query status: %+v", qs)
	}
	if res := e.do(t, g.ID(), command.Command{Kind: command.Stop, Connector: 8}); res.Status != command.ResultAccepted {
		t.Fatalf("stop: %+v", res)
	}
	waitFor(t, "three sessions ended", func() bool { return len(g.Ended()) == 3 })

	evs := e.events(t)
	want := map[uint32]struct {
		ref    string
		reason chargeplanev1.EndReason
	}{
		1: {byTime.SessionRef, chargeplanev1.EndReason_END_REASON_LIMIT_REACHED},
		2: {byEnergy.SessionRef, chargeplanev1.EndReason_END_REASON_LIMIT_REACHED},
		8: {stopped.SessionRef, chargeplanev1.EndReason_END_REASON_REMOTE},
	}
	for _, s := range g.Ended() {
		conn := uint32(s.Socket)*2 + uint32(s.Port) - 1
		w, ok := want[conn]
		if !ok || strconv.Itoa(int(s.BusinessNo)) != w.ref {
			t.Fatalf("device ended %+v on connector %d, not a started session", s, conn)
		}
		se := endedOn(evs, conn, w.ref)
		if se == nil {
			t.Fatalf("no SessionEnded stored for connector %d session %s", conn, w.ref)
		}
		if se.GetEnergyMwh() != int64(s.EnergyWh)*1000 || se.GetDurationS() != int64(s.Minutes)*60 || se.GetReason() != w.reason {
			t.Errorf("connector %d: stored %v, device delivered %+v", conn, se, s)
		}
	}
	for _, s := range g.Ended() {
		if s.Socket == 1 && s.Port == 0 && s.Minutes != 3 {
			t.Errorf("timed session ran %d minutes, want 3", s.Minutes)
		}
		if s.Socket == 1 && s.Port == 1 && s.EnergyWh < 5 {
			t.Errorf("energy session delivered %d Wh, want ≥ 5", s.EnergyWh)
		}
	}

	// Unpairing: the right MAC only.
	if res := e.do(t, g.ID(), command.Command{Kind: command.Unpair, Params: map[string]string{"socket": "4", "mac": g.MACs()[0]}}); res.Status != command.ResultRejected {
		t.Fatalf("unpair with another socket's mac: %+v", res)
	}
	if res := e.do(t, g.ID(), command.Command{Kind: command.Unpair, Params: map[string]string{"socket": "4", "mac": g.MACs()[3]}}); res.Status != command.ResultAccepted || g.Paired() != 3 {
		t.Fatalf("unpair: %+v, paired %d", res, g.Paired())
	}
}

func TestBKVGatewayCardSessions(t *testing.T) {
	e := mustStartEdge(t, control.AuthConfig{UnknownCards: control.UnknownReject, Cards: []control.Card{{ID: "0000000000a1", BalanceFen: 1000}}})
	g := runGateway(t, BKVGatewayConfig{
		Addr: e.addr, IDBase: 11, Sockets: 2, Minute: 2 * time.Millisecond, CardEvery: 20 * time.Millisecond,
		Cards: []string{"0000000000a1", "0000000000b2"}, UnplugChance: 0.02,
	})
	waitFor(t, "gateway attached", func() bool { _, ok := e.registry.Protocol(g.ID()); return ok })
	pairAll(t, e, g)
	waitFor(t, "three card sessions ended", func() bool { return len(g.Ended()) >= 3 })
	evs := e.events(t)
	refused := 0
	for _, ev := range evs {
		if cp := ev.GetCardPresented(); cp != nil && cp.GetCardId() == "0000000000b2" {
			if cp.GetAccepted() {
				t.Fatalf("unknown card accepted: %v", ev)
			}
			refused++
		}
	}
	if refused == 0 {
		t.Error("the unknown card was never refused")
	}
	for _, s := range g.Ended() {
		if s.Card != "0000000000a1" {
			t.Fatalf("session for card %q, want only the listed card to charge", s.Card)
		}
		conn := uint32(s.Socket)*2 + uint32(s.Port) - 1
		se := endedOn(evs, conn, strconv.Itoa(int(s.BusinessNo)))
		if se == nil {
			t.Fatalf("no SessionEnded for %+v", s)
		}
		if se.GetCardId() != s.Card || se.GetEnergyMwh() != int64(s.EnergyWh)*1000 || se.GetDurationS() != int64(s.Minutes)*60 {
			t.Errorf("stored %v, device delivered %+v", se, s)
		}
		if s.Minutes > 240 {
			t.Errorf("card session ran %d minutes, beyond the 240-minute order", s.Minutes)
		}
	}
}

// TestBKVGatewayRepeatsUnacknowledgedEnd plays the platform by hand: the
// gateway repeats an end report nobody acknowledged, sends it again after
// reconnecting, and stops once it is acknowledged (§2, §4).
func TestBKVGatewayRepeatsUnacknowledgedEnd(t *testing.T) {
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	g := runGateway(t, BKVGatewayConfig{Addr: ln.Addr().String(), IDBase: 3, Sockets: 1, Minute: 5 * time.Millisecond, Retransmit: 30 * time.Millisecond})
	id, err := bkv.ParseGatewayID(g.ID())
	if err != nil {
		t.Fatal(err)
	}
	accept := func() (net.Conn, *bkvReader) {
		t.Helper()
		_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		t.Cleanup(func() { _ = c.Close() })
		return c, &bkvReader{t: t, c: c}
	}
	send := func(c net.Conn, msgID uint32, body bkv.Message, command uint16) {
		t.Helper()
		b, err := bkv.Append(nil, &bkv.Frame{Direction: bkv.Down, Command: command, MsgID: msgID, GatewayID: id, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	c, r := accept()
	if _, ok := r.next().Body.(*bkv.Heartbeat); !ok {
		t.Fatal("first frame is not a heartbeat")
	}
	var mac bkv.MAC
	if _, err := hex.Decode(mac[:], []byte(g.MACs()[0])); err != nil {
		t.Fatal(err)
	}
	send(c, 1, &bkv.AddNode{Socket: 1, MAC: mac}, bkv.CommandNetwork)
	r.until(func(f *bkv.Frame) bool {
		res, ok := f.Body.(*bkv.AddNodeResult)
		return ok && res.Result == bkv.ResultOK && f.MsgID == 1
	})
	send(c, 2, &bkv.Control{Socket: 1, Port: 1, Switch: bkv.SwitchOn, Mode: bkv.ControlByTime, Minutes: 2}, bkv.CommandCharge)
	r.until(func(f *bkv.Frame) bool {
		res, ok := f.Body.(*bkv.ControlResult)
		return ok && res.Result == bkv.ResultOK && f.MsgID == 2
	})
	isEnd := func(f *bkv.Frame) bool { e, ok := f.Body.(*bkv.ChargeEnd); return ok && e.Minutes == 2 && e.Port == 1 }
	r.until(isEnd)
	r.until(isEnd) // repeated, unacknowledged

	// Reconnect: heartbeat, then the end report at once.
	_ = c.Close()
	c, r = accept()
	if _, ok := r.next().Body.(*bkv.Heartbeat); !ok {
		t.Fatal("first frame after reconnecting is not a heartbeat")
	}
	if f := r.next(); !isEnd(f) {
		t.Fatalf("second frame after reconnecting %T, want the unacknowledged end report", f.Body)
	}
	send(c, 0, &bkv.CardEndReply{Socket: 1, Result: bkv.ResultOK}, bkv.CommandCharge)
	waitFor(t, "the end acknowledged", func() bool { return len(g.Ended()) == 1 })
	if s := g.Ended()[0]; s.Minutes != 2 || s.Socket != 1 || s.Port != 1 || s.Status != 0xB0 {
		t.Fatalf("ended %+v", s)
	}
}

// bkvReader reads whole frames from the gateway.
type bkvReader struct {
	t *testing.T
	c net.Conn
}

func (r *bkvReader) next() *bkv.Frame {
	r.t.Helper()
	head := make([]byte, 4)
	if _, err := io.ReadFull(r.c, head); err != nil {
		r.t.Fatalf("read: %v", err)
	}
	rest := make([]byte, int(head[2])<<8|int(head[3]))
	if _, err := io.ReadFull(r.c, rest); err != nil {
		r.t.Fatalf("read: %v", err)
	}
	f, err := bkv.Decode(append(head, rest...))
	if err != nil {
		r.t.Fatalf("decode: %v", err)
	}
	return f
}

// until reads frames until one satisfies ok.
func (r *bkvReader) until(ok func(*bkv.Frame) bool) *bkv.Frame {
	r.t.Helper()
	for {
		if f := r.next(); ok(f) {
			return f
		}
	}
}

func TestFleetRunsBKVGateways(t *testing.T) {
	e := mustStartEdge(t, control.DefaultAuthConfig())
	fleet, err := New(Config{
		Protocol: "bkv", Chargers: 3, Addr: e.addr, IDBase: 500, Heartbeat: time.Hour, ReplyTimeout: 5 * time.Second,
		BKV: BKVOptions{Sessions: true, Sockets: 2, Minute: 5 * time.Millisecond},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Summary, 1)
	go func() { done <- fleet.Run(ctx) }()
	defer func() {
		cancel()
		if s := <-done; s.Connected != 0 {
			t.Errorf("summary after stop %s, want no connections", s)
		}
	}()
	waitFor(t, "3 gateways attached", func() bool { return len(e.registry.Connected()) == 3 && fleet.Connected() == 3 })

	// The same id gives the same MACs: pair charger 1's first socket and charge.
	twin, err := NewBKVGateway(BKVGatewayConfig{Addr: e.addr, IDBase: 500, Index: 1}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	id := fleet.ChargerID(1)
	if twin.ID() != id {
		t.Fatalf("gateway id %s, fleet says %s", twin.ID(), id)
	}
	if res := e.do(t, id, command.Command{Kind: command.Pair, Params: map[string]string{"socket": "1", "mac": twin.MACs()[0]}}); res.Status != command.ResultAccepted {
		t.Fatalf("pair: %+v", res)
	}
	start := e.do(t, id, command.Command{Kind: command.Start, Connector: 2, Limit: &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_DurationS{DurationS: 120}}})
	if start.Status != command.ResultAccepted {
		t.Fatalf("start: %+v", start)
	}
	waitFor(t, "the session's end stored", func() bool {
		for _, ev := range e.events(t) {
			if se := ev.GetSessionEnded(); se != nil && ev.GetChargerId() == id && se.GetSessionRef() == start.SessionRef {
				return se.GetDurationS() == 120
			}
		}
		return false
	})
}

// TestBKVGatewayReplyAcksOldestReportOfSocket: the 0x02 reply names only
// the socket, so it answers the oldest end report sent for that socket. A
// reply to a repeat of port A's report must not count as the ack of port
// B's report, which the edge may not have stored yet (§4).
func TestBKVGatewayReplyAcksOldestReportOfSocket(t *testing.T) {
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	g, err := NewBKVGateway(BKVGatewayConfig{Addr: ln.Addr().String(), IDBase: 4, Sockets: 1, Paired: true,
		Minute: 5 * time.Millisecond, Retransmit: 30 * time.Millisecond}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var heard []BKVSession
	var heardMu sync.Mutex
	g.onAcked = func(s BKVSession) { heardMu.Lock(); heard = append(heard, s); heardMu.Unlock() }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	id, _ := bkv.ParseGatewayID(g.ID())
	_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := &bkvReader{t: t, c: c}
	send := func(msgID uint32, body bkv.Message) {
		t.Helper()
		b, err := bkv.Append(nil, &bkv.Frame{Direction: bkv.Down, Command: bkv.CommandCharge, MsgID: msgID, GatewayID: id, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	// The platform owes one reply per end report read (the real edge
	// answers every one, in order).
	owed := 0
	endOf := func(f *bkv.Frame) (uint8, bool) {
		e, ok := f.Body.(*bkv.ChargeEnd)
		if !ok {
			return 0, false
		}
		owed++
		return e.Port, true
	}
	reply := func() {
		t.Helper()
		send(0, &bkv.CardEndReply{Socket: 1, Result: bkv.ResultOK})
		owed--
	}
	// The gateway handles frames in order: once it answers a status query,
	// it has taken every reply sent before.
	queryID := uint32(100)
	synced := func() {
		t.Helper()
		queryID++
		send(queryID, &bkv.StatusQuery{Socket: 1})
		r.until(func(f *bkv.Frame) bool {
			endOf(f) // repeats keep coming and are owed replies too
			_, ok := f.Body.(*bkv.StatusQueryReply)
			return ok && f.MsgID == queryID
		})
	}
	// Port A charges one minute; its end report goes unanswered and is
	// repeated; then port B charges and ends.
	send(1, &bkv.Control{Socket: 1, Port: 0, Switch: bkv.SwitchOn, Mode: bkv.ControlByTime, Minutes: 1})
	for n := 0; n < 2; {
		if p, ok := endOf(r.next()); ok && p == 0 {
			n++
		}
	}
	send(2, &bkv.Control{Socket: 1, Port: 1, Switch: bkv.SwitchOn, Mode: bkv.ControlByTime, Minutes: 1})
	r.until(func(f *bkv.Frame) bool { p, ok := endOf(f); return ok && p == 1 })

	// Two replies: the first acknowledges A, the second answers A's repeat.
	reply()
	reply()
	synced()
	if e := g.Ended(); len(e) != 1 || e[0].Port != 0 {
		t.Fatalf("after two replies to port A's reports, acknowledged %+v; want only port A", e)
	}

	// Answer everything from here on: B is acknowledged, A never twice.
	for len(g.Ended()) < 2 {
		for owed > 0 {
			reply()
		}
		synced()
	}
	e := g.Ended()
	if len(e) != 2 || e[1].Port != 1 || e[0].BusinessNo == e[1].BusinessNo {
		t.Fatalf("acknowledged %+v, want A then B", e)
	}
	heardMu.Lock()
	defer heardMu.Unlock()
	if len(heard) != 2 || heard[0].StartedAt.IsZero() || heard[1].EndedAt.Before(heard[1].StartedAt) {
		t.Fatalf("onAcked heard %+v, want A and B once each with their times", heard)
	}
}

// TestBKVGatewaySwipeGivenUpOnReconnect: a swipe whose card order never
// came (the edge died) does not block its port forever: after reconnecting
// the gateway swipes again.
func TestBKVGatewaySwipeGivenUpOnReconnect(t *testing.T) {
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	runGateway(t, BKVGatewayConfig{Addr: ln.Addr().String(), IDBase: 5, Sockets: 1, Paired: true, CardEvery: 5 * time.Millisecond})
	accept := func() *bkvReader {
		t.Helper()
		_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		t.Cleanup(func() { _ = c.Close() })
		return &bkvReader{t: t, c: c}
	}
	r := accept()
	// Never answered: both ports end up waiting for an order.
	ports := map[uint8]bool{}
	for len(ports) < 2 {
		if s, ok := r.next().Body.(*bkv.CardSwipe); ok {
			ports[s.Port] = true
		}
	}
	_ = r.c.Close()
	r = accept()
	r.until(func(f *bkv.Frame) bool { _, ok := f.Body.(*bkv.CardSwipe); return ok })
}

// TestFleetLogsAcknowledgedSessions: a fleet of pre-paired gateways charges
// by card against the real adapter; every session it reports through
// OnSession (here into a SessionLog) was stored by the edge with the same
// charger, connector, ref, card and energy, and none is reported twice.
func TestFleetLogsAcknowledgedSessions(t *testing.T) {
	e := mustStartEdge(t, control.AuthConfig{UnknownCards: control.UnknownReject, Cards: []control.Card{
		{ID: "0000000000c1", BalanceFen: 100000}, {ID: "0000000000c2", BalanceFen: 100000},
	}})
	var buf bytes.Buffer
	log := NewSessionLog(&buf)
	fleet, err := New(Config{
		Protocol: "bkv", Chargers: 2, Addr: e.addr, IDBase: 900, Heartbeat: time.Second, ReplyTimeout: 5 * time.Second,
		BKV: BKVOptions{Sessions: true, Paired: true, Sockets: 2, Minute: 2 * time.Millisecond, CardEvery: 10 * time.Millisecond,
			Cards: []string{"0000000000c1", "0000000000c2"}, UnplugChance: 0.05, StatusEvery: 20 * time.Millisecond},
		OnSession: log.Record,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Summary, 1)
	go func() { done <- fleet.Run(ctx) }()
	waitFor(t, "12 sessions logged", func() bool { return log.Count() >= 12 })
	cancel()
	<-done
	if log.Err() != nil {
		t.Fatal(log.Err())
	}
	got, err := ReadSessionLog(&buf)
	if err != nil {
		t.Fatal(err)
	}
	evs := e.events(t)
	seen := map[string]bool{}
	for _, s := range got {
		key := fmt.Sprintf("%s/%d/%s", s.ChargerID, s.Connector, s.SessionRef)
		if seen[key] {
			t.Fatalf("session %s logged twice", key)
		}
		seen[key] = true
		if s.ChargerID != fleet.ChargerID(0) && s.ChargerID != fleet.ChargerID(1) {
			t.Fatalf("session of charger %s, not in the fleet", s.ChargerID)
		}
		if s.StartedAt.IsZero() || s.EndedAt.Before(s.StartedAt) {
			t.Errorf("session %s times %s..%s", key, s.StartedAt, s.EndedAt)
		}
		var se *chargeplanev1.SessionEnded
		for _, ev := range evs {
			if x := ev.GetSessionEnded(); x != nil && ev.GetChargerId() == s.ChargerID && ev.GetConnector() == s.Connector && x.GetSessionRef() == s.SessionRef {
				se = x
			}
		}
		if se == nil {
			t.Fatalf("logged session %s has no stored SessionEnded", key)
		}
		if se.GetEnergyMwh() != s.EnergyMWh || se.GetCardId() != s.CardID || s.CardID == "" {
			t.Errorf("session %s: stored energy %d card %q, logged %d %q", key, se.GetEnergyMwh(), se.GetCardId(), s.EnergyMWh, s.CardID)
		}
	}
}
