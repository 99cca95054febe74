package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultBatchRows is how many rows one DELETE removes at most.
const DefaultBatchRows = 5000

// Config is the retention policy.
type Config struct {
	// Events is how long events are kept after the cloud received them;
	// 0 keeps them forever.
	Events time.Duration
	// Commands is how long commands are kept after they were requested;
	// 0 keeps them forever.
	Commands time.Duration
	// Interval is the time between two prunes.
	Interval time.Duration
	// BatchRows bounds each DELETE; 0 means DefaultBatchRows.
	BatchRows int
}

// table is one pruned table: its rows expire keep after column.
type table struct {
	name string
	keep time.Duration
	// del deletes up to $2 rows older than $1. The ctid array makes it a
	// TID scan of just those rows; IN (SELECT ctid …) may be planned as a
	// join over the whole table.
	del string
}

// The statements are constants: table and column names never come from
// input.
const (
	deleteEvents = `DELETE FROM events WHERE ctid = ANY(ARRAY(
	SELECT ctid FROM events WHERE received_at < $1 ORDER BY received_at LIMIT $2 FOR UPDATE SKIP LOCKED))`
	deleteCommands = `DELETE FROM commands WHERE ctid = ANY(ARRAY(
	SELECT ctid FROM commands WHERE requested_at < $1 ORDER BY requested_at LIMIT $2 FOR UPDATE SKIP LOCKED))`
)

// Pruner deletes expired rows. Build it with New and run it with Run.
type Pruner struct {
	pool    *pgxpool.Pool
	cfg     Config
	tables  []table
	now     func() time.Time
	log     *slog.Logger
	deleted *prometheus.CounterVec
}

// New checks cfg and builds a Pruner; it deletes nothing until Run or
// Prune.
func New(pool *pgxpool.Pool, cfg Config, now func() time.Time, logger *slog.Logger, reg prometheus.Registerer) (*Pruner, error) {
	var errs []error
	if cfg.Events < 0 || cfg.Commands < 0 {
		errs = append(errs, errors.New("retention periods must be 0 (keep) or positive"))
	}
	if cfg.Interval <= 0 {
		errs = append(errs, errors.New("interval must be positive"))
	}
	if cfg.BatchRows < 0 {
		errs = append(errs, errors.New("batch rows must be 0 (default) or positive"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("retention config: %w", errors.Join(errs...))
	}
	if cfg.BatchRows == 0 {
		cfg.BatchRows = DefaultBatchRows
	}
	p := &Pruner{
		pool: pool,
		cfg:  cfg,
		now:  now,
		log:  logger.With("component", "retention"),
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chargeplane_retention_deleted_total",
			Help: "Rows deleted because they were older than their table's retention, by table (this replica's share).",
		}, []string{"table"}),
	}
	for _, t := range []table{
		{name: "events", keep: cfg.Events, del: deleteEvents},
		{name: "commands", keep: cfg.Commands, del: deleteCommands},
	} {
		if t.keep > 0 {
			p.tables = append(p.tables, t)
			p.deleted.WithLabelValues(t.name) // rates work from zero
		}
	}
	if err := reg.Register(p.deleted); err != nil {
		return nil, fmt.Errorf("retention metrics: %w", err)
	}
	return p, nil
}

// Run prunes at once and then every Config.Interval until ctx ends, and
// returns nil then. A failed prune is logged and tried again at the next
// interval: expired rows waiting a little longer harm nothing. With every
// table's retention 0 it only waits for ctx.
func (p *Pruner) Run(ctx context.Context) error {
	if len(p.tables) == 0 {
		p.log.Info("retention disabled for every table")
		<-ctx.Done()
		return nil
	}
	ticker := time.NewTicker(p.cfg.Interval)
	defer ticker.Stop()
	for {
		if _, err := p.Prune(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("pruning failed; trying again at the next interval", "interval", p.cfg.Interval, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// Prune deletes every expired row now, a batch at a time, and returns how
// many rows of each table this call deleted. Rows another replica deletes
// meanwhile are not counted here.
func (p *Pruner) Prune(ctx context.Context) (map[string]int64, error) {
	out := make(map[string]int64, len(p.tables))
	for _, t := range p.tables {
		start := time.Now()
		before := p.now().Add(-t.keep)
		n, err := p.prune(ctx, t, before)
		out[t.name] = n
		if n > 0 {
			p.log.Info("deleted rows past retention", "table", t.name, "before", before, "rows", n, "duration", time.Since(start))
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func (p *Pruner) prune(ctx context.Context, t table, before time.Time) (int64, error) {
	var total int64
	for {
		tag, err := p.pool.Exec(ctx, t.del, before, p.cfg.BatchRows)
		if err != nil {
			return total, fmt.Errorf("delete %s before %s: %w", t.name, before.Format(time.RFC3339), err)
		}
		n := tag.RowsAffected()
		total += n
		p.deleted.WithLabelValues(t.name).Add(float64(n))
		// A short batch means nothing expired is left, or another
		// replica holds the rest (SKIP LOCKED) and is deleting them.
		if n < int64(p.cfg.BatchRows) {
			return total, nil
		}
	}
}
