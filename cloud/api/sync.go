package api

import (
	"context"
	"log/slog"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/cloud/fleet"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1/chargeplanev1connect"
)

// SyncService serves chargeplane.v1.SyncService, the edge-facing API.
type SyncService struct {
	chargeplanev1connect.UnimplementedSyncServiceHandler
	fleet   *fleet.Store
	now     func() time.Time
	version string
	logger  *slog.Logger
}

// Handshake tells a (re)connecting edge the server time, the cloud version
// and the highest seq of its events the cloud has stored.
func (s *SyncService) Handshake(ctx context.Context, req *connect.Request[chargeplanev1.HandshakeRequest]) (*connect.Response[chargeplanev1.HandshakeResponse], error) {
	msg := req.Msg
	if err := checkID("edge_id", msg.GetEdgeId(), true); err != nil {
		return nil, err
	}
	if err := checkID("tenant_id", msg.GetTenantId(), true); err != nil {
		return nil, err
	}
	last, err := s.fleet.LastSeq(ctx, msg.GetEdgeId())
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "edge handshake", "tenant_id", msg.GetTenantId(), "edge_id", msg.GetEdgeId(),
		"agent_version", msg.GetAgentVersion(), "seq", msg.GetLastSeq(), "stored_seq", last, "request_id", RequestID(ctx))
	return connect.NewResponse(&chargeplanev1.HandshakeResponse{
		ServerTime:    timestamppb.New(s.now()),
		CloudVersion:  s.version,
		LastStoredSeq: last,
	}), nil
}
