package command

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/chargeplane/chargeplane/cloud/postgres"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// Store reads and writes the commands table. Every UPDATE that moves a
// command on names the states it may move from, so a final state is never
// overwritten, whoever writes (ingest, the sender, the sweeper of any
// replica).
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a Store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

const columns = `command_id, tenant_id, edge_id, charger_id, connector, kind, params, limit_spec, state, detail, result,
	requested_by, requested_at, sent_at, finished_at, expires_at, deadline`

func scan(row pgx.Row) (Command, error) {
	var (
		c                  Command
		connector          int32
		limit              []byte
		state              string
		sentAt, finishedAt *time.Time
		params, values     map[string]string
	)
	err := row.Scan(&c.ID, &c.TenantID, &c.EdgeID, &c.ChargerID, &connector, &c.Kind, &params, &limit, &state, &c.Detail, &values,
		&c.RequestedBy, &c.RequestedAt, &sentAt, &finishedAt, &c.ExpiresAt, &c.Deadline)
	if err != nil {
		return Command{}, err
	}
	c.Connector = uint32(connector) //nolint:gosec // CHECK (connector >= 0)
	c.State = State(state)
	if len(params) > 0 {
		c.Params = params
	}
	if len(values) > 0 {
		c.Values = values
	}
	if sentAt != nil {
		c.SentAt = *sentAt
	}
	if finishedAt != nil {
		c.FinishedAt = *finishedAt
	}
	if limit != nil {
		c.Limit = &chargeplanev1.Limit{}
		if err := protojson.Unmarshal(limit, c.Limit); err != nil {
			return Command{}, fmt.Errorf("command %q: limit_spec: %w", c.ID, err)
		}
	}
	return c, nil
}

func collect(rows pgx.Rows) ([]Command, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Command, error) { return scan(r) })
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// Insert stores a new command.
func (s *Store) Insert(ctx context.Context, c Command) error {
	var limit *string
	if c.Limit != nil {
		b, err := protojson.Marshal(c.Limit)
		if err != nil {
			return fmt.Errorf("insert command: encode limit: %w", err)
		}
		l := string(b)
		limit = &l
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO commands (command_id, tenant_id, edge_id, charger_id, connector, kind, params, limit_spec,
			state, detail, requested_by, requested_at, expires_at, deadline)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		c.ID, c.TenantID, c.EdgeID, c.ChargerID, int64(c.Connector), c.Kind, orEmpty(c.Params), limit,
		string(c.State), c.Detail, c.RequestedBy, c.RequestedAt, c.ExpiresAt, c.Deadline)
	if err != nil {
		return fmt.Errorf("insert command: %w", err)
	}
	return nil
}

// MarkSent records that the broker took a queued command. ok is false when
// the command was no longer queued (its result came first, or the sweeper
// ended it).
func (s *Store) MarkSent(ctx context.Context, id string, at time.Time) (Command, bool, error) {
	return s.moveOne(ctx, `UPDATE commands SET state = 'sent', sent_at = $2
		WHERE command_id = $1 AND state = 'queued' RETURNING `+columns, id, at)
}

// MarkFailed ends a queued command that could not be published.
func (s *Store) MarkFailed(ctx context.Context, id, detail string, at time.Time) (Command, bool, error) {
	return s.moveOne(ctx, `UPDATE commands SET state = 'failed', detail = $2, finished_at = $3
		WHERE command_id = $1 AND state = 'queued' RETURNING `+columns, id, detail, at)
}

func (s *Store) moveOne(ctx context.Context, sql string, args ...any) (Command, bool, error) {
	c, err := scan(s.pool.QueryRow(ctx, sql, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return Command{}, false, nil
	}
	if err != nil {
		return Command{}, false, fmt.Errorf("update command %q: %w", args[0], err)
	}
	return c, true, nil
}

// applyResults finishes open commands from results, one row per command;
// a result must come from the command's own edge and tenant.
const applyResults = `UPDATE commands c SET state = r.state, detail = r.detail, result = r.result, finished_at = r.finished_at
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::timestamptz[])
	AS r(command_id, tenant_id, edge_id, state, detail, result, finished_at)
WHERE c.command_id = r.command_id AND c.tenant_id = r.tenant_id AND c.edge_id = r.edge_id
	AND c.state IN ('queued', 'sent')
RETURNING c.command_id, c.tenant_id, c.edge_id, c.charger_id, c.connector, c.kind, c.params, c.limit_spec, c.state,
	c.detail, c.result, c.requested_by, c.requested_at, c.sent_at, c.finished_at, c.expires_at, c.deadline`

// ApplyResults records results in one statement and returns the commands it
// finished. Results for commands already final change nothing; unknown
// lists the ids of results that match no command of their edge at all.
// Of several results for one command, the first counts.
func (s *Store) ApplyResults(ctx context.Context, results []Result, now time.Time) (finished []Command, unknown []string, err error) {
	seen := map[string]bool{}
	var ids, tenants, edges, states, details []string
	var values []map[string]string
	var at []time.Time
	for _, r := range results {
		if seen[r.CommandID] {
			continue
		}
		seen[r.CommandID] = true
		state, known := resultState(r.Status)
		detail := r.Detail
		if !known {
			detail = strings.TrimSpace(fmt.Sprintf("unknown result status %q: %s", r.Status, r.Detail))
		}
		// The edge's clock, but never in the future of the cloud's.
		when := r.At
		if when.IsZero() || when.After(now) {
			when = now
		}
		ids, tenants, edges = append(ids, r.CommandID), append(tenants, r.TenantID), append(edges, r.EdgeID)
		states, details = append(states, string(state)), append(details, detail)
		values, at = append(values, orEmpty(r.Values)), append(at, when)
	}
	if len(ids) == 0 {
		return nil, nil, nil
	}
	rows, err := s.pool.Query(ctx, applyResults, ids, tenants, edges, states, details, values, at)
	if err != nil {
		return nil, nil, fmt.Errorf("apply %d command results: %w", len(ids), err)
	}
	finished, err = collect(rows)
	if err != nil {
		return nil, nil, fmt.Errorf("apply %d command results: %w", len(ids), err)
	}
	if len(finished) == len(ids) {
		return finished, nil, nil
	}
	// Rare (a replayed result, an unknown id): tell the two apart.
	done := map[string]bool{}
	for _, c := range finished {
		done[c.ID] = true
	}
	var rest, restEdges []string
	for i, id := range ids {
		if !done[id] {
			rest, restEdges = append(rest, id), append(restEdges, edges[i])
		}
	}
	rows, err = s.pool.Query(ctx, `SELECT r.command_id FROM unnest($1::text[], $2::text[]) AS r(command_id, edge_id)
		WHERE NOT EXISTS (SELECT 1 FROM commands c WHERE c.command_id = r.command_id AND c.edge_id = r.edge_id)`, rest, restEdges)
	if err != nil {
		return finished, nil, fmt.Errorf("find unknown command results: %w", err)
	}
	unknown, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return finished, nil, fmt.Errorf("find unknown command results: %w", err)
	}
	return finished, unknown, nil
}

// TimedOutDetail is the detail of a command the sweeper ended.
const TimedOutDetail = "no result from the edge by the deadline"

// Sweep marks up to limit open commands whose deadline passed before now
// timed_out and returns them. Replicas sweeping at once skip each other's
// rows (SKIP LOCKED) instead of waiting on them.
func (s *Store) Sweep(ctx context.Context, now time.Time, limit int) ([]Command, error) {
	rows, err := s.pool.Query(ctx, `UPDATE commands SET state = 'timed_out', detail = $2, finished_at = $1
		WHERE command_id IN (
			SELECT command_id FROM commands
			WHERE state IN ('queued', 'sent') AND deadline < $1
			ORDER BY deadline LIMIT $3 FOR UPDATE SKIP LOCKED)
		AND state IN ('queued', 'sent')
		RETURNING `+columns, now, TimedOutDetail, limit)
	if err != nil {
		return nil, fmt.Errorf("sweep commands: %w", err)
	}
	out, err := collect(rows)
	if err != nil {
		return nil, fmt.Errorf("sweep commands: %w", err)
	}
	return out, nil
}

// Get returns one command of tenant.
func (s *Store) Get(ctx context.Context, tenant, id string) (Command, error) {
	c, err := scan(s.pool.QueryRow(ctx, `SELECT `+columns+` FROM commands WHERE command_id = $1 AND tenant_id = $2`, id, tenant))
	if errors.Is(err, pgx.ErrNoRows) {
		return Command{}, fmt.Errorf("command %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Command{}, fmt.Errorf("get command: %w", err)
	}
	return c, nil
}

// Filter restricts a listing; TenantID is required, other empty fields
// match everything.
type Filter struct {
	TenantID  string
	EdgeID    string
	ChargerID string
	State     State
	// From and To bound requested_at: at or after From, before To.
	From, To time.Time
}

// Cursor is the sort key of the last command of the previous page.
type Cursor struct {
	RequestedAt time.Time
	ID          string
}

// List returns up to limit commands matching f, newest first, after the
// cursor when it is non-nil.
func (s *Store) List(ctx context.Context, f Filter, after *Cursor, limit int) ([]Command, error) {
	var w postgres.Where
	add := w.Add
	add("tenant_id = ?", f.TenantID)
	if f.EdgeID != "" {
		add("edge_id = ?", f.EdgeID)
	}
	if f.ChargerID != "" {
		add("charger_id = ?", f.ChargerID)
	}
	if f.State != "" {
		add("state = ?", string(f.State))
	}
	if !f.From.IsZero() {
		add("requested_at >= ?", f.From)
	}
	if !f.To.IsZero() {
		add("requested_at < ?", f.To)
	}
	if after != nil {
		add("(requested_at, command_id) < (?, ?)", after.RequestedAt, after.ID)
	}
	lim := w.Param(limit)
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM commands WHERE `+w.SQL()+
		` ORDER BY requested_at DESC, command_id DESC LIMIT `+lim, w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("list commands: %w", err)
	}
	out, err := collect(rows)
	if err != nil {
		return nil, fmt.Errorf("list commands: %w", err)
	}
	return out, nil
}
