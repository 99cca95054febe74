package gateway

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrProtocol marks a session ended because its byte stream could not be
// resynchronised or broke the protocol's rules. Adapters wrap it.
var ErrProtocol = errors.New("protocol error")

// ErrWrite marks a session ended because a write to the charger failed.
var ErrWrite = errors.New("write to charger failed")

// ErrReplaced marks a session closed because the same charger connected again.
var ErrReplaced = errors.New("replaced by a newer connection")

// ErrRefused marks a session closed because the site config refuses the
// charger (an operator rejected it).
var ErrRefused = errors.New("charger refused: rejected by an operator")

// Conn is one charger connection as the adapters see it: reads return the
// sniffed prefix first, each read waits at most the idle timeout and each
// write at most the write timeout. Writes are serialised, so a command sender
// and the session loop can share a connection.
//
// Memory per connection is what limits how many chargers one gateway box
// serves, so a session loop is expected to read with ReadPooled (no buffer
// held while the charger is silent) and to run each frame's handling through
// Handle (deep decode/store/reply call paths grow a handler goroutine's
// stack, not the connection's).
type Conn struct {
	nc net.Conn
	// raw waits for readability without a buffer; nil when nc has no file
	// descriptor to poll (ReadPooled then holds a buffer while it waits).
	raw syscall.RawConn
	// rr is the state of the ReadPooled in progress; tryRead is its attempt
	// function, bound once so a read allocates nothing.
	rr      rawRead
	tryRead func(fd uintptr) bool
	gw      *Gateway // its config gives the timeouts
	prefix  []byte
	remote  string
	// interrupted is set at shutdown: every later read fails at once, so a
	// session that was between reads when shutdown began still stops.
	interrupted atomic.Bool
	wmu         sync.Mutex

	// Protocol is set once sniffing chose one. ChargerID is set by the
	// adapter once the charger identified itself, for the gateway's logs.
	Protocol  string
	ChargerID string
}

// RemoteAddr returns the charger's address as text.
func (c *Conn) RemoteAddr() string { return c.remote }

// Read reads the sniffed prefix, then from the network with the idle deadline.
func (c *Conn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.consumePrefix(n)
		return n, nil
	}
	if err := c.armReadDeadline(); err != nil {
		return 0, err
	}
	return c.nc.Read(p) //nolint:wrapcheck // io.Reader contract: io.EOF must stay unwrapped
}

// ReadPooled waits for the charger's next bytes and only then takes a
// buffer of ReadBufferSize bytes from the gateway's pool and reads into it,
// so a connection waiting between frames holds no read buffer. It returns
// the buffer and how many bytes it holds, or an error; io.EOF (unwrapped)
// when the charger hung up. The caller owns a returned buffer, even with an
// error, until it passes it to Release, and releases it as soon as it holds
// no unconsumed bytes.
func (c *Conn) ReadPooled() ([]byte, int, error) {
	if len(c.prefix) > 0 {
		buf := c.gw.bufs.get()
		n := copy(buf, c.prefix)
		c.consumePrefix(n)
		return buf, n, nil
	}
	if err := c.armReadDeadline(); err != nil {
		return nil, 0, err
	}
	if c.raw == nil {
		return c.readPlain()
	}
	return c.readWhenReady()
}

// readPlain is ReadPooled for a connection whose readability cannot be
// awaited without reading: it holds a buffer while it waits.
func (c *Conn) readPlain() ([]byte, int, error) {
	buf := c.gw.bufs.get()
	n, err := c.nc.Read(buf)
	if n == 0 {
		c.gw.bufs.put(buf)
		buf = nil
	}
	return buf, n, err //nolint:wrapcheck // io.EOF must stay unwrapped
}

// Release returns a buffer from ReadPooled to the pool. The caller must not
// touch it afterwards: another connection may be reading into it.
func (c *Conn) Release(buf []byte) { c.gw.bufs.put(buf) }

// Handle runs f(frame) on one of the gateway's handler goroutines and
// returns its error, waiting for it. A panic in f is raised again in the
// caller. A session loop handles each frame this way so that the deep call
// paths of decoding, storing and replying grow the stacks of a few handler
// goroutines, which the gateway shares among all connections, instead of
// every connection's goroutine, which is then parked in a read on a small
// stack while its charger is silent.
func (c *Conn) Handle(frame []byte, f func(frame []byte) error) error {
	return c.gw.handlers.do(frame, f)
}

// Write writes one whole frame under the write deadline.
func (c *Conn) Write(frame []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.nc.SetWriteDeadline(time.Now().Add(c.gw.cfg.WriteTimeout)); err != nil {
		return fmt.Errorf("%w: set deadline: %w", ErrWrite, err)
	}
	if _, err := c.nc.Write(frame); err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	return nil
}

// Close closes the connection; a blocked Read returns.
func (c *Conn) Close() error {
	if err := c.nc.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}

// rawRead is the state of one ReadPooled through raw, kept in the Conn: a
// connection parked in a read holds only these few words.
type rawRead struct {
	buf []byte
	n   int
	err error
}

// consumePrefix drops n replayed prefix bytes, letting go of the sniff
// buffer once all are read.
func (c *Conn) consumePrefix(n int) {
	c.prefix = c.prefix[n:]
	if len(c.prefix) == 0 {
		c.prefix = nil
	}
}

// armReadDeadline gives the next read the idle timeout, or an expired
// deadline once the gateway is shutting down.
func (c *Conn) armReadDeadline() error { return c.armReadDeadlineIn(c.gw.cfg.IdleTimeout) }

// armReadDeadlineIn gives the next read d, or an expired deadline once the
// gateway is shutting down.
func (c *Conn) armReadDeadlineIn(d time.Duration) error {
	if err := c.nc.SetReadDeadline(time.Now().Add(d)); err != nil {
		return fmt.Errorf("set read deadline: %w", err)
	}
	// interrupt stores the flag before it sets its deadline: either this
	// load sees the flag, or interrupt's deadline lands after ours.
	if c.interrupted.Load() {
		if err := c.nc.SetReadDeadline(time.Now()); err != nil {
			return fmt.Errorf("set read deadline: %w", err)
		}
	}
	return nil
}

// interrupt makes the blocked read, and every later one, return at once.
func (c *Conn) interrupt() {
	c.interrupted.Store(true)
	_ = c.nc.SetReadDeadline(time.Now())
}
