package api

import (
	"context"
	"log/slog"
	"math"

	"connectrpc.com/connect"

	"github.com/chargeplane/chargeplane/cloud/hint"
	"github.com/chargeplane/chargeplane/cloud/site"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// SiteConfigService serves chargeplane.v1.SiteConfigService: what edges
// pull. Every change is hinted to the edges it affects once committed.
type SiteConfigService struct {
	site   *site.Store
	hints  *hint.Publisher
	logger *slog.Logger
}

// changed hints the change and logs it.
func (s *SiteConfigService) changed(ctx context.Context, what, tenantID string, ch site.Change) {
	s.hints.Notify(ch)
	s.logger.InfoContext(ctx, "site config changed", "change", what, "tenant_id", tenantID,
		"config_version", ch.Version, "edges", len(ch.Edges), "request_id", RequestID(ctx))
}

// GetSiteConfig returns the config an edge would pull now.
func (s *SiteConfigService) GetSiteConfig(ctx context.Context, req *connect.Request[chargeplanev1.GetSiteConfigRequest]) (*connect.Response[chargeplanev1.GetSiteConfigResponse], error) {
	tenant, err := edgeScope(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	cfg, _, err := s.site.Config(ctx, tenant, req.Msg.GetEdgeId(), 0)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.GetSiteConfigResponse{Config: siteConfigProto(cfg)}), nil
}

// SetTariff sets or removes an edge's tariff.
func (s *SiteConfigService) SetTariff(ctx context.Context, req *connect.Request[chargeplanev1.SetTariffRequest]) (*connect.Response[chargeplanev1.SetTariffResponse], error) {
	msg := req.Msg
	tenant, err := edgeScope(ctx, msg)
	if err != nil {
		return nil, err
	}
	t, ch, err := s.site.SetTariff(ctx, tenant, msg.GetEdgeId(), tariffOf(msg.GetTariff()))
	if err != nil {
		return nil, err
	}
	s.changed(ctx, "tariff", tenant, ch)
	return connect.NewResponse(&chargeplanev1.SetTariffResponse{Tariff: tariffProto(t), ConfigVersion: ch.Version}), nil
}

// SetUnknownCardPolicy sets an edge's unknown-card policy.
func (s *SiteConfigService) SetUnknownCardPolicy(ctx context.Context, req *connect.Request[chargeplanev1.SetUnknownCardPolicyRequest]) (*connect.Response[chargeplanev1.SetUnknownCardPolicyResponse], error) {
	msg := req.Msg
	tenant, err := edgeScope(ctx, msg)
	if err != nil {
		return nil, err
	}
	ch, err := s.site.SetUnknownCardPolicy(ctx, tenant, msg.GetEdgeId(), msg.GetUnknownCards())
	if err != nil {
		return nil, err
	}
	s.changed(ctx, "unknown_cards", tenant, ch)
	return connect.NewResponse(&chargeplanev1.SetUnknownCardPolicyResponse{ConfigVersion: ch.Version}), nil
}

// PutCards creates or replaces a tenant's cards.
func (s *SiteConfigService) PutCards(ctx context.Context, req *connect.Request[chargeplanev1.PutCardsRequest]) (*connect.Response[chargeplanev1.PutCardsResponse], error) {
	msg := req.Msg
	tenant, err := scope(ctx, msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	cards := make([]site.Card, len(msg.GetCards()))
	for i, c := range msg.GetCards() {
		cards[i] = cardOf(c)
	}
	ch, err := s.site.PutCards(ctx, tenant, cards)
	if err != nil {
		return nil, err
	}
	s.changed(ctx, "cards", tenant, ch)
	return connect.NewResponse(&chargeplanev1.PutCardsResponse{ConfigVersion: ch.Version}), nil
}

// TopUpCard adds to a card's balance.
func (s *SiteConfigService) TopUpCard(ctx context.Context, req *connect.Request[chargeplanev1.TopUpCardRequest]) (*connect.Response[chargeplanev1.TopUpCardResponse], error) {
	msg := req.Msg
	tenant, err := scope(ctx, msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	card, ch, err := s.site.TopUpCard(ctx, tenant, msg.GetCardId(), msg.GetAmountFen())
	if err != nil {
		return nil, err
	}
	s.changed(ctx, "top_up", tenant, ch)
	return connect.NewResponse(&chargeplanev1.TopUpCardResponse{Card: cardProto(card), ConfigVersion: ch.Version}), nil
}

// DeleteCards deletes a tenant's cards.
func (s *SiteConfigService) DeleteCards(ctx context.Context, req *connect.Request[chargeplanev1.DeleteCardsRequest]) (*connect.Response[chargeplanev1.DeleteCardsResponse], error) {
	msg := req.Msg
	tenant, err := scope(ctx, msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	n, ch, err := s.site.DeleteCards(ctx, tenant, msg.GetCardIds())
	if err != nil {
		return nil, err
	}
	if ch.Version != 0 {
		s.changed(ctx, "delete_cards", tenant, ch)
	}
	// n is at most site.MaxCardsPerCall.
	return connect.NewResponse(&chargeplanev1.DeleteCardsResponse{Deleted: int32(min(n, math.MaxInt32)), ConfigVersion: ch.Version}), nil //nolint:gosec // bounded above.
}
