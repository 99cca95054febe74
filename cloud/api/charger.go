package api

import (
	"context"
	"fmt"
	"math"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/cloud/fleet"
	"github.com/chargeplane/chargeplane/cloud/presence"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// ChargerService serves chargeplane.v1.ChargerService.
type ChargerService struct {
	fleet    *fleet.Store
	presence *presence.Store
}

// ListChargers pages through the caller's tenant's chargers in (edge_id, charger_id) order with
// their presence; the counts cover the whole filter.
func (s *ChargerService) ListChargers(ctx context.Context, req *connect.Request[chargeplanev1.ListChargersRequest]) (*connect.Response[chargeplanev1.ListChargersResponse], error) {
	msg := req.Msg
	tenant, err := scope(ctx, msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	if err := checkID("edge_id", msg.GetEdgeId(), false); err != nil {
		return nil, err
	}
	size, err := pageSize(msg.GetPageSize())
	if err != nil {
		return nil, err
	}
	after, err := decodePageToken(msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	filter := fleet.Filter{TenantID: tenant, EdgeID: msg.GetEdgeId()}

	// One more than a page tells whether another page follows.
	rows, err := s.fleet.ListChargers(ctx, filter, after, size+1)
	if err != nil {
		return nil, err
	}
	res := &chargeplanev1.ListChargersResponse{}
	if len(rows) > size {
		rows = rows[:size]
		last := rows[len(rows)-1]
		res.NextPageToken = encodePageToken(fleet.Cursor{EdgeID: last.EdgeID, ChargerID: last.ChargerID})
	}
	keys := make([]presence.Key, len(rows))
	for i, r := range rows {
		keys[i] = presence.Key{EdgeID: r.EdgeID, ChargerID: r.ChargerID}
	}
	statuses, err := s.presence.Chargers(ctx, keys)
	if err != nil {
		return nil, err
	}
	for i, r := range rows {
		res.Chargers = append(res.Chargers, &chargeplanev1.Charger{
			TenantId:  r.TenantID,
			EdgeId:    r.EdgeID,
			ChargerId: r.ChargerID,
			Protocol:  r.Protocol,
			Firmware:  r.Firmware,
			Online:    statuses[i].Online,
			FirstSeen: timestamppb.New(r.FirstSeen),
			LastSeen:  timestamppb.New(r.LastSeen),
		})
	}

	counts, err := s.fleet.CountByEdge(ctx, filter)
	if err != nil {
		return nil, err
	}
	total := 0
	edges := make([]string, len(counts))
	for i, c := range counts {
		total += c.Chargers
		edges[i] = c.EdgeID
	}
	online, err := s.presence.OnlineCount(ctx, edges)
	if err != nil {
		return nil, err
	}
	if total > math.MaxInt32 || online > math.MaxInt32 {
		return nil, fmt.Errorf("list chargers: count %d does not fit the response", total)
	}
	res.TotalCount = int32(total)   //nolint:gosec // range checked above
	res.OnlineCount = int32(online) //nolint:gosec // range checked above
	return connect.NewResponse(res), nil
}
