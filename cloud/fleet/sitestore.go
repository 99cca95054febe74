package fleet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chargeplane/chargeplane/cloud/postgres"
)

// SiteStore reads and writes the sites table and which site each edge
// serves (edges.site_id). Every call is scoped to one tenant: a site or edge
// of another tenant is ErrNotFound.
type SiteStore struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

// NewSiteStore returns a SiteStore on pool; now stamps creations and
// updates.
func NewSiteStore(pool *pgxpool.Pool, now func() time.Time) *SiteStore {
	return &SiteStore{pool: pool, now: now}
}

const siteColumns = `tenant_id, site_id, name, address, latitude, longitude, timezone, created_at, updated_at`

func scanSite(row pgx.Row) (Site, error) {
	var (
		s        Site
		lat, lng *float64
	)
	if err := row.Scan(&s.TenantID, &s.ID, &s.Name, &s.Address, &lat, &lng, &s.Timezone, &s.CreatedAt, &s.UpdatedAt); err != nil {
		return Site{}, err
	}
	if lat != nil && lng != nil {
		s.Location = &LatLng{Latitude: *lat, Longitude: *lng}
	}
	return s, nil
}

func location(s Site) (lat, lng *float64) {
	if s.Location == nil {
		return nil, nil
	}
	return &s.Location.Latitude, &s.Location.Longitude
}

func siteNotFound(tenantID, siteID string) error {
	return fmt.Errorf("site %q of tenant %q: %w", siteID, tenantID, ErrNotFound)
}

// stamp is the store's clock at the precision timestamptz keeps, so that
// what a write returns equals what a later read returns.
func stamp(now func() time.Time) time.Time { return now().UTC().Truncate(time.Microsecond) }

// CreateSite creates s in tenantID; ErrAlreadyExists when the id is taken
// and ErrNotFound when the tenant does not exist.
func (st *SiteStore) CreateSite(ctx context.Context, tenantID string, s Site) (Site, error) {
	if err := CheckSite(s); err != nil {
		return Site{}, err
	}
	now := stamp(st.now)
	lat, lng := location(s)
	row := st.pool.QueryRow(ctx, `INSERT INTO sites (`+siteColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
		ON CONFLICT (tenant_id, site_id) DO NOTHING
		RETURNING `+siteColumns, tenantID, s.ID, s.Name, s.Address, lat, lng, s.Timezone, now)
	out, err := scanSite(row)
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return Site{}, fmt.Errorf("site %q of tenant %q: %w", s.ID, tenantID, ErrAlreadyExists)
	case errors.As(err, &pgErr) && pgErr.Code == "23503": // foreign_key_violation: no such tenant
		return Site{}, fmt.Errorf("tenant %q: %w", tenantID, ErrNotFound)
	case err != nil:
		return Site{}, fmt.Errorf("create site %q: %w", s.ID, err)
	}
	return out, nil
}

// Site returns one site with the edges attached to it, in edge id order.
func (st *SiteStore) Site(ctx context.Context, tenantID, siteID string) (Site, []string, error) {
	var (
		s     Site
		edges []string
	)
	err := postgres.InTxOptions(ctx, st.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		var err error
		s, err = scanSite(tx.QueryRow(ctx, `SELECT `+siteColumns+` FROM sites WHERE tenant_id = $1 AND site_id = $2`, tenantID, siteID))
		if errors.Is(err, pgx.ErrNoRows) {
			return siteNotFound(tenantID, siteID)
		}
		if err != nil {
			return fmt.Errorf("get site %q: %w", siteID, err)
		}
		rows, err := tx.Query(ctx, `SELECT edge_id FROM edges WHERE tenant_id = $1 AND site_id = $2 ORDER BY edge_id`, tenantID, siteID)
		if err != nil {
			return fmt.Errorf("edges of site %q: %w", siteID, err)
		}
		edges, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("edges of site %q: %w", siteID, err)
		}
		return nil
	})
	if err != nil {
		return Site{}, nil, err
	}
	return s, edges, nil
}

// ListSites returns up to limit sites of tenantID in site id order,
// starting after the cursor when it is non-nil.
func (st *SiteStore) ListSites(ctx context.Context, tenantID string, after *SiteCursor, limit int) ([]Site, error) {
	from := ""
	if after != nil {
		from = after.SiteID
	}
	// Every id is longer than "", so the first page needs no second shape.
	rows, err := st.pool.Query(ctx, `SELECT `+siteColumns+` FROM sites
		WHERE tenant_id = $1 AND site_id > $2 ORDER BY site_id LIMIT $3`, tenantID, from, limit)
	if err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Site, error) { return scanSite(r) })
	if err != nil {
		return nil, fmt.Errorf("list sites: %w", err)
	}
	return out, nil
}

// UpdateSite replaces the name, address, location and timezone of the site
// tenantID/s.ID.
func (st *SiteStore) UpdateSite(ctx context.Context, tenantID string, s Site) (Site, error) {
	if err := CheckSite(s); err != nil {
		return Site{}, err
	}
	lat, lng := location(s)
	row := st.pool.QueryRow(ctx, `UPDATE sites SET name = $3, address = $4, latitude = $5, longitude = $6, timezone = $7, updated_at = $8
		WHERE tenant_id = $1 AND site_id = $2
		RETURNING `+siteColumns, tenantID, s.ID, s.Name, s.Address, lat, lng, s.Timezone, stamp(st.now))
	out, err := scanSite(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return Site{}, siteNotFound(tenantID, s.ID)
	}
	if err != nil {
		return Site{}, fmt.Errorf("update site %q: %w", s.ID, err)
	}
	return out, nil
}

// DeleteSite deletes a site; ErrPrecondition while edges or chargers are
// attached to it.
func (st *SiteStore) DeleteSite(ctx context.Context, tenantID, siteID string) error {
	return postgres.InTx(ctx, st.pool, func(tx pgx.Tx) error {
		// Locking the site first makes a concurrent AttachEdge to it (whose
		// foreign key check takes a share lock on the row) wait for this
		// transaction, so the counts below stay true until it commits.
		var found bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sites WHERE tenant_id = $1 AND site_id = $2 FOR UPDATE)`,
			tenantID, siteID).Scan(&found); err != nil {
			return fmt.Errorf("delete site %q: %w", siteID, err)
		}
		if !found {
			return siteNotFound(tenantID, siteID)
		}
		var edges, chargers int64
		if err := tx.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM edges WHERE tenant_id = $1 AND site_id = $2),
			(SELECT count(*) FROM charger_registry WHERE tenant_id = $1 AND site_id = $2)`,
			tenantID, siteID).Scan(&edges, &chargers); err != nil {
			return fmt.Errorf("delete site %q: %w", siteID, err)
		}
		if edges > 0 || chargers > 0 {
			return fmt.Errorf("site %q has %d edges and %d registered chargers attached; detach its edges first (AttachEdge with no site): %w",
				siteID, edges, chargers, ErrPrecondition)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sites WHERE tenant_id = $1 AND site_id = $2`, tenantID, siteID); err != nil {
			return fmt.Errorf("delete site %q: %w", siteID, err)
		}
		return nil
	})
}

// AttachEdge attaches edgeID to siteID, or detaches it from its site when
// siteID is "". The chargers registered on the edge move with it; it
// returns how many did.
func (st *SiteStore) AttachEdge(ctx context.Context, tenantID, siteID, edgeID string) (int, error) {
	if siteID != "" {
		if err := CheckID("site_id", siteID); err != nil {
			return 0, err
		}
	}
	var moved int
	err := postgres.InTx(ctx, st.pool, func(tx pgx.Tx) error {
		if siteID != "" {
			var found bool
			// FOR SHARE keeps the site from being deleted before commit.
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sites WHERE tenant_id = $1 AND site_id = $2 FOR SHARE)`,
				tenantID, siteID).Scan(&found); err != nil {
				return fmt.Errorf("attach edge %q: %w", edgeID, err)
			}
			if !found {
				return siteNotFound(tenantID, siteID)
			}
		}
		var site *string
		if siteID != "" {
			site = &siteID
		}
		// The edge row's lock orders this against RegisterCharger, which
		// reads the edge's site FOR SHARE before writing a registry row.
		tag, err := tx.Exec(ctx, `UPDATE edges SET site_id = $3 WHERE tenant_id = $1 AND edge_id = $2`, tenantID, edgeID, site)
		if err != nil {
			return fmt.Errorf("attach edge %q: %w", edgeID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("edge %q of tenant %q: %w", edgeID, tenantID, ErrNotFound)
		}
		tag, err = tx.Exec(ctx, `UPDATE charger_registry SET site_id = $3, updated_at = $4
			WHERE tenant_id = $1 AND edge_id = $2 AND site_id IS DISTINCT FROM $3`, tenantID, edgeID, site, stamp(st.now))
		if err != nil {
			return fmt.Errorf("move chargers of edge %q: %w", edgeID, err)
		}
		moved = int(tag.RowsAffected())
		return nil
	})
	if err != nil {
		return 0, err
	}
	return moved, nil
}
