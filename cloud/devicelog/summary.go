package devicelog

import (
	"fmt"
	"sort"
	"strings"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// undecodable is the summary of an event whose payload cannot be decoded.
const undecodable = "payload cannot be decoded"

// Summary renders an event as one line for people: what happened, to which
// connector, with the few values support asks for first. Everything else is
// in the event itself.
func Summary(e *chargeplanev1.Event) string {
	if e == nil {
		return undecodable
	}
	conn := func() string {
		if e.GetConnector() == 0 {
			return "charger"
		}
		return fmt.Sprintf("connector %d", e.GetConnector())
	}
	switch k := e.GetKind().(type) {
	case *chargeplanev1.Event_ChargerConnected:
		return join("connected", from(k.ChargerConnected.GetRemoteAddr()))
	case *chargeplanev1.Event_ChargerDisconnected:
		d := k.ChargerDisconnected
		return join("disconnected", paren(d.GetReason()), colon(d.GetDetail()))
	case *chargeplanev1.Event_Heartbeat:
		h := k.Heartbeat
		var parts []string
		if h.GetFirmware() != "" {
			parts = append(parts, "firmware "+h.GetFirmware())
		}
		if h.GetSignal() != 0 {
			parts = append(parts, fmt.Sprintf("signal %d", h.GetSignal()))
		}
		return join("heartbeat", paren(strings.Join(parts, ", ")))
	case *chargeplanev1.Event_ConnectorStatus:
		s := k.ConnectorStatus
		out := conn() + ": " + status(s.GetStatus())
		return join(out, paren(rawOf(s.GetRawStatus())), session(s.GetSessionRef()))
	case *chargeplanev1.Event_MeterReport:
		m := k.MeterReport.GetMeter()
		return join(conn()+": meter", session(k.MeterReport.GetSessionRef())) +
			fmt.Sprintf(": %s, %s, %ds", watts(m.GetPowerMw()), kWh(m.GetEnergyMwh()), m.GetDurationS())
	case *chargeplanev1.Event_SessionStarted:
		s := k.SessionStarted
		how := s.GetAuthMethod()
		if s.GetCardId() != "" {
			how = join(how, s.GetCardId())
		}
		return join(conn()+": session", s.GetSessionRef(), "started", paren(how))
	case *chargeplanev1.Event_SessionEnded:
		s := k.SessionEnded
		return join(conn()+": session", s.GetSessionRef(), "ended", paren(reason(s.GetReason()))) +
			fmt.Sprintf(": %s, %s", kWh(s.GetEnergyMwh()), yuan(s.GetAmountFen()))
	case *chargeplanev1.Event_CardPresented:
		c := k.CardPresented
		verdict := "refused"
		if c.GetAccepted() {
			verdict = "accepted"
		}
		return join(conn()+": card", c.GetCardId(), verdict, paren(c.GetReason()))
	case *chargeplanev1.Event_Alarm:
		a := k.Alarm
		return join(conn()+": alarm", a.GetSeverity(), a.GetCode(), paren(rawOf(a.GetRaw())), colon(a.GetMessage()))
	case *chargeplanev1.Event_CommandResult:
		r := k.CommandResult
		out := join("command", r.GetCommand(), r.GetCommandId()) + ": " + r.GetStatus()
		return join(out, colon(r.GetDetail()), values(r.GetValues()))
	default:
		return "event of a kind this cloud does not know"
	}
}

// join joins the non-empty parts with spaces, gluing ":"-led parts to
// the part before them.
func join(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 && !strings.HasPrefix(p, ":") {
			b.WriteByte(' ')
		}
		b.WriteString(p)
	}
	return b.String()
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func colon(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

func from(addr string) string {
	if addr == "" {
		return ""
	}
	return "from " + addr
}

func rawOf(raw string) string {
	if raw == "" {
		return ""
	}
	return "raw " + raw
}

func session(ref string) string {
	if ref == "" {
		return ""
	}
	return "session " + ref
}

// status is the enum value without its prefix, lowercase ("charging").
func status(s chargeplanev1.ConnectorStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "CONNECTOR_STATUS_"))
}

func reason(r chargeplanev1.EndReason) string {
	return strings.ToLower(strings.TrimPrefix(r.String(), "END_REASON_"))
}

// values renders command query results in key order, so the line is
// stable.
func values(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// watts renders milliwatts as whole watts.
func watts(mw int64) string { return fmt.Sprintf("%d W", mw/1000) }

// kWh renders milliwatt-hours as kWh with three decimals, exactly.
func kWh(mwh int64) string { return decimal(mwh, 1_000_000, 1000) + " kWh" }

// yuan renders fen as CNY with two decimals.
func yuan(fen int64) string { return decimal(fen, 100, 1) + " CNY" }

// decimal renders v/unit with the digits of unit/step after the point,
// truncating, in integers so that no float rounding shows.
func decimal(v, unit, step int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	digits := len(fmt.Sprint(unit/step)) - 1
	return fmt.Sprintf("%s%d.%0*d", sign, v/unit, digits, v%unit/step)
}
