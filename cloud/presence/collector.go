package presence

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// tenantEdges lists every (tenant, edge) pair of the chargers table by
// skipping through chargers_tenant_idx (tenant_id, edge_id, charger_id):
// one index descent per pair, rather than reading every charger as DISTINCT
// or GROUP BY would (a million of them for 100 tenants of 10,000).
const tenantEdges = `WITH RECURSIVE pairs AS (
	(SELECT tenant_id, edge_id FROM chargers ORDER BY tenant_id, edge_id LIMIT 1)
	UNION ALL
	SELECT next.tenant_id, next.edge_id
	FROM pairs, LATERAL (
		SELECT tenant_id, edge_id FROM chargers
		WHERE (tenant_id, edge_id) > (pairs.tenant_id, pairs.edge_id)
		ORDER BY tenant_id, edge_id LIMIT 1
	) next
)
SELECT tenant_id, edge_id FROM pairs`

// OnlineCollector exports chargeplane_chargers_online{tenant}, computed at
// every scrape: which edges each tenant's chargers are on (Postgres, one
// query) and how many chargers of each edge are online (Redis, one
// pipeline; the rule of IsOnline, as ListChargers counts them). Every
// replica answers the same, so dashboards take max or any one replica.
//
// The tenant label is bounded by the number of tenants (hundreds), an
// exception to the no-tenant-label rule that operators asked for. A tenant
// with no charger has no series; one with chargers none of which is online
// has 0. An edge whose chargers belong to two tenants (not something edges
// do) counts its online chargers for both.
type OnlineCollector struct {
	pool    *pgxpool.Pool
	store   *Store
	timeout time.Duration
	log     *slog.Logger
	desc    *prometheus.Desc
}

// NewOnlineCollector returns the collector; register it on the cloud's
// registry. timeout bounds each scrape's queries: when they fail or take
// longer the error is logged and the scrape answers without this metric.
func NewOnlineCollector(pool *pgxpool.Pool, store *Store, timeout time.Duration, logger *slog.Logger) *OnlineCollector {
	return &OnlineCollector{
		pool:    pool,
		store:   store,
		timeout: timeout,
		log:     logger.With("component", "presence"),
		desc: prometheus.NewDesc("chargeplane_chargers_online",
			"Chargers online now (connected, heard from within presence.timeout, edge not offline), by tenant.",
			[]string{"tenant"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *OnlineCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *OnlineCollector) Collect(ch chan<- prometheus.Metric) {
	// A scrape has no context of its own; the timeout is its bound.
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	online, err := c.online(ctx)
	if err != nil {
		c.log.Warn("chargeplane_chargers_online left out of this scrape", "err", err)
		return
	}
	for tenant, n := range online {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), tenant)
	}
}

// online returns how many chargers of each tenant with chargers are online.
func (c *OnlineCollector) online(ctx context.Context) (map[string]int, error) {
	rows, err := c.pool.Query(ctx, tenantEdges)
	if err != nil {
		return nil, fmt.Errorf("list tenants' edges: %w", err)
	}
	type pair struct{ tenant, edge string }
	pairs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pair, error) {
		var p pair
		err := r.Scan(&p.tenant, &p.edge)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("list tenants' edges: %w", err)
	}
	// Each edge is counted once, however many tenants it appears under.
	index := map[string]int{}
	var edges []string
	for _, p := range pairs {
		if _, ok := index[p.edge]; !ok {
			index[p.edge] = len(edges)
			edges = append(edges, p.edge)
		}
	}
	counts, err := c.store.OnlineByEdge(ctx, edges)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int)
	for _, p := range pairs {
		out[p.tenant] += counts[index[p.edge]]
	}
	return out, nil
}
