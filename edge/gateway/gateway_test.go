package gateway

import (
	"bufio"
	"bytes"
	"context"
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
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// echoProtocol claims connections starting with "EC" and echoes lines back;
// a line "panic" panics, to prove one session cannot take others down.
func echoProtocol() Protocol {
	return Protocol{
		Name: "echo",
		Sniff: func(p []byte) (bool, bool) {
			if len(p) < 2 {
				return false, bytes.HasPrefix([]byte("EC"), p)
			}
			return bytes.HasPrefix(p, []byte("EC")), false
		},
		Serve: func(ctx context.Context, c *Conn) error {
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return err //nolint:wrapcheck // test protocol
				}
				if strings.TrimSpace(line) == "panic" {
					panic("asked to")
				}
				if err := c.Write([]byte(line)); err != nil {
					return err
				}
				if ctx.Err() != nil {
					return nil
				}
			}
		},
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type harness struct {
	gw   *Gateway
	addr string
	reg  *prometheus.Registry
	logs *syncBuffer
	stop func()
}

func start(t *testing.T, mutate func(*Config)) *harness {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.SniffTimeout = 2 * time.Second
	cfg.ShutdownTimeout = time.Second
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	gw := New(cfg, []Protocol{echoProtocol()}, slog.New(slog.NewTextHandler(logs, nil)), reg)
	addr, err := gw.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return &harness{gw: gw, addr: addr.String(), reg: reg, logs: logs, stop: stop}
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	return c
}

func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader, line string) {
	t.Helper()
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		t.Fatal(err)
	}
	got, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read echo of %q: %v", line, err)
	}
	if strings.TrimSpace(got) != line {
		t.Fatalf("echo = %q, want %q", got, line)
	}
}

// closedByPeer: the gateway closed the connection (a reset when our unread
// bytes were still in its buffer).
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSniffHandsPrefixToProtocol(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.addr)
	// The sniffed bytes ("EC") must be replayed to the session.
	if _, err := io.WriteString(c, "E"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	if _, err := io.WriteString(c, "CHO hello\n"); err != nil {
		t.Fatal(err)
	}
	got, err := r.ReadString('\n')
	if err != nil || got != "ECHO hello\n" {
		t.Fatalf("got %q, %v; want the whole first line echoed", got, err)
	}
}

func TestGarbageClosesOnlyThatConnection(t *testing.T) {
	h := start(t, nil)
	good := dial(t, h.addr)
	gr := bufio.NewReader(good)
	roundTrip(t, good, gr, "EC one")

	bad := dial(t, h.addr)
	if _, err := bad.Write(bytes.Repeat([]byte{0x00, 0xff}, 40)); err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Read(make([]byte, 1)); !closedByPeer(err) {
		t.Fatalf("garbage connection: read err = %v, want closed by the gateway", err)
	}
	roundTrip(t, good, gr, "EC two")
	if got := testutil.ToFloat64(h.gw.metrics.rejected.WithLabelValues("unknown_protocol")); got != 1 {
		t.Fatalf("rejected{unknown_protocol} = %v, want 1", got)
	}
	waitFor(t, "log line", func() bool { return strings.Contains(h.logs.String(), "reason=unknown_protocol") })
}

func TestPanicIsolated(t *testing.T) {
	h := start(t, nil)
	good := dial(t, h.addr)
	gr := bufio.NewReader(good)
	roundTrip(t, good, gr, "EC a")
	bad := dial(t, h.addr)
	if _, err := io.WriteString(bad, "EC x\npanic\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(bad)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	if _, err := br.ReadString('\n'); !errors.Is(err, io.EOF) {
		t.Fatalf("panicking session: err = %v, want EOF", err)
	}
	roundTrip(t, good, gr, "EC b")
	waitFor(t, "panic logged", func() bool { return strings.Contains(h.logs.String(), "reason=panic") })
}

func TestMaxConns(t *testing.T) {
	h := start(t, func(c *Config) { c.MaxConns = 2 })
	for i := range 2 {
		c := dial(t, h.addr)
		roundTrip(t, c, bufio.NewReader(c), "EC "+string(rune('a'+i)))
	}
	third := dial(t, h.addr)
	if _, err := third.Read(make([]byte, 1)); !closedByPeer(err) {
		t.Fatalf("third connection: err = %v, want EOF", err)
	}
	if got := testutil.ToFloat64(h.gw.metrics.rejected.WithLabelValues("max_conns")); got != 1 {
		t.Fatalf("rejected{max_conns} = %v", got)
	}
}

func TestIdleTimeout(t *testing.T) {
	h := start(t, func(c *Config) { c.IdleTimeout = 200 * time.Millisecond })
	c := dial(t, h.addr)
	roundTrip(t, c, bufio.NewReader(c), "EC hi")
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: err = %v, want EOF", err)
	}
	waitFor(t, "idle close counted", func() bool {
		return testutil.ToFloat64(h.gw.metrics.closed.WithLabelValues("echo", "idle_timeout")) == 1
	})
}

func TestShutdownClosesSessions(t *testing.T) {
	h := start(t, nil)
	c := dial(t, h.addr)
	roundTrip(t, c, bufio.NewReader(c), "EC hi")
	h.stop()
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("after shutdown: err = %v, want EOF", err)
	}
	if n := h.gw.OpenConns(); n != 0 {
		t.Fatalf("open conns after shutdown = %d", n)
	}
	if _, err := net.DialTimeout("tcp", h.addr, time.Second); err == nil {
		t.Fatal("listener still accepting after shutdown")
	}
}

func TestValidateNamesEveryKey(t *testing.T) {
	err := Config{}.Validate()
	for _, key := range []string{"gateway.addr", "gateway.max_conns", "gateway.sniff_bytes", "gateway.idle_timeout", "gateway.write_timeout"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Validate() = %v, want it to name %s", err, key)
		}
	}
}
