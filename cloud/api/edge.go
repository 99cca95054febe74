package api

import (
	"context"
	"log/slog"

	"connectrpc.com/connect"

	"github.com/chargeplane/chargeplane/cloud/site"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// EdgeService serves chargeplane.v1.EdgeService: provisioning edges and
// their credentials.
type EdgeService struct {
	site   *site.Store
	logger *slog.Logger
}

// CreateEdge provisions an edge and returns its credential, once.
func (s *EdgeService) CreateEdge(ctx context.Context, req *connect.Request[chargeplanev1.CreateEdgeRequest]) (*connect.Response[chargeplanev1.CreateEdgeResponse], error) {
	msg := req.Msg
	if err := checkID("tenant_id", msg.GetTenantId(), true); err != nil {
		return nil, err
	}
	if err := checkID("edge_id", msg.GetEdgeId(), true); err != nil {
		return nil, err
	}
	edge, cred, err := s.site.CreateEdge(ctx, msg.GetTenantId(), msg.GetEdgeId(), msg.GetName())
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "edge created", "tenant_id", edge.TenantID, "edge_id", edge.ID, "request_id", RequestID(ctx))
	return connect.NewResponse(&chargeplanev1.CreateEdgeResponse{Edge: edgeProto(edge), Credential: cred}), nil
}

// RotateEdgeCredential issues a new credential for an edge.
func (s *EdgeService) RotateEdgeCredential(ctx context.Context, req *connect.Request[chargeplanev1.RotateEdgeCredentialRequest]) (*connect.Response[chargeplanev1.RotateEdgeCredentialResponse], error) {
	msg := req.Msg
	if err := checkEdgeRef(msg); err != nil {
		return nil, err
	}
	edge, cred, err := s.site.RotateCredential(ctx, msg.GetTenantId(), msg.GetEdgeId())
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "edge credential rotated", "tenant_id", edge.TenantID, "edge_id", edge.ID, "request_id", RequestID(ctx))
	return connect.NewResponse(&chargeplanev1.RotateEdgeCredentialResponse{Edge: edgeProto(edge), Credential: cred}), nil
}

// RevokeEdge makes an edge's credential stop working.
func (s *EdgeService) RevokeEdge(ctx context.Context, req *connect.Request[chargeplanev1.RevokeEdgeRequest]) (*connect.Response[chargeplanev1.RevokeEdgeResponse], error) {
	msg := req.Msg
	if err := checkEdgeRef(msg); err != nil {
		return nil, err
	}
	edge, err := s.site.RevokeEdge(ctx, msg.GetTenantId(), msg.GetEdgeId())
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "edge revoked", "tenant_id", edge.TenantID, "edge_id", edge.ID, "request_id", RequestID(ctx))
	return connect.NewResponse(&chargeplanev1.RevokeEdgeResponse{Edge: edgeProto(edge)}), nil
}

// ListEdges lists a tenant's edges.
func (s *EdgeService) ListEdges(ctx context.Context, req *connect.Request[chargeplanev1.ListEdgesRequest]) (*connect.Response[chargeplanev1.ListEdgesResponse], error) {
	if err := checkID("tenant_id", req.Msg.GetTenantId(), true); err != nil {
		return nil, err
	}
	edges, err := s.site.ListEdges(ctx, req.Msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	res := &chargeplanev1.ListEdgesResponse{Edges: make([]*chargeplanev1.Edge, len(edges))}
	for i, e := range edges {
		res.Edges[i] = edgeProto(e)
	}
	return connect.NewResponse(res), nil
}

// edgeRef is a request naming an edge and, optionally, its tenant.
type edgeRef interface {
	GetTenantId() string
	GetEdgeId() string
}

func checkEdgeRef(r edgeRef) error {
	if err := checkID("tenant_id", r.GetTenantId(), false); err != nil {
		return err
	}
	return checkID("edge_id", r.GetEdgeId(), true)
}
