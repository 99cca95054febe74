package station

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// Recorder stores events durably; State passes every Append on to one.
type Recorder interface {
	Append(ctx context.Context, evs ...*chargeplanev1.Event) error
}

// State is the site's current view, built from the events recorded through
// it. It is safe for concurrent use.
type State struct {
	next Recorder
	now  func() time.Time

	mu       sync.Mutex
	chargers map[string]*charger
}

// charger is the mutable state behind a Charger snapshot.
type charger struct {
	view Charger // Connectors unused: see connectors
	// conns counts the charger's open connections (see the package doc).
	conns      int
	connectors map[uint32]*connector
}

type connector struct {
	view Connector // Status holds the reported status, not the effective one
	// ended is the latest session that ended here: reports naming it must
	// not reopen it.
	ended string
}

// New builds an empty State recording through next. now stamps events that
// carry no occurred_at. The gauges are registered on reg (nil: none).
func New(next Recorder, now func() time.Time, reg prometheus.Registerer) *State {
	s := &State{next: next, now: now, chargers: make(map[string]*charger)}
	if reg != nil {
		// A second State on one registry is a wiring mistake found at startup.
		reg.MustRegister(newCollector(s))
	}
	return s
}

// Append records evs through the next Recorder and, only when that
// succeeded, folds them into the view. The next Recorder's error is returned
// as is: State adds nothing a caller could act on, and callers already name
// what they were storing.
func (s *State) Append(ctx context.Context, evs ...*chargeplanev1.Event) error {
	if err := s.next.Append(ctx, evs...); err != nil {
		return err //nolint:wrapcheck // transparent decorator, see above
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range evs {
		s.apply(ev)
	}
	return nil
}

// Chargers returns every charger seen since start, sorted by id, with its
// connectors sorted by number.
func (s *State) Chargers() []Charger {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Charger, 0, len(s.chargers))
	for _, c := range s.chargers {
		out = append(out, c.snapshot())
	}
	slices.SortFunc(out, func(a, b Charger) int { return cmp.Compare(a.ChargerID, b.ChargerID) })
	return out
}

// Charger returns one charger's snapshot; false if it was never seen.
func (s *State) Charger(id string) (Charger, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chargers[id]
	if !ok {
		return Charger{}, false
	}
	return c.snapshot(), true
}

// snapshot copies c with effective connector statuses; s.mu must be held.
func (c *charger) snapshot() Charger {
	v := c.view
	v.TemperatureC = clonePtr(v.TemperatureC)
	v.LastAlarm = clonePtr(v.LastAlarm)
	v.LastDisconnect = clonePtr(v.LastDisconnect)
	v.Connectors = make([]Connector, 0, len(c.connectors))
	for _, cn := range c.connectors {
		cv := cn.view.clone()
		cv.Status = c.effectiveStatus(cn)
		v.Connectors = append(v.Connectors, cv)
	}
	slices.SortFunc(v.Connectors, func(a, b Connector) int { return cmp.Compare(a.Number, b.Number) })
	return v
}

// effectiveStatus is what the view shows for cn: offline for every connector
// of a disconnected charger.
func (c *charger) effectiveStatus(cn *connector) string {
	if !c.view.Connected {
		return StatusOffline
	}
	if cn.view.Status == "" {
		return StatusUnknown
	}
	return cn.view.Status
}

// apply folds one stored event into the view; s.mu must be held.
func (s *State) apply(ev *chargeplanev1.Event) {
	if ev == nil || ev.GetChargerId() == "" || ev.GetKind() == nil {
		return
	}
	if _, ok := ev.GetKind().(*chargeplanev1.Event_CommandResult); ok {
		return // see the package doc
	}
	at := s.now()
	if ev.GetOccurredAt() != nil {
		at = ev.GetOccurredAt().AsTime()
	}
	c := s.charger(ev.GetChargerId())
	if p := ev.GetProtocol(); p != "" {
		c.view.Protocol = p
	}
	switch k := ev.GetKind().(type) {
	case *chargeplanev1.Event_ChargerConnected:
		c.conns++
		c.view.Connected, c.view.Since = true, at
		c.view.RemoteAddr = k.ChargerConnected.GetRemoteAddr()
	case *chargeplanev1.Event_ChargerDisconnected:
		c.conns = max(c.conns-1, 0)
		c.view.LastDisconnect = &Disconnect{At: at, Reason: k.ChargerDisconnected.GetReason(), Detail: k.ChargerDisconnected.GetDetail()}
		if c.conns == 0 {
			c.view.Connected, c.view.Since = false, at
		}
	case *chargeplanev1.Event_Heartbeat:
		hb := k.Heartbeat
		c.view.LastHeartbeat = at
		// Empty or zero fields mean "not carried by this heartbeat" (AP3000
		// register and time requests), not "gone".
		if hb.GetFirmware() != "" {
			c.view.Firmware = hb.GetFirmware()
		}
		if hb.GetIccid() != "" {
			c.view.ICCID = hb.GetIccid()
		}
		if hb.GetSignal() != 0 {
			c.view.Signal = hb.GetSignal()
		}
	case *chargeplanev1.Event_ConnectorStatus:
		c.noteTemperature(k.ConnectorStatus.GetMeter())
		if ev.GetConnector() == 0 {
			return
		}
		c.connector(ev.GetConnector()).status(k.ConnectorStatus, at)
	case *chargeplanev1.Event_MeterReport:
		c.noteTemperature(k.MeterReport.GetMeter())
		if ev.GetConnector() == 0 {
			return
		}
		c.connector(ev.GetConnector()).meterReport(k.MeterReport, at)
	case *chargeplanev1.Event_SessionStarted:
		if ev.GetConnector() == 0 {
			return
		}
		cn := c.connector(ev.GetConnector())
		ss := k.SessionStarted
		cn.ended = ""
		// A start repeated for the running session (a resume after a
		// reconnect) keeps its start time and meter.
		cn.setSession(ss.GetSessionRef(), at)
		// The charger confirmed the start: it charges before its next report
		// says so. The raw status is the report's, and no report said this.
		cn.view.Status, cn.view.RawStatus, cn.view.UpdatedAt = StatusCharging, "", at
	case *chargeplanev1.Event_SessionEnded:
		if ev.GetConnector() == 0 {
			return
		}
		c.connector(ev.GetConnector()).sessionEnded(k.SessionEnded, at)
	case *chargeplanev1.Event_Alarm:
		a := &Alarm{At: at, Code: k.Alarm.GetCode(), Severity: k.Alarm.GetSeverity(), Raw: k.Alarm.GetRaw(), Message: k.Alarm.GetMessage()}
		if ev.GetConnector() == 0 {
			c.view.LastAlarm = a
			return
		}
		cn := c.connector(ev.GetConnector())
		cn.view.LastAlarm, cn.view.UpdatedAt = a, at
	case *chargeplanev1.Event_CardPresented:
		if ev.GetConnector() == 0 {
			return
		}
		cp := k.CardPresented
		cn := c.connector(ev.GetConnector())
		cn.view.LastCard = &Card{At: at, CardID: cp.GetCardId(), Accepted: cp.GetAccepted(), Reason: cp.GetReason(), BalanceFen: cp.GetBalanceFen()}
		cn.view.UpdatedAt = at
	}
}

// charger returns id's state, creating it; s.mu must be held.
func (s *State) charger(id string) *charger {
	c := s.chargers[id]
	if c == nil {
		c = &charger{view: Charger{ChargerID: id}, connectors: make(map[uint32]*connector)}
		s.chargers[id] = c
	}
	return c
}

func (c *charger) connector(n uint32) *connector {
	cn := c.connectors[n]
	if cn == nil {
		cn = &connector{view: Connector{Number: n}}
		c.connectors[n] = cn
	}
	return cn
}

func (c *charger) noteTemperature(mv *chargeplanev1.MeterValues) {
	if mv != nil && mv.TemperatureC != nil {
		t := mv.GetTemperatureC()
		c.view.TemperatureC = &t
	}
}

// status folds a ConnectorStatusChanged.
func (cn *connector) status(st *chargeplanev1.ConnectorStatusChanged, at time.Time) {
	ref := st.GetSessionRef()
	if ref != "" && ref == cn.ended {
		// A late report of the session that already ended: its status is
		// stale too (the charger reports the free connector next).
		return
	}
	cn.view.Status, cn.view.RawStatus, cn.view.UpdatedAt = statusName(st.GetStatus()), st.GetRawStatus(), at
	switch {
	case ref != "":
		cn.setSession(ref, at)
	case cn.view.Status == StatusAvailable:
		// A free connector runs no session. Other statuses without a
		// reference keep what is known: AP3000 reports "charging" before the
		// order number is known.
		cn.view.SessionRef, cn.view.SessionStartedAt = "", time.Time{}
	}
	if mv := st.GetMeter(); mv != nil {
		cn.setMeter(mv, at)
	}
}

// meterReport folds a MeterReport.
func (cn *connector) meterReport(mr *chargeplanev1.MeterReport, at time.Time) {
	ref := mr.GetSessionRef()
	if ref != "" && ref == cn.ended {
		return // a late report of the ended session
	}
	if ref != "" {
		cn.setSession(ref, at)
	}
	cn.setMeter(mr.GetMeter(), at)
	cn.view.UpdatedAt = at
}

// setSession notes that ref runs here; a different session starts a fresh meter.
func (cn *connector) setSession(ref string, at time.Time) {
	if cn.view.SessionRef == ref {
		return
	}
	cn.view.SessionRef, cn.view.SessionStartedAt, cn.view.Meter = ref, at, nil
}

func (cn *connector) setMeter(mv *chargeplanev1.MeterValues, at time.Time) {
	if mv == nil {
		return
	}
	m := meterOf(mv, at)
	if old := cn.view.Meter; old != nil && cn.view.SessionRef != "" && mv.GetEnergyMwh() == 0 && mv.GetDurationS() == 0 {
		// The report does not carry the session's totals (package doc).
		m.EnergyWh, m.DurationS = old.EnergyWh, old.DurationS
	}
	cn.view.Meter = m
}

// sessionEnded folds a SessionEnded. A repeat of the end already folded
// (stored again after a reconnect) changes nothing.
func (cn *connector) sessionEnded(se *chargeplanev1.SessionEnded, at time.Time) {
	ref := se.GetSessionRef()
	ended := at
	if se.GetEndedAt() != nil {
		ended = se.GetEndedAt().AsTime()
	}
	if last := cn.view.LastSession; last != nil && (last.SessionRef == ref || ended.Before(last.EndedAt)) {
		return // a repeat, or an older session's end arriving late
	}
	if cn.view.SessionRef == ref || cn.view.SessionRef == "" {
		cn.view.SessionRef, cn.view.SessionStartedAt, cn.view.Meter = "", time.Time{}, nil
		if cn.view.Status == StatusCharging {
			// Ended, but the plug may still be in: the next report says.
			cn.view.Status, cn.view.RawStatus = StatusFinishing, ""
		}
	}
	cn.view.UpdatedAt = at
	cn.ended = ref
	cn.view.LastSession = &EndedSession{
		SessionRef: ref, EndedAt: ended, EnergyWh: float64(se.GetEnergyMwh()) / 1000, DurationS: se.GetDurationS(),
		Reason: endReasonName(se.GetReason()), AmountFen: se.GetAmountFen(),
	}
}
