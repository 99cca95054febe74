package adapter

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chargeplane/chargeplane/edge/framelog"
	"github.com/chargeplane/chargeplane/edge/gateway"
	"github.com/chargeplane/chargeplane/edge/store"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/protocol/bkv"
)

// Frames from shared/protocols/vectors/bkv.json.
const (
	// bkv-heartbeat-up-1: gateway 82200520004869, ICCID 89860463112070319417, firmware cV.1r46, signal 31.
	hbUp = "fcfe002e0000000000000182200520004869383938363034363331313230373033313934313763562e31723436001fcafcee"
	// bkv-heartbeat-down-1: the reply with time 2020-07-30 16:45:45.
	hbDown = "fcff0018000000000000008220052000486920200730164545a7fcee"
	// bkv-bad-checksum-1: hbUp with a wrong checksum.
	hbBadSum = "fcfe002e0000000000000182200520004869383938363034363331313230373033313934313763562e31723436001fcbfcee"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type bkvHarness struct {
	addr   string
	store  *store.Store
	logs   *logBuffer
	frames *framelog.Log
}

// startBKV runs a BKV gateway on a fresh store; opts change its Deps.
func startBKV(t *testing.T, opts ...func(*Deps)) *bkvHarness {
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
	// 2020-07-30 16:45:45 in Shanghai: the instant of the vector's reply.
	now := func() time.Time { return time.Date(2020, 7, 30, 8, 45, 45, 0, time.UTC) }
	reg := prometheus.NewRegistry()
	frames := framelog.New(framelog.DefaultConfig())
	deps := Deps{Store: st, Now: now, Location: shanghai, Logger: logger, Registerer: reg, MaxGarbage: 512, FrameLog: frames}
	for _, o := range opts {
		o(&deps)
	}
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
	return &bkvHarness{addr: addr.String(), store: st, logs: logs, frames: frames}
}

func (h *bkvHarness) dial(t *testing.T) net.Conn {
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

func (h *bkvHarness) events(t *testing.T) []*chargeplanev1.Event {
	t.Helper()
	evs, err := h.store.Pending(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func readFrame(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read reply: %v", err)
	}
	return b
}

func TestBKVHeartbeatStoredThenAnswered(t *testing.T) {
	h := startBKV(t)
	c := h.dial(t)
	frame := unhex(t, hbUp)
	// The frame broken across two writes: the adapter must reassemble it.
	if _, err := c.Write(frame[:10]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(frame[10:]); err != nil {
		t.Fatal(err)
	}
	want := unhex(t, hbDown)
	got := readFrame(t, c, len(want))
	if !bytes.Equal(got, want) {
		t.Fatalf("reply\n got %x\nwant %x", got, want)
	}
	// The reply came after the store: the events are there now.
	evs := h.events(t)
	if len(evs) != 2 {
		t.Fatalf("stored %d events, want connected + heartbeat: %v", len(evs), evs)
	}
	if evs[0].GetChargerConnected() == nil || evs[0].GetChargerId() != "82200520004869" || evs[0].GetProtocol() != "bkv" {
		t.Errorf("first event = %v, want ChargerConnected for 82200520004869", evs[0])
	}
	hb := evs[1].GetHeartbeat()
	if hb.GetIccid() != "89860463112070319417" || hb.GetFirmware() != "cV.1r46" || hb.GetSignal() != 31 {
		t.Errorf("heartbeat event = %v", hb)
	}
	if evs[0].GetSeq() != 1 || evs[1].GetSeq() != 2 || evs[1].GetEdgeId() != "edge-a" {
		t.Errorf("seqs/edge = %d,%d,%q", evs[0].GetSeq(), evs[1].GetSeq(), evs[1].GetEdgeId())
	}
	// Both directions are in the charger's raw frame log. (The test clock
	// stands still, so their order is not asserted.)
	// They are logged just after the write, so wait for them.
	var logged []framelog.Entry
	deadline := time.Now().Add(5 * time.Second)
	for {
		logged = h.frames.Frames("82200520004869")
		if len(logged) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	var up, down int
	for _, e := range logged {
		switch {
		case e.Direction == framelog.Up && bytes.Equal(e.Frame, frame):
			up++
		case e.Direction == framelog.Down && bytes.Equal(e.Frame, want):
			down++
		}
	}
	if len(logged) != 2 || up != 1 || down != 1 {
		t.Errorf("frame log = %+v, want the heartbeat up and its reply down", logged)
	}

	// Garbage, then two frames in one write: resync, and both answered.
	if _, err := c.Write(append(append([]byte{0x00, 0xfc, 0x13, 0xfc}, frame...), frame...)); err != nil {
		t.Fatal(err)
	}
	readFrame(t, c, 2*len(want))
	if n := len(h.events(t)); n != 4 {
		t.Fatalf("after two more heartbeats: %d events, want 4", n)
	}
}

func TestBKVBadChecksumDropsOnlyThatFrame(t *testing.T) {
	h := startBKV(t)
	c := h.dial(t)
	if _, err := c.Write(append(unhex(t, hbBadSum), unhex(t, hbUp)...)); err != nil {
		t.Fatal(err)
	}
	want := unhex(t, hbDown)
	if got := readFrame(t, c, len(want)); !bytes.Equal(got, want) {
		t.Fatalf("reply %x, want %x", got, want)
	}
	if n := len(h.events(t)); n != 2 {
		t.Fatalf("%d events stored; the bad frame must store nothing", n)
	}
}

func TestBKVGarbageClosesOnlyThatConnection(t *testing.T) {
	h := startBKV(t)
	good := h.dial(t)
	if _, err := good.Write(unhex(t, hbUp)); err != nil {
		t.Fatal(err)
	}
	want := unhex(t, hbDown)
	readFrame(t, good, len(want))

	// Another gateway id, then a stream of bytes that never forms a frame.
	other := bytes.Replace(unhex(t, hbUp), unhex(t, "82200520004869"), unhex(t, "82200520009999"), 1)
	f, err := bkv.Decode(fixChecksum(other))
	if err != nil {
		t.Fatal(err)
	}
	otherFrame, err := bkv.Append(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	bad := h.dial(t)
	if _, err := bad.Write(otherFrame); err != nil {
		t.Fatal(err)
	}
	readFrame(t, bad, len(want))
	if _, err := bad.Write(bytes.Repeat([]byte{0xfc, 0x00, 0x12}, 400)); err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("garbage connection read err = %v, want closed", err)
	}
	// The other connection still works.
	if _, err := good.Write(unhex(t, hbUp)); err != nil {
		t.Fatal(err)
	}
	if got := readFrame(t, good, len(want)); !bytes.Equal(got, want) {
		t.Fatalf("good connection reply %x", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(h.logs.String(), "reason=protocol_error") {
		if time.Now().After(deadline) {
			t.Fatalf("no protocol_error close logged:\n%s", h.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var disc *chargeplanev1.Event
	for _, e := range h.events(t) {
		if e.GetChargerDisconnected() != nil {
			disc = e
		}
	}
	if disc == nil || disc.GetChargerId() != "82200520009999" || disc.GetChargerDisconnected().GetReason() != "protocol_error" {
		t.Fatalf("disconnect event = %v, want protocol_error for 82200520009999", disc)
	}
}

// fixChecksum recomputes a BKV frame's checksum after a test edited it.
func fixChecksum(f []byte) []byte {
	var sum byte
	for _, b := range f[2 : len(f)-3] {
		sum += b
	}
	f[len(f)-3] = sum
	return f
}
