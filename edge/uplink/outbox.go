package uplink

import (
	"context"
	"errors"
	"fmt"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/topic"
)

// errPublishTimeout reports a batch whose PUBACK did not arrive within
// publish_timeout of its publish.
var errPublishTimeout = errors.New("no PUBACK before publish_timeout")

// storeError marks a failure of the store itself (reading the outbox or
// recording an ack): the drain cannot go on, so Run returns it.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// inflightBatch is one published batch awaiting the broker's PUBACK.
type inflightBatch struct {
	tok      mqtt.Token
	last     uint64 // seq of its last event
	events   int
	deadline time.Time // publish time + publish_timeout
}

// drain publishes the outbox in seq order with up to max_inflight batches
// awaiting their PUBACK, and acknowledges the store in order: up to the
// highest seq whose batch and all earlier ones the broker confirmed. When a
// publish fails or times out, the window is abandoned and, once connected
// again, publishing resumes from the first unacknowledged seq; batches of
// the abandoned window that still arrive are duplicates the cloud drops by
// (edge_id, seq). It returns nil when ctx ends and an error only when the
// store fails.
func (u *Uplink) drain(ctx context.Context, client mqtt.Client) error {
	var acked uint64 // every seq <= acked is acknowledged in the store (0: whatever the store says)
	bo := newBackoff(u.cfg)
	for {
		if !u.waitConnected(ctx, client) {
			return nil
		}
		before := acked
		err := u.pump(ctx, client, &acked)
		if ctx.Err() != nil {
			return nil
		}
		if se := (*storeError)(nil); errors.As(err, &se) {
			return se
		}
		if acked > before {
			bo.reset()
		}
		d := bo.wait()
		u.m.failures.Inc()
		u.setStatus(func(s *Status) { s.LastError = err.Error() })
		u.log.Warn("publish failed; resending from the first unacknowledged event",
			"err", err, "seq", acked+1, "backoff", d)
		if !sleep(ctx, d) {
			return nil
		}
	}
}

// waitConnected waits until the MQTT connection is open; false when ctx
// ended first.
func (u *Uplink) waitConnected(ctx context.Context, client mqtt.Client) bool {
	for {
		_, next := u.conn.state()
		if client.IsConnectionOpen() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-next:
		}
	}
}

// pump runs one publishing window: a publisher that reads and publishes
// batches, and a confirmer that waits for their PUBACKs in order and acks
// the store. It returns when either fails (or ctx ends), with *acked raised
// to what the store has acknowledged.
func (u *Uplink) pump(ctx context.Context, client mqtt.Client, acked *uint64) error {
	// slots bounds the batches awaiting PUBACK; queue hands them to the
	// confirmer in publish order and never blocks, because slots is
	// taken before a batch is queued.
	slots := make(chan struct{}, u.cfg.MaxInflight)
	queue := make(chan inflightBatch, u.cfg.MaxInflight)
	defer u.m.inflight.Set(0)
	g, wctx := errgroup.WithContext(ctx)
	from := *acked
	g.Go(func() error { return u.publish(wctx, client, from, slots, queue) })
	g.Go(func() error { return u.confirm(ctx, wctx, slots, queue, acked) })
	return g.Wait()
}

// publish reads the outbox after seq from and publishes it batch by batch
// while a slot is free.
func (u *Uplink) publish(ctx context.Context, client mqtt.Client, from uint64,
	slots chan<- struct{}, queue chan<- inflightBatch,
) error {
	eventsTopic := u.space.Stream(u.tenantID, u.edgeID, topic.Up, topic.KindEvents)
	after := from
	for {
		// Take the slot before reading: reading ahead of the window would
		// only hold memory.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		evs, err := u.nextBatch(ctx, client, after)
		if err != nil {
			return err
		}
		payload, err := proto.Marshal(&chargeplanev1.EventBatch{Events: evs})
		if err != nil {
			return &storeError{fmt.Errorf("marshal batch after seq %d: %w", after, err)}
		}
		last := evs[len(evs)-1].GetSeq()
		tok := client.Publish(eventsTopic, 1, false, payload)
		u.m.inflight.Inc()
		queue <- inflightBatch{tok: tok, last: last, events: len(evs), deadline: time.Now().Add(u.cfg.PublishTimeout)}
		after = last
	}
}

// nextBatch waits for stored events after seq after, and for an open
// connection, and returns up to batch_events of them.
func (u *Uplink) nextBatch(ctx context.Context, client mqtt.Client, after uint64) ([]*chargeplanev1.Event, error) {
	for {
		if !u.waitConnected(ctx, client) {
			return nil, ctx.Err()
		}
		evs, err := u.store.Pending(ctx, after, u.cfg.BatchEvents)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &storeError{fmt.Errorf("read outbox after seq %d: %w", after, err)}
		}
		if len(evs) > 0 {
			return evs, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-u.store.Appended():
		}
	}
}

// confirm waits for each batch's PUBACK in publish order and acks the store
// up to it, together with every batch behind it that is already confirmed
// (one store write for all). life is the uplink's lifetime: when it ends,
// what the broker already confirmed is still acked, so a restart resends
// less.
func (u *Uplink) confirm(life, ctx context.Context, slots <-chan struct{}, queue <-chan inflightBatch, acked *uint64) error {
	var held *inflightBatch // taken from the queue while coalescing, not yet confirmed
	for {
		var b inflightBatch
		if held != nil {
			b, held = *held, nil
		} else {
			select {
			case b = <-queue:
			case <-ctx.Done():
				if life.Err() != nil {
					return u.ackConfirmed(life, nil, slots, queue, acked)
				}
				return ctx.Err()
			}
		}
		if err := waitToken(ctx, b.tok, b.deadline); err != nil {
			if life.Err() != nil {
				return u.ackConfirmed(life, &b, slots, queue, acked)
			}
			return fmt.Errorf("publish batch up to seq %d: %w", b.last, err)
		}
		u.release(slots)
		upTo, events, batches := b.last, b.events, 1
	coalesce:
		for {
			select {
			case nb := <-queue:
				if !tokenOK(nb.tok) {
					held = &nb
					break coalesce
				}
				u.release(slots)
				upTo, events, batches = nb.last, events+nb.events, batches+1
			default:
				break coalesce
			}
		}
		if err := u.ack(life, upTo, events, batches); err != nil {
			return err
		}
		*acked = upTo
	}
}

// ackConfirmed acks, at shutdown, the batches from first on (then the
// queue) whose PUBACK has already arrived, stopping at the first that has
// not.
func (u *Uplink) ackConfirmed(life context.Context, first *inflightBatch, slots <-chan struct{},
	queue <-chan inflightBatch, acked *uint64,
) error {
	var upTo uint64
	events, batches := 0, 0
	take := func(b inflightBatch) bool {
		if !tokenOK(b.tok) {
			return false
		}
		u.release(slots)
		upTo, events, batches = b.last, events+b.events, batches+1
		return true
	}
	ok := first == nil || take(*first)
	for ok {
		select {
		case b := <-queue:
			ok = take(b)
		default:
			ok = false
		}
	}
	if batches > 0 {
		if err := u.ack(life, upTo, events, batches); err != nil {
			return err
		}
		*acked = upTo
	}
	return life.Err()
}

// ack records in the store that the broker has every event up to upTo. A
// crash before it only resends them; the cloud drops the duplicates by
// (edge_id, seq). It runs even when life has ended: the broker already has
// the events.
func (u *Uplink) ack(life context.Context, upTo uint64, events, batches int) error {
	if err := u.store.Ack(context.WithoutCancel(life), upTo); err != nil {
		return &storeError{fmt.Errorf("ack outbox to seq %d: %w", upTo, err)}
	}
	u.m.published.Add(float64(events))
	u.m.batches.Add(float64(batches))
	u.setStatus(func(s *Status) { s.LastPublish = time.Now() })
	return nil
}

func (u *Uplink) release(slots <-chan struct{}) {
	<-slots
	u.m.inflight.Dec()
}

// tokenOK reports whether tok has completed without error, without waiting.
func tokenOK(tok mqtt.Token) bool {
	select {
	case <-tok.Done():
		return tok.Error() == nil
	default:
		return false
	}
}

func waitToken(ctx context.Context, tok mqtt.Token, deadline time.Time) error {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		return nil
	case <-timer.C:
		return errPublishTimeout
	case <-ctx.Done():
		return fmt.Errorf("publish: %w", ctx.Err())
	}
}
