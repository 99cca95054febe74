package ingest

import (
	"context"
	"time"

	"github.com/chargeplane/chargeplane/cloud/fleet"
)

// Observer is told about the events of each batch once they are committed,
// before the batch's MQTT messages are acknowledged: connector status,
// command results and live updates are built this way. Observe gets the
// events the batch newly stored, in arrival order, and must be idempotent:
// after a crash between commit and acknowledgement the broker redelivers
// the messages, and their events reach observers again: observers see
// every distinct event of a write, duplicates included, so that a crash
// before they ran is made good by the redelivery.
//
// An observer's error does not stop the batch: the events are committed
// and what observers derive from them can be rebuilt, so the error is
// logged and counted in chargeplane_ingest_observer_errors_total, and the
// messages are acknowledged.
type Observer struct {
	// Name labels the observer's metric and log lines ("connector_status").
	Name    string
	Observe func(ctx context.Context, events []fleet.Event) error
}

// observeTimeout bounds one observer call, so that a stuck observer delays
// acknowledgements by at most this.
const observeTimeout = 10 * time.Second

// fresh sets, per message of a write, the events observers see: each
// distinct event once (where it first appears), stored or duplicate.
func fresh(items []*item, res fleet.WriteResult) {
	if res.Duplicates == 0 {
		for _, it := range items {
			it.fresh = it.events
		}
		return
	}
	seen := map[fleet.EventKey]bool{}
	for _, it := range items {
		it.fresh = make([]fleet.Event, 0, len(it.events))
		for _, e := range it.events {
			if k := e.Key(); !seen[k] {
				seen[k] = true
				it.fresh = append(it.fresh, e)
			}
		}
	}
}

// observe hands the batch's fresh events to every observer, once per
// message.
func (c *Consumer) observe(ctx context.Context, batch []item) {
	var events []fleet.Event
	for i := range batch {
		it := &batch[i]
		if it.kind != kindEvents || !it.stored || it.observed {
			continue
		}
		events = append(events, it.fresh...)
		it.observed = true
	}
	if len(events) == 0 || len(c.observers) == 0 {
		return
	}
	for _, o := range c.observers {
		octx, cancel := context.WithTimeout(ctx, observeTimeout)
		err := o.Observe(octx, events)
		cancel()
		if err != nil {
			c.metrics.observerErrors.WithLabelValues(o.Name).Inc()
			c.log.Error("observer failed; events are stored, its derived state may lag", "observer", o.Name, "events", len(events), "err", err)
		}
	}
}
