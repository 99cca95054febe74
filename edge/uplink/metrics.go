package uplink

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	published      prometheus.Counter
	batches        prometheus.Counter
	failures       prometheus.Counter
	connected      prometheus.Gauge
	inflight       prometheus.Gauge
	sessionsSynced prometheus.Counter
	configApplied  prometheus.Counter
	callFailures   *prometheus.CounterVec
}

func newMetrics() *metrics {
	return &metrics{
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chargeplane_uplink_published_events_total", Help: "Events confirmed by the broker.",
		}),
		batches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chargeplane_uplink_published_batches_total", Help: "MQTT messages confirmed by the broker.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chargeplane_uplink_publish_failures_total", Help: "Publishes that failed or timed out.",
		}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chargeplane_uplink_connected", Help: "1 while the MQTT connection is up.",
		}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chargeplane_uplink_inflight_batches", Help: "Batches published and awaiting the broker's PUBACK.",
		}),
		sessionsSynced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chargeplane_uplink_sessions_synced_total",
			Help: "Finished sessions the cloud confirmed (stored or duplicate).",
		}),
		configApplied: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chargeplane_uplink_config_applied_total", Help: "Site configs pulled from the cloud and applied.",
		}),
		callFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chargeplane_uplink_cloud_call_failures_total",
			Help: "Connect calls to the cloud that failed after their retries, by method.",
		}, []string{"method"}),
	}
}

func (m *metrics) register(reg prometheus.Registerer) error {
	var errs []error
	for _, c := range []prometheus.Collector{
		m.published, m.batches, m.failures, m.connected, m.inflight, m.sessionsSynced, m.configApplied, m.callFailures,
	} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
