package api

import (
	"context"
	"fmt"
	"math"

	"connectrpc.com/connect"

	"github.com/chargeplane/chargeplane/cloud/access"
	"github.com/chargeplane/chargeplane/cloud/live"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// LiveService serves chargeplane.v1.LiveService: the live stream of a
// tenant's chargers and the current status of their connectors.
type LiveService struct {
	hub      *live.Hub
	statuses *live.Statuses
}

// NewLiveService returns the service streaming from hub and reading
// statuses.
func NewLiveService(hub *live.Hub, statuses *live.Statuses) *LiveService {
	return &LiveService{hub: hub, statuses: statuses}
}

// liveCallerTenant returns the tenant a call acts on (access.Principal.Tenant).
func liveCallerTenant(ctx context.Context, requested string) (string, error) {
	p, err := access.Caller(ctx)
	if err != nil {
		return "", err
	}
	return p.Tenant(requested)
}

// liveFilter checks the optional edge and charger filters of a watch.
func liveFilter(edgeID, chargerID string) (live.Filter, error) {
	if err := checkID("edge_id", edgeID, false); err != nil {
		return live.Filter{}, err
	}
	if err := checkFreeID("charger_id", chargerID, false); err != nil {
		return live.Filter{}, err
	}
	return live.Filter{EdgeID: edgeID, ChargerID: chargerID}, nil
}

// Watch streams the tenant's updates (response headers first, as soon as
// the subscription is live) until the client cancels, the watcher
// falls behind (live.ErrSlowSubscriber) or the feed is lost
// (live.ErrFeedLost); the client then reloads and watches again.
func (s *LiveService) Watch(ctx context.Context, req *connect.Request[chargeplanev1.WatchRequest], stream *connect.ServerStream[chargeplanev1.WatchResponse]) error {
	tenant, err := liveCallerTenant(ctx, req.Msg.GetTenantId())
	if err != nil {
		return err
	}
	f, err := liveFilter(req.Msg.GetEdgeId(), req.Msg.GetChargerId())
	if err != nil {
		return err
	}
	sub, err := s.hub.Subscribe(ctx, tenant, f)
	if err != nil {
		return err
	}
	defer sub.Close()
	// Send the response headers now, with no message: the client's call
	// returns once the subscription is live, so a client that loads
	// ListConnectorStatus after that misses nothing in between.
	if err := stream.Send(nil); err != nil {
		return nil //nolint:nilerr // the client went away
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case u, ok := <-sub.Updates():
			if !ok {
				return sub.Err()
			}
			if err := stream.Send(&chargeplanev1.WatchResponse{Update: u}); err != nil {
				// The client went away.
				return nil //nolint:nilerr // nothing to report to a client that is gone
			}
		}
	}
}

// GetConnectorStatus returns one connector's current status.
func (s *LiveService) GetConnectorStatus(ctx context.Context, req *connect.Request[chargeplanev1.GetConnectorStatusRequest]) (*connect.Response[chargeplanev1.GetConnectorStatusResponse], error) {
	m := req.Msg
	tenant, err := liveCallerTenant(ctx, m.GetTenantId())
	if err != nil {
		return nil, err
	}
	if err := checkID("edge_id", m.GetEdgeId(), true); err != nil {
		return nil, err
	}
	if err := checkFreeID("charger_id", m.GetChargerId(), true); err != nil {
		return nil, err
	}
	if m.GetConnector() > math.MaxInt32 {
		return nil, &FieldError{Field: "connector", Reason: fmt.Sprintf("at most %d", math.MaxInt32)}
	}
	e, err := s.statuses.Get(ctx, tenant, m.GetEdgeId(), m.GetChargerId(), m.GetConnector())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.GetConnectorStatusResponse{Status: e.Proto()}), nil
}

// ListConnectorStatus pages through the tenant's connector statuses in
// (edge, charger, connector) order.
func (s *LiveService) ListConnectorStatus(ctx context.Context, req *connect.Request[chargeplanev1.ListConnectorStatusRequest]) (*connect.Response[chargeplanev1.ListConnectorStatusResponse], error) {
	m := req.Msg
	tenant, err := liveCallerTenant(ctx, m.GetTenantId())
	if err != nil {
		return nil, err
	}
	if _, err := liveFilter(m.GetEdgeId(), m.GetChargerId()); err != nil {
		return nil, err
	}
	if _, ok := chargeplanev1.ConnectorStatus_name[int32(m.GetStatus())]; !ok {
		return nil, &FieldError{Field: "status", Reason: fmt.Sprintf("unknown status %d", m.GetStatus())}
	}
	size, err := pageSize(m.GetPageSize())
	if err != nil {
		return nil, err
	}
	after, err := decodeLiveStatusToken(m.GetPageToken())
	if err != nil {
		return nil, err
	}
	f := live.StatusFilter{TenantID: tenant, EdgeID: m.GetEdgeId(), ChargerID: m.GetChargerId(), Status: m.GetStatus()}
	rows, err := s.statuses.List(ctx, f, after, size+1)
	if err != nil {
		return nil, err
	}
	res := &chargeplanev1.ListConnectorStatusResponse{}
	if len(rows) > size {
		rows = rows[:size]
		last := rows[len(rows)-1]
		res.NextPageToken = encodeToken(liveStatusToken{EdgeID: last.EdgeID, ChargerID: last.ChargerID, Connector: last.Connector})
	}
	res.Statuses = make([]*chargeplanev1.ConnectorStatusEntry, len(rows))
	for i, e := range rows {
		res.Statuses[i] = e.Proto()
	}
	return connect.NewResponse(res), nil
}

// A status page token is the base64url (unpadded) JSON of the last entry's
// key. Clients must treat it as opaque.
type liveStatusToken struct {
	EdgeID    string `json:"e"`
	ChargerID string `json:"c"`
	Connector uint32 `json:"n"`
}

func decodeLiveStatusToken(tok string) (*live.Cursor, error) {
	var t liveStatusToken
	if ok, err := decodeToken(tok, &t, func() bool { return t.EdgeID != "" && t.ChargerID != "" && t.Connector <= math.MaxInt32 }); !ok {
		return nil, err
	}
	return &live.Cursor{EdgeID: t.EdgeID, ChargerID: t.ChargerID, Connector: t.Connector}, nil
}
