package devicelog_test

import (
	"testing"

	"github.com/chargeplane/chargeplane/cloud/devicelog"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

func TestSummary(t *testing.T) {
	t.Parallel()
	ev := func(conn uint32, kind any) *chargeplanev1.Event {
		e := &chargeplanev1.Event{Seq: 1, ChargerId: "c1", Connector: conn}
		switch k := kind.(type) {
		case *chargeplanev1.ChargerConnected:
			e.Kind = &chargeplanev1.Event_ChargerConnected{ChargerConnected: k}
		case *chargeplanev1.ChargerDisconnected:
			e.Kind = &chargeplanev1.Event_ChargerDisconnected{ChargerDisconnected: k}
		case *chargeplanev1.Heartbeat:
			e.Kind = &chargeplanev1.Event_Heartbeat{Heartbeat: k}
		case *chargeplanev1.ConnectorStatusChanged:
			e.Kind = &chargeplanev1.Event_ConnectorStatus{ConnectorStatus: k}
		case *chargeplanev1.MeterReport:
			e.Kind = &chargeplanev1.Event_MeterReport{MeterReport: k}
		case *chargeplanev1.SessionStarted:
			e.Kind = &chargeplanev1.Event_SessionStarted{SessionStarted: k}
		case *chargeplanev1.SessionEnded:
			e.Kind = &chargeplanev1.Event_SessionEnded{SessionEnded: k}
		case *chargeplanev1.CardPresented:
			e.Kind = &chargeplanev1.Event_CardPresented{CardPresented: k}
		case *chargeplanev1.Alarm:
			e.Kind = &chargeplanev1.Event_Alarm{Alarm: k}
		case *chargeplanev1.CommandResult:
			e.Kind = &chargeplanev1.Event_CommandResult{CommandResult: k}
		}
		return e
	}
	tests := []struct {
		name string
		in   *chargeplanev1.Event
		want string
	}{
		{"undecodable", nil, "payload cannot be decoded"},
		{"unknown kind", ev(0, nil), "event of a kind this cloud does not know"},
		{"connected", ev(0, &chargeplanev1.ChargerConnected{RemoteAddr: "10.0.0.1:1"}), "connected from 10.0.0.1:1"},
		{"connected, no address", ev(0, &chargeplanev1.ChargerConnected{}), "connected"},
		{"disconnected", ev(0, &chargeplanev1.ChargerDisconnected{Reason: "protocol_error", Detail: "bad checksum"}), "disconnected (protocol_error): bad checksum"},
		{"heartbeat, bare", ev(0, &chargeplanev1.Heartbeat{}), "heartbeat"},
		{"heartbeat", ev(0, &chargeplanev1.Heartbeat{Firmware: "v1", Signal: 31}), "heartbeat (firmware v1, signal 31)"},
		{"status", ev(2, &chargeplanev1.ConnectorStatusChanged{Status: chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_FAULTED}), "connector 2: faulted"},
		{"status of the charger", ev(0, &chargeplanev1.ConnectorStatusChanged{Status: chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_AVAILABLE, RawStatus: "0x01"}), "charger: available (raw 0x01)"},
		{"meter", ev(1, &chargeplanev1.MeterReport{SessionRef: "S9", Meter: &chargeplanev1.MeterValues{PowerMw: 3_500_400, EnergyMwh: 999, DurationS: 60}}), "connector 1: meter session S9: 3500 W, 0.000 kWh, 60s"},
		{"session started by card", ev(1, &chargeplanev1.SessionStarted{SessionRef: "S1", AuthMethod: "card", CardId: "abcd"}), "connector 1: session S1 started (card abcd)"},
		{"session ended", ev(1, &chargeplanev1.SessionEnded{SessionRef: "S1", Reason: chargeplanev1.EndReason_END_REASON_LIMIT_REACHED, EnergyMwh: 12_000_001, AmountFen: 1205}), "connector 1: session S1 ended (limit_reached): 12.000 kWh, 12.05 CNY"},
		{"session ended, negative amount", ev(1, &chargeplanev1.SessionEnded{SessionRef: "S2", AmountFen: -7}), "connector 1: session S2 ended (unspecified): 0.000 kWh, -0.07 CNY"},
		{"card accepted", ev(1, &chargeplanev1.CardPresented{CardId: "abcd", Accepted: true, Reason: "cache"}), "connector 1: card abcd accepted (cache)"},
		{"card refused", ev(1, &chargeplanev1.CardPresented{CardId: "abcd", Reason: "blocked"}), "connector 1: card abcd refused (blocked)"},
		{"alarm", ev(0, &chargeplanev1.Alarm{Code: "leakage", Severity: "critical", Raw: "0x07"}), "charger: alarm critical leakage (raw 0x07)"},
		{"command result", ev(0, &chargeplanev1.CommandResult{CommandId: "k1", Command: "query_status", Status: "accepted",
			Values: map[string]string{"b": "2", "a": "1"}}), "command query_status k1: accepted [a=1 b=2]"},
		{"command rejected", ev(0, &chargeplanev1.CommandResult{CommandId: "k2", Command: "start", Status: "rejected", Detail: "expired"}), "command start k2: rejected: expired"},
	}
	for _, tt := range tests {
		if got := devicelog.Summary(tt.in); got != tt.want {
			t.Errorf("%s: Summary = %q, want %q", tt.name, got, tt.want)
		}
	}
}
