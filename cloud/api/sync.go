package api

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/cloud/fleet"
	"github.com/chargeplane/chargeplane/cloud/hint"
	"github.com/chargeplane/chargeplane/cloud/ledger"
	"github.com/chargeplane/chargeplane/cloud/site"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// SyncService serves chargeplane.v1.SyncService, the edge-facing API. It is
// mounted behind edgeAuth: every handler acts for the authenticated edge.
type SyncService struct {
	fleet   *fleet.Store
	site    *site.Store
	ledger  *ledger.Store
	hints   *hint.Publisher
	now     func() time.Time
	version string
	logger  *slog.Logger
}

// Handshake tells a (re)connecting edge the server time, the cloud version
// and the highest seq of its events the cloud has stored.
func (s *SyncService) Handshake(ctx context.Context, req *connect.Request[chargeplanev1.HandshakeRequest]) (*connect.Response[chargeplanev1.HandshakeResponse], error) {
	edge, err := authenticatedEdge(ctx)
	if err != nil {
		return nil, err
	}
	msg := req.Msg
	if err := checkID("tenant_id", msg.GetTenantId(), true); err != nil {
		return nil, err
	}
	if msg.GetTenantId() != edge.TenantID {
		return nil, &authError{denied: true, msg: fmt.Sprintf("edge %q is not in tenant %q", edge.ID, msg.GetTenantId())}
	}
	last, err := s.fleet.LastSeq(ctx, edge.ID)
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "edge handshake", "tenant_id", edge.TenantID, "edge_id", edge.ID,
		"agent_version", msg.GetAgentVersion(), "seq", msg.GetLastSeq(), "stored_seq", last, "request_id", RequestID(ctx))
	return connect.NewResponse(&chargeplanev1.HandshakeResponse{
		ServerTime:    timestamppb.New(s.now()),
		CloudVersion:  s.version,
		LastStoredSeq: last,
	}), nil
}

// PushSessions stores the edge's finished sessions, each once, and debits
// the cards they were charged to (see ledger.Store.Push). A bad session
// fails the whole call with InvalidArgument naming its index: nothing of it
// is stored.
func (s *SyncService) PushSessions(ctx context.Context, req *connect.Request[chargeplanev1.PushSessionsRequest]) (*connect.Response[chargeplanev1.PushSessionsResponse], error) {
	edge, err := authenticatedEdge(ctx)
	if err != nil {
		return nil, err
	}
	events := req.Msg.GetSessions()
	if len(events) > ledger.MaxPush {
		return nil, &FieldError{Field: "sessions", Reason: fmt.Sprintf("at most %d per call, got %d", ledger.MaxPush, len(events))}
	}
	sessions := make([]ledger.Session, len(events))
	for i, ev := range events {
		if sessions[i], err = sessionOf(i, edge, ev); err != nil {
			return nil, err
		}
	}
	res, err := s.ledger.Push(ctx, edge.TenantID, edge.ID, sessions)
	if err != nil {
		return nil, err
	}
	s.hints.Notify(res.Change)
	s.logger.DebugContext(ctx, "sessions pushed", "tenant_id", edge.TenantID, "edge_id", edge.ID,
		"stored", len(res.Stored), "duplicates", len(res.Duplicates), "config_version", res.ConfigVersion, "request_id", RequestID(ctx))
	return connect.NewResponse(&chargeplanev1.PushSessionsResponse{
		StoredSeqs:    res.Stored,
		DuplicateSeqs: res.Duplicates,
		ConfigVersion: res.ConfigVersion,
	}), nil
}

// PullConfig returns the edge's site config unless have_version is current.
func (s *SyncService) PullConfig(ctx context.Context, req *connect.Request[chargeplanev1.PullConfigRequest]) (*connect.Response[chargeplanev1.PullConfigResponse], error) {
	edge, err := authenticatedEdge(ctx)
	if err != nil {
		return nil, err
	}
	cfg, changed, err := s.site.Config(ctx, edge.TenantID, edge.ID, req.Msg.GetHaveVersion())
	if err != nil {
		return nil, err
	}
	res := &chargeplanev1.PullConfigResponse{Changed: changed}
	if changed {
		res.Config = siteConfigProto(cfg)
	}
	return connect.NewResponse(res), nil
}

// Bounds of the free-text fields of an uploaded session.
const (
	maxRefLen  = 128
	maxTextLen = 256
)

// sessionOf checks the index-th uploaded event and turns it into a ledger
// row; its edge_id, when empty, becomes the edge's, in the stored payload
// too.
func sessionOf(index int, edge site.Edge, ev *chargeplanev1.Event) (ledger.Session, error) {
	field := func(name string) string { return fmt.Sprintf("sessions[%d].%s", index, name) }
	bad := func(name, format string, args ...any) error {
		return &FieldError{Field: field(name), Reason: fmt.Sprintf(format, args...)}
	}
	end := ev.GetSessionEnded()
	if end == nil {
		return ledger.Session{}, bad("kind", "must be session_ended, got %s", eventKind(ev))
	}
	switch {
	case ev.GetEdgeId() == "":
		ev.EdgeId = edge.ID
	case ev.GetEdgeId() != edge.ID:
		return ledger.Session{}, bad("edge_id", "must be empty or %q, got %q", edge.ID, ev.GetEdgeId())
	}
	switch {
	case ev.GetSeq() == 0:
		return ledger.Session{}, bad("seq", "must be at least 1")
	case ev.GetSeq() > ledger.MaxSeq:
		return ledger.Session{}, bad("seq", "must be at most %d, got %d", uint64(ledger.MaxSeq), ev.GetSeq())
	case ev.GetConnector() > ledger.MaxConnector:
		return ledger.Session{}, bad("connector", "must be at most %d, got %d", ledger.MaxConnector, ev.GetConnector())
	}
	for _, f := range []struct {
		name, v  string
		max      int
		required bool
	}{
		{"charger_id", ev.GetChargerId(), maxIDLen, true},
		{"session_ended.session_ref", end.GetSessionRef(), maxRefLen, false},
		{"session_ended.card_id", end.GetCardId(), maxIDLen, false},
		{"session_ended.user_id", end.GetUserId(), maxIDLen, false},
		{"session_ended.auth_method", end.GetAuthMethod(), maxIDLen, false},
		{"session_ended.raw_reason", end.GetRawReason(), maxTextLen, false},
		{"session_ended.start_command_id", end.GetStartCommandId(), maxRefLen, false},
		{"session_ended.tariff.id", end.GetTariff().GetId(), maxIDLen, false},
	} {
		switch {
		case f.v == "" && f.required:
			return ledger.Session{}, bad(f.name, "required")
		case len(f.v) > f.max:
			return ledger.Session{}, bad(f.name, "at most %d bytes, got %d", f.max, len(f.v))
		case strings.ContainsRune(f.v, 0):
			// Postgres text cannot hold NUL: refuse it here, by name,
			// rather than fail the whole batch with an internal error.
			return ledger.Session{}, bad(f.name, "must not contain NUL")
		}
	}
	started, err := timeOf(field("session_ended.started_at"), end.GetStartedAt(), true)
	if err != nil {
		return ledger.Session{}, err
	}
	ended, err := timeOf(field("session_ended.ended_at"), end.GetEndedAt(), true)
	if err != nil {
		return ledger.Session{}, err
	}
	payload, err := proto.MarshalOptions{Deterministic: true}.Marshal(ev)
	if err != nil {
		return ledger.Session{}, fmt.Errorf("encode session %d: %w", index, err)
	}
	return ledger.Session{
		EdgeID:           edge.ID,
		Seq:              ev.GetSeq(),
		TenantID:         edge.TenantID,
		ChargerID:        ev.GetChargerId(),
		Connector:        ev.GetConnector(),
		SessionRef:       end.GetSessionRef(),
		StartedAt:        started,
		EndedAt:          ended,
		EnergyMWh:        end.GetEnergyMwh(),
		DurationS:        end.GetDurationS(),
		Reason:           endReasonName(end.GetReason()),
		RawReason:        end.GetRawReason(),
		AmountFen:        end.GetAmountFen(),
		ElectricityFen:   end.GetElectricityFen(),
		ServiceFen:       end.GetServiceFen(),
		ChargerAmountFen: end.GetChargerAmountFen(),
		CardID:           site.NormalizeCardID(end.GetCardId()),
		UserID:           end.GetUserId(),
		AuthMethod:       end.GetAuthMethod(),
		Offline:          end.GetOffline(),
		TariffID:         end.GetTariff().GetId(),
		StartCommandID:   end.GetStartCommandId(),
		Payload:          payload,
	}, nil
}

// eventKind names the kind of ev as its oneof field does.
func eventKind(ev *chargeplanev1.Event) string {
	oneof := ev.ProtoReflect().Descriptor().Oneofs().ByName("kind")
	if fd := ev.ProtoReflect().WhichOneof(oneof); fd != nil {
		return string(fd.Name())
	}
	return "none"
}
