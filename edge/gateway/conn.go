package gateway

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// ErrProtocol marks a session ended because its byte stream could not be
// resynchronised or broke the protocol's rules. Adapters wrap it.
var ErrProtocol = errors.New("protocol error")

// ErrWrite marks a session ended because a write to the charger failed.
var ErrWrite = errors.New("write to charger failed")

// ErrReplaced marks a session closed because the same charger connected again.
var ErrReplaced = errors.New("replaced by a newer connection")

// Conn is one charger connection as the adapters see it: reads return the
// sniffed prefix first, each read waits at most the idle timeout and each
// write at most the write timeout. Writes are serialised, so a command sender
// and the session loop can share a connection.
type Conn struct {
	nc           net.Conn
	prefix       []byte
	idleTimeout  time.Duration
	writeTimeout time.Duration
	remote       string
	wmu          sync.Mutex

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
		c.prefix = c.prefix[n:]
		return n, nil
	}
	if err := c.nc.SetReadDeadline(time.Now().Add(c.idleTimeout)); err != nil {
		return 0, fmt.Errorf("set read deadline: %w", err)
	}
	return c.nc.Read(p) //nolint:wrapcheck // io.Reader contract: io.EOF must stay unwrapped
}

// Write writes one whole frame under the write deadline.
func (c *Conn) Write(frame []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.nc.SetWriteDeadline(time.Now().Add(c.writeTimeout)); err != nil {
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
