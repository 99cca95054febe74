package api

import (
	"context"
	"errors"
	"log/slog"
	"math"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/cloud/access"
	"github.com/chargeplane/chargeplane/cloud/fleet"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// SiteService serves chargeplane.v1.SiteService: a tenant's sites and which
// of its edges serve them. Every call acts on the caller's tenant (or the
// one a platform admin names); a site or edge of another tenant is not
// found.
type SiteService struct {
	sites  *fleet.SiteStore
	logger *slog.Logger
}

// NewSiteService returns the SiteService on sites.
func NewSiteService(sites *fleet.SiteStore, logger *slog.Logger) *SiteService {
	return &SiteService{sites: sites, logger: logger}
}

// fleetTenant resolves the tenant a SiteService or FleetService call acts
// on: the caller's, or the one a platform admin names.
func fleetTenant(ctx context.Context, requested string) (string, error) {
	p, err := access.Caller(ctx)
	if err != nil {
		return "", err
	}
	if err := checkID("tenant_id", requested, false); err != nil {
		return "", err
	}
	return p.Tenant(requested)
}

// fleetError turns cloud/fleet's errors into ones connectError maps: their
// texts name only what the caller gave and are written for clients.
func fleetError(err error) error {
	var invalid *fleet.InvalidError
	switch {
	case errors.As(err, &invalid):
		return &FieldError{Field: invalid.Field, Reason: invalid.Reason}
	case errors.Is(err, fleet.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, fleet.ErrAlreadyExists):
		return connect.NewError(connect.CodeAlreadyExists, err)
	case errors.Is(err, fleet.ErrPrecondition):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	}
	return err
}

// siteOf reads a request's site; the tenant and timestamps are the
// server's.
func siteOf(s *chargeplanev1.Site) (fleet.Site, error) {
	if s == nil {
		return fleet.Site{}, &FieldError{Field: "site", Reason: "required"}
	}
	out := fleet.Site{ID: s.GetSiteId(), Name: s.GetName(), Address: s.GetAddress(), Timezone: s.GetTimezone()}
	switch {
	case s.Latitude != nil && s.Longitude != nil:
		out.Location = &fleet.LatLng{Latitude: s.GetLatitude(), Longitude: s.GetLongitude()}
	case s.Latitude != nil || s.Longitude != nil:
		return fleet.Site{}, &FieldError{Field: "latitude", Reason: "set latitude and longitude together, or neither"}
	}
	return out, fleetError(fleet.CheckSite(out))
}

func siteProto(s fleet.Site) *chargeplanev1.Site {
	out := &chargeplanev1.Site{
		TenantId:  s.TenantID,
		SiteId:    s.ID,
		Name:      s.Name,
		Address:   s.Address,
		Timezone:  s.Timezone,
		CreatedAt: timestamppb.New(s.CreatedAt),
		UpdatedAt: timestamppb.New(s.UpdatedAt),
	}
	if s.Location != nil {
		out.Latitude, out.Longitude = &s.Location.Latitude, &s.Location.Longitude
	}
	return out
}

// checkSiteID checks a required site id.
func checkSiteID(v string) error { return fleetError(fleet.CheckID("site_id", v)) }

// CreateSite creates a site.
func (s *SiteService) CreateSite(ctx context.Context, req *connect.Request[chargeplanev1.CreateSiteRequest]) (*connect.Response[chargeplanev1.CreateSiteResponse], error) {
	site, err := s.writeSite(ctx, req.Msg.GetSite(), s.sites.CreateSite, "site created")
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.CreateSiteResponse{Site: site}), nil
}

// writeSite creates or updates (write) a site of the caller's tenant.
func (s *SiteService) writeSite(ctx context.Context, msg *chargeplanev1.Site,
	write func(context.Context, string, fleet.Site) (fleet.Site, error), logMsg string,
) (*chargeplanev1.Site, error) {
	tenant, err := fleetTenant(ctx, msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	in, err := siteOf(msg)
	if err != nil {
		return nil, err
	}
	site, err := write(ctx, tenant, in)
	if err != nil {
		return nil, fleetError(err)
	}
	s.logger.InfoContext(ctx, logMsg, "tenant_id", tenant, "site_id", site.ID, "request_id", RequestID(ctx))
	return siteProto(site), nil
}

// GetSite returns a site with its edges.
func (s *SiteService) GetSite(ctx context.Context, req *connect.Request[chargeplanev1.GetSiteRequest]) (*connect.Response[chargeplanev1.GetSiteResponse], error) {
	tenant, err := fleetTenant(ctx, req.Msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	if err := checkSiteID(req.Msg.GetSiteId()); err != nil {
		return nil, err
	}
	site, edges, err := s.sites.Site(ctx, tenant, req.Msg.GetSiteId())
	if err != nil {
		return nil, fleetError(err)
	}
	return connect.NewResponse(&chargeplanev1.GetSiteResponse{Site: siteProto(site), EdgeIds: edges}), nil
}

// A sites page token is the base64url (unpadded) JSON array [site_id] of
// the last site of the previous page.

func encodeSiteToken(c fleet.SiteCursor) string { return encodeToken([1]string{c.SiteID}) }

func decodeSiteToken(tok string) (*fleet.SiteCursor, error) {
	var k [1]string
	if ok, err := decodeToken(tok, &k, func() bool { return k[0] != "" }); !ok {
		return nil, err
	}
	return &fleet.SiteCursor{SiteID: k[0]}, nil
}

// ListSites pages through the tenant's sites in site id order.
func (s *SiteService) ListSites(ctx context.Context, req *connect.Request[chargeplanev1.ListSitesRequest]) (*connect.Response[chargeplanev1.ListSitesResponse], error) {
	tenant, err := fleetTenant(ctx, req.Msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	size, err := pageSize(req.Msg.GetPageSize())
	if err != nil {
		return nil, err
	}
	after, err := decodeSiteToken(req.Msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	// One more than a page tells whether another page follows.
	sites, err := s.sites.ListSites(ctx, tenant, after, size+1)
	if err != nil {
		return nil, err
	}
	res := &chargeplanev1.ListSitesResponse{}
	if len(sites) > size {
		sites = sites[:size]
		res.NextPageToken = encodeSiteToken(fleet.SiteCursor{SiteID: sites[len(sites)-1].ID})
	}
	for _, site := range sites {
		res.Sites = append(res.Sites, siteProto(site))
	}
	return connect.NewResponse(res), nil
}

// UpdateSite replaces a site's name, address, location and timezone.
func (s *SiteService) UpdateSite(ctx context.Context, req *connect.Request[chargeplanev1.UpdateSiteRequest]) (*connect.Response[chargeplanev1.UpdateSiteResponse], error) {
	site, err := s.writeSite(ctx, req.Msg.GetSite(), s.sites.UpdateSite, "site updated")
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.UpdateSiteResponse{Site: site}), nil
}

// DeleteSite deletes a site with nothing attached.
func (s *SiteService) DeleteSite(ctx context.Context, req *connect.Request[chargeplanev1.DeleteSiteRequest]) (*connect.Response[chargeplanev1.DeleteSiteResponse], error) {
	tenant, err := fleetTenant(ctx, req.Msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	if err := checkSiteID(req.Msg.GetSiteId()); err != nil {
		return nil, err
	}
	if err := s.sites.DeleteSite(ctx, tenant, req.Msg.GetSiteId()); err != nil {
		return nil, fleetError(err)
	}
	s.logger.InfoContext(ctx, "site deleted", "tenant_id", tenant, "site_id", req.Msg.GetSiteId(), "request_id", RequestID(ctx))
	return connect.NewResponse(&chargeplanev1.DeleteSiteResponse{}), nil
}

// AttachEdge attaches an edge to a site, or detaches it.
func (s *SiteService) AttachEdge(ctx context.Context, req *connect.Request[chargeplanev1.AttachEdgeRequest]) (*connect.Response[chargeplanev1.AttachEdgeResponse], error) {
	msg := req.Msg
	tenant, err := fleetTenant(ctx, msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	if err := checkID("edge_id", msg.GetEdgeId(), true); err != nil {
		return nil, err
	}
	moved, err := s.sites.AttachEdge(ctx, tenant, msg.GetSiteId(), msg.GetEdgeId())
	if err != nil {
		return nil, fleetError(err)
	}
	s.logger.InfoContext(ctx, "edge attached", "tenant_id", tenant, "edge_id", msg.GetEdgeId(), "site_id", msg.GetSiteId(),
		"chargers_moved", moved, "request_id", RequestID(ctx))
	return connect.NewResponse(&chargeplanev1.AttachEdgeResponse{ChargersMoved: int32(min(moved, math.MaxInt32))}), nil //nolint:gosec // capped
}
