package api

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"connectrpc.com/connect"

	"github.com/chargeplane/chargeplane/cloud/access"
	"github.com/chargeplane/chargeplane/cloud/command"
	"github.com/chargeplane/chargeplane/cloud/site"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// Bounds of command arguments: they travel to the edge in one MQTT message
// and end up in charger frames.
const (
	maxCommandParams     = 64
	maxCommandParamName  = 64
	maxCommandParamValue = 1024
)

// CommandService serves chargeplane.v1.CommandService: remote control of
// chargers and the record of every command sent.
type CommandService struct {
	commands *command.Service
	edges    *site.Store
}

// NewCommandService returns the service sending through commands; edges
// tells which edges belong to the caller's tenant.
func NewCommandService(commands *command.Service, edges *site.Store) *CommandService {
	return &CommandService{commands: commands, edges: edges}
}

// checkFreeID checks an optional free identifier (charger, card, user,
// session reference): bounded, with no control characters.
func checkFreeID(field, v string, required bool) error {
	switch {
	case v == "" && required:
		return &FieldError{Field: field, Reason: "required"}
	case len(v) > maxIDLen:
		return &FieldError{Field: field, Reason: fmt.Sprintf("at most %d bytes, got %d", maxIDLen, len(v))}
	case strings.ContainsFunc(v, unicode.IsControl):
		return &FieldError{Field: field, Reason: "must not contain control characters"}
	}
	return nil
}

func checkConnectorNumber(n uint32) error {
	if n == 0 {
		return &FieldError{Field: "connector", Reason: "required: connectors are numbered from 1"}
	}
	return nil
}

func checkCommandLimit(l *chargeplanev1.Limit) error {
	if l == nil {
		return nil
	}
	var v int64
	switch k := l.GetKind().(type) {
	case *chargeplanev1.Limit_DurationS:
		v = k.DurationS
	case *chargeplanev1.Limit_EnergyMwh:
		v = k.EnergyMwh
	case *chargeplanev1.Limit_AmountFen:
		v = k.AmountFen
	default:
		return &FieldError{Field: "limit", Reason: "set one of duration_s, energy_mwh or amount_fen, or leave limit unset"}
	}
	if v <= 0 {
		return &FieldError{Field: "limit", Reason: fmt.Sprintf("must be positive, got %d", v)}
	}
	return nil
}

// send is what every command call shares: the caller's tenant, the target
// (an edge of that tenant, else NotFound) and the command.
func (s *CommandService) send(ctx context.Context, tenantID, edgeID, chargerID string, r command.Request) (*chargeplanev1.Command, error) {
	p, err := access.Caller(ctx)
	if err != nil {
		return nil, err
	}
	tenant, err := p.Tenant(tenantID)
	if err != nil {
		return nil, err
	}
	if err := checkID("edge_id", edgeID, true); err != nil {
		return nil, err
	}
	if err := checkFreeID("charger_id", chargerID, true); err != nil {
		return nil, err
	}
	if _, err := s.edges.Edge(ctx, tenant, edgeID); err != nil {
		return nil, err
	}
	r.TenantID, r.EdgeID, r.ChargerID, r.RequestedBy = tenant, edgeID, chargerID, p.Subject()
	c, err := s.commands.Send(ctx, r)
	if err != nil {
		return nil, err
	}
	return c.Proto(), nil
}

// StartCharging starts a session on a connector.
func (s *CommandService) StartCharging(ctx context.Context, req *connect.Request[chargeplanev1.StartChargingRequest]) (*connect.Response[chargeplanev1.StartChargingResponse], error) {
	m := req.Msg
	// Scope before validating: a caller of another tenant learns nothing
	// from the request's validation errors.
	if _, _, err := callerScope(ctx, m.GetTenantId()); err != nil {
		return nil, err
	}
	if err := checkConnectorNumber(m.GetConnector()); err != nil {
		return nil, err
	}
	if err := checkCommandLimit(m.GetLimit()); err != nil {
		return nil, err
	}
	if err := checkFreeID("card_id", m.GetCardId(), false); err != nil {
		return nil, err
	}
	if err := checkFreeID("user_id", m.GetUserId(), false); err != nil {
		return nil, err
	}
	if m.GetCardId() != "" && m.GetUserId() != "" {
		return nil, &FieldError{Field: "user_id", Reason: "give card_id or user_id, not both"}
	}
	params := map[string]string{}
	if m.GetCardId() != "" {
		params[command.ParamCardID] = m.GetCardId()
	}
	if m.GetUserId() != "" {
		params[command.ParamUserID] = m.GetUserId()
	}
	c, err := s.send(ctx, m.GetTenantId(), m.GetEdgeId(), m.GetChargerId(), command.Request{
		Kind: command.KindStart, Connector: m.GetConnector(), Limit: m.GetLimit(), Params: params,
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.StartChargingResponse{Command: c}), nil
}

// StopCharging stops the session on a connector.
func (s *CommandService) StopCharging(ctx context.Context, req *connect.Request[chargeplanev1.StopChargingRequest]) (*connect.Response[chargeplanev1.StopChargingResponse], error) {
	m := req.Msg
	// Scope before validating: a caller of another tenant learns nothing
	// from the request's validation errors.
	if _, _, err := callerScope(ctx, m.GetTenantId()); err != nil {
		return nil, err
	}
	if err := checkConnectorNumber(m.GetConnector()); err != nil {
		return nil, err
	}
	if err := checkFreeID("session_ref", m.GetSessionRef(), false); err != nil {
		return nil, err
	}
	params := map[string]string{}
	if m.GetSessionRef() != "" {
		params[command.ParamSessionRef] = m.GetSessionRef()
	}
	c, err := s.send(ctx, m.GetTenantId(), m.GetEdgeId(), m.GetChargerId(), command.Request{
		Kind: command.KindStop, Connector: m.GetConnector(), Params: params,
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.StopChargingResponse{Command: c}), nil
}

// SetParameters writes charger parameters by name.
func (s *CommandService) SetParameters(ctx context.Context, req *connect.Request[chargeplanev1.SetParametersRequest]) (*connect.Response[chargeplanev1.SetParametersResponse], error) {
	m := req.Msg
	// Scope before validating: a caller of another tenant learns nothing
	// from the request's validation errors.
	if _, _, err := callerScope(ctx, m.GetTenantId()); err != nil {
		return nil, err
	}
	switch n := len(m.GetParams()); {
	case n == 0:
		return nil, &FieldError{Field: "params", Reason: "at least one parameter is required"}
	case n > maxCommandParams:
		return nil, &FieldError{Field: "params", Reason: fmt.Sprintf("at most %d, got %d", maxCommandParams, n)}
	}
	for k, v := range m.GetParams() {
		switch {
		case k == "" || len(k) > maxCommandParamName || strings.ContainsFunc(k, unicode.IsControl):
			return nil, &FieldError{Field: "params", Reason: fmt.Sprintf("name %.80q: want 1 to %d bytes without control characters", k, maxCommandParamName)}
		case len(v) > maxCommandParamValue || strings.ContainsRune(v, 0):
			return nil, &FieldError{Field: "params[" + k + "]", Reason: fmt.Sprintf("at most %d bytes without NUL", maxCommandParamValue)}
		}
	}
	c, err := s.send(ctx, m.GetTenantId(), m.GetEdgeId(), m.GetChargerId(), command.Request{
		Kind: command.KindSetParameters, Params: m.GetParams(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.SetParametersResponse{Command: c}), nil
}

// Reboot restarts the charger.
func (s *CommandService) Reboot(ctx context.Context, req *connect.Request[chargeplanev1.RebootRequest]) (*connect.Response[chargeplanev1.RebootResponse], error) {
	m := req.Msg
	c, err := s.send(ctx, m.GetTenantId(), m.GetEdgeId(), m.GetChargerId(), command.Request{Kind: command.KindReboot})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.RebootResponse{Command: c}), nil
}

// QueryStatus asks the charger to report a connector's (or, for connector
// 0, its own) status now.
func (s *CommandService) QueryStatus(ctx context.Context, req *connect.Request[chargeplanev1.QueryStatusRequest]) (*connect.Response[chargeplanev1.QueryStatusResponse], error) {
	m := req.Msg
	c, err := s.send(ctx, m.GetTenantId(), m.GetEdgeId(), m.GetChargerId(), command.Request{
		Kind: command.KindQueryStatus, Connector: m.GetConnector(),
	})
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.QueryStatusResponse{Command: c}), nil
}

// GetCommand returns one command of the caller's tenant.
func (s *CommandService) GetCommand(ctx context.Context, req *connect.Request[chargeplanev1.GetCommandRequest]) (*connect.Response[chargeplanev1.GetCommandResponse], error) {
	p, err := access.Caller(ctx)
	if err != nil {
		return nil, err
	}
	tenant, err := p.Tenant(req.Msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	if err := checkFreeID("command_id", req.Msg.GetCommandId(), true); err != nil {
		return nil, err
	}
	c, err := s.commands.Get(ctx, tenant, req.Msg.GetCommandId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.GetCommandResponse{Command: c.Proto()}), nil
}

// ListCommands pages through the tenant's commands newest first.
func (s *CommandService) ListCommands(ctx context.Context, req *connect.Request[chargeplanev1.ListCommandsRequest]) (*connect.Response[chargeplanev1.ListCommandsResponse], error) {
	m := req.Msg
	p, err := access.Caller(ctx)
	if err != nil {
		return nil, err
	}
	tenant, err := p.Tenant(m.GetTenantId())
	if err != nil {
		return nil, err
	}
	if err := checkID("edge_id", m.GetEdgeId(), false); err != nil {
		return nil, err
	}
	if err := checkFreeID("charger_id", m.GetChargerId(), false); err != nil {
		return nil, err
	}
	state := command.StateOf(m.GetState())
	if state == "" && m.GetState() != chargeplanev1.CommandState_COMMAND_STATE_UNSPECIFIED {
		return nil, &FieldError{Field: "state", Reason: fmt.Sprintf("unknown state %d", m.GetState())}
	}
	from, err := timeOf("from", m.GetFrom(), false)
	if err != nil {
		return nil, err
	}
	to, err := timeOf("to", m.GetTo(), false)
	if err != nil {
		return nil, err
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return nil, &FieldError{Field: "to", Reason: "must be after from"}
	}
	size, err := pageSize(m.GetPageSize())
	if err != nil {
		return nil, err
	}
	after, err := decodeCommandToken(m.GetPageToken())
	if err != nil {
		return nil, err
	}
	f := command.Filter{TenantID: tenant, EdgeID: m.GetEdgeId(), ChargerID: m.GetChargerId(), State: state, From: from, To: to}
	rows, err := s.commands.List(ctx, f, after, size+1)
	if err != nil {
		return nil, err
	}
	res := &chargeplanev1.ListCommandsResponse{}
	if len(rows) > size {
		rows = rows[:size]
		last := rows[len(rows)-1]
		res.NextPageToken = encodeCommandToken(command.Cursor{RequestedAt: last.RequestedAt, ID: last.ID})
	}
	res.Commands = make([]*chargeplanev1.Command, len(rows))
	for i, c := range rows {
		res.Commands[i] = c.Proto()
	}
	return connect.NewResponse(res), nil
}

// A command page token is the base64url (unpadded) JSON of the last
// command's sort key. Clients must treat it as opaque.
type commandToken struct {
	RequestedAt time.Time `json:"t"`
	ID          string    `json:"i"`
}

func encodeCommandToken(c command.Cursor) string {
	return encodeToken(commandToken{RequestedAt: c.RequestedAt.UTC(), ID: c.ID})
}

func decodeCommandToken(tok string) (*command.Cursor, error) {
	var t commandToken
	if ok, err := decodeToken(tok, &t, func() bool { return !t.RequestedAt.IsZero() && t.ID != "" }); !ok {
		return nil, err
	}
	return &command.Cursor{RequestedAt: t.RequestedAt, ID: t.ID}, nil
}
