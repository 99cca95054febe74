package store

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the store's collectors, registered on the injected registerer
// for the store's lifetime.
type metrics struct {
	appendEvents   prometheus.Counter
	batchEvents    prometheus.Histogram
	commitDuration prometheus.Histogram
	outboxEvents   prometheus.GaugeFunc

	reg        prometheus.Registerer
	registered []prometheus.Collector
}

func newMetrics(s *Store) *metrics {
	return &metrics{
		appendEvents: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chargeplane_store_append_events_total",
			Help: "Events durably appended to the outbox.",
		}),
		batchEvents: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "chargeplane_store_commit_batch_events",
			Help:    "Events written per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12), // 1 … 2048
		}),
		commitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "chargeplane_store_commit_duration_seconds",
			Help:    "Time to write and sync one group commit.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16), // 100µs … 3.3s
		}),
		outboxEvents: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "chargeplane_store_outbox_events",
			Help: "Events stored and not yet acknowledged by the cloud.",
		}, func() float64 { return float64(s.PendingCount()) }),
	}
}

// register registers every collector on reg, or none of them. A nil reg
// registers nothing.
func (m *metrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	m.reg = reg
	for _, c := range []prometheus.Collector{m.appendEvents, m.batchEvents, m.commitDuration, m.outboxEvents} {
		if err := reg.Register(c); err != nil {
			m.unregister()
			return fmt.Errorf("register metrics: %w", err)
		}
		m.registered = append(m.registered, c)
	}
	return nil
}

func (m *metrics) unregister() {
	for _, c := range m.registered {
		m.reg.Unregister(c)
	}
	m.registered = nil
}
