package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/cloud/devicelog"
	"github.com/chargeplane/chargeplane/cloud/fleet"
	"github.com/chargeplane/chargeplane/cloud/presence"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// ChargerService serves chargeplane.v1.ChargerService.
type ChargerService struct {
	fleet    *fleet.Store
	presence *presence.Store
	log      *devicelog.Store
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

// maxKinds bounds ListChargerEvents' kind filter: there are not more kinds.
const maxKinds = 20

// ListChargerEvents pages through one charger's operation log, newest
// first. The page token is the seq of the last event of the previous page.
func (s *ChargerService) ListChargerEvents(ctx context.Context, req *connect.Request[chargeplanev1.ListChargerEventsRequest]) (*connect.Response[chargeplanev1.ListChargerEventsResponse], error) {
	msg := req.Msg
	tenant, err := scope(ctx, msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	if err := checkID("edge_id", msg.GetEdgeId(), true); err != nil {
		return nil, err
	}
	if err := checkID("charger_id", msg.GetChargerId(), true); err != nil {
		return nil, err
	}
	q := devicelog.Query{TenantID: tenant, EdgeID: msg.GetEdgeId(), ChargerID: msg.GetChargerId()}
	if q.Kinds, err = eventKinds(msg.GetKinds()); err != nil {
		return nil, err
	}
	if q.From, q.To, err = timeRange(msg.GetFrom(), msg.GetTo()); err != nil {
		return nil, err
	}
	size, err := pageSize(msg.GetPageSize())
	if err != nil {
		return nil, err
	}
	var before int64
	if _, err := decodeToken(msg.GetPageToken(), &before, func() bool { return before > 0 }); err != nil {
		return nil, err
	}
	q.BeforeSeq = uint64(before) //nolint:gosec // decodeToken checked before > 0
	// One more than a page tells whether another page follows.
	q.Limit = size + 1
	entries, err := s.log.List(ctx, q)
	if errors.Is(err, devicelog.ErrNotFound) {
		return nil, connect.NewError(connect.CodeNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	res := &chargeplanev1.ListChargerEventsResponse{}
	if len(entries) > size {
		entries = entries[:size]
		res.NextPageToken = encodeToken(entries[len(entries)-1].Seq)
	}
	for _, e := range entries {
		res.Events = append(res.Events, &chargeplanev1.ChargerEvent{
			Seq:        e.Seq,
			Kind:       e.Kind,
			OccurredAt: timestamppb.New(e.OccurredAt),
			ReceivedAt: timestamppb.New(e.ReceivedAt),
			Connector:  e.Connector,
			Summary:    e.Summary,
			Event:      e.Event,
		})
	}
	return connect.NewResponse(res), nil
}

// eventKinds checks a kind filter against the kinds the events table holds.
func eventKinds(kinds []string) ([]string, error) {
	if len(kinds) > maxKinds {
		return nil, &FieldError{Field: "kinds", Reason: fmt.Sprintf("at most %d, got %d", maxKinds, len(kinds))}
	}
	for _, k := range kinds {
		switch k {
		case fleet.KindChargerConnected, fleet.KindChargerDisconnected, fleet.KindHeartbeat, fleet.KindConnectorStatus,
			fleet.KindMeterReport, fleet.KindSessionStarted, fleet.KindSessionEnded, fleet.KindCardPresented,
			fleet.KindAlarm, fleet.KindCommandResult, fleet.KindUnknown:
		default:
			return nil, &FieldError{Field: "kinds", Reason: fmt.Sprintf("unknown kind %.64q", k)}
		}
	}
	return kinds, nil
}

// timeRange reads an optional [from, to) range; unset ends are zero.
func timeRange(from, to *timestamppb.Timestamp) (time.Time, time.Time, error) {
	var f, t time.Time
	if from != nil {
		if err := from.CheckValid(); err != nil {
			return f, t, &FieldError{Field: "from", Reason: "not a valid timestamp"}
		}
		f = from.AsTime()
	}
	if to != nil {
		if err := to.CheckValid(); err != nil {
			return f, t, &FieldError{Field: "to", Reason: "not a valid timestamp"}
		}
		t = to.AsTime()
	}
	if from != nil && to != nil && !f.Before(t) {
		return f, t, &FieldError{Field: "to", Reason: "must be after from"}
	}
	return f, t, nil
}
