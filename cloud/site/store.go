package site

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chargeplane/chargeplane/cloud/postgres"
	"github.com/chargeplane/chargeplane/shared/topic"
)

// Store reads and writes the edges and cards tables.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

// New returns a Store on pool; now stamps creations, rotations and
// revocations.
func New(pool *pgxpool.Pool, now func() time.Time) *Store {
	return &Store{pool: pool, now: now}
}

// configLockClass is the first key of the two-key advisory locks that
// serialise config changes per tenant (the second is hashtext(tenant_id)).
// Two-key advisory locks never collide with the one-key ones the migration
// runner and pgtest take. "CPCF" in ASCII.
const configLockClass int32 = 0x43504346

// LockTenant takes tenantID's config lock for the rest of tx. Every
// transaction that takes a config version for a tenant holds it from before
// taking the version until it commits, which is what makes versions of one
// tenant commit in order. It must be taken before any card row is locked
// (cards are changed only under it, so this order cannot deadlock).
func LockTenant(ctx context.Context, tx pgx.Tx, tenantID string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, configLockClass, tenantID); err != nil {
		return fmt.Errorf("lock config of tenant %q: %w", tenantID, err)
	}
	return nil
}

// nextVersion takes a new config version; the caller holds the tenant lock.
func nextVersion(ctx context.Context, tx pgx.Tx) (uint64, error) {
	var v int64
	if err := tx.QueryRow(ctx, `SELECT nextval('config_version_seq')`).Scan(&v); err != nil {
		return 0, fmt.Errorf("next config version: %w", err)
	}
	return uint64(v), nil //nolint:gosec // the sequence starts at 1.
}

// BumpEdges gives edgeIDs of tenantID a new config version inside the
// caller's transaction, which holds the tenant lock (LockTenant), for a
// change to what they pull that is written elsewhere (the chargers refused
// at an edge, cloud/fleet). It returns the Change to hint; unknown ids are
// ignored.
func BumpEdges(ctx context.Context, tx pgx.Tx, tenantID string, edgeIDs []string) (Change, error) {
	if len(edgeIDs) == 0 {
		return Change{}, nil
	}
	v, err := nextVersion(ctx, tx)
	if err != nil {
		return Change{}, err
	}
	rows, err := tx.Query(ctx, `UPDATE edges SET config_version = $3
		WHERE tenant_id = $1 AND edge_id = ANY($2) RETURNING edge_id, revoked_at IS NOT NULL`, tenantID, edgeIDs, int64(v)) //nolint:gosec // versions come from a bigint sequence.
	if err != nil {
		return Change{}, fmt.Errorf("bump config version: %w", err)
	}
	ch := Change{Version: v}
	var (
		edge    string
		revoked bool
	)
	if _, err := pgx.ForEachRow(rows, []any{&edge, &revoked}, func() error {
		if !revoked {
			ch.Edges = append(ch.Edges, Target{TenantID: tenantID, EdgeID: edge})
		}
		return nil
	}); err != nil {
		return Change{}, fmt.Errorf("bump config version: %w", err)
	}
	return ch, nil
}

// effectiveVersion is an edge's config version, on edges aliased e.
const effectiveVersion = `greatest(e.config_version, coalesce((SELECT max(c.version) FROM cards c WHERE c.tenant_id = e.tenant_id), 0))`

const edgeColumns = `e.edge_id, e.tenant_id, e.name, e.created_at, e.credential_created_at, e.revoked_at, ` + effectiveVersion

func scanEdge(row pgx.Row, extra ...any) (Edge, error) {
	var (
		e       Edge
		revoked *time.Time
		version int64
	)
	dest := append([]any{&e.ID, &e.TenantID, &e.Name, &e.CreatedAt, &e.CredentialCreatedAt, &revoked, &version}, extra...)
	if err := row.Scan(dest...); err != nil {
		return Edge{}, err
	}
	if revoked != nil {
		e.RevokedAt = *revoked
	}
	e.ConfigVersion = uint64(version) //nolint:gosec // versions are positive.
	return e, nil
}

// edgeNotFound names the edge (and tenant, when the caller scoped by one).
func edgeNotFound(tenantID, edgeID string) error {
	if tenantID == "" {
		return fmt.Errorf("edge %q: %w", edgeID, ErrNotFound)
	}
	return fmt.Errorf("edge %q of tenant %q: %w", edgeID, tenantID, ErrNotFound)
}

// EffectiveVersion returns edgeID's effective config version as tx sees it.
func EffectiveVersion(ctx context.Context, tx pgx.Tx, edgeID string) (uint64, error) {
	var v int64
	err := tx.QueryRow(ctx, `SELECT `+effectiveVersion+` FROM edges e WHERE e.edge_id = $1`, edgeID).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, edgeNotFound("", edgeID)
	}
	if err != nil {
		return 0, fmt.Errorf("config version of edge %q: %w", edgeID, err)
	}
	return uint64(v), nil //nolint:gosec // versions are positive.
}

// CreateEdge provisions edgeID for tenantID and returns it with its
// credential, which is not stored and cannot be shown again.
func (s *Store) CreateEdge(ctx context.Context, tenantID, edgeID, name string) (Edge, string, error) {
	for _, f := range []struct{ field, v string }{{"tenant_id", tenantID}, {"edge_id", edgeID}} {
		if err := checkID(f.field, f.v); err != nil {
			return Edge{}, "", err
		}
		if !topic.ValidSegment(f.v) {
			// Both are levels of the edge's MQTT topics.
			return Edge{}, "", &InvalidError{Field: f.field, Reason: "must not contain '/', '+', '#' or NUL"}
		}
	}
	if err := checkText("name", name, MaxNameLen); err != nil {
		return Edge{}, "", err
	}
	cred, hash := newCredential(edgeID)
	now := s.now().UTC()
	var e Edge
	err := postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := LockTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		v, err := nextVersion(ctx, tx)
		if err != nil {
			return err
		}
		row := tx.QueryRow(ctx, `INSERT INTO edges AS e (edge_id, tenant_id, name, credential_hash, credential_created_at, config_version, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $5)
			ON CONFLICT (edge_id) DO NOTHING
			RETURNING `+edgeColumns, edgeID, tenantID, name, hash, now, int64(v)) //nolint:gosec // from a bigint sequence.
		e, err = scanEdge(row)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("edge %q: %w", edgeID, ErrAlreadyExists)
		}
		return err
	})
	if err != nil {
		return Edge{}, "", wrap("create edge", err)
	}
	return e, cred, nil
}

// RotateCredential gives the edge a new credential; the old one stops
// working at once. A revoked edge is enabled again: rotation is how an edge
// whose credential was revoked (a stolen or replaced gateway) comes back
// under its own id. tenantID, when not empty, must be the edge's tenant.
func (s *Store) RotateCredential(ctx context.Context, tenantID, edgeID string) (Edge, string, error) {
	cred, hash := newCredential(edgeID)
	row := s.pool.QueryRow(ctx, `UPDATE edges AS e SET credential_hash = $3, credential_created_at = $4, revoked_at = NULL
		WHERE e.edge_id = $1 AND ($2 = '' OR e.tenant_id = $2)
		RETURNING `+edgeColumns, edgeID, tenantID, hash, s.now().UTC())
	e, err := scanEdge(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return Edge{}, "", edgeNotFound(tenantID, edgeID)
	}
	if err != nil {
		return Edge{}, "", wrap("rotate credential", err)
	}
	return e, cred, nil
}

// RevokeEdge makes the edge's credential stop working at once. Revoking a
// revoked edge keeps the first revocation time.
func (s *Store) RevokeEdge(ctx context.Context, tenantID, edgeID string) (Edge, error) {
	row := s.pool.QueryRow(ctx, `UPDATE edges AS e SET revoked_at = coalesce(e.revoked_at, $3)
		WHERE e.edge_id = $1 AND ($2 = '' OR e.tenant_id = $2)
		RETURNING `+edgeColumns, edgeID, tenantID, s.now().UTC())
	e, err := scanEdge(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return Edge{}, edgeNotFound(tenantID, edgeID)
	}
	if err != nil {
		return Edge{}, wrap("revoke edge", err)
	}
	return e, nil
}

// Edge returns one edge; tenantID, when not empty, must be its tenant.
func (s *Store) Edge(ctx context.Context, tenantID, edgeID string) (Edge, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+edgeColumns+` FROM edges e WHERE e.edge_id = $1 AND ($2 = '' OR e.tenant_id = $2)`, edgeID, tenantID)
	e, err := scanEdge(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return Edge{}, edgeNotFound(tenantID, edgeID)
	}
	if err != nil {
		return Edge{}, wrap("get edge", err)
	}
	return e, nil
}

// ListEdges returns the tenant's edges in edge id order.
func (s *Store) ListEdges(ctx context.Context, tenantID string) ([]Edge, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+edgeColumns+` FROM edges e WHERE e.tenant_id = $1 ORDER BY e.edge_id`, tenantID)
	if err != nil {
		return nil, wrap("list edges", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Edge, error) { return scanEdge(r) })
	if err != nil {
		return nil, wrap("list edges", err)
	}
	return out, nil
}

// Authenticate returns the edge cred belongs to. It fails with
// ErrInvalidCredential unless cred is the edge's current credential, and
// with ErrRevoked when it is but the edge is revoked.
func (s *Store) Authenticate(ctx context.Context, cred string) (Edge, error) {
	edgeID, err := CredentialEdge(cred)
	if err != nil {
		return Edge{}, err
	}
	var stored []byte
	row := s.pool.QueryRow(ctx, `SELECT `+edgeColumns+`, e.credential_hash FROM edges e WHERE e.edge_id = $1`, edgeID)
	e, err := scanEdge(row, &stored)
	if errors.Is(err, pgx.ErrNoRows) {
		return Edge{}, ErrInvalidCredential
	}
	if err != nil {
		return Edge{}, wrap("authenticate edge", err)
	}
	if subtle.ConstantTimeCompare(hashCredential(cred), stored) != 1 {
		return Edge{}, ErrInvalidCredential
	}
	if e.Revoked() {
		return Edge{}, fmt.Errorf("edge %q: %w", edgeID, ErrRevoked)
	}
	return e, nil
}

// changeEdge runs change on edgeID's row under its tenant's lock with a new
// config version, and returns the Change (hinting the edge unless revoked).
func (s *Store) changeEdge(ctx context.Context, op, tenantID, edgeID string, change func(tx pgx.Tx, version uint64) error) (Change, error) {
	var ch Change
	err := postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var (
			tenant  string
			revoked bool
		)
		err := tx.QueryRow(ctx, `SELECT tenant_id, revoked_at IS NOT NULL FROM edges WHERE edge_id = $1 AND ($2 = '' OR tenant_id = $2)`,
			edgeID, tenantID).Scan(&tenant, &revoked)
		if errors.Is(err, pgx.ErrNoRows) {
			return edgeNotFound(tenantID, edgeID)
		}
		if err != nil {
			return err
		}
		if err := LockTenant(ctx, tx, tenant); err != nil {
			return err
		}
		v, err := nextVersion(ctx, tx)
		if err != nil {
			return err
		}
		if err := change(tx, v); err != nil {
			return err
		}
		ch.Version = v
		if !revoked {
			ch.Edges = []Target{{TenantID: tenant, EdgeID: edgeID}}
		}
		return nil
	})
	if err != nil {
		return Change{}, wrap(op, err)
	}
	return ch, nil
}

// SetTariff sets the edge's tariff; nil removes it (the edge then keeps its
// local fallback). A tariff without an id is named after the version it
// takes effect in ("v42"), so sessions can tell tariffs apart. It returns the
// tariff as stored.
func (s *Store) SetTariff(ctx context.Context, tenantID, edgeID string, t *Tariff) (*Tariff, Change, error) {
	if t != nil {
		if err := CheckTariff("tariff", *t); err != nil {
			return nil, Change{}, err
		}
		t = &Tariff{ID: t.ID, Periods: append([]TariffPeriod(nil), t.Periods...)}
	}
	ch, err := s.changeEdge(ctx, "set tariff", tenantID, edgeID, func(tx pgx.Tx, v uint64) error {
		var raw []byte
		if t != nil {
			if t.ID == "" {
				t.ID = fmt.Sprintf("v%d", v)
			}
			var err error
			if raw, err = json.Marshal(t); err != nil {
				return fmt.Errorf("encode tariff: %w", err)
			}
		}
		_, err := tx.Exec(ctx, `UPDATE edges SET tariff = $2, config_version = $3 WHERE edge_id = $1`, edgeID, raw, int64(v)) //nolint:gosec // from a bigint sequence.
		return err
	})
	if err != nil {
		return nil, Change{}, err
	}
	return t, ch, nil
}

// SetUnknownCardPolicy sets what the edge does with cards not in its list.
func (s *Store) SetUnknownCardPolicy(ctx context.Context, tenantID, edgeID, policy string) (Change, error) {
	if err := CheckPolicy("unknown_cards", policy); err != nil {
		return Change{}, err
	}
	return s.changeEdge(ctx, "set unknown-card policy", tenantID, edgeID, func(tx pgx.Tx, v uint64) error {
		_, err := tx.Exec(ctx, `UPDATE edges SET unknown_cards = $2, config_version = $3 WHERE edge_id = $1`, edgeID, policy, int64(v)) //nolint:gosec // from a bigint sequence.
		return err
	})
}

// tenantEdges returns the tenant's edges that are not revoked, as targets.
func tenantEdges(ctx context.Context, tx pgx.Tx, tenantID string) ([]Target, error) {
	rows, err := tx.Query(ctx, `SELECT edge_id FROM edges WHERE tenant_id = $1 AND revoked_at IS NULL ORDER BY edge_id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("edges of tenant %q: %w", tenantID, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("edges of tenant %q: %w", tenantID, err)
	}
	out := make([]Target, len(ids))
	for i, id := range ids {
		out[i] = Target{TenantID: tenantID, EdgeID: id}
	}
	return out, nil
}

// changeTenant runs change under the tenant's lock. change takes a version
// with next when it changes something; the Change then hints every edge of
// the tenant.
func (s *Store) changeTenant(ctx context.Context, op, tenantID string, change func(tx pgx.Tx, next func() (uint64, error)) error) (Change, error) {
	if err := checkID("tenant_id", tenantID); err != nil {
		return Change{}, err
	}
	var ch Change
	err := postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		ch = Change{}
		if err := LockTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		next := func() (uint64, error) {
			v, err := nextVersion(ctx, tx)
			ch.Version = v
			return v, err
		}
		if err := change(tx, next); err != nil {
			return err
		}
		if ch.Version == 0 {
			return nil
		}
		var err error
		ch.Edges, err = tenantEdges(ctx, tx, tenantID)
		return err
	})
	if err != nil {
		return Change{}, wrap(op, err)
	}
	return ch, nil
}

// PutCards creates or replaces the tenant's cards: every field, the balance
// included, is set to what is given.
func (s *Store) PutCards(ctx context.Context, tenantID string, cards []Card) (Change, error) {
	cards, err := checkCards(cards)
	if err != nil {
		return Change{}, err
	}
	n := len(cards)
	ids, users := make([]string, n), make([]string, n)
	balances, limits := make([]int64, n), make([]int64, n)
	blocked := make([]bool, n)
	for i, c := range cards {
		ids[i], users[i], balances[i], limits[i], blocked[i] = c.ID, c.UserID, c.BalanceFen, c.OfflineLimitFen, c.Blocked
	}
	return s.changeTenant(ctx, "put cards", tenantID, func(tx pgx.Tx, next func() (uint64, error)) error {
		v, err := next()
		if err != nil {
			return err
		}
		// Rows in key order, like every writer of cards.
		_, err = tx.Exec(ctx, `INSERT INTO cards (tenant_id, card_id, balance_fen, offline_limit_fen, blocked, user_id, version)
			SELECT $1, u.card_id, u.balance_fen, u.offline_limit_fen, u.blocked, u.user_id, $7
			FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::boolean[], $6::text[])
				AS u(card_id, balance_fen, offline_limit_fen, blocked, user_id)
			ORDER BY u.card_id
			ON CONFLICT (tenant_id, card_id) DO UPDATE SET
				balance_fen = excluded.balance_fen, offline_limit_fen = excluded.offline_limit_fen,
				blocked = excluded.blocked, user_id = excluded.user_id, version = excluded.version`,
			tenantID, ids, balances, limits, blocked, users, int64(v)) //nolint:gosec // from a bigint sequence.
		return err
	})
}

// TopUpCard adds amountFen (> 0) to an existing card's balance and returns
// the card after it.
func (s *Store) TopUpCard(ctx context.Context, tenantID, cardID string, amountFen int64) (Card, Change, error) {
	cardID = NormalizeCardID(cardID)
	if err := checkID("card_id", cardID); err != nil {
		return Card{}, Change{}, err
	}
	if err := checkAmount("amount_fen", amountFen, 1); err != nil {
		return Card{}, Change{}, err
	}
	var card Card
	ch, err := s.changeTenant(ctx, "top up card", tenantID, func(tx pgx.Tx, next func() (uint64, error)) error {
		v, err := next()
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `UPDATE cards SET balance_fen = balance_fen + $3, version = $4
			WHERE tenant_id = $1 AND card_id = $2
			RETURNING `+cardColumns, tenantID, cardID, amountFen, int64(v)) //nolint:gosec // from a bigint sequence.
		if err != nil {
			return err
		}
		card, err = pgx.CollectExactlyOneRow(rows, scanCard)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("card %q of tenant %q: %w", cardID, tenantID, ErrNotFound)
		}
		return err
	})
	if err != nil {
		return Card{}, Change{}, err
	}
	return card, ch, nil
}

// DeleteCards deletes the tenant's cards with these ids and says how many
// there were; ids that are not there are ignored. Deleting takes a version
// only when a card went, and records it on every edge of the tenant (a
// deleted card leaves no row to carry it).
func (s *Store) DeleteCards(ctx context.Context, tenantID string, ids []string) (int, Change, error) {
	ids, err := checkCardIDs(ids)
	if err != nil {
		return 0, Change{}, err
	}
	var deleted int
	ch, err := s.changeTenant(ctx, "delete cards", tenantID, func(tx pgx.Tx, next func() (uint64, error)) error {
		tag, err := tx.Exec(ctx, `DELETE FROM cards WHERE tenant_id = $1 AND card_id = ANY($2::text[])`, tenantID, ids)
		if err != nil {
			return err
		}
		deleted = int(tag.RowsAffected())
		if deleted == 0 {
			return nil
		}
		v, err := next()
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE edges SET config_version = $2 WHERE tenant_id = $1`, tenantID, int64(v)) //nolint:gosec // from a bigint sequence.
		return err
	})
	if err != nil {
		return 0, Change{}, err
	}
	return deleted, ch, nil
}

const cardColumns = `card_id, balance_fen, offline_limit_fen, blocked, user_id, version`

func scanCard(r pgx.CollectableRow) (Card, error) {
	var (
		c Card
		v int64
	)
	err := r.Scan(&c.ID, &c.BalanceFen, &c.OfflineLimitFen, &c.Blocked, &c.UserID, &v)
	c.Version = uint64(v) //nolint:gosec // versions are positive.
	return c, err
}

// Config returns what edgeID pulls, read in one snapshot. When haveVersion
// is the edge's current version it returns changed=false and only the
// version; otherwise the whole config. tenantID, when not empty, must be the
// edge's tenant.
func (s *Store) Config(ctx context.Context, tenantID, edgeID string, haveVersion uint64) (cfg Config, changed bool, err error) {
	err = postgres.InTxOptions(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var (
			tenant  string
			version int64
			tariff  []byte
		)
		err := tx.QueryRow(ctx, `SELECT e.tenant_id, e.unknown_cards, e.tariff, `+effectiveVersion+`
			FROM edges e WHERE e.edge_id = $1 AND ($2 = '' OR e.tenant_id = $2)`, edgeID, tenantID).
			Scan(&tenant, &cfg.UnknownCards, &tariff, &version)
		if errors.Is(err, pgx.ErrNoRows) {
			return edgeNotFound(tenantID, edgeID)
		}
		if err != nil {
			return err
		}
		cfg.Version = uint64(version) //nolint:gosec // versions are positive.
		if cfg.Version == haveVersion {
			return nil
		}
		changed = true
		if tariff != nil {
			cfg.Tariff = new(Tariff)
			if err := json.Unmarshal(tariff, cfg.Tariff); err != nil {
				return fmt.Errorf("decode tariff of edge %q: %w", edgeID, err)
			}
		}
		rows, err := tx.Query(ctx, `SELECT `+cardColumns+` FROM cards WHERE tenant_id = $1 ORDER BY card_id`, tenant)
		if err != nil {
			return err
		}
		if cfg.Cards, err = pgx.CollectRows(rows, scanCard); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT charger_id FROM charger_registry
			WHERE edge_id = $1 AND state = 'rejected' ORDER BY charger_id`, edgeID)
		if err != nil {
			return err
		}
		refused, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if len(refused) > 0 {
			cfg.RefusedChargers = refused
		}
		return err
	})
	if err != nil {
		return Config{}, false, wrap("read site config", err)
	}
	return cfg, changed, nil
}

// Debit takes AmountFen from a card's balance.
type Debit struct {
	CardID    string
	AmountFen int64
}

// DebitCards takes each debit from the tenant's card of that id (lowercase)
// inside the caller's transaction, under the tenant's config lock, with one
// new config version for all of them. Debits of cards the tenant does not
// have are skipped. It returns the ids of the cards it debited and the
// Change (zero when it debited none). Balances may go negative.
func DebitCards(ctx context.Context, tx pgx.Tx, tenantID string, debits []Debit) ([]string, Change, error) {
	if len(debits) == 0 {
		return nil, Change{}, nil
	}
	ids := make([]string, len(debits))
	amounts := make([]int64, len(debits))
	for i, d := range debits {
		ids[i], amounts[i] = d.CardID, d.AmountFen
	}
	if err := LockTenant(ctx, tx, tenantID); err != nil {
		return nil, Change{}, err
	}
	v, err := nextVersion(ctx, tx)
	if err != nil {
		return nil, Change{}, err
	}
	rows, err := tx.Query(ctx, `WITH d AS (
			SELECT card_id, sum(amount)::bigint AS amount
			FROM unnest($2::text[], $3::bigint[]) AS u(card_id, amount)
			GROUP BY card_id
		)
		UPDATE cards c SET balance_fen = c.balance_fen - d.amount, version = $4
		FROM d WHERE c.tenant_id = $1 AND c.card_id = d.card_id
		RETURNING c.card_id`, tenantID, ids, amounts, int64(v)) //nolint:gosec // from a bigint sequence.
	if err != nil {
		return nil, Change{}, fmt.Errorf("debit cards: %w", err)
	}
	debited, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, Change{}, fmt.Errorf("debit cards: %w", err)
	}
	if len(debited) == 0 {
		return nil, Change{}, nil
	}
	edges, err := tenantEdges(ctx, tx, tenantID)
	if err != nil {
		return nil, Change{}, err
	}
	return debited, Change{Version: v, Edges: edges}, nil
}

// wrap adds op to err, except to errors meant for clients, which say
// already what went wrong with what: their text is the message clients get.
// A number Postgres refused (a balance that would overflow bigint) becomes
// such an error.
func wrap(op string, err error) error {
	var (
		pgErr   *pgconn.PgError
		invalid *InvalidError
	)
	switch {
	case errors.As(err, &invalid), errors.Is(err, ErrNotFound), errors.Is(err, ErrAlreadyExists):
		return err
	case errors.As(err, &pgErr) && pgErr.Code == "22003":
		return &InvalidError{Field: "amount_fen", Reason: "the balance would leave the range a wallet can hold"}
	}
	return fmt.Errorf("%s: %w", op, err)
}
