package adapter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chargeplane/chargeplane/edge/framelog"
	"github.com/chargeplane/chargeplane/edge/gateway"
)

// Read buffer sizes. Every read buffer is gateway.ReadBufferSize, taken from
// the gateway's pool only while bytes are pending, so readBufferSize is the
// longest frame a session can read (a codec's Split must refuse longer ones).
// initialReadBuffer is what a typical frame fits in (a BKV heartbeat is 50
// bytes, a status report of a few sockets a few hundred); sessions once
// started with a buffer this size, and the tests still use it to mark
// frames as large.
const (
	initialReadBuffer = 512
	readBufferSize    = gateway.ReadBufferSize
)

// frameReader is the read side every adapter session shares: it reads the
// connection, splits the byte stream with the protocol's codec, drops
// garbage (closing the connection when too much arrives in a row), logs the
// raw frames and hands each complete frame to handle.
//
// A site's chargers are silent almost all the time (a BKV heartbeat a
// minute), and memory per connection decides how many one gateway box can
// serve, so a silent connection holds no read buffer (gateway.Conn's
// ReadPooled) and every frame is handled on one of the gateway's shared
// handler goroutines (gateway.Conn's Handle): decoding, storing and replying
// go deep, and done here they would leave each connection's goroutine
// parked with a grown stack.
type frameReader struct {
	protocol string
	split    func([]byte) (int, error)
	deps     Deps
	metrics  sessionMetrics
	log      *slog.Logger
}

// run returns when the connection ends: nil for a hang-up or shutdown,
// otherwise why. handle's error ends the session too. The frame passed to
// handle is only valid during the call, which runs on a handler goroutine
// while run waits for it.
//
// run's own frame stays on the connection's stack while it waits for bytes,
// so it is kept small: a pointer receiver, and rare paths in other functions.
func (r *frameReader) run(ctx context.Context, c *gateway.Conn, handle func(frame []byte) error) error {
	d := &delivery{
		protocol: r.protocol, c: c, handle: handle, frameLog: r.deps.FrameLog, now: r.deps.Now,
		ackLat: r.metrics.ackLat.WithLabelValues(r.protocol),
	}
	deliver := d.deliver
	// buf is nil whenever no bytes are pending: the buffer goes back to the
	// gateway's pool as soon as the frames in it are handled.
	var buf []byte
	defer func() {
		if buf != nil {
			c.Release(buf)
		}
	}()
	start, end, garbage := 0, 0, 0
	for {
		for start < end {
			n, err := r.split(buf[start:end])
			if err != nil {
				garbage += n
				start += n
				if err := r.skipped(n, garbage, err); err != nil {
					return err
				}
				continue
			}
			if n == 0 {
				break
			}
			garbage = 0
			if err := c.Handle(buf[start:start+n], deliver); err != nil {
				return err //nolint:wrapcheck // the handler's error is the session's reason
			}
			start += n
		}
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case start == end:
			start, end = 0, 0
			if buf != nil {
				c.Release(buf)
				buf = nil
			}
		case start == 0 && end == len(buf):
			// Split must refuse a frame longer than the buffer; a codec that
			// waits for more would otherwise spin here.
			return errNoFrame
		case end == len(buf):
			end = copy(buf, buf[start:end])
			start = 0
		}
		var (
			n   int
			err error
		)
		if buf == nil {
			buf, n, err = c.ReadPooled()
		} else {
			// The rest of a frame: keep the buffer holding its start.
			n, err = c.Read(buf[end:])
		}
		end += n
		if err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return readError(err)
		}
	}
}

// errNoFrame ends a session whose codec found no frame in a full buffer.
var errNoFrame = fmt.Errorf("%w: no frame in %d bytes", gateway.ErrProtocol, readBufferSize)

// skipped counts n garbage bytes dropped to resynchronise, garbage in a row
// so far, and says when that is too many.
func (r *frameReader) skipped(n, garbage int, splitErr error) error {
	r.metrics.skipped.WithLabelValues(r.protocol).Add(float64(n))
	if garbage > r.deps.MaxGarbage {
		return fmt.Errorf("%w: %d bytes without a valid frame, last: %w", gateway.ErrProtocol, garbage, splitErr)
	}
	r.log.Debug("resync", "skip", n, "err", splitErr)
	return nil
}

func readError(err error) error { return fmt.Errorf("read: %w", err) }

// delivery handles one session's frames on the gateway's handler
// goroutines: the protocol's handler, then the latency metric and the frame
// log. It holds only what that needs, as it lives as long as the session.
type delivery struct {
	protocol string
	c        *gateway.Conn
	handle   func(frame []byte) error
	ackLat   prometheus.Observer
	frameLog *framelog.Log
	now      func() time.Time
}

func (d *delivery) deliver(frame []byte) error {
	began, at := time.Now(), d.now()
	if err := d.handle(frame); err != nil {
		return err
	}
	d.ackLat.Observe(time.Since(began).Seconds())
	// Logged after handle, which identifies the charger on its first frame;
	// the log orders entries by time, so it still precedes its reply.
	d.frameLog.Record(d.c.ChargerID, d.protocol, framelog.Up, at, frame)
	return nil
}

// writeFrame sends one encoded frame to the charger and logs it.
func writeFrame(deps Deps, c *gateway.Conn, protocol string, frame []byte) error {
	if err := c.Write(frame); err != nil {
		return err //nolint:wrapcheck // gateway errors already say what failed
	}
	deps.FrameLog.Record(c.ChargerID, protocol, framelog.Down, deps.Now(), frame)
	return nil
}
