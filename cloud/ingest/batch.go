package ingest

import (
	"context"
	"errors"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/chargeplane/chargeplane/cloud/fleet"
)

// Retry stages, the values of the stage label of chargeplane_ingest_retries_total.
const (
	stagePostgres = "postgres"
	stagePresence = "presence"
)

// Backoff between attempts to apply a batch.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// batchLoop groups queued messages into batches and applies them, until ctx
// ends; then it applies what it holds, within Config.DrainTimeout. A batch
// closes at Config.BatchEvents events, Config.BatchWait after its first
// message, or as soon as no further message is waiting, whichever is first.
func (c *Consumer) batchLoop(ctx context.Context) error {
	var (
		batch  []item
		events int
	)
	timer := time.NewTimer(c.cfg.BatchWait)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			c.drain(ctx, batch)
			return nil
		case m := <-c.queue:
			if len(batch) == 0 {
				timer.Reset(c.cfg.BatchWait)
			}
			it := c.decodeAndCount(m)
			batch = append(batch, it)
			events += len(it.events)
			// Group commit: keep collecting only while more is waiting. An idle
			// stream gets no added latency, and under load messages pile up
			// while the previous batch is written, so batches grow by themselves.
			if events < c.cfg.BatchEvents && len(c.queue) > 0 {
				continue
			}
		case <-timer.C:
		}
		timer.Stop()
		if err := c.apply(ctx, batch); err != nil {
			// Only ctx ending stops apply: the batch is still unacknowledged.
			c.drain(ctx, batch)
			return nil
		}
		clear(batch) // drop the message references
		batch, events = batch[:0], 0
	}
}

func (c *Consumer) decodeAndCount(m paho.Message) item {
	it := decode(c.space, m)
	c.metrics.messages.WithLabelValues(it.stream).Inc()
	if it.kind == kindInvalid {
		c.reject(it)
	}
	return it
}

func (c *Consumer) reject(it item) {
	c.metrics.invalid.WithLabelValues(it.reason).Inc()
	c.log.Error("dropping message that can never be processed", "topic", it.msg.Topic(), "tenant_id", it.tenant, "edge_id", it.edge, "reason", it.reason, "err", it.err)
}

// drain applies the batch in hand and whatever is already queued, with a
// fresh deadline because ctx has ended. What it cannot apply in time stays
// unacknowledged and the broker redelivers it.
func (c *Consumer) drain(ctx context.Context, batch []item) {
	for more := true; more; {
		select {
		case m := <-c.queue:
			batch = append(batch, c.decodeAndCount(m))
		default:
			more = false
		}
	}
	if len(batch) == 0 {
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.DrainTimeout)
	defer cancel()
	if err := c.apply(dctx, batch); err != nil {
		c.log.Warn("stopping with messages unacknowledged; the broker will redeliver them", "messages", len(batch), "err", err)
	}
}

// apply makes a batch durable and acknowledges it: events to Postgres, then
// presence to Redis, then the observers, then the acks in arrival order. Failures are retried
// until they succeed; apply returns an error only when ctx ends first.
func (c *Consumer) apply(ctx context.Context, batch []item) error {
	start := time.Now()
	if err := c.retry(ctx, stagePostgres, func() error { return c.store(ctx, batch) }); err != nil {
		return err
	}
	updates := latestUpdates(batch)
	err := c.retry(ctx, stagePresence, func() error {
		if _, err := c.presence.Apply(ctx, updates); err != nil {
			return err
		}
		for _, it := range batch {
			if it.kind == kindState {
				if err := c.presence.SetEdgeState(ctx, it.edge, it.state); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.observe(ctx, batch)
	for _, it := range batch {
		it.msg.Ack()
	}
	c.metrics.flushTime.Observe(time.Since(start).Seconds())
	return nil
}

// store writes the batch's events in one transaction. When Postgres refuses
// the batch for its data (fleet.ErrInvalidEvent), each message is written on
// its own so that only the offending ones are rejected.
func (c *Consumer) store(ctx context.Context, batch []item) error {
	var events []fleet.Event
	for _, it := range batch {
		if it.kind == kindEvents && !it.stored {
			events = append(events, it.events...)
		}
	}
	if len(events) == 0 {
		return nil
	}
	res, err := c.fleet.WriteEvents(ctx, events)
	if err == nil {
		c.count(res, len(events))
		c.observeLag(events, res)
		var written []*item
		for i := range batch {
			if it := &batch[i]; it.kind == kindEvents && !it.stored {
				written = append(written, it)
			}
			batch[i].stored = true
		}
		fresh(written, res)
		return nil
	}
	if !errors.Is(err, fleet.ErrInvalidEvent) {
		return err
	}
	for i := range batch {
		it := &batch[i]
		if it.kind != kindEvents || it.stored {
			continue
		}
		res, err := c.fleet.WriteEvents(ctx, it.events)
		if errors.Is(err, fleet.ErrInvalidEvent) {
			*it = invalid(*it, reasonStore, err)
			c.reject(*it)
			continue
		}
		if err != nil {
			return err
		}
		it.stored = true
		fresh([]*item{it}, res)
		c.count(res, len(it.events))
		c.observeLag(it.events, res)
	}
	return nil
}

func (c *Consumer) count(res fleet.WriteResult, n int) {
	c.metrics.batchSize.Observe(float64(n))
	c.metrics.events.WithLabelValues("stored").Add(float64(res.Inserted))
	c.metrics.events.WithLabelValues("duplicate").Add(float64(res.Duplicates))
}

// observeLag records, for every event a committed write stored, how long
// after it occurred it was committed; a redelivered event (a duplicate) is
// not lag, and a repeat within the write is counted once.
func (c *Consumer) observeLag(events []fleet.Event, res fleet.WriteResult) {
	if res.Inserted == 0 {
		return
	}
	committed := c.now()
	seen := make(map[fleet.EventKey]bool, res.Inserted)
	for _, e := range events {
		k := e.Key()
		if !res.Stored[k] || seen[k] {
			continue
		}
		seen[k] = true
		// An edge clock ahead of ours would make lag negative.
		c.metrics.lag.Observe(max(committed.Sub(e.OccurredAt).Seconds(), 0))
	}
}

// retry runs fn until it succeeds, backing off between attempts, or until
// ctx ends.
func (c *Consumer) retry(ctx context.Context, stage string, fn func() error) error {
	backoff := minBackoff
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.metrics.retries.WithLabelValues(stage).Inc()
		c.log.Warn("applying batch failed; retrying", "stage", stage, "backoff", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}
