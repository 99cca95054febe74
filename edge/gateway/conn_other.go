//go:build !unix

package gateway

import "net"

// initRaw leaves the connection without a raw view where waiting for
// readability without a buffer needs the unix poller: ReadPooled then holds a
// buffer while it waits.
func (c *Conn) initRaw(net.Conn) {}

// readWhenReady falls back to a plain read; initRaw never gives this
// platform a raw connection, so ReadPooled does not call it.
func (c *Conn) readWhenReady() ([]byte, int, error) { return c.readPlain() }
