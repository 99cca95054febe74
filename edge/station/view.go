package station

import (
	"strings"
	"time"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// Connector statuses as the view names them: the proto's ConnectorStatus in
// lowercase, and "unknown" for a status the protocol could not map.
const (
	StatusAvailable = "available"
	StatusPreparing = "preparing"
	StatusCharging  = "charging"
	StatusFinishing = "finishing"
	StatusFaulted   = "faulted"
	StatusOffline   = "offline"
	StatusUnknown   = "unknown"
)

// statuses lists every status, so the gauge reports 0 for the absent ones.
func statuses() []string {
	return []string{StatusAvailable, StatusPreparing, StatusCharging, StatusFinishing, StatusFaulted,
		StatusOffline, StatusUnknown}
}

// statusName maps the protocol-neutral status to its view name.
func statusName(st chargeplanev1.ConnectorStatus) string {
	switch st {
	case chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_AVAILABLE,
		chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_PREPARING,
		chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_CHARGING,
		chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_FINISHING,
		chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_FAULTED,
		chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_OFFLINE:
		return strings.ToLower(strings.TrimPrefix(st.String(), "CONNECTOR_STATUS_"))
	default:
		return StatusUnknown
	}
}

// Charger is a snapshot of one charger. Times are zero (and omitted from
// JSON) until the fact was first seen.
type Charger struct {
	ChargerID string `json:"charger_id"`
	Protocol  string `json:"protocol"`
	Connected bool   `json:"connected"`
	// Since is when the charger last connected (connected) or disconnected.
	Since time.Time `json:"since,omitzero"`
	// RemoteAddr is the address of the latest connection.
	RemoteAddr     string      `json:"remote_addr,omitempty"`
	LastDisconnect *Disconnect `json:"last_disconnect,omitempty"`
	Firmware       string      `json:"firmware,omitempty"`
	ICCID          string      `json:"iccid,omitempty"`
	// Signal is the strength the protocol reports (BKV 0–31); 0 = not reported.
	Signal        int32     `json:"signal,omitempty"`
	LastHeartbeat time.Time `json:"last_heartbeat,omitzero"`
	// TemperatureC is the latest temperature any report of this charger carried.
	TemperatureC *int32 `json:"temperature_c,omitempty"`
	// LastAlarm is the latest alarm about the charger itself (connector 0).
	LastAlarm *Alarm `json:"last_alarm,omitempty"`
	// Connectors are sorted by number.
	Connectors []Connector `json:"connectors"`
}

// Disconnect is why and when a charger's connection closed.
type Disconnect struct {
	At time.Time `json:"at"`
	// Reason is the edge's: "eof", "idle_timeout", "protocol_error",
	// "shutdown", "replaced", "write_error", "error".
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

// Connector is a snapshot of one connector.
type Connector struct {
	Number uint32 `json:"connector"`
	// Status is one of the Status constants; "offline" while the charger is
	// disconnected.
	Status string `json:"status"`
	// RawStatus is the protocol's own value from the latest status report;
	// empty when Status was inferred from a session starting or ending.
	RawStatus string `json:"raw_status,omitempty"`
	// SessionRef is the running session's reference ("" when none).
	SessionRef       string    `json:"session_ref,omitempty"`
	SessionStartedAt time.Time `json:"session_started_at,omitzero"`
	// Meter is the latest live reading; nil when none since the last session ended.
	Meter       *Meter        `json:"meter,omitempty"`
	UpdatedAt   time.Time     `json:"updated_at,omitzero"`
	LastAlarm   *Alarm        `json:"last_alarm,omitempty"`
	LastCard    *Card         `json:"last_card,omitempty"`
	LastSession *EndedSession `json:"last_session,omitempty"`
}

// Meter is a live reading in display units.
type Meter struct {
	PowerW       float64   `json:"power_w"`
	VoltageV     float64   `json:"voltage_v"`
	CurrentA     float64   `json:"current_a"`
	EnergyWh     float64   `json:"energy_wh"`
	DurationS    int64     `json:"duration_s"`
	TemperatureC *int32    `json:"temperature_c,omitempty"`
	At           time.Time `json:"at"`
}

// Alarm is the latest exception reported.
type Alarm struct {
	At       time.Time `json:"at"`
	Code     string    `json:"code"`
	Severity string    `json:"severity"`
	Raw      string    `json:"raw,omitempty"`
	Message  string    `json:"message,omitempty"`
}

// Card is the latest card presented at a connector and the edge's decision.
type Card struct {
	At         time.Time `json:"at"`
	CardID     string    `json:"card_id"`
	Accepted   bool      `json:"accepted"`
	Reason     string    `json:"reason,omitempty"`
	BalanceFen int64     `json:"balance_fen"`
}

// EndedSession summarizes the connector's latest SessionEnded.
type EndedSession struct {
	SessionRef string    `json:"session_ref"`
	EndedAt    time.Time `json:"ended_at"`
	EnergyWh   float64   `json:"energy_wh"`
	DurationS  int64     `json:"duration_s"`
	// Reason is the normalized end reason in lowercase ("local", "remote", …).
	Reason string `json:"reason"`
	// AmountFen is the billed amount when the event carried it when stored.
	AmountFen int64 `json:"amount_fen"`
}

// meterOf converts a report's milli-units.
func meterOf(mv *chargeplanev1.MeterValues, at time.Time) *Meter {
	m := &Meter{
		PowerW:    float64(mv.GetPowerMw()) / 1000,
		VoltageV:  float64(mv.GetVoltageMv()) / 1000,
		CurrentA:  float64(mv.GetCurrentMa()) / 1000,
		EnergyWh:  float64(mv.GetEnergyMwh()) / 1000,
		DurationS: mv.GetDurationS(),
		At:        at,
	}
	if mv.TemperatureC != nil {
		t := mv.GetTemperatureC()
		m.TemperatureC = &t
	}
	return m
}

func endReasonName(r chargeplanev1.EndReason) string {
	if r == chargeplanev1.EndReason_END_REASON_UNSPECIFIED {
		return "unspecified"
	}
	return strings.ToLower(strings.TrimPrefix(r.String(), "END_REASON_"))
}

// clone copies c deeply enough that the snapshot shares no memory the
// state later writes to.
func (c Connector) clone() Connector {
	if c.Meter != nil {
		m := *c.Meter
		m.TemperatureC = clonePtr(m.TemperatureC)
		c.Meter = &m
	}
	c.LastAlarm = clonePtr(c.LastAlarm)
	c.LastCard = clonePtr(c.LastCard)
	c.LastSession = clonePtr(c.LastSession)
	return c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
