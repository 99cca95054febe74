package adapter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/chargeplane/chargeplane/edge/framelog"
	"github.com/chargeplane/chargeplane/edge/gateway"
)

// Per-connection read buffer sizes. Most frames are small (a BKV heartbeat
// is 50 bytes), so a connection starts with a small buffer and grows it once
// to the largest size, which holds any frame a codec's Split accepts: ten
// thousand idle connections then cost little memory.
const (
	initialReadBuffer = 512
	readBufferSize    = 4096
)

// frameReader is the read side every adapter session shares: it reads the
// connection, splits the byte stream with the protocol's codec, drops
// garbage (closing the connection when too much arrives in a row), logs the
// raw frames and hands each complete frame to handle.
type frameReader struct {
	protocol string
	split    func([]byte) (int, error)
	deps     Deps
	metrics  sessionMetrics
	log      *slog.Logger
}

// run returns when the connection ends: nil for a hang-up or shutdown,
// otherwise why. handle's error ends the session too. The frame passed to
// handle is only valid during the call.
func (r frameReader) run(ctx context.Context, c *gateway.Conn, handle func(frame []byte) error) error {
	// One fixed buffer per connection: Split caps a frame well below its
	// size, so a frame always fits once consumed bytes are moved out.
	buf := make([]byte, initialReadBuffer)
	start, end, garbage := 0, 0, 0
	for {
		for start < end {
			n, err := r.split(buf[start:end])
			if err != nil {
				r.metrics.skipped.WithLabelValues(r.protocol).Add(float64(n))
				garbage += n
				start += n
				if garbage > r.deps.MaxGarbage {
					return fmt.Errorf("%w: %d bytes without a valid frame, last: %w", gateway.ErrProtocol, garbage, err)
				}
				r.log.Debug("resync", "skip", n, "err", err)
				continue
			}
			if n == 0 {
				break
			}
			garbage = 0
			frame := buf[start : start+n]
			began, at := time.Now(), r.deps.Now()
			if err := handle(frame); err != nil {
				return err
			}
			r.metrics.ackLat.WithLabelValues(r.protocol).Observe(time.Since(began).Seconds())
			// Logged after handle, which identifies the charger on its first
			// frame; the log orders entries by time, so it still precedes its reply.
			r.deps.FrameLog.Record(c.ChargerID, r.protocol, framelog.Up, at, frame)
			start += n
		}
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case start == end:
			start, end = 0, 0
		case start == 0 && end == len(buf) && len(buf) < readBufferSize:
			// A frame larger than the small buffer: grow once.
			buf = append(buf, make([]byte, readBufferSize-len(buf))...)
		case end == len(buf):
			end = copy(buf, buf[start:end])
			start = 0
		}
		n, err := c.Read(buf[end:])
		end += n
		if err != nil {
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read: %w", err)
		}
	}
}

// writeFrame sends one encoded frame to the charger and logs it.
func writeFrame(deps Deps, c *gateway.Conn, protocol string, frame []byte) error {
	if err := c.Write(frame); err != nil {
		return err //nolint:wrapcheck // gateway errors already say what failed
	}
	deps.FrameLog.Record(c.ChargerID, protocol, framelog.Down, deps.Now(), frame)
	return nil
}
