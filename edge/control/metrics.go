package control

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// bookMetrics are the Book's collectors, registered for its lifetime.
type bookMetrics struct {
	open       prometheus.GaugeFunc
	ended      *prometheus.CounterVec
	billed     prometheus.Counter
	limitStops prometheus.Counter

	reg        prometheus.Registerer
	registered []prometheus.Collector
}

func newBookMetrics(reg prometheus.Registerer, b *Book) (*bookMetrics, error) {
	m := &bookMetrics{
		open: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "chargeplane_control_sessions_open",
			Help: "Sessions started and not yet ended.",
		}, func() float64 {
			b.mu.Lock()
			defer b.mu.Unlock()
			return float64(len(b.open))
		}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chargeplane_control_sessions_ended_total",
			Help: "Session ends recorded in the ledger, by how the session was authorized.",
		}, []string{"auth_method"}),
		billed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chargeplane_control_billed_fen_total",
			Help: "Amount billed by the edge for ended sessions, in fen.",
		}),
		limitStops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chargeplane_control_limit_stops_total",
			Help: "Stops sent because a session's amount reached its limit.",
		}),
		reg: reg,
	}
	for _, c := range []prometheus.Collector{m.open, m.ended, m.billed, m.limitStops} {
		if err := reg.Register(c); err != nil {
			m.unregister()
			return nil, fmt.Errorf("register control metrics: %w", err)
		}
		m.registered = append(m.registered, c)
	}
	return m, nil
}

func (m *bookMetrics) unregister() {
	for _, c := range m.registered {
		m.reg.Unregister(c)
	}
	m.registered = nil
}
