package devicelog

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"

	"github.com/chargeplane/chargeplane/cloud/postgres"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// Store reads the events table.
type Store struct {
	pool *pgxpool.Pool
}

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool}
}

// maxSeq is the largest seq the events table holds (bigint).
const maxSeq = 1<<63 - 1

// List returns up to q.Limit events of one charger, highest seq first. It
// returns an error wrapping ErrNotFound when the tenant has no such
// charger: a tenant's empty log and another tenant's charger must not look
// the same.
func (s *Store) List(ctx context.Context, q Query) ([]Entry, error) {
	if q.TenantID == "" || q.EdgeID == "" || q.ChargerID == "" || q.Limit < 1 || q.BeforeSeq > maxSeq {
		return nil, errors.New("list charger events: tenant, edge, charger, a positive limit and a seq below 2^63 are required")
	}
	var known bool
	err := s.pool.QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM chargers WHERE edge_id = $1 AND charger_id = $2 AND tenant_id = $3)`,
		q.EdgeID, q.ChargerID, q.TenantID).Scan(&known)
	if err != nil {
		return nil, fmt.Errorf("list charger events: find charger: %w", err)
	}
	if !known {
		return nil, fmt.Errorf("charger %q on edge %q of tenant %q: %w", q.ChargerID, q.EdgeID, q.TenantID, ErrNotFound)
	}

	// Absent filters add no condition, so each filter shape gets its own
	// plan; every shape walks events_charger_seq_idx from BeforeSeq down.
	var w postgres.Where
	add := w.Add
	add("edge_id = ? AND charger_id = ? AND tenant_id = ?", q.EdgeID, q.ChargerID, q.TenantID)
	if len(q.Kinds) > 0 {
		add("kind = ANY(?)", q.Kinds)
	}
	if !q.From.IsZero() {
		add("occurred_at >= ?", q.From)
	}
	if !q.To.IsZero() {
		add("occurred_at < ?", q.To)
	}
	if q.BeforeSeq > 0 {
		add("seq < ?", int64(q.BeforeSeq)) //nolint:gosec // bounded by maxSeq above.
	}
	lim := w.Param(q.Limit)
	sql := `SELECT seq, kind, connector, occurred_at, received_at, payload FROM events WHERE ` +
		w.SQL() + ` ORDER BY seq DESC LIMIT ` + lim
	rows, err := s.pool.Query(ctx, sql, w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("list charger events: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Entry, error) {
		var (
			e         Entry
			seq, conn int64
			payload   []byte
		)
		if err := r.Scan(&seq, &e.Kind, &conn, &e.OccurredAt, &e.ReceivedAt, &payload); err != nil {
			return Entry{}, err
		}
		e.Seq, e.Connector = uint64(seq), uint32(conn) //nolint:gosec // CHECKs keep both in range.
		e.OccurredAt, e.ReceivedAt = e.OccurredAt.UTC(), e.ReceivedAt.UTC()
		e.Event = decode(payload)
		e.Summary = Summary(e.Event)
		return e, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list charger events: %w", err)
	}
	return out, nil
}

// decode returns the stored event, or nil when the payload is not one.
// Ingest wrote every payload with proto.Marshal, so nil means a damaged
// row; the listing shows it rather than failing on it for good.
func decode(payload []byte) *chargeplanev1.Event {
	var e chargeplanev1.Event
	if err := proto.Unmarshal(payload, &e); err != nil {
		return nil
	}
	return &e
}
