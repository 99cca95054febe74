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
	tenant, err := scope(ctx, msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	if err := checkID("edge_id", msg.GetEdgeId(), true); err != nil {
		return nil, err
	}
	edge, cred, err := s.site.CreateEdge(ctx, tenant, msg.GetEdgeId(), msg.GetName())
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "edge created", "tenant_id", edge.TenantID, "edge_id", edge.ID, "request_id", RequestID(ctx))
	return connect.NewResponse(&chargeplanev1.CreateEdgeResponse{Edge: edgeProto(edge), Credential: cred}), nil
}

// RotateEdgeCredential issues a new credential for an edge.
func (s *EdgeService) RotateEdgeCredential(ctx context.Context, req *connect.Request[chargeplanev1.RotateEdgeCredentialRequest]) (*connect.Response[chargeplanev1.RotateEdgeCredentialResponse], error) {
	msg := req.Msg
	tenant, err := edgeScope(ctx, msg)
	if err != nil {
		return nil, err
	}
	edge, cred, err := s.site.RotateCredential(ctx, tenant, msg.GetEdgeId())
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "edge credential rotated", "tenant_id", edge.TenantID, "edge_id", edge.ID, "request_id", RequestID(ctx))
	return connect.NewResponse(&chargeplanev1.RotateEdgeCredentialResponse{Edge: edgeProto(edge), Credential: cred}), nil
}

// RevokeEdge makes an edge's credential stop working.
func (s *EdgeService) RevokeEdge(ctx context.Context, req *connect.Request[chargeplanev1.RevokeEdgeRequest]) (*connect.Response[chargeplanev1.RevokeEdgeResponse], error) {
	msg := req.Msg
	tenant, err := edgeScope(ctx, msg)
	if err != nil {
		return nil, err
	}
	edge, err := s.site.RevokeEdge(ctx, tenant, msg.GetEdgeId())
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "edge revoked", "tenant_id", edge.TenantID, "edge_id", edge.ID, "request_id", RequestID(ctx))
	return connect.NewResponse(&chargeplanev1.RevokeEdgeResponse{Edge: edgeProto(edge)}), nil
}

// ListEdges lists a tenant's edges.
func (s *EdgeService) ListEdges(ctx context.Context, req *connect.Request[chargeplanev1.ListEdgesRequest]) (*connect.Response[chargeplanev1.ListEdgesResponse], error) {
	tenant, err := scope(ctx, req.Msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	edges, err := s.site.ListEdges(ctx, tenant)
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

// edgeScope checks an edge reference and returns the tenant the call acts
// on; the store then finds the edge only in that tenant, so an edge of
// another tenant is NotFound.
func edgeScope(ctx context.Context, r edgeRef) (string, error) {
	tenant, err := scope(ctx, r.GetTenantId())
	if err != nil {
		return "", err
	}
	return tenant, checkID("edge_id", r.GetEdgeId(), true)
}
