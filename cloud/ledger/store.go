package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chargeplane/chargeplane/cloud/postgres"
	"github.com/chargeplane/chargeplane/cloud/site"
)

// Store reads and writes the sessions and wallet_entries tables.
type Store struct {
	pool *pgxpool.Pool
}

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool}
}

// PushResult says what Push did.
type PushResult struct {
	// Stored are the seqs stored by this call, ascending.
	Stored []uint64
	// Duplicates are the seqs whose session was stored before (or earlier
	// in the same call), ascending.
	Duplicates []uint64
	// ConfigVersion is the edge's effective config version after the call:
	// the debits of the stored sessions are in every config at or above it.
	ConfigVersion uint64
	// Change is the config change the debits made (zero when none).
	Change site.Change
}

// Sessions go in seq order so that two pushes of overlapping batches lock
// the same keys in the same order. ON CONFLICT without a target skips rows
// that collide on either key: (edge_id, seq) or the session's identity.
const insertSessions = `INSERT INTO sessions (edge_id, seq, tenant_id, charger_id, connector, session_ref,
	started_at, ended_at, energy_mwh, duration_s, reason, raw_reason, amount_fen, electricity_fen, service_fen,
	charger_amount_fen, card_id, user_id, auth_method, offline, tariff_id, start_command_id, payload)
SELECT $1, u.seq, $2, u.charger_id, u.connector, u.session_ref,
	u.started_at, u.ended_at, u.energy_mwh, u.duration_s, u.reason, u.raw_reason, u.amount_fen, u.electricity_fen, u.service_fen,
	u.charger_amount_fen, u.card_id, u.user_id, u.auth_method, u.offline, u.tariff_id, u.start_command_id, u.payload
FROM unnest($3::bigint[], $4::text[], $5::integer[], $6::text[],
	$7::timestamptz[], $8::timestamptz[], $9::bigint[], $10::bigint[], $11::text[], $12::text[], $13::bigint[], $14::bigint[], $15::bigint[],
	$16::bigint[], $17::text[], $18::text[], $19::text[], $20::boolean[], $21::text[], $22::text[], $23::bytea[])
	AS u(seq, charger_id, connector, session_ref,
	started_at, ended_at, energy_mwh, duration_s, reason, raw_reason, amount_fen, electricity_fen, service_fen,
	charger_amount_fen, card_id, user_id, auth_method, offline, tariff_id, start_command_id, payload)
ORDER BY u.seq
ON CONFLICT DO NOTHING
RETURNING seq, card_id, amount_fen`

const insertWalletEntries = `INSERT INTO wallet_entries (edge_id, seq, tenant_id, card_id, amount_fen)
SELECT $1, u.seq, $2, u.card_id, u.amount_fen
FROM unnest($3::bigint[], $4::text[], $5::bigint[]) AS u(seq, card_id, amount_fen)
WHERE u.card_id = ANY($6::text[])
ORDER BY u.seq`

// maxAttempts bounds how often Push runs its transaction when Postgres
// aborts it for a deadlock, which two pushes carrying the same sessions
// under different seqs can cause.
const maxAttempts = 3

// Push stores sessions of edgeID (tenant tenantID) in one transaction and
// debits the tenant's cards for the ones it stored. Card ids must be
// lowercase already. Either all of it commits or none.
func (s *Store) Push(ctx context.Context, tenantID, edgeID string, sessions []Session) (PushResult, error) {
	if len(sessions) > MaxPush {
		return PushResult{}, fmt.Errorf("push %d sessions: at most %d per call: %w", len(sessions), MaxPush, ErrInvalidSession)
	}
	args, err := columns(sessions)
	if err != nil {
		return PushResult{}, err
	}
	var res PushResult
	for attempt := 1; ; attempt++ {
		res, err = s.push(ctx, tenantID, edgeID, args)
		if err == nil || !postgres.Retryable(err) || attempt == maxAttempts {
			break
		}
	}
	if err != nil {
		return PushResult{}, fmt.Errorf("push %d sessions of edge %q: %w", len(sessions), edgeID, err)
	}
	all := make([]uint64, len(sessions))
	for i, ss := range sessions {
		all[i] = ss.Seq
	}
	res.Duplicates = duplicates(all, res.Stored)
	return res, nil
}

func (s *Store) push(ctx context.Context, tenantID, edgeID string, args []any) (PushResult, error) {
	var res PushResult
	err := postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		res = PushResult{}
		rows, err := tx.Query(ctx, insertSessions, append([]any{edgeID, tenantID}, args...)...)
		if err != nil {
			return fmt.Errorf("insert sessions: %w", err)
		}
		var (
			seq, amount int64
			card        string
			charged     struct {
				seqs    []int64
				cards   []string
				amounts []int64
			}
			debits []site.Debit
		)
		_, err = pgx.ForEachRow(rows, []any{&seq, &card, &amount}, func() error {
			res.Stored = append(res.Stored, uint64(seq)) //nolint:gosec // CHECK (seq > 0).
			if card != "" && amount > 0 {
				charged.seqs = append(charged.seqs, seq)
				charged.cards = append(charged.cards, card)
				charged.amounts = append(charged.amounts, amount)
				debits = append(debits, site.Debit{CardID: card, AmountFen: amount})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("insert sessions: %w", err)
		}
		debited, change, err := site.DebitCards(ctx, tx, tenantID, debits)
		if err != nil {
			return err
		}
		res.Change = change
		if len(debited) > 0 {
			if _, err := tx.Exec(ctx, insertWalletEntries, edgeID, tenantID, charged.seqs, charged.cards, charged.amounts, debited); err != nil {
				return fmt.Errorf("insert wallet entries: %w", err)
			}
		}
		res.ConfigVersion, err = site.EffectiveVersion(ctx, tx, edgeID)
		return err
	})
	slices.Sort(res.Stored)
	return res, err
}

// duplicates returns the seqs of all that are not in stored, ascending and
// each once.
func duplicates(all, stored []uint64) []uint64 {
	isStored := make(map[uint64]bool, len(stored))
	for _, s := range stored {
		isStored[s] = true
	}
	var out []uint64
	for _, s := range all {
		if !isStored[s] {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// columns turns sessions into the column arrays of insertSessions, after
// checking that the columns can hold them.
func columns(sessions []Session) ([]any, error) {
	n := len(sessions)
	var (
		seqs                                          = make([]int64, n)
		connectors                                    = make([]int32, n)
		chargers, refs, reasons, rawReasons           = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		cards, users, auths, tariffs, commands        = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		started, ended                                = make([]time.Time, n), make([]time.Time, n)
		energy, duration, amount, elec, service, chgr = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		offline                                       = make([]bool, n)
		payloads                                      = make([][]byte, n)
	)
	for i, ss := range sessions {
		if err := check(i, ss); err != nil {
			return nil, err
		}
		seqs[i] = int64(ss.Seq)             //nolint:gosec // check bounded it by MaxSeq.
		connectors[i] = int32(ss.Connector) //nolint:gosec // check bounded it by MaxConnector.
		chargers[i], refs[i], reasons[i], rawReasons[i] = ss.ChargerID, ss.SessionRef, ss.Reason, ss.RawReason
		cards[i], users[i], auths[i], tariffs[i], commands[i] = ss.CardID, ss.UserID, ss.AuthMethod, ss.TariffID, ss.StartCommandID
		started[i], ended[i] = ss.StartedAt, ss.EndedAt
		energy[i], duration[i], amount[i], elec[i], service[i], chgr[i] = ss.EnergyMWh, ss.DurationS, ss.AmountFen, ss.ElectricityFen, ss.ServiceFen, ss.ChargerAmountFen
		offline[i] = ss.Offline
		payloads[i] = ss.Payload
	}
	return []any{seqs, chargers, connectors, refs, started, ended, energy, duration, reasons, rawReasons,
		amount, elec, service, chgr, cards, users, auths, offline, tariffs, commands, payloads}, nil
}

// check refuses what the columns cannot hold before Postgres sees it.
func check(i int, ss Session) error {
	var problem string
	switch {
	case ss.Seq == 0 || ss.Seq > MaxSeq:
		problem = "seq out of range"
	case ss.Connector > MaxConnector:
		problem = "connector out of range"
	case ss.StartedAt.IsZero() || ss.EndedAt.IsZero():
		problem = "no start or end time"
	case ss.CardID != strings.ToLower(ss.CardID):
		problem = "card id not lowercase"
	case ss.Payload == nil:
		problem = "no payload"
	default:
		return nil
	}
	return fmt.Errorf("session %d (seq %d): %s: %w", i, ss.Seq, problem, ErrInvalidSession)
}

const sessionColumns = `edge_id, seq, tenant_id, charger_id, connector, session_ref, started_at, ended_at,
	energy_mwh, duration_s, reason, raw_reason, amount_fen, electricity_fen, service_fen, charger_amount_fen,
	card_id, user_id, auth_method, offline, tariff_id, start_command_id, received_at`

// listQuery renders List's query. Absent filters add no condition, so that
// each filter shape gets its own plan (and its own index, see migration
// 0002).
func listQuery(f Filter, after *Cursor, limit int) (string, []any) {
	var w postgres.Where
	add := w.Add
	add("tenant_id = ?", f.TenantID)
	if f.EdgeID != "" {
		add("edge_id = ?", f.EdgeID)
	}
	if f.ChargerID != "" {
		add("charger_id = ?", f.ChargerID)
	}
	if f.UserID != "" {
		add("user_id = ?", f.UserID)
	}
	if f.SiteID != "" {
		// A site holds a handful of edges: the planner reads each edge's
		// range of sessions_edge_started_idx or filters the tenant index.
		add("edge_id IN (SELECT e.edge_id FROM edges e WHERE e.tenant_id = ? AND e.site_id = ?)", f.TenantID, f.SiteID)
	}
	if f.CardID != "" {
		add("card_id = ?", strings.ToLower(f.CardID))
	}
	if !f.From.IsZero() {
		add("started_at >= ?", f.From)
	}
	if !f.To.IsZero() {
		add("started_at < ?", f.To)
	}
	if after != nil {
		// The row comparison is the keyset; the plain bound on started_at
		// lets an index whose columns are not (started_at, edge_id, seq) in
		// that order (edge_id, started_at, seq) start its scan at the cursor.
		add("(started_at, edge_id, seq) < (?, ?, ?)", after.StartedAt, after.EdgeID, int64(after.Seq)) //nolint:gosec // seqs come from the table.
		add("started_at <= ?", after.StartedAt)
	}
	lim := w.Param(limit)
	return `SELECT ` + sessionColumns + ` FROM sessions WHERE ` + w.SQL() +
		` ORDER BY started_at DESC, edge_id DESC, seq DESC LIMIT ` + lim, w.Args()
}

// List returns up to limit sessions matching f, newest first by
// (started_at, edge_id, seq), after the cursor when it is not nil.
func (s *Store) List(ctx context.Context, f Filter, after *Cursor, limit int) ([]Session, error) {
	if f.TenantID == "" {
		return nil, errors.New("list sessions: no tenant")
	}
	sql, args := listQuery(f, after, limit)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Session, error) {
		var (
			ss        Session
			seq       int64
			connector int32
		)
		err := r.Scan(&ss.EdgeID, &seq, &ss.TenantID, &ss.ChargerID, &connector, &ss.SessionRef, &ss.StartedAt, &ss.EndedAt,
			&ss.EnergyMWh, &ss.DurationS, &ss.Reason, &ss.RawReason, &ss.AmountFen, &ss.ElectricityFen, &ss.ServiceFen, &ss.ChargerAmountFen,
			&ss.CardID, &ss.UserID, &ss.AuthMethod, &ss.Offline, &ss.TariffID, &ss.StartCommandID, &ss.ReceivedAt)
		ss.Seq = uint64(seq)             //nolint:gosec // CHECK (seq > 0).
		ss.Connector = uint32(connector) //nolint:gosec // CHECK (connector >= 0).
		return ss, err
	})
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}
