package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// startProtocols runs a gateway serving protos; gw may adjust it before Run.
func startProtocols(t *testing.T, protos []Protocol, mutate func(*Config), gw func(*Gateway)) *harness {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.SniffTimeout = 2 * time.Second
	cfg.ShutdownTimeout = 5 * time.Second
	if mutate != nil {
		mutate(&cfg)
	}
	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	g := New(cfg, protos, slog.New(slog.NewTextHandler(logs, nil)), reg)
	if gw != nil {
		gw(g)
	}
	addr, err := g.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
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
	return &harness{gw: g, addr: addr.String(), reg: reg, logs: logs, stop: stop}
}

// prefixSniff claims connections whose first bytes are p.
func prefixSniff(p string) func([]byte) (bool, bool) {
	return func(b []byte) (bool, bool) {
		if len(b) < len(p) {
			return false, bytes.HasPrefix([]byte(p), b)
		}
		return bytes.HasPrefix(b, []byte(p)), false
	}
}

// heldBuffers records which connection holds each pooled buffer (by the
// address of its first byte) and fails the test if a buffer is handed to a
// connection while another one holds it.
type heldBuffers struct {
	t        *testing.T
	mu       sync.Mutex
	owner    map[*byte]int
	distinct map[*byte]bool
	reads    int
}

func (h *heldBuffers) take(conn int, buf []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := unsafe.SliceData(buf)
	if other, ok := h.owner[p]; ok {
		h.t.Errorf("buffer %p handed to connection %d while connection %d holds it", p, conn, other)
	}
	h.owner[p] = conn
	h.distinct[p] = true
	h.reads++
}

func (h *heldBuffers) give(buf []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.owner, unsafe.SliceData(buf))
}

// tagProtocol: a client sends "TG", one tag byte naming it, then chunks of
// that tag byte; the session reads with ReadPooled, checks the bytes are
// all its own (in the handler, on a handler goroutine, and again after the
// reply), echoes them and releases the buffer.
func tagProtocol(held *heldBuffers) Protocol {
	return Protocol{
		Name:  "tag",
		Sniff: prefixSniff("TG"),
		Serve: func(ctx context.Context, c *Conn) error {
			tag := -1
			for ctx.Err() == nil {
				buf, n, err := c.ReadPooled()
				if err != nil {
					return err //nolint:wrapcheck // test protocol
				}
				if len(buf) != ReadBufferSize {
					return fmt.Errorf("buffer of %d bytes, want %d", len(buf), ReadBufferSize)
				}
				data := buf[:n]
				if tag < 0 { // the prefix comes first, then the tag byte
					data = bytes.TrimPrefix(data, []byte("TG"))
					if len(data) == 0 {
						c.Release(buf)
						continue
					}
					tag = int(data[0])
				}
				held.take(tag, buf)
				want := bytes.Repeat([]byte{byte(tag)}, len(data))
				if !bytes.Equal(data, want) {
					return fmt.Errorf("connection %d read bytes of another connection: %x", tag, data)
				}
				err = c.Handle(data, func(frame []byte) error {
					runtime.Gosched() // let other connections read meanwhile
					if !bytes.Equal(frame, want) {
						return fmt.Errorf("connection %d: buffer changed before its handler ran", tag)
					}
					return c.Write(frame)
				})
				if err != nil {
					return err
				}
				if !bytes.Equal(data, want) {
					return fmt.Errorf("connection %d: buffer changed while held", tag)
				}
				held.give(buf)
				c.Release(buf)
			}
			return nil
		},
	}
}

// TestPooledBufferNeverSharedByTwoConnections: many connections reading
// and handling at once, each buffer in use by at most one of them, its
// bytes never overwritten while held (run with -race: a buffer handed out
// while still in use is also a data race).
func TestPooledBufferNeverSharedByTwoConnections(t *testing.T) {
	held := &heldBuffers{t: t, owner: map[*byte]int{}, distinct: map[*byte]bool{}}
	h := startProtocols(t, []Protocol{tagProtocol(held)}, nil, nil)
	const conns, rounds = 40, 100
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		nc := dial(t, h.addr)
		_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
		wg.Add(1)
		go func() {
			defer wg.Done()
			tag := byte(0x10 + i)
			if _, err := nc.Write([]byte{'T', 'G', tag}); err != nil {
				errs <- err
				return
			}
			if _, err := io.ReadFull(nc, make([]byte, 1)); err != nil {
				errs <- fmt.Errorf("connection %d: echo of its tag: %w", i, err)
				return
			}
			for r := range rounds {
				chunk := bytes.Repeat([]byte{tag}, 1+(r*37+i)%200)
				if _, err := nc.Write(chunk); err != nil {
					errs <- err
					return
				}
				got := make([]byte, len(chunk))
				if _, err := io.ReadFull(nc, got); err != nil {
					errs <- fmt.Errorf("connection %d round %d: %w", i, r, err)
					return
				}
				if !bytes.Equal(got, chunk) {
					errs <- fmt.Errorf("connection %d round %d: echo %x, want its own tag", i, r, got)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	held.mu.Lock()
	defer held.mu.Unlock()
	if held.reads < conns*rounds {
		t.Fatalf("%d pooled reads, want at least %d", held.reads, conns*rounds)
	}
	// Reuse: far fewer buffers than reads (the race detector's sync.Pool
	// drops a quarter of what is put back, so not as few as connections).
	if len(held.distinct) > held.reads/2 {
		t.Fatalf("%d distinct buffers for %d reads: the pool is not reusing them", len(held.distinct), held.reads)
	}
}

// parkedInRead counts goroutines blocked in ReadPooled waiting for bytes.
func parkedInRead() int {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "[IO wait") && strings.Contains(g, "(*Conn).ReadPooled") {
			n++
		}
	}
	return n
}

// deepProtocol handles each one-byte frame with a handler that uses ~128 KiB
// of stack, as a deep decode/store/reply path does, and answers it.
func deepProtocol() Protocol {
	return Protocol{
		Name:  "deep",
		Sniff: prefixSniff("DP"),
		Serve: func(ctx context.Context, c *Conn) error {
			for ctx.Err() == nil {
				buf, n, err := c.ReadPooled()
				if err != nil {
					return err //nolint:wrapcheck // test protocol
				}
				err = c.Handle(buf[:n], func(frame []byte) error {
					if recurse(128) != 128 {
						return errors.New("recursion miscounted")
					}
					return c.Write(frame[len(frame)-1:])
				})
				c.Release(buf)
				if err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// recurse uses about 1 KiB of stack per level.
//
//go:noinline
func recurse(depth int) int {
	var pad [1024]byte
	pad[depth%len(pad)] = byte(depth)
	if depth == 0 {
		return int(pad[0])
	}
	return recurse(depth-1) + 1 + int(pad[depth%len(pad)]) - depth%256
}

// TestSilentConnectionsHoldNoBufferAndSmallStacks: after a frame whose
// handling needs a deep stack, a connection waiting for its next frame
// holds no read buffer, and its goroutine did not keep a grown stack (the
// handler ran on a shared handler goroutine, which exits when idle).
func TestSilentConnectionsHoldNoBufferAndSmallStacks(t *testing.T) {
	h := startProtocols(t, []Protocol{deepProtocol()}, nil, func(g *Gateway) { g.handlers.idle = 50 * time.Millisecond })
	const conns = 200
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for range conns {
		nc := dial(t, h.addr)
		if _, err := nc.Write([]byte("DPx")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(nc, make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "all sessions parked in ReadPooled", func() bool { return parkedInRead() == conns })
	if got := testutil.ToFloat64(h.gw.metrics.buffers); got != 0 {
		t.Fatalf("%v read buffers held by %d silent connections, want 0", got, conns)
	}
	waitFor(t, "idle handler goroutines to exit", func() bool { return testutil.ToFloat64(h.gw.metrics.handlers) == 0 })
	// GC frees the exited handlers' large stacks and halves stacks that are
	// mostly unused; two cycles undo a large starting stack size (the
	// runtime adapts it to the stacks it scans, handlers' included), not a
	// 256 KiB stack.
	for range 2 {
		runtime.GC()
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	perConn := (int64(after.StackInuse) - int64(before.StackInuse)) / conns
	// Had the handler run on the connection's goroutine, its stack would be
	// 256 KiB, 64 KiB after two halvings. Parked in a read, a connection's
	// goroutine needs 2 or 4 KiB.
	if perConn > 6<<10 {
		t.Fatalf("stack in use grew %d bytes per silent connection, want ≤ 6 KiB", perConn)
	}
	t.Logf("stack per silent connection: %d bytes", perConn)
}

// TestHandlerPanicReachesSession: a panic in a handler is raised in the
// session, which the gateway recovers, closing just that connection; the
// handler goroutines keep serving the others.
func TestHandlerPanicReachesSession(t *testing.T) {
	p := Protocol{
		Name:  "boom",
		Sniff: prefixSniff("BM"),
		Serve: func(ctx context.Context, c *Conn) error {
			for ctx.Err() == nil {
				buf, n, err := c.ReadPooled()
				if err != nil {
					return err //nolint:wrapcheck // test protocol
				}
				err = c.Handle(buf[:n], func(frame []byte) error {
					if bytes.Contains(frame, []byte("!")) {
						panic("handler asked to")
					}
					return c.Write(frame)
				})
				c.Release(buf)
				if err != nil {
					return err
				}
			}
			return nil
		},
	}
	h := startProtocols(t, []Protocol{p}, nil, nil)
	good := dial(t, h.addr)
	echo := func(msg string) {
		t.Helper()
		if _, err := io.WriteString(good, msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(good, got); err != nil || string(got) != msg {
			t.Fatalf("echo %q, %v; want %q", got, err, msg)
		}
	}
	echo("BM1")
	bad := dial(t, h.addr)
	if _, err := io.WriteString(bad, "BM!"); err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Read(make([]byte, 1)); !closedByPeer(err) {
		t.Fatalf("panicking session: err = %v, want closed", err)
	}
	echo("2")
	waitFor(t, "panic counted", func() bool {
		return testutil.ToFloat64(h.gw.metrics.closed.WithLabelValues("boom", "panic")) == 1
	})
	if !strings.Contains(h.logs.String(), "handler asked to") {
		t.Fatalf("panic value not in the log:\n%s", h.logs.String())
	}
}

// TestShutdownInterruptsSessionBetweenReads: a session that was busy (not
// in a read) when shutdown began still has its next read return at once,
// rather than after the idle timeout or the shutdown timeout's hard close.
func TestShutdownInterruptsSessionBetweenReads(t *testing.T) {
	busy := make(chan struct{})
	readErr := make(chan error, 1)
	p := Protocol{
		Name:  "busy",
		Sniff: prefixSniff("BZ"),
		Serve: func(ctx context.Context, c *Conn) error {
			buf, _, err := c.ReadPooled()
			if err != nil {
				return err //nolint:wrapcheck // test protocol
			}
			c.Release(buf)
			close(busy)
			<-ctx.Done() // busy with a frame while shutdown begins
			_, _, err = c.ReadPooled()
			readErr <- err
			return nil
		},
	}
	h := startProtocols(t, []Protocol{p}, func(c *Config) {
		c.IdleTimeout = time.Hour
		c.ShutdownTimeout = time.Minute
	}, nil)
	nc := dial(t, h.addr)
	if _, err := nc.Write([]byte("BZ")); err != nil {
		t.Fatal(err)
	}
	<-busy
	h.stop()
	if err := <-readErr; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after shutdown began: %v, want an expired deadline", err)
	}
	if strings.Contains(h.logs.String(), "shutdown timeout") {
		t.Fatal("shutdown needed the hard close")
	}
}

// TestReadPooledWithoutDescriptor: a connection that cannot be polled for
// readability (net.Pipe here; TLS later) still reads through the pool.
func TestReadPooledWithoutDescriptor(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := New(DefaultConfig(), nil, slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	server, client := net.Pipe()
	t.Cleanup(func() { _ = server.Close(); _ = client.Close() })
	c := g.newConn(server)
	if c.raw != nil {
		t.Fatal("net.Pipe has a raw connection?")
	}
	c.prefix = []byte("AB")
	// net.Pipe refuses deadlines once either end is closed: keep it open.
	go func() { _, _ = client.Write([]byte("CDE")) }()
	var got []byte
	for len(got) < 5 {
		buf, n, err := c.ReadPooled()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
		c.Release(buf)
	}
	if string(got) != "ABCDE" {
		t.Fatalf("read %q, want the prefix then the stream", got)
	}
	if v := testutil.ToFloat64(g.metrics.buffers); v != 0 {
		t.Fatalf("%v buffers still held", v)
	}
}

// BenchmarkHandle measures what running a frame's handler on a handler
// goroutine costs over calling it inline: two goroutine switches.
func BenchmarkHandle(b *testing.B) {
	h := newHandlers(time.Minute)
	h.start()
	defer h.stop()
	frame := []byte("frame")
	f := func([]byte) error { return nil }
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := h.do(frame, f); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestHandlersReusedThenTrimmed: frames handled one after another reuse
// the handler goroutines (two at most: the caller may send the next frame
// before the handler that answered is back waiting); concurrent callers
// need at most two each; once idle, all are let go.
func TestHandlersReusedThenTrimmed(t *testing.T) {
	h := newHandlers(20 * time.Millisecond)
	h.start()
	defer h.stop()
	count := 0
	for range 1000 {
		if err := h.do(nil, func([]byte) error { count++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if count != 1000 {
		t.Fatalf("handled %d frames, want 1000", count)
	}
	if n := h.running.Load(); n < 1 || n > 2 {
		t.Fatalf("%d handler goroutines after sequential frames, want 1 or 2", n)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if err := h.do(nil, func([]byte) error { return nil }); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if n := h.running.Load(); n < 1 || n > 16 {
		t.Fatalf("%d handler goroutines for 8 concurrent callers, want 1–16", n)
	}
	waitFor(t, "idle handlers let go", func() bool { return h.running.Load() == 0 })
	// And a new frame still finds (starts) one.
	if err := h.do(nil, func([]byte) error { return errors.New("x") }); err == nil || err.Error() != "x" {
		t.Fatalf("do after trim: %v, want the handler's error", err)
	}
}
