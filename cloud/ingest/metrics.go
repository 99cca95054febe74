package ingest

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	messages  *prometheus.CounterVec // kind: events | state | other
	invalid   *prometheus.CounterVec // reason: see reason* constants
	events    *prometheus.CounterVec // result: stored | duplicate
	retries   *prometheus.CounterVec // stage: postgres | presence
	flushTime prometheus.Histogram
	batchSize prometheus.Histogram
	lag       prometheus.Histogram
	connected prometheus.Gauge

	observerErrors *prometheus.CounterVec // observer: Observer.Name
}

func newMetrics(reg prometheus.Registerer, queueLen func() float64) (*metrics, error) {
	m := &metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chargeplane_ingest_messages_total",
			Help: "MQTT messages received, by kind (events, state, other).",
		}, []string{"kind"}),
		invalid: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chargeplane_ingest_invalid_messages_total",
			Help: "MQTT messages acknowledged without effect because they can never be processed, by reason.",
		}, []string{"reason"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chargeplane_ingest_events_total",
			Help: "Events committed to Postgres (stored) or found already stored (duplicate).",
		}, []string{"result"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chargeplane_ingest_retries_total",
			Help: "Failed attempts to apply a batch that were retried, by stage (postgres, presence).",
		}, []string{"stage"}),
		flushTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "chargeplane_ingest_flush_duration_seconds",
			Help:    "Time from starting a batch's Postgres write to acknowledging its messages.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "chargeplane_ingest_batch_events",
			Help:    "Events per batch written to Postgres.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "chargeplane_ingest_lag_seconds",
			Help: "Time from an event occurring (the edge's clock) to its commit in Postgres, per event stored (duplicates excluded; 0 when the edge's clock is ahead).",
			// From a live stream (tens of ms) to backlogs uploaded after an
			// outage of an hour and more.
			Buckets: lagBuckets(),
		}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chargeplane_ingest_connected",
			Help: "1 while the consumer is connected to the broker and subscribed, else 0.",
		}),
		observerErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chargeplane_ingest_observer_errors_total",
			Help: "Batches an observer failed on (the events were stored; derived state may lag), by observer.",
		}, []string{"observer"}),
	}
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "chargeplane_ingest_queue_messages",
		Help: "Messages received and waiting for the batcher.",
	}, queueLen)
	for _, c := range []prometheus.Collector{m.messages, m.invalid, m.events, m.retries, m.flushTime, m.batchSize, m.lag, m.connected, m.observerErrors, queue} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Every label value exists from the start, so rates work from zero.
	for _, k := range []string{streamEvents, streamState, streamOther} {
		m.messages.WithLabelValues(k)
	}
	for _, r := range []string{reasonTopic, reasonDecode, reasonEvent, reasonState, reasonStore} {
		m.invalid.WithLabelValues(r)
	}
	for _, r := range []string{"stored", "duplicate"} {
		m.events.WithLabelValues(r)
	}
	for _, s := range []string{stagePostgres, stagePresence} {
		m.retries.WithLabelValues(s)
	}
	return m, nil
}

// lagBuckets are the upper bounds of chargeplane_ingest_lag_seconds: 10 ms
// to 1 h in roughly 1-2.5-5 steps; beyond an hour lands in +Inf.
func lagBuckets() []float64 {
	return []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}
}
