package api

import (
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/cloud/ledger"
	"github.com/chargeplane/chargeplane/cloud/site"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// This file converts between protobuf messages and the domain types of
// site and ledger.

func edgeProto(e site.Edge) *chargeplanev1.Edge {
	out := &chargeplanev1.Edge{
		TenantId:            e.TenantID,
		EdgeId:              e.ID,
		Name:                e.Name,
		CreatedAt:           timestamppb.New(e.CreatedAt),
		CredentialCreatedAt: timestamppb.New(e.CredentialCreatedAt),
		ConfigVersion:       e.ConfigVersion,
	}
	if e.Revoked() {
		out.RevokedAt = timestamppb.New(e.RevokedAt)
	}
	return out
}

func tariffProto(t *site.Tariff) *chargeplanev1.Tariff {
	if t == nil {
		return nil
	}
	out := &chargeplanev1.Tariff{Id: t.ID}
	for _, p := range t.Periods {
		out.Periods = append(out.Periods, &chargeplanev1.TariffPeriod{
			StartMinute:           p.StartMinute,
			ElectricityMfenPerKwh: p.ElectricityMfenPerKWh,
			ServiceMfenPerKwh:     p.ServiceMfenPerKWh,
		})
	}
	return out
}

func tariffOf(t *chargeplanev1.Tariff) *site.Tariff {
	if t == nil {
		return nil
	}
	out := &site.Tariff{ID: t.GetId()}
	for _, p := range t.GetPeriods() {
		out.Periods = append(out.Periods, site.TariffPeriod{
			StartMinute:           p.GetStartMinute(),
			ElectricityMfenPerKWh: p.GetElectricityMfenPerKwh(),
			ServiceMfenPerKWh:     p.GetServiceMfenPerKwh(),
		})
	}
	return out
}

func cardProto(c site.Card) *chargeplanev1.CardEntry {
	return &chargeplanev1.CardEntry{
		CardId:          c.ID,
		BalanceFen:      c.BalanceFen,
		OfflineLimitFen: c.OfflineLimitFen,
		Blocked:         c.Blocked,
		UserId:          c.UserID,
	}
}

func cardOf(c *chargeplanev1.CardEntry) site.Card {
	return site.Card{
		ID:              c.GetCardId(),
		BalanceFen:      c.GetBalanceFen(),
		OfflineLimitFen: c.GetOfflineLimitFen(),
		Blocked:         c.GetBlocked(),
		UserID:          c.GetUserId(),
	}
}

func siteConfigProto(c site.Config) *chargeplanev1.SiteConfig {
	out := &chargeplanev1.SiteConfig{
		Version:         c.Version,
		UnknownCards:    c.UnknownCards,
		Tariff:          tariffProto(c.Tariff),
		Cards:           make([]*chargeplanev1.CardEntry, len(c.Cards)),
		RefusedChargers: c.RefusedChargers,
	}
	for i, card := range c.Cards {
		out.Cards[i] = cardProto(card)
	}
	return out
}

const endReasonPrefix = "END_REASON_"

// endReasonName is how sessions.reason stores an EndReason: its name without
// the prefix, lowercase ("limit_reached"); a value this build does not know
// (from a newer edge) is kept as its number.
func endReasonName(r chargeplanev1.EndReason) string {
	if name, ok := chargeplanev1.EndReason_name[int32(r)]; ok {
		return strings.ToLower(strings.TrimPrefix(name, endReasonPrefix))
	}
	return strconv.Itoa(int(r))
}

// endReasonOf reverses endReasonName.
func endReasonOf(s string) chargeplanev1.EndReason {
	if v, ok := chargeplanev1.EndReason_value[endReasonPrefix+strings.ToUpper(s)]; ok {
		return chargeplanev1.EndReason(v)
	}
	if n, err := strconv.ParseInt(s, 10, 32); err == nil {
		return chargeplanev1.EndReason(n)
	}
	return chargeplanev1.EndReason_END_REASON_UNSPECIFIED
}

func sessionProto(s ledger.Session) *chargeplanev1.Session {
	return &chargeplanev1.Session{
		TenantId:         s.TenantID,
		EdgeId:           s.EdgeID,
		Seq:              s.Seq,
		ChargerId:        s.ChargerID,
		Connector:        s.Connector,
		SessionRef:       s.SessionRef,
		StartedAt:        timestamppb.New(s.StartedAt),
		EndedAt:          timestamppb.New(s.EndedAt),
		EnergyMwh:        s.EnergyMWh,
		DurationS:        s.DurationS,
		Reason:           endReasonOf(s.Reason),
		RawReason:        s.RawReason,
		AmountFen:        s.AmountFen,
		ElectricityFen:   s.ElectricityFen,
		ServiceFen:       s.ServiceFen,
		ChargerAmountFen: s.ChargerAmountFen,
		CardId:           s.CardID,
		UserId:           s.UserID,
		AuthMethod:       s.AuthMethod,
		Offline:          s.Offline,
		TariffId:         s.TariffID,
		StartCommandId:   s.StartCommandID,
		ReceivedAt:       timestamppb.New(s.ReceivedAt),
	}
}

// timeOf returns a valid timestamp as time, or the zero time for nil.
func timeOf(field string, ts *timestamppb.Timestamp, required bool) (time.Time, error) {
	if ts == nil {
		if required {
			return time.Time{}, &FieldError{Field: field, Reason: "required"}
		}
		return time.Time{}, nil
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, &FieldError{Field: field, Reason: "not a valid timestamp (years 1 to 9999, nanos below 1e9)"}
	}
	return ts.AsTime(), nil
}
