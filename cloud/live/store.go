package live

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"

	"github.com/chargeplane/chargeplane/cloud/fleet"
	"github.com/chargeplane/chargeplane/cloud/postgres"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// ErrNotFound reports a connector with no status (of that tenant). Errors
// wrapping it name only ids the caller gave.
var ErrNotFound = errors.New("not found")

// Statuses reads and writes the connector_status table.
type Statuses struct {
	pool *pgxpool.Pool
}

// NewStatuses returns a Statuses on pool.
func NewStatuses(pool *pgxpool.Pool) *Statuses { return &Statuses{pool: pool} }

const entryColumns = `tenant_id, edge_id, charger_id, connector, status, raw_status, session_ref, updated_at, seq`

func scanEntry(row pgx.Row) (Entry, error) {
	var (
		e         Entry
		connector int32
		status    string
		seq       int64
	)
	if err := row.Scan(&e.TenantID, &e.EdgeID, &e.ChargerID, &connector, &status, &e.RawStatus, &e.SessionRef, &e.UpdatedAt, &seq); err != nil {
		return Entry{}, err
	}
	e.Connector = uint32(connector) //nolint:gosec // CHECK (connector >= 0)
	e.Seq = uint64(seq)             //nolint:gosec // CHECK (seq > 0)
	e.Status = ParseStatus(status)
	return e, nil
}

// upsertStatus writes the newest entry per connector. A row changes only
// for an event newer than the one that wrote it (seq), so a late or
// replayed event never rolls a connector back; RETURNING yields exactly
// the rows that changed.
const upsertStatus = `INSERT INTO connector_status AS s (` + entryColumns + `)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::bigint[])
ON CONFLICT (tenant_id, edge_id, charger_id, connector) DO UPDATE SET
	status = excluded.status, raw_status = excluded.raw_status, session_ref = excluded.session_ref,
	updated_at = excluded.updated_at, seq = excluded.seq
WHERE s.seq < excluded.seq
RETURNING ` + entryColumns

// Apply writes entries in one statement and returns those that changed a
// row. Of several entries for one connector only the newest counts.
func (s *Statuses) Apply(ctx context.Context, entries []Entry) ([]Entry, error) {
	entries = newest(entries)
	if len(entries) == 0 {
		return nil, nil
	}
	n := len(entries)
	var (
		tenants, edges, chargers = make([]string, n), make([]string, n), make([]string, n)
		connectors               = make([]int64, n)
		statuses, raws, refs     = make([]string, n), make([]string, n), make([]string, n)
		times                    = make([]any, n)
		seqs                     = make([]int64, n)
	)
	for i, e := range entries {
		tenants[i], edges[i], chargers[i], connectors[i] = e.TenantID, e.EdgeID, e.ChargerID, int64(e.Connector)
		statuses[i], raws[i], refs[i] = StatusName(e.Status), e.RawStatus, e.SessionRef
		times[i], seqs[i] = e.UpdatedAt, int64(e.Seq) //nolint:gosec // ingest bounds seq by fleet.MaxSeq
	}
	rows, err := s.pool.Query(ctx, upsertStatus, tenants, edges, chargers, connectors, statuses, raws, refs, times, seqs)
	if err != nil {
		return nil, fmt.Errorf("upsert connector status: %w", err)
	}
	changed, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Entry, error) { return scanEntry(r) })
	if err != nil {
		return nil, fmt.Errorf("upsert connector status: %w", err)
	}
	return changed, nil
}

// Get returns one connector's status in tenant.
func (s *Statuses) Get(ctx context.Context, tenant, edge, charger string, connector uint32) (Entry, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+entryColumns+` FROM connector_status
		WHERE tenant_id = $1 AND edge_id = $2 AND charger_id = $3 AND connector = $4`, tenant, edge, charger, int64(connector))
	e, err := scanEntry(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return Entry{}, fmt.Errorf("status of connector %d of charger %q on edge %q: %w", connector, charger, edge, ErrNotFound)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("get connector status: %w", err)
	}
	return e, nil
}

// StatusFilter restricts a listing; empty fields match everything.
type StatusFilter struct {
	TenantID  string
	EdgeID    string
	ChargerID string
	// Status, when not unspecified, keeps only connectors in that status.
	Status chargeplanev1.ConnectorStatus
}

// Cursor is the key of the last entry of the previous page.
type Cursor struct {
	EdgeID    string
	ChargerID string
	Connector uint32
}

// List returns up to limit entries of f.TenantID matching f in (edge,
// charger, connector) order, after the cursor when it is non-nil.
func (s *Statuses) List(ctx context.Context, f StatusFilter, after *Cursor, limit int) ([]Entry, error) {
	var w postgres.Where
	add := w.Add
	add("tenant_id = ?", f.TenantID)
	if f.EdgeID != "" {
		add("edge_id = ?", f.EdgeID)
	}
	if f.ChargerID != "" {
		add("charger_id = ?", f.ChargerID)
	}
	if f.Status != chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_UNSPECIFIED {
		add("status = ?", StatusName(f.Status))
	}
	if after != nil {
		add("(edge_id, charger_id, connector) > (?, ?, ?)", after.EdgeID, after.ChargerID, int64(after.Connector))
	}
	lim := w.Param(limit)
	sql := `SELECT ` + entryColumns + ` FROM connector_status WHERE ` + w.SQL() +
		` ORDER BY edge_id, charger_id, connector LIMIT ` + lim
	rows, err := s.pool.Query(ctx, sql, w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("list connector status: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Entry, error) { return scanEntry(r) })
	if err != nil {
		return nil, fmt.Errorf("list connector status: %w", err)
	}
	return out, nil
}

// rebuildPage is how many events Rebuild reads per query.
const rebuildPage = 5000

// Rebuild recomputes the connector status of tenant's edges from the events
// table: it deletes the tenant's rows and applies every status, session
// start and session end event again, a page at a time, through Apply. It
// can run while ingest runs: the seq guard lets the newest event win
// whichever of the two writes it. It returns how many events it applied.
func (s *Statuses) Rebuild(ctx context.Context, tenant string) (int, error) {
	if _, err := s.pool.Exec(ctx, `DELETE FROM connector_status WHERE tenant_id = $1`, tenant); err != nil {
		return 0, fmt.Errorf("rebuild connector status: %w", err)
	}
	kinds := []string{fleet.KindConnectorStatus, fleet.KindSessionStarted, fleet.KindSessionEnded}
	var (
		lastEdge string
		lastSeq  int64
		applied  int
	)
	for {
		rows, err := s.pool.Query(ctx, `SELECT edge_id, seq, payload FROM events
			WHERE tenant_id = $1 AND kind = ANY($2) AND (edge_id, seq) > ($3, $4)
			ORDER BY edge_id, seq LIMIT $5`, tenant, kinds, lastEdge, lastSeq, rebuildPage)
		if err != nil {
			return applied, fmt.Errorf("rebuild connector status: read events: %w", err)
		}
		var (
			entries []Entry
			payload []byte
			n       int
		)
		_, err = pgx.ForEachRow(rows, []any{&lastEdge, &lastSeq, &payload}, func() error {
			n++
			var ev chargeplanev1.Event
			if err := proto.Unmarshal(payload, &ev); err != nil {
				return fmt.Errorf("event %q seq %d: %w", lastEdge, lastSeq, err)
			}
			if e, ok := entryOf(tenant, &ev); ok {
				entries = append(entries, e)
			}
			return nil
		})
		if err != nil {
			return applied, fmt.Errorf("rebuild connector status: read events: %w", err)
		}
		if _, err := s.Apply(ctx, entries); err != nil {
			return applied, fmt.Errorf("rebuild connector status: %w", err)
		}
		applied += len(entries)
		if n < rebuildPage {
			return applied, nil
		}
	}
}
