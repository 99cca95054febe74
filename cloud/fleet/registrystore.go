package fleet

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chargeplane/chargeplane/cloud/postgres"
	"github.com/chargeplane/chargeplane/cloud/site"
)

// Registry reads and writes the charger registry (charger_registry,
// charger_connectors) and lists what edges reported that nobody registered
// yet (pending: chargers rows without a registry row). Every call is scoped
// to one tenant: an edge or charger of another tenant is ErrNotFound.
//
// A registry row's site is always its edge's site. Writers read the edge
// row FOR SHARE before writing registry rows and AttachEdge updates it, so
// the two serialise on the edge and never disagree.
//
// Rejecting a charger, or accepting or registering a rejected one, changes
// what its edge pulls (site.Config's refused chargers): such writes take the
// tenant's config lock first (site.LockTenant, before any edge row, as
// cloud/site does), give the edge a new config version in the same
// transaction and hint it after the commit.
type Registry struct {
	pool  *pgxpool.Pool
	now   func() time.Time
	hints Notifier
}

// Notifier hears of edge config changes (cloud/hint's Publisher).
type Notifier interface {
	Notify(site.Change)
}

// NewRegistry returns a Registry on pool; now stamps creations and updates;
// hints, when not nil, hears of the edges whose refused chargers changed.
func NewRegistry(pool *pgxpool.Pool, now func() time.Time, hints Notifier) *Registry {
	return &Registry{pool: pool, now: now, hints: hints}
}

func (g *Registry) notify(ch site.Change) {
	if g.hints != nil && ch.Version != 0 {
		g.hints.Notify(ch)
	}
}

// refusalsChanged gives edges, whose refused chargers changed in tx, a new
// config version.
func refusalsChanged(ctx context.Context, tx pgx.Tx, tenantID string, edges []string) (site.Change, error) {
	slices.Sort(edges)
	ch, err := site.BumpEdges(ctx, tx, tenantID, slices.Compact(edges))
	if err != nil {
		return site.Change{}, fmt.Errorf("refused chargers changed: %w", err)
	}
	return ch, nil
}

// connectorsJSON aggregates a registry row's connectors (on alias r).
const connectorsJSON = `(SELECT coalesce(jsonb_agg(jsonb_build_object('number', k.number, 'kind', k.kind,
	'max_power_w', k.max_power_w, 'label', k.label) ORDER BY k.number), '[]')
	FROM charger_connectors k WHERE k.edge_id = r.edge_id AND k.charger_id = r.charger_id)`

// registeredSelect reads registry rows (r) with what the edge reported (c).
const registeredSelect = `SELECT r.tenant_id, r.edge_id, r.charger_id, coalesce(r.site_id, ''), r.state, r.protocol,
	r.model, r.vendor, r.firmware, r.bkv_gateway_id, r.bkv_socket_macs, r.ykc_pile_code, r.ocpp_identity,
	r.created_at, r.updated_at, ` + connectorsJSON + `, c.protocol, c.firmware, c.first_seen, c.last_seen
FROM charger_registry r
LEFT JOIN chargers c ON c.edge_id = r.edge_id AND c.charger_id = r.charger_id AND c.tenant_id = r.tenant_id`

type connectorRow struct {
	Number    uint32 `json:"number"`
	Kind      string `json:"kind"`
	MaxPowerW uint32 `json:"max_power_w"`
	Label     string `json:"label"`
}

func scanRegistered(row pgx.Row) (Registered, error) {
	var (
		c                     Registered
		r                     = &c.Registration
		connectors            []byte
		repProto, repFirmware *string
		firstSeen, lastSeen   *time.Time
	)
	err := row.Scan(&c.TenantID, &r.EdgeID, &r.ChargerID, &r.SiteID, &c.State, &r.Protocol,
		&r.Model, &r.Vendor, &r.Firmware, &r.VendorIDs.BKVGatewayID, &r.VendorIDs.BKVSocketMACs, &r.VendorIDs.YKCPileCode, &r.VendorIDs.OCPPIdentity,
		&c.CreatedAt, &c.UpdatedAt, &connectors, &repProto, &repFirmware, &firstSeen, &lastSeen)
	if err != nil {
		return Registered{}, err
	}
	var rows []connectorRow
	if err := json.Unmarshal(connectors, &rows); err != nil {
		return Registered{}, fmt.Errorf("decode connectors of %s/%s: %w", r.EdgeID, r.ChargerID, err)
	}
	for _, k := range rows {
		r.Connectors = append(r.Connectors, Connector(k))
	}
	if len(r.VendorIDs.BKVSocketMACs) == 0 {
		r.VendorIDs.BKVSocketMACs = nil
	}
	if repProto != nil {
		c.Reported = &Reported{Protocol: *repProto, Firmware: *repFirmware, FirstSeen: *firstSeen, LastSeen: *lastSeen}
	}
	return c, nil
}

// pendingSelect reads pending chargers: reported by an edge of their tenant
// (c), not in the registry.
const pendingSelect = `SELECT c.tenant_id, c.edge_id, c.charger_id, c.protocol, c.firmware, c.first_seen, c.last_seen
FROM chargers c
JOIN edges e ON e.edge_id = c.edge_id AND e.tenant_id = c.tenant_id
WHERE NOT EXISTS (SELECT 1 FROM charger_registry r WHERE r.edge_id = c.edge_id AND r.charger_id = c.charger_id)`

func scanPending(row pgx.Row) (Registered, error) {
	c := Registered{State: StatePending, Reported: &Reported{}}
	err := row.Scan(&c.TenantID, &c.Registration.EdgeID, &c.Registration.ChargerID,
		&c.Reported.Protocol, &c.Reported.Firmware, &c.Reported.FirstSeen, &c.Reported.LastSeen)
	return c, err
}

func chargerNotFound(tenantID, edgeID, chargerID string) error {
	return fmt.Errorf("charger %q on edge %q of tenant %q: %w", chargerID, edgeID, tenantID, ErrNotFound)
}

// Charger returns a registered charger, or a pending one.
func (g *Registry) Charger(ctx context.Context, tenantID, edgeID, chargerID string) (Registered, error) {
	return getCharger(ctx, g.pool, tenantID, edgeID, chargerID)
}

// querier is what reads need: a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func getCharger(ctx context.Context, q querier, tenantID, edgeID, chargerID string) (Registered, error) {
	c, err := scanRegistered(q.QueryRow(ctx, registeredSelect+` WHERE r.tenant_id = $1 AND r.edge_id = $2 AND r.charger_id = $3`,
		tenantID, edgeID, chargerID))
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Registered{}, fmt.Errorf("get charger %q: %w", chargerID, err)
	}
	c, err = scanPending(q.QueryRow(ctx, pendingSelect+` AND c.tenant_id = $1 AND c.edge_id = $2 AND c.charger_id = $3`,
		tenantID, edgeID, chargerID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Registered{}, chargerNotFound(tenantID, edgeID, chargerID)
	}
	if err != nil {
		return Registered{}, fmt.Errorf("get charger %q: %w", chargerID, err)
	}
	return c, nil
}

// ListRegistered returns up to limit registered chargers matching f in
// (edge_id, charger_id) order, starting after the cursor when it is
// non-nil.
func (g *Registry) ListRegistered(ctx context.Context, f RegistryFilter, after *Cursor, limit int) ([]Registered, error) {
	var w postgres.Where
	w.Add("r.tenant_id = ?", f.TenantID)
	if f.SiteID != "" {
		w.Add("r.site_id = ?", f.SiteID)
	}
	if f.EdgeID != "" {
		w.Add("r.edge_id = ?", f.EdgeID)
	}
	if f.State != "" {
		w.Add("r.state = ?", f.State)
	}
	if f.Protocol != "" {
		w.Add("r.protocol = ?", f.Protocol)
	}
	if after != nil {
		w.Add("(r.edge_id, r.charger_id) > (?, ?)", after.EdgeID, after.ChargerID)
	}
	lim := w.Param(limit)
	sql := registeredSelect + " WHERE " + w.SQL() + " ORDER BY r.edge_id, r.charger_id LIMIT " + lim
	rows, err := g.pool.Query(ctx, sql, w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("list registered chargers: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Registered, error) { return scanRegistered(r) })
	if err != nil {
		return nil, fmt.Errorf("list registered chargers: %w", err)
	}
	return out, nil
}

// ListPending returns up to limit pending chargers of tenantID (of edgeID
// when not "") in (edge_id, charger_id) order, starting after the cursor
// when it is non-nil.
func (g *Registry) ListPending(ctx context.Context, tenantID, edgeID string, after *Cursor, limit int) ([]Registered, error) {
	var w postgres.Where
	w.Add("c.tenant_id = ?", tenantID)
	if edgeID != "" {
		w.Add("c.edge_id = ?", edgeID)
	}
	if after != nil {
		w.Add("(c.edge_id, c.charger_id) > (?, ?)", after.EdgeID, after.ChargerID)
	}
	lim := w.Param(limit)
	sql := pendingSelect + " AND " + w.SQL() + " ORDER BY c.edge_id, c.charger_id LIMIT " + lim
	rows, err := g.pool.Query(ctx, sql, w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("list pending chargers: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Registered, error) { return scanPending(r) })
	if err != nil {
		return nil, fmt.Errorf("list pending chargers: %w", err)
	}
	return out, nil
}

// Outcome says what writing a registration did.
type Outcome int

// Outcomes of a write.
const (
	Unchanged Outcome = iota
	Created
	Updated
)

// edgeSites locks the tenant's edges among ids FOR SHARE and returns their
// sites ("" for none); edges missing from the map are not the tenant's.
func edgeSites(ctx context.Context, tx pgx.Tx, tenantID string, ids []string) (map[string]string, error) {
	rows, err := tx.Query(ctx, `SELECT edge_id, coalesce(site_id, '') FROM edges
		WHERE tenant_id = $1 AND edge_id = ANY($2) ORDER BY edge_id FOR SHARE`, tenantID, ids)
	if err != nil {
		return nil, fmt.Errorf("read edges: %w", err)
	}
	out := map[string]string{}
	var edge, site string
	if _, err := pgx.ForEachRow(rows, []any{&edge, &site}, func() error {
		out[edge] = site
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read edges: %w", err)
	}
	return out, nil
}

// resolveSite fills r.SiteID with its edge's site, or says why it cannot be
// registered there. ok is false when the edge is not the tenant's.
func resolveSite(r *Registration, sites map[string]string) (ok bool, invalid *InvalidError) {
	site, ok := sites[r.EdgeID]
	if !ok {
		return false, nil
	}
	switch {
	case r.SiteID == "":
		r.SiteID = site
	case site == "":
		return true, &InvalidError{Field: "site_id", Reason: fmt.Sprintf(
			"edge %q is attached to no site: attach it first (SiteService.AttachEdge) or leave site_id empty", r.EdgeID)}
	case site != r.SiteID:
		return true, &InvalidError{Field: "site_id", Reason: fmt.Sprintf(
			"edge %q is attached to site %q: a charger is at its edge's site; leave site_id empty or give %q", r.EdgeID, site, site)}
	}
	return true, nil
}

// existing reads the registry rows of keys FOR UPDATE, by key.
func existing(ctx context.Context, tx pgx.Tx, tenantID string, regs []Registration) (map[Cursor]Registered, error) {
	edges := make([]string, len(regs))
	chargers := make([]string, len(regs))
	for i, r := range regs {
		edges[i], chargers[i] = r.EdgeID, r.ChargerID
	}
	// FOR UPDATE cannot lock through the outer join; lock the registry rows
	// first, in key order, then read them whole.
	if _, err := tx.Exec(ctx, `SELECT 1 FROM charger_registry
		WHERE tenant_id = $1 AND (edge_id, charger_id) IN (SELECT * FROM unnest($2::text[], $3::text[]))
		ORDER BY edge_id, charger_id FOR UPDATE`, tenantID, edges, chargers); err != nil {
		return nil, fmt.Errorf("lock registry rows: %w", err)
	}
	rows, err := tx.Query(ctx, registeredSelect+` WHERE r.tenant_id = $1
		AND (r.edge_id, r.charger_id) IN (SELECT * FROM unnest($2::text[], $3::text[]))`, tenantID, edges, chargers)
	if err != nil {
		return nil, fmt.Errorf("read registry rows: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Registered, error) { return scanRegistered(r) })
	if err != nil {
		return nil, fmt.Errorf("read registry rows: %w", err)
	}
	out := make(map[Cursor]Registered, len(list))
	for _, c := range list {
		out[Cursor{EdgeID: c.Registration.EdgeID, ChargerID: c.Registration.ChargerID}] = c
	}
	return out, nil
}

// sameRegistration reports whether a and b (both normalised) register the
// same thing.
func sameRegistration(a, b Registration) bool {
	return a.EdgeID == b.EdgeID && a.ChargerID == b.ChargerID && a.SiteID == b.SiteID && a.Protocol == b.Protocol &&
		a.Model == b.Model && a.Vendor == b.Vendor && a.Firmware == b.Firmware &&
		a.VendorIDs.BKVGatewayID == b.VendorIDs.BKVGatewayID && slices.Equal(a.VendorIDs.BKVSocketMACs, b.VendorIDs.BKVSocketMACs) &&
		a.VendorIDs.YKCPileCode == b.VendorIDs.YKCPileCode && a.VendorIDs.OCPPIdentity == b.VendorIDs.OCPPIdentity &&
		slices.Equal(a.Connectors, b.Connectors)
}

// write stores regs (normalised, sites resolved, edges locked) in state and
// says what it did to each, and which edges' refused chargers that changed.
// Rows that would not change are not written.
func write(ctx context.Context, tx pgx.Tx, tenantID, state string, regs []Registration, now time.Time) ([]Outcome, []string, error) {
	old, err := existing(ctx, tx, tenantID, regs)
	if err != nil {
		return nil, nil, err
	}
	var refusals []string
	outcomes := make([]Outcome, len(regs))
	b := &pgx.Batch{}
	for i, r := range regs {
		prev, found := old[Cursor{EdgeID: r.EdgeID, ChargerID: r.ChargerID}]
		switch {
		case !found:
			outcomes[i] = Created
		case prev.State == state && sameRegistration(prev.Registration, r):
			outcomes[i] = Unchanged
			continue
		default:
			outcomes[i] = Updated
		}
		if (found && prev.State == StateRejected) != (state == StateRejected) {
			refusals = append(refusals, r.EdgeID)
		}
		var site *string
		if r.SiteID != "" {
			site = &r.SiteID
		}
		macs := r.VendorIDs.BKVSocketMACs
		if macs == nil {
			macs = []string{}
		}
		b.Queue(`INSERT INTO charger_registry (tenant_id, edge_id, charger_id, site_id, state, protocol, model, vendor, firmware,
				bkv_gateway_id, bkv_socket_macs, ykc_pile_code, ocpp_identity, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
			ON CONFLICT (edge_id, charger_id) DO UPDATE SET site_id = excluded.site_id, state = excluded.state,
				protocol = excluded.protocol, model = excluded.model, vendor = excluded.vendor, firmware = excluded.firmware,
				bkv_gateway_id = excluded.bkv_gateway_id, bkv_socket_macs = excluded.bkv_socket_macs,
				ykc_pile_code = excluded.ykc_pile_code, ocpp_identity = excluded.ocpp_identity, updated_at = excluded.updated_at`,
			tenantID, r.EdgeID, r.ChargerID, site, state, r.Protocol, r.Model, r.Vendor, r.Firmware,
			r.VendorIDs.BKVGatewayID, macs, r.VendorIDs.YKCPileCode, r.VendorIDs.OCPPIdentity, now)
		if found && slices.Equal(prev.Registration.Connectors, r.Connectors) {
			continue
		}
		if found {
			b.Queue(`DELETE FROM charger_connectors WHERE edge_id = $1 AND charger_id = $2`, r.EdgeID, r.ChargerID)
		}
		if len(r.Connectors) > 0 {
			numbers := make([]int64, len(r.Connectors))
			kinds := make([]string, len(r.Connectors))
			powers := make([]int64, len(r.Connectors))
			labels := make([]string, len(r.Connectors))
			for j, k := range r.Connectors {
				numbers[j], kinds[j], powers[j], labels[j] = int64(k.Number), k.Kind, int64(k.MaxPowerW), k.Label
			}
			b.Queue(`INSERT INTO charger_connectors (edge_id, charger_id, number, kind, max_power_w, label)
				SELECT $1, $2, * FROM unnest($3::integer[], $4::text[], $5::bigint[], $6::text[])`,
				r.EdgeID, r.ChargerID, numbers, kinds, powers, labels)
		}
	}
	if b.Len() > 0 {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return nil, nil, fmt.Errorf("write registrations: %w", err)
		}
	}
	return outcomes, refusals, nil
}

// Register creates or replaces a charger's registration, accepted; a
// pending or rejected charger becomes accepted. r.SiteID "" means the
// edge's site; anything else must be it. created is false when the charger
// had a registry row (accepted or rejected) before.
func (g *Registry) Register(ctx context.Context, tenantID string, r Registration) (c Registered, created bool, err error) {
	if errs := CheckRegistration(r); len(errs) > 0 {
		return Registered{}, false, errs[0]
	}
	r = r.Normalize()
	var change site.Change
	err = postgres.InTx(ctx, g.pool, func(tx pgx.Tx) error {
		if err := site.LockTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		sites, err := edgeSites(ctx, tx, tenantID, []string{r.EdgeID})
		if err != nil {
			return err
		}
		ok, invalid := resolveSite(&r, sites)
		if !ok {
			return fmt.Errorf("edge %q of tenant %q: %w", r.EdgeID, tenantID, ErrNotFound)
		}
		if invalid != nil {
			return invalid
		}
		outcomes, refusals, err := write(ctx, tx, tenantID, StateAccepted, []Registration{r}, stamp(g.now))
		if err != nil {
			return err
		}
		if change, err = refusalsChanged(ctx, tx, tenantID, refusals); err != nil {
			return err
		}
		created = outcomes[0] == Created
		c, err = getCharger(ctx, tx, tenantID, r.EdgeID, r.ChargerID)
		return err
	})
	if err != nil {
		return Registered{}, false, err
	}
	g.notify(change)
	return c, created, nil
}

// Accept accepts a pending or rejected charger (an accepted one stays as
// it is). A pending charger is registered with what its edge reported: its
// protocol, firmware and the vendor id its charger id is.
func (g *Registry) Accept(ctx context.Context, tenantID, edgeID, chargerID string) (Registered, error) {
	return g.decide(ctx, tenantID, edgeID, chargerID, StateAccepted)
}

// Reject rejects a pending or accepted charger: it leaves the pending list
// and keeps its registration, and may be accepted again later.
func (g *Registry) Reject(ctx context.Context, tenantID, edgeID, chargerID string) (Registered, error) {
	return g.decide(ctx, tenantID, edgeID, chargerID, StateRejected)
}

func (g *Registry) decide(ctx context.Context, tenantID, edgeID, chargerID, state string) (Registered, error) {
	var (
		c      Registered
		change site.Change
	)
	err := postgres.InTx(ctx, g.pool, func(tx pgx.Tx) error {
		if err := site.LockTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		sites, err := edgeSites(ctx, tx, tenantID, []string{edgeID})
		if err != nil {
			return err
		}
		if _, ok := sites[edgeID]; !ok {
			return chargerNotFound(tenantID, edgeID, chargerID)
		}
		now := stamp(g.now)
		tag, err := tx.Exec(ctx, `UPDATE charger_registry SET state = $4, updated_at = $5
			WHERE tenant_id = $1 AND edge_id = $2 AND charger_id = $3 AND state <> $4`, tenantID, edgeID, chargerID, state, now)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23514" { // check_violation: rejected with an unknown protocol
			return fmt.Errorf("charger %q was rejected with a protocol the registry does not know; register it (RegisterCharger) with its protocol instead: %w",
				chargerID, ErrPrecondition)
		}
		if err != nil {
			return fmt.Errorf("%s charger %q: %w", state, chargerID, err)
		}
		// A registry row is accepted or rejected, so an update switched it
		// between the two; a pending charger is refused only when rejected.
		refusalChanged := tag.RowsAffected() == 1
		if tag.RowsAffected() == 0 {
			c, err = getCharger(ctx, tx, tenantID, edgeID, chargerID)
			if err != nil {
				return err
			}
			if c.State != StatePending {
				return nil // already in that state
			}
			protocol := c.Reported.Protocol
			if !slices.Contains(Protocols(), protocol) {
				if state == StateAccepted {
					return fmt.Errorf("charger %q reported protocol %.32q, which the registry does not know; register it (RegisterCharger) with its protocol instead: %w",
						chargerID, protocol, ErrPrecondition)
				}
				protocol = ""
			}
			var siteID *string
			if s := sites[edgeID]; s != "" {
				siteID = &s
			}
			ids := reportedVendorIDs(protocol, chargerID)
			macs := []string{}
			if _, err := tx.Exec(ctx, `INSERT INTO charger_registry (tenant_id, edge_id, charger_id, site_id, state, protocol, firmware,
					bkv_gateway_id, bkv_socket_macs, ykc_pile_code, ocpp_identity, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)`,
				tenantID, edgeID, chargerID, siteID, state, protocol, c.Reported.Firmware,
				ids.BKVGatewayID, macs, ids.YKCPileCode, ids.OCPPIdentity, now); err != nil {
				return fmt.Errorf("%s charger %q: %w", state, chargerID, err)
			}
			refusalChanged = state == StateRejected
		}
		if refusalChanged {
			if change, err = refusalsChanged(ctx, tx, tenantID, []string{edgeID}); err != nil {
				return err
			}
		}
		c, err = getCharger(ctx, tx, tenantID, edgeID, chargerID)
		return err
	})
	if err != nil {
		return Registered{}, err
	}
	g.notify(change)
	return c, nil
}

// Import registers the chargers of an import file (ParseImport), all or
// nothing: every row is checked first, against the database too (the edge
// must be the tenant's, the site its edge's), and when any row has a
// problem the result lists every problem and nothing is written. Otherwise
// every row is written in one transaction, accepted, and the result counts
// what changed. Importing the same file again changes nothing.
func (g *Registry) Import(ctx context.Context, tenantID string, data []byte) (ImportResult, error) {
	rows, errs, err := ParseImport(data)
	if err != nil {
		return ImportResult{}, err
	}
	var (
		res    ImportResult
		change site.Change
	)
	err = postgres.InTx(ctx, g.pool, func(tx pgx.Tx) error {
		if err := site.LockTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		var edgeIDs []string
		for _, r := range rows {
			edgeIDs = append(edgeIDs, r.Registration.EdgeID)
		}
		slices.Sort(edgeIDs)
		sites, err := edgeSites(ctx, tx, tenantID, slices.Compact(edgeIDs))
		if err != nil {
			return err
		}
		regs := make([]Registration, 0, len(rows))
		for _, r := range rows {
			reg := r.Registration
			ok, invalid := resolveSite(&reg, sites)
			switch {
			case !ok:
				errs = append(errs, RowError{Line: r.Line, Field: ColEdgeID, Message: fmt.Sprintf("no edge %q in this tenant", reg.EdgeID)})
			case invalid != nil:
				errs = append(errs, RowError{Line: r.Line, Field: invalid.Field, Message: invalid.Reason})
			default:
				regs = append(regs, reg)
			}
		}
		if len(errs) > 0 {
			return nil // nothing written: the transaction commits no change
		}
		// Rows are written in key order, so that two imports of overlapping
		// files take their row locks in the same order and cannot deadlock.
		slices.SortFunc(regs, func(a, b Registration) int {
			return cmp.Or(strings.Compare(a.EdgeID, b.EdgeID), strings.Compare(a.ChargerID, b.ChargerID))
		})
		outcomes, refusals, err := write(ctx, tx, tenantID, StateAccepted, regs, stamp(g.now))
		if err != nil {
			return err
		}
		if change, err = refusalsChanged(ctx, tx, tenantID, refusals); err != nil {
			return err
		}
		for _, o := range outcomes {
			switch o {
			case Created:
				res.Created++
			case Updated:
				res.Updated++
			case Unchanged:
				res.Unchanged++
			}
		}
		return nil
	})
	if err != nil {
		return ImportResult{}, fmt.Errorf("import chargers: %w", err)
	}
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b RowError) int { return a.Line - b.Line })
		return ImportResult{Errors: errs}, nil
	}
	g.notify(change)
	return res, nil
}
