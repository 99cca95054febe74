//go:build unix

package gateway

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// initRaw gets the descriptor-level view of nc used to wait for
// readability; without one (nc is no socket) ReadPooled reads plainly.
func (c *Conn) initRaw(nc net.Conn) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	c.raw = raw
	c.tryRead = c.attemptRead
}

// readWhenReady reads into a pooled buffer taken only when the socket has
// bytes (or an error) for us. RawConn.Read runs the attempt, parks the
// goroutine in the runtime poller while it reports "not ready", and honours
// the read deadline and Close exactly as net.Conn.Read does (it is the same
// loop as poll.FD.Read, with the buffer taken late and given back early).
func (c *Conn) readWhenReady() ([]byte, int, error) {
	r := &c.rr
	err := c.raw.Read(c.tryRead)
	buf, n, rerr := r.buf, r.n, r.err
	r.buf, r.n, r.err = nil, 0, nil
	switch {
	case err != nil:
		// Deadline, Close or shutdown interrupt while waiting: nothing read.
		if buf != nil {
			c.gw.bufs.put(buf)
		}
		return nil, 0, err //nolint:wrapcheck // net.OpError already says what failed; deadline and ErrClosed must stay detectable
	case rerr != nil:
		c.gw.bufs.put(buf)
		return nil, 0, &net.OpError{Op: "read", Net: "tcp", Addr: c.nc.RemoteAddr(), Err: os.NewSyscallError("read", rerr)}
	case n == 0:
		c.gw.bufs.put(buf)
		return nil, 0, io.EOF
	}
	return buf, n, nil
}

// attemptRead is one read attempt on the descriptor: false (wait for
// readability) when nothing is there yet, holding no buffer meanwhile.
func (c *Conn) attemptRead(fd uintptr) bool {
	r := &c.rr
	if r.buf == nil {
		r.buf = c.gw.bufs.get()
	}
	for {
		r.n, r.err = syscall.Read(int(fd), r.buf)
		if !errors.Is(r.err, syscall.EINTR) {
			break
		}
	}
	if errors.Is(r.err, syscall.EAGAIN) {
		c.gw.bufs.put(r.buf)
		r.buf = nil
		return false
	}
	if r.err != nil {
		r.n = 0
	}
	return true
}
