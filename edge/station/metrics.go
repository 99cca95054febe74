package station

import "github.com/prometheus/client_golang/prometheus"

// collector computes the gauges from the view when scraped, so they can
// never drift from what /chargers shows.
type collector struct {
	s          *State
	connectors *prometheus.Desc
	connected  *prometheus.Desc
}

func newCollector(s *State) *collector {
	return &collector{
		s: s,
		connectors: prometheus.NewDesc("chargeplane_edge_connectors",
			"Connectors of the chargers seen since start, by status (offline while their charger is disconnected).",
			[]string{"status"}, nil),
		connected: prometheus.NewDesc("chargeplane_edge_chargers_connected",
			"Chargers with an open connection.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.connectors
	ch <- c.connected
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	counts := make(map[string]int)
	connected := 0
	c.s.mu.Lock()
	for _, chg := range c.s.chargers {
		if chg.view.Connected {
			connected++
		}
		for _, cn := range chg.connectors {
			counts[chg.effectiveStatus(cn)]++
		}
	}
	c.s.mu.Unlock()
	for _, st := range statuses() {
		ch <- prometheus.MustNewConstMetric(c.connectors, prometheus.GaugeValue, float64(counts[st]), st)
	}
	ch <- prometheus.MustNewConstMetric(c.connected, prometheus.GaugeValue, float64(connected))
}
