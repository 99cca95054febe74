package api

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/cloud/fleet"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// FleetService serves chargeplane.v1.FleetService: the registry of a
// tenant's chargers and the pending ones its edges reported. Every call
// acts on the caller's tenant (or the one a platform admin names); an edge
// or charger of another tenant is not found.
//
// Registering, accepting or rejecting a charger does not change what edges
// pull (SiteConfig holds cards and a tariff, no chargers): edges serve
// every charger that connects, whatever its registration says.
type FleetService struct {
	registry *fleet.Registry
	logger   *slog.Logger
}

// NewFleetService returns the FleetService on registry. Mount it with
// connect.WithReadMaxBytes of at least FleetReadMaxBytes, or a large
// ImportChargers file is refused before it reaches the handler.
func NewFleetService(registry *fleet.Registry, logger *slog.Logger) *FleetService {
	return &FleetService{registry: registry, logger: logger}
}

// FleetReadMaxBytes is the request size FleetService needs: an import file
// of fleet.MaxImportBytes and its envelope.
const FleetReadMaxBytes = fleet.MaxImportBytes + 64<<10

var connectorKinds = map[chargeplanev1.ConnectorKind]string{ //nolint:gochecknoglobals // read-only lookup table.
	chargeplanev1.ConnectorKind_CONNECTOR_KIND_AC:     fleet.KindAC,
	chargeplanev1.ConnectorKind_CONNECTOR_KIND_DC:     fleet.KindDC,
	chargeplanev1.ConnectorKind_CONNECTOR_KIND_SOCKET: fleet.KindSocket,
}

func connectorKindProto(kind string) chargeplanev1.ConnectorKind {
	for k, v := range connectorKinds {
		if v == kind {
			return k
		}
	}
	return chargeplanev1.ConnectorKind_CONNECTOR_KIND_UNSPECIFIED
}

func registrationStateProto(state string) chargeplanev1.RegistrationState {
	switch state {
	case fleet.StatePending:
		return chargeplanev1.RegistrationState_REGISTRATION_STATE_PENDING
	case fleet.StateAccepted:
		return chargeplanev1.RegistrationState_REGISTRATION_STATE_ACCEPTED
	case fleet.StateRejected:
		return chargeplanev1.RegistrationState_REGISTRATION_STATE_REJECTED
	}
	return chargeplanev1.RegistrationState_REGISTRATION_STATE_UNSPECIFIED
}

// registrationOf reads a request's registration.
func registrationOf(r *chargeplanev1.ChargerRegistration) (fleet.Registration, error) {
	if r == nil {
		return fleet.Registration{}, &FieldError{Field: "charger", Reason: "required"}
	}
	ids := r.GetVendorIds()
	out := fleet.Registration{
		EdgeID:    r.GetEdgeId(),
		ChargerID: r.GetChargerId(),
		SiteID:    r.GetSiteId(),
		Protocol:  r.GetProtocol(),
		Model:     r.GetModel(),
		Vendor:    r.GetVendor(),
		Firmware:  r.GetFirmware(),
		VendorIDs: fleet.VendorIDs{
			BKVGatewayID:  ids.GetBkvGatewayId(),
			BKVSocketMACs: ids.GetBkvSocketMacs(),
			YKCPileCode:   ids.GetYkcPileCode(),
			OCPPIdentity:  ids.GetOcppIdentity(),
		},
	}
	for i, c := range r.GetConnectors() {
		kind, ok := connectorKinds[c.GetKind()]
		if !ok {
			return fleet.Registration{}, &FieldError{Field: "connectors", Reason: fmt.Sprintf("connector %d: kind must be AC, DC or SOCKET", i+1)}
		}
		out.Connectors = append(out.Connectors, fleet.Connector{Number: c.GetNumber(), Kind: kind, MaxPowerW: c.GetMaxPowerW(), Label: c.GetLabel()})
	}
	if errs := fleet.CheckRegistration(out); len(errs) > 0 {
		return fleet.Registration{}, fleetError(errs[0])
	}
	return out, nil
}

func registeredProto(c fleet.Registered) *chargeplanev1.RegisteredCharger {
	r := c.Registration
	reg := &chargeplanev1.ChargerRegistration{
		EdgeId:    r.EdgeID,
		ChargerId: r.ChargerID,
		SiteId:    r.SiteID,
		Protocol:  r.Protocol,
		Model:     r.Model,
		Vendor:    r.Vendor,
		Firmware:  r.Firmware,
	}
	if c.State != fleet.StatePending {
		reg.VendorIds = &chargeplanev1.VendorIds{
			BkvGatewayId:  r.VendorIDs.BKVGatewayID,
			BkvSocketMacs: r.VendorIDs.BKVSocketMACs,
			YkcPileCode:   r.VendorIDs.YKCPileCode,
			OcppIdentity:  r.VendorIDs.OCPPIdentity,
		}
	}
	for _, k := range r.Connectors {
		reg.Connectors = append(reg.Connectors, &chargeplanev1.ChargerConnector{
			Number: k.Number, Kind: connectorKindProto(k.Kind), MaxPowerW: k.MaxPowerW, Label: k.Label,
		})
	}
	out := &chargeplanev1.RegisteredCharger{TenantId: c.TenantID, State: registrationStateProto(c.State), Registration: reg}
	if c.State != fleet.StatePending {
		out.CreatedAt, out.UpdatedAt = timestamppb.New(c.CreatedAt), timestamppb.New(c.UpdatedAt)
	}
	if rep := c.Reported; rep != nil {
		out.Seen = true
		out.ReportedProtocol, out.ReportedFirmware = rep.Protocol, rep.Firmware
		out.FirstSeen, out.LastSeen = timestamppb.New(rep.FirstSeen), timestamppb.New(rep.LastSeen)
	}
	return out
}

// checkChargerRef checks the edge and charger ids naming one charger.
func checkChargerRef(edgeID, chargerID string) error {
	if err := checkID("edge_id", edgeID, true); err != nil {
		return err
	}
	return fleetError(fleet.CheckID("charger_id", chargerID))
}

// RegisterCharger creates or replaces a charger's registration.
func (s *FleetService) RegisterCharger(ctx context.Context, req *connect.Request[chargeplanev1.RegisterChargerRequest]) (*connect.Response[chargeplanev1.RegisterChargerResponse], error) {
	tenant, err := fleetTenant(ctx, req.Msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	reg, err := registrationOf(req.Msg.GetCharger())
	if err != nil {
		return nil, err
	}
	c, created, err := s.registry.Register(ctx, tenant, reg)
	if err != nil {
		return nil, fleetError(err)
	}
	s.logger.InfoContext(ctx, "charger registered", "tenant_id", tenant, "edge_id", reg.EdgeID, "charger_id", reg.ChargerID,
		"created", created, "request_id", RequestID(ctx))
	return connect.NewResponse(&chargeplanev1.RegisterChargerResponse{Charger: registeredProto(c), Created: created}), nil
}

// GetCharger returns a registered or pending charger.
func (s *FleetService) GetCharger(ctx context.Context, req *connect.Request[chargeplanev1.GetChargerRequest]) (*connect.Response[chargeplanev1.GetChargerResponse], error) {
	tenant, err := fleetTenant(ctx, req.Msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	if err := checkChargerRef(req.Msg.GetEdgeId(), req.Msg.GetChargerId()); err != nil {
		return nil, err
	}
	c, err := s.registry.Charger(ctx, tenant, req.Msg.GetEdgeId(), req.Msg.GetChargerId())
	if err != nil {
		return nil, fleetError(err)
	}
	return connect.NewResponse(&chargeplanev1.GetChargerResponse{Charger: registeredProto(c)}), nil
}

// ListRegisteredChargers pages through registered chargers in (edge_id,
// charger_id) order.
func (s *FleetService) ListRegisteredChargers(ctx context.Context, req *connect.Request[chargeplanev1.ListRegisteredChargersRequest]) (*connect.Response[chargeplanev1.ListRegisteredChargersResponse], error) {
	msg := req.Msg
	tenant, err := fleetTenant(ctx, msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	f := fleet.RegistryFilter{TenantID: tenant, SiteID: msg.GetSiteId(), EdgeID: msg.GetEdgeId(), Protocol: msg.GetProtocol()}
	if f.SiteID != "" {
		if err := checkSiteID(f.SiteID); err != nil {
			return nil, err
		}
	}
	if err := checkID("edge_id", f.EdgeID, false); err != nil {
		return nil, err
	}
	switch msg.GetState() {
	case chargeplanev1.RegistrationState_REGISTRATION_STATE_UNSPECIFIED:
	case chargeplanev1.RegistrationState_REGISTRATION_STATE_ACCEPTED:
		f.State = fleet.StateAccepted
	case chargeplanev1.RegistrationState_REGISTRATION_STATE_REJECTED:
		f.State = fleet.StateRejected
	default:
		return nil, &FieldError{Field: "state", Reason: "must be ACCEPTED, REJECTED or unset; pending chargers are listed by ListPendingChargers"}
	}
	if f.Protocol != "" && !slices.Contains(fleet.Protocols(), f.Protocol) {
		return nil, &FieldError{Field: "protocol", Reason: fmt.Sprintf("must be one of %s, or empty", strings.Join(fleet.Protocols(), ", "))}
	}
	size, err := pageSize(msg.GetPageSize())
	if err != nil {
		return nil, err
	}
	after, err := decodePageToken(msg.GetPageToken())
	if err != nil {
		return nil, err
	}
	rows, err := s.registry.ListRegistered(ctx, f, after, size+1)
	if err != nil {
		return nil, err
	}
	res := &chargeplanev1.ListRegisteredChargersResponse{}
	res.Chargers, res.NextPageToken = registeredPage(rows, size)
	return connect.NewResponse(res), nil
}

// registeredPage converts a listing fetched with one row more than size,
// and returns the token of the next page when that row exists.
func registeredPage(rows []fleet.Registered, size int) ([]*chargeplanev1.RegisteredCharger, string) {
	next := ""
	if len(rows) > size {
		rows = rows[:size]
		last := rows[len(rows)-1].Registration
		next = encodePageToken(fleet.Cursor{EdgeID: last.EdgeID, ChargerID: last.ChargerID})
	}
	out := make([]*chargeplanev1.RegisteredCharger, len(rows))
	for i, c := range rows {
		out[i] = registeredProto(c)
	}
	return out, next
}

// ListPendingChargers pages through chargers the tenant's edges reported
// that are not registered.
func (s *FleetService) ListPendingChargers(ctx context.Context, req *connect.Request[chargeplanev1.ListPendingChargersRequest]) (*connect.Response[chargeplanev1.ListPendingChargersResponse], error) {
	msg := req.Msg
	tenant, err := fleetTenant(ctx, msg.GetTenantId())
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
	rows, err := s.registry.ListPending(ctx, tenant, msg.GetEdgeId(), after, size+1)
	if err != nil {
		return nil, err
	}
	res := &chargeplanev1.ListPendingChargersResponse{}
	res.Chargers, res.NextPageToken = registeredPage(rows, size)
	return connect.NewResponse(res), nil
}

// AcceptCharger accepts a pending or rejected charger.
func (s *FleetService) AcceptCharger(ctx context.Context, req *connect.Request[chargeplanev1.AcceptChargerRequest]) (*connect.Response[chargeplanev1.AcceptChargerResponse], error) {
	c, err := s.decide(ctx, req.Msg.GetTenantId(), req.Msg.GetEdgeId(), req.Msg.GetChargerId(), s.registry.Accept)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.AcceptChargerResponse{Charger: c}), nil
}

// RejectCharger rejects a pending or accepted charger.
func (s *FleetService) RejectCharger(ctx context.Context, req *connect.Request[chargeplanev1.RejectChargerRequest]) (*connect.Response[chargeplanev1.RejectChargerResponse], error) {
	c, err := s.decide(ctx, req.Msg.GetTenantId(), req.Msg.GetEdgeId(), req.Msg.GetChargerId(), s.registry.Reject)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.RejectChargerResponse{Charger: c}), nil
}

func (s *FleetService) decide(ctx context.Context, tenantID, edgeID, chargerID string,
	decide func(ctx context.Context, tenantID, edgeID, chargerID string) (fleet.Registered, error),
) (*chargeplanev1.RegisteredCharger, error) {
	tenant, err := fleetTenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if err := checkChargerRef(edgeID, chargerID); err != nil {
		return nil, err
	}
	c, err := decide(ctx, tenant, edgeID, chargerID)
	if err != nil {
		return nil, fleetError(err)
	}
	s.logger.InfoContext(ctx, "charger "+c.State, "tenant_id", tenant, "edge_id", edgeID, "charger_id", chargerID, "request_id", RequestID(ctx))
	return registeredProto(c), nil
}

// ImportChargers registers chargers from a CSV file, all or nothing.
func (s *FleetService) ImportChargers(ctx context.Context, req *connect.Request[chargeplanev1.ImportChargersRequest]) (*connect.Response[chargeplanev1.ImportChargersResponse], error) {
	tenant, err := fleetTenant(ctx, req.Msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	res, err := s.registry.Import(ctx, tenant, req.Msg.GetCsv())
	if err != nil {
		return nil, fleetError(err)
	}
	out := &chargeplanev1.ImportChargersResponse{
		// At most fleet.MaxImportRows each.
		Created:   int32(min(res.Created, math.MaxInt32)),   //nolint:gosec // capped
		Updated:   int32(min(res.Updated, math.MaxInt32)),   //nolint:gosec // capped
		Unchanged: int32(min(res.Unchanged, math.MaxInt32)), //nolint:gosec // capped
	}
	for _, e := range res.Errors {
		out.Errors = append(out.Errors, &chargeplanev1.ImportRowError{
			Line: int32(min(e.Line, math.MaxInt32)), Field: e.Field, Message: e.Message, //nolint:gosec // capped
		})
	}
	s.logger.InfoContext(ctx, "chargers imported", "tenant_id", tenant, "created", res.Created, "updated", res.Updated,
		"unchanged", res.Unchanged, "errors", len(res.Errors), "request_id", RequestID(ctx))
	return connect.NewResponse(out), nil
}
