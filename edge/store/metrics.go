package store

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the store's collectors, registered on the injected registerer
// for the store's lifetime.
type metrics struct {
	appendEvents      prometheus.Counter
	batchEvents       prometheus.Histogram
	commitDuration    prometheus.Histogram
	outboxEvents      prometheus.GaugeFunc
	pendingSessions   prometheus.GaugeFunc
	diskBytes         prometheus.GaugeFunc
	compactedSessions prometheus.Counter
	droppedEvents     *prometheus.CounterVec

	reg        prometheus.Registerer
	registered []prometheus.Collector
}

func newMetrics(s *Store) *metrics {
	m := &metrics{
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
		pendingSessions: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "chargeplane_store_pending_sessions",
			Help: "Ended sessions in the ledger not yet confirmed by the cloud.",
		}, func() float64 { return float64(s.PendingSessionCount()) }),
		diskBytes: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "chargeplane_store_disk_bytes",
			Help: "Size of the Badger directory on disk, as last measured.",
		}, func() float64 { return float64(s.DiskBytes()) }),
		compactedSessions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chargeplane_store_compacted_sessions_total",
			Help: "Synced sessions removed from the ledger after the retention period.",
		}),
		droppedEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chargeplane_edge_store_dropped_events_total",
			Help: "Heartbeats and meter reports not stored because the store reached max_bytes.",
		}, []string{"kind"}),
	}
	// Both series exist from the start, so a rate over them is defined.
	m.droppedEvents.WithLabelValues(kindHeartbeat)
	m.droppedEvents.WithLabelValues(kindMeterReport)
	return m
}

// register registers every collector on reg, or none of them. A nil reg
// registers nothing.
func (m *metrics) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	m.reg = reg
	for _, c := range []prometheus.Collector{
		m.appendEvents, m.batchEvents, m.commitDuration, m.outboxEvents,
		m.pendingSessions, m.diskBytes, m.compactedSessions, m.droppedEvents,
	} {
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
