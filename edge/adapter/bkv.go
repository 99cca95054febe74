package adapter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/chargeplane/chargeplane/edge/gateway"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/protocol/bkv"
)

const protoBKV = "bkv"

// BKV serves BKV gateway connections (shared/protocols/bkv.md). For now it
// identifies the gateway, stores its heartbeats and answers them with the
// site's wall-clock time; other commands are logged and counted.
type BKV struct {
	deps    Deps
	log     *slog.Logger
	metrics sessionMetrics
}

// NewBKV builds the BKV adapter.
func NewBKV(deps Deps) *BKV {
	deps = deps.withDefaults()
	return &BKV{
		deps:    deps,
		log:     deps.Logger.With("component", "adapter", "protocol", protoBKV),
		metrics: newSessionMetrics(deps.Registerer),
	}
}

// Protocol registers the adapter with the gateway.
func (a *BKV) Protocol() gateway.Protocol {
	return gateway.Protocol{Name: protoBKV, Sniff: bkv.Sniff, Serve: a.Serve}
}

// bkvSession is the state of one gateway connection.
type bkvSession struct {
	a         *BKV
	c         *gateway.Conn
	log       *slog.Logger
	gatewayID bkv.GatewayID
	chargerID string
	out       []byte // reply buffer, reused
}

// Serve runs one connection until it ends. The returned error is why.
func (a *BKV) Serve(ctx context.Context, c *gateway.Conn) (err error) {
	s := &bkvSession{a: a, c: c, log: a.log.With("remote", c.RemoteAddr())}
	defer func() {
		if s.chargerID == "" {
			return
		}
		ev := event(a.deps.Now(), protoBKV, s.chargerID, 0)
		ev.Kind = &chargeplanev1.Event_ChargerDisconnected{ChargerDisconnected: disconnectOf(ctx, err)}
		if serr := storeFinal(ctx, a.deps.Store, a.deps.StoreTimeout, ev); serr != nil {
			s.log.Error("store disconnect event", "charger_id", s.chargerID, "err", serr)
		}
	}()

	// One fixed buffer per connection: Split caps a frame well below its
	// size, so a frame always fits once consumed bytes are moved out.
	buf := make([]byte, readBufferSize)
	start, end, garbage := 0, 0, 0
	for {
		for start < end {
			n, serr := bkv.Split(buf[start:end])
			if serr != nil {
				a.metrics.skipped.WithLabelValues(protoBKV).Add(float64(n))
				garbage += n
				start += n
				if garbage > a.deps.MaxGarbage {
					return fmt.Errorf("%w: %d bytes without a valid frame, last: %w", gateway.ErrProtocol, garbage, serr)
				}
				s.log.Debug("resync", "skip", n, "err", serr)
				continue
			}
			if n == 0 {
				break
			}
			garbage = 0
			began := time.Now()
			if herr := s.handle(ctx, buf[start:start+n]); herr != nil {
				return herr
			}
			a.metrics.ackLat.WithLabelValues(protoBKV).Observe(time.Since(began).Seconds())
			start += n
		}
		if ctx.Err() != nil {
			return nil
		}
		if start == end {
			start, end = 0, 0
		} else if end == len(buf) {
			end = copy(buf, buf[start:end])
			start = 0
		}
		n, rerr := c.Read(buf[end:])
		end += n
		if rerr != nil {
			if errors.Is(rerr, io.EOF) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read: %w", rerr)
		}
	}
}

// readBufferSize is the per-connection read buffer: larger than any frame
// Split accepts, small enough for ten thousand connections on a gateway box.
const readBufferSize = 4096

// handle processes one complete frame: decode, store, reply.
func (s *bkvSession) handle(ctx context.Context, raw []byte) error {
	a := s.a
	f, err := bkv.Decode(raw)
	if err != nil {
		// Split found a well-delimited frame that does not decode (bad checksum,
		// inner lengths): drop just this frame, as the stream is still in sync.
		a.metrics.frames.WithLabelValues(protoBKV, "invalid").Inc()
		s.log.Warn("dropped invalid frame", "charger_id", s.chargerID, "err", err)
		return nil
	}
	var evs []*chargeplanev1.Event
	now := a.deps.Now()
	if s.chargerID == "" {
		s.gatewayID = f.GatewayID
		s.chargerID = f.GatewayID.String()
		s.c.ChargerID = s.chargerID
		s.log = s.log.With("charger_id", s.chargerID)
		ev := event(now, protoBKV, s.chargerID, 0)
		ev.Kind = &chargeplanev1.Event_ChargerConnected{ChargerConnected: &chargeplanev1.ChargerConnected{RemoteAddr: s.c.RemoteAddr()}}
		evs = append(evs, ev)
		s.log.Info("charger identified")
	} else if f.GatewayID != s.gatewayID {
		a.metrics.frames.WithLabelValues(protoBKV, "foreign").Inc()
		s.log.Warn("frame from another gateway id on this connection ignored", "other", f.GatewayID.String())
		return nil
	}

	switch m := f.Body.(type) {
	case *bkv.Heartbeat:
		ev := event(now, protoBKV, s.chargerID, 0)
		ev.Kind = &chargeplanev1.Event_Heartbeat{Heartbeat: &chargeplanev1.Heartbeat{
			Iccid: m.ICCID, Firmware: m.Firmware, Signal: int32(m.Signal),
		}}
		evs = append(evs, ev)
		if err := a.deps.Store.Append(ctx, evs...); err != nil {
			return fmt.Errorf("store heartbeat: %w", err)
		}
		// Stored; now the gateway may hear back. The reply sets its clock.
		reply := &bkv.Frame{
			Direction: bkv.Down, Command: f.Command, MsgID: f.MsgID, GatewayID: f.GatewayID,
			Body: &bkv.HeartbeatReply{Time: wallClock(now, a.deps.Location)},
		}
		return s.write(reply)
	default:
		a.metrics.frames.WithLabelValues(protoBKV, "unhandled").Inc()
		s.log.Debug("frame not handled yet", "msg_type", fmt.Sprintf("%T", m), "frame", fmt.Sprintf("%x", raw))
		if len(evs) > 0 {
			if err := a.deps.Store.Append(ctx, evs...); err != nil {
				return fmt.Errorf("store connect: %w", err)
			}
		}
		return nil
	}
}

func (s *bkvSession) write(f *bkv.Frame) error {
	var err error
	s.out, err = bkv.Append(s.out[:0], f)
	if err != nil {
		return fmt.Errorf("encode reply: %w", err)
	}
	a := s.a
	if err := s.c.Write(s.out); err != nil {
		return err //nolint:wrapcheck // already says what failed
	}
	a.metrics.frames.WithLabelValues(protoBKV, "answered").Inc()
	return nil
}
