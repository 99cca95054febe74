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
// matching each reply to the oldest unanswered heartbeat. When ctx ends it
// stops sending and waits (at most ReplyTimeout) for the replies to the
// heartbeats already sent, so a stopped run counts every heartbeat the
// edge answers, however slow the machine.
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
	replied := make(chan struct{}, 1) // a reply was matched
	readErr := make(chan error, 1)
	readerDone := false
	go func() { readErr <- f.readReplies(conn, sentAt, replied) }()
	defer func() {
		// Closing ends the reader; it is waited for, so it has an owner.
		_ = conn.Close()
		if !readerDone {
			<-readErr
		}
	}()

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
			readerDone = f.awaitReplies(sentAt, replied, readErr)
			return nil
		case err := <-readErr:
			readerDone = true
			return err
		case <-ticker.C:
		}
	}
}

// awaitReplies waits until every sent heartbeat is answered, the reader
// stops, or ReplyTimeout passes; it reports whether the reader stopped.
func (f *Fleet) awaitReplies(sentAt <-chan time.Time, replied <-chan struct{}, readErr <-chan error) bool {
	t := time.NewTimer(f.cfg.ReplyTimeout)
	defer t.Stop()
	for len(sentAt) > 0 {
		select {
		case <-replied:
		case <-readErr:
			return true
		case <-t.C:
			return false
		}
	}
	return false
}

func (f *Fleet) readReplies(conn net.Conn, sentAt chan time.Time, replied chan<- struct{}) error {
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
				select {
				case replied <- struct{}{}:
				default: // one pending notice is enough: the waiter rechecks
				}
			default:
				return errors.New("heartbeat reply without a heartbeat")
			}
		}
		return nil
	})
}
