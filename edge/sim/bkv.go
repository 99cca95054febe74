package sim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/chargeplane/chargeplane/shared/protocol/bkv"
)

func gatewayID(base uint64, i int) bkv.GatewayID {
	var id bkv.GatewayID
	v := 0x82000000000000 + base + uint64(i)
	for b := 6; b >= 0; b-- {
		id[b] = byte(v)
		v >>= 8
	}
	return id
}

// runBKV is one connection's life: heartbeat at once, then every interval,
// matching each reply to the oldest unanswered heartbeat.
// With BKVOptions.Sessions it runs a full simulated gateway instead.
func (f *Fleet) runBKV(ctx context.Context, i int) error {
	if f.cfg.BKV.Sessions {
		return f.runBKVGateway(ctx, i)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", f.cfg.Addr)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	f.connected.Add(1)
	defer f.connected.Add(-1)
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	defer func() { _ = conn.Close() }()

	id := gatewayID(f.cfg.IDBase, i)
	hb, err := bkv.Append(nil, &bkv.Frame{
		Direction: bkv.Up, Command: bkv.CommandHeartbeat, GatewayID: id,
		Body: &bkv.Heartbeat{ICCID: fmt.Sprintf("8986%016d", f.cfg.IDBase+uint64(i)), Firmware: "sim-1.0", Signal: 25},
	})
	if err != nil {
		return fmt.Errorf("encode heartbeat: %w", err)
	}

	// sentAt holds send times of unanswered heartbeats, oldest first.
	sentAt := make(chan time.Time, 64)
	readErr := make(chan error, 1)
	go func() { readErr <- f.readReplies(conn, sentAt) }()

	ticker := time.NewTicker(f.cfg.Heartbeat)
	defer ticker.Stop()
	for {
		select {
		case sentAt <- time.Now():
		default:
			return errors.New("too many unanswered heartbeats")
		}
		_ = conn.SetWriteDeadline(time.Now().Add(f.cfg.ReplyTimeout))
		if _, err := conn.Write(hb); err != nil {
			return fmt.Errorf("write heartbeat: %w", err)
		}
		f.sent.Add(1)
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			return err
		case <-ticker.C:
		}
	}
}

func (f *Fleet) readReplies(conn net.Conn, sentAt chan time.Time) error {
	return readFrames(conn, bkv.Split, func(frame []byte) error {
		fr, err := bkv.Decode(frame)
		if err != nil {
			return fmt.Errorf("decode reply: %w", err)
		}
		if _, ok := fr.Body.(*bkv.HeartbeatReply); ok {
			select {
			case t := <-sentAt:
				f.lat.add(time.Since(t))
				f.answered.Add(1)
			default:
				return errors.New("heartbeat reply without a heartbeat")
			}
		}
		return nil
	})
}
