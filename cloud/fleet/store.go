package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chargeplane/chargeplane/cloud/postgres"
)

// Store reads and writes the events and chargers tables.
type Store struct {
	pool *pgxpool.Pool
}

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool}
}

// stagingColumns are the columns CopyFrom fills in the per-connection
// staging table.
var stagingColumns = []string{ //nolint:gochecknoglobals // read-only column list.
	"edge_id", "seq", "tenant_id", "charger_id", "connector", "kind", "occurred_at", "protocol", "firmware", "payload",
}

// The staging table lives as long as the pooled connection and is emptied at
// every commit, so each write costs no catalog churn.
const createStaging = `CREATE TEMP TABLE IF NOT EXISTS ingest_events (
	edge_id     text        NOT NULL,
	seq         bigint      NOT NULL,
	tenant_id   text        NOT NULL,
	charger_id  text        NOT NULL,
	connector   integer     NOT NULL,
	kind        text        NOT NULL,
	occurred_at timestamptz NOT NULL,
	protocol    text        NOT NULL,
	firmware    text        NOT NULL,
	payload     bytea       NOT NULL
) ON COMMIT DELETE ROWS`

// Rows go in key order so that two replicas writing overlapping batches take
// their row locks in the same order and cannot deadlock.
const insertEvents = `INSERT INTO events (edge_id, seq, tenant_id, charger_id, connector, kind, occurred_at, payload)
SELECT edge_id, seq, tenant_id, charger_id, connector, kind, occurred_at, payload
FROM ingest_events
ORDER BY edge_id, seq
ON CONFLICT (edge_id, seq) DO NOTHING
RETURNING edge_id, seq`

// upsertChargers folds the staged events into one row per charger. Sightings
// are capped at now() so that an edge with its clock in the future cannot
// keep a charger "seen" forever. Protocol and firmware move only forward in
// seq: replaying an old event never overwrites a newer value.
const upsertChargers = `INSERT INTO chargers AS c
	(tenant_id, edge_id, charger_id, protocol, firmware, first_seen, last_seen, last_seq, firmware_seq)
SELECT
	(array_agg(tenant_id ORDER BY seq DESC))[1],
	edge_id,
	charger_id,
	coalesce((array_agg(protocol ORDER BY seq DESC) FILTER (WHERE protocol <> ''))[1], ''),
	coalesce((array_agg(firmware ORDER BY seq DESC) FILTER (WHERE firmware <> ''))[1], ''),
	min(least(occurred_at, now())),
	max(least(occurred_at, now())),
	max(seq),
	coalesce(max(seq) FILTER (WHERE firmware <> ''), 0)
FROM ingest_events
WHERE charger_id <> ''
GROUP BY edge_id, charger_id
ORDER BY edge_id, charger_id
ON CONFLICT (edge_id, charger_id) DO UPDATE SET
	first_seen   = least(c.first_seen, excluded.first_seen),
	last_seen    = greatest(c.last_seen, excluded.last_seen),
	protocol     = CASE WHEN excluded.last_seq > c.last_seq AND excluded.protocol <> '' THEN excluded.protocol ELSE c.protocol END,
	last_seq     = greatest(c.last_seq, excluded.last_seq),
	firmware     = CASE WHEN excluded.firmware_seq > c.firmware_seq THEN excluded.firmware ELSE c.firmware END,
	firmware_seq = greatest(c.firmware_seq, excluded.firmware_seq)`

// WriteEvents stores events in one transaction: new ones are inserted, ones
// already stored are skipped (and counted as duplicates), and the chargers
// they mention are created or updated. Either all of it commits or none.
// An error wrapping ErrInvalidEvent means some event can never be stored
// (retrying the same events is pointless); any other error may be transient.
func (s *Store) WriteEvents(ctx context.Context, events []Event) (WriteResult, error) {
	if len(events) == 0 {
		return WriteResult{}, nil
	}
	rows := make([][]any, len(events))
	for i, e := range events {
		if err := check(e); err != nil {
			return WriteResult{}, err
		}
		rows[i] = []any{
			//nolint:gosec // check bounded Seq by MaxSeq (bigint).
			e.EdgeID, int64(e.Seq), e.TenantID, e.ChargerID, int64(e.Connector), e.Kind,
			e.OccurredAt, e.Protocol, e.Firmware, e.Payload,
		}
	}
	var res WriteResult
	err := postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, createStaging); err != nil {
			return fmt.Errorf("create staging table: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"ingest_events"}, stagingColumns, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("copy events: %w", err)
		}
		rows, err := tx.Query(ctx, insertEvents)
		if err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		res.Stored = make(map[EventKey]bool, len(events))
		var (
			k   EventKey
			seq int64
		)
		_, err = pgx.ForEachRow(rows, []any{&k.EdgeID, &seq}, func() error {
			k.Seq = uint64(seq) //nolint:gosec // the column's CHECK (seq > 0) keeps it non-negative.
			res.Stored[k] = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		res.Inserted = len(res.Stored)
		res.Duplicates = len(events) - res.Inserted
		if _, err := tx.Exec(ctx, upsertChargers); err != nil {
			return fmt.Errorf("upsert chargers: %w", err)
		}
		return nil
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (strings.HasPrefix(pgErr.Code, "22") || strings.HasPrefix(pgErr.Code, "23")) {
		// Data exception or integrity violation: these events can never be
		// stored, however often they are retried.
		return WriteResult{}, fmt.Errorf("write %d events: %s (SQLSTATE %s): %w", len(events), pgErr.Message, pgErr.Code, ErrInvalidEvent)
	}
	if err != nil {
		return WriteResult{}, fmt.Errorf("write %d events: %w", len(events), err)
	}
	return res, nil
}

// check refuses what the columns cannot hold, before Postgres sees it: a
// value that fails to encode aborts the COPY with an error that does not
// say whose fault it was.
func check(e Event) error {
	var problem string
	switch {
	case e.EdgeID == "" || e.TenantID == "":
		problem = "no edge or tenant"
	case e.Seq == 0 || e.Seq > MaxSeq:
		problem = "seq out of range"
	case e.Connector > MaxConnector:
		problem = "connector out of range"
	case e.OccurredAt.IsZero():
		problem = "no occurred_at"
	default:
		return nil
	}
	return fmt.Errorf("event %.64q seq %d: %s: %w", e.EdgeID, e.Seq, problem, ErrInvalidEvent)
}

// LastSeq returns the highest seq stored for edgeID, or 0 when none is.
func (s *Store) LastSeq(ctx context.Context, edgeID string) (uint64, error) {
	var seq int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM events WHERE edge_id = $1`, edgeID).Scan(&seq); err != nil {
		return 0, fmt.Errorf("last seq of edge %q: %w", edgeID, err)
	}
	return uint64(seq), nil //nolint:gosec // the column's CHECK (seq > 0) keeps it non-negative.
}

// where renders f (and, when after is set, the keyset position) as the
// conditions of a query on chargers.
func where(f Filter, after *Cursor) *postgres.Where {
	var w postgres.Where
	if f.TenantID != "" {
		w.Add("tenant_id = ?", f.TenantID)
	}
	if f.EdgeID != "" {
		w.Add("edge_id = ?", f.EdgeID)
	}
	if after != nil {
		w.Add("(edge_id, charger_id) > (?, ?)", after.EdgeID, after.ChargerID)
	}
	return &w
}

// ListChargers returns up to limit chargers matching f in (edge_id,
// charger_id) order, starting after the cursor when it is non-nil.
func (s *Store) ListChargers(ctx context.Context, f Filter, after *Cursor, limit int) ([]Charger, error) {
	w := where(f, after)
	lim := w.Param(limit)
	sql := `SELECT tenant_id, edge_id, charger_id, protocol, firmware, first_seen, last_seen FROM chargers WHERE ` +
		w.SQL() + ` ORDER BY edge_id, charger_id LIMIT ` + lim
	rows, err := s.pool.Query(ctx, sql, w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("list chargers: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Charger, error) {
		var c Charger
		err := r.Scan(&c.TenantID, &c.EdgeID, &c.ChargerID, &c.Protocol, &c.Firmware, &c.FirstSeen, &c.LastSeen)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list chargers: %w", err)
	}
	return out, nil
}

// CountByEdge returns, for every edge with chargers matching f, how many
// match, in edge order.
func (s *Store) CountByEdge(ctx context.Context, f Filter) ([]EdgeCount, error) {
	w := where(f, nil)
	rows, err := s.pool.Query(ctx, `SELECT edge_id, count(*) FROM chargers WHERE `+w.SQL()+` GROUP BY edge_id ORDER BY edge_id`, w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("count chargers: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (EdgeCount, error) {
		var (
			c EdgeCount
			n int64
		)
		err := r.Scan(&c.EdgeID, &n)
		c.Chargers = int(n)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("count chargers: %w", err)
	}
	return out, nil
}
