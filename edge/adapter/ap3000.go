package adapter

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/edge/command"
	"github.com/chargeplane/chargeplane/edge/gateway"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/protocol/ap3000"
)

const protoAP3000 = "ap3000"

// AP3000 serves AP3000 ("DNY") e-bike charging sockets and piles
// (shared/protocols/ap3000.md).
//
// Identity: the charger id is the physical id of the first DNY frame, as
// ap3000.PhysicalID.String() (wire-order hex, "3b37ab04"). The unframed SIM
// ICCID the module sends first (§1) is kept and reported in Heartbeat events.
//
// Connector numbering: AP3000 ports are numbered from 0 on the wire (§4);
// connector = port + 1, and connector 0 is the device itself. A start
// command for connector 0 sends port 0xFF ("device picks"); the connector of
// the SessionStarted event is then the port the device reports.
//
// Events per message:
//   - 0x20 register, 0x21 / 0x01 heartbeat, 0x22 time request: Heartbeat
//     (ICCID, firmware from 0x20/0x01, signal), stored, then answered; 0x21
//     and 0x01 also give ConnectorStatusChanged for each port whose status or
//     session changed, and 0x01 a MeterReport per charging port (power).
//     Only one heartbeat kind is answered (§9): 0x21 always, 0x01 only until
//     the device has sent a 0x21 on this connection.
//   - 0x06 charging power heartbeat: MeterReport (and ConnectorStatusChanged
//     when the port's status or order number changed); no reply (§5).
//   - 0x03 settlement: SessionEnded stored durably, then answered (§9).
//   - 0x02 card swipe / balance query: CardPresented (decided by the
//     Authorizer), then the 0x02 reply; an accepted card on a port is then
//     started with 0x82 for apCardStartLimit by time, and SessionStarted is
//     stored when the device accepts.
//   - 0x42 alarm push, 0x44 port push: Alarm; no reply (§5).
//   - 0x04 legacy order confirmation: answered with the port and 0.
//   - replies to our commands (0x82, 0x83, 0x85, 0x90, 0x92): matched to the
//     waiting command by (command, message id).
//   - anything else (0x05, 0x41, 0x43, unknown commands): logged at Debug
//     and counted; the connection stays up.
//
// Commands: start (Limit duration or energy), stop (the running order
// number, or Params["session_ref"]), query_status (0x81, answered by the next
// heartbeat), query_parameters (0x90 run parameters 1.1 and 0x92 limits) and
// set_parameters (the same two groups, read-modify-write so a command may set
// any subset; names in ap3000ParamNames).
type AP3000 struct {
	deps    Deps
	log     *slog.Logger
	metrics sessionMetrics
}

// NewAP3000 builds the AP3000 adapter. It shares the adapter metrics with
// the other protocols on the same registerer.
func NewAP3000(deps Deps) *AP3000 {
	deps = deps.withDefaults()
	return &AP3000{
		deps:    deps,
		log:     deps.Logger.With("component", "adapter", "protocol", protoAP3000),
		metrics: newSessionMetrics(deps.Registerer),
	}
}

// Protocol registers the adapter with the gateway.
func (a *AP3000) Protocol() gateway.Protocol {
	return gateway.Protocol{Name: protoAP3000, Sniff: ap3000.Sniff, Serve: a.Serve}
}

// Timing and limits of the protocol.
const (
	// ap3000CommandGap is the least time between two commands to one device
	// (§1: "≥ 0.5 s between commands").
	ap3000CommandGap = 500 * time.Millisecond
	// apCardStartLimit is the site default a card start runs for, by time.
	apCardStartLimit = 240 * time.Minute
	// apEndedPerPort is how many settled order numbers are remembered per port
	// to recognise a retransmitted settlement.
	apEndedPerPort = 8
)

// apCorrKey matches a device reply to our command (§4: physical id — fixed per
// connection —, command and message id).
type apCorrKey struct {
	cmd ap3000.Command
	id  uint16
}

// apPortState is what the session last told the cloud about one port.
type apPortState struct {
	known    bool
	status   ap3000.PortStatus
	orderNo  ap3000.OrderNo
	hasOrder bool
	// ended holds the last settled order numbers, newest last.
	ended []ap3000.OrderNo
}

// ap3000Session is the state of one device connection.
//
// Lock order: paceMu before mu; mu is never held across I/O.
type ap3000Session struct {
	a        *AP3000
	c        *gateway.Conn
	log      *slog.Logger
	ctx      context.Context // the session's lifetime; ends when Serve returns
	corr     *correlator[apCorrKey, *ap3000.Frame]
	wg       sync.WaitGroup // card-start goroutines
	closedBy ending         // closed from outside: replaced or refused

	// Set once by the read loop before the session is attached.
	phy       ap3000.PhysicalID
	chargerID string

	paceMu   sync.Mutex
	lastSent time.Time

	mu          sync.Mutex
	iccid       string
	firmware    string
	seen21      bool
	ports       map[uint8]*apPortState
	nextID      uint16
	outstanding map[uint16]bool
	orderSeq    uint32
	statusWait  []chan *ap3000.Frame

	out []byte // reply buffer of the read loop
}

// Serve runs one connection until it ends. The returned error is why.
func (a *AP3000) Serve(ctx context.Context, c *gateway.Conn) (err error) {
	sctx, cancel := context.WithCancel(ctx)
	s := &ap3000Session{
		a: a, c: c, log: a.log.With("remote", c.RemoteAddr()), ctx: sctx,
		corr:  newCorrelator[apCorrKey, *ap3000.Frame](),
		ports: make(map[uint8]*apPortState), outstanding: make(map[uint16]bool),
	}
	defer func() {
		cancel()
		s.wg.Wait()
		recordEnd(ctx, a.deps, protoAP3000, s.chargerID, s, err, s.log)
	}()

	reader := frameReader{protocol: protoAP3000, split: ap3000.Split, deps: a.deps, metrics: a.metrics, log: s.log}
	err = reader.run(ctx, c, func(frame []byte) error { return s.handle(sctx, frame) })
	return s.closedBy.or(err)
}

// handle processes one unit from the stream: decode, store, reply.
func (s *ap3000Session) handle(ctx context.Context, raw []byte) error {
	a := s.a
	f, err := ap3000.Decode(raw)
	if err != nil {
		// Split checked the frame's length and checksum, so the stream is in
		// sync; only this frame's body is bad.
		a.metrics.frames.WithLabelValues(protoAP3000, "invalid").Inc()
		s.log.Warn("dropped invalid frame", "err", err, "frame", hexFrame(raw))
		return nil
	}
	switch m := f.Body.(type) {
	case *ap3000.ICCID:
		s.mu.Lock()
		s.iccid = m.Value
		s.mu.Unlock()
		a.metrics.frames.WithLabelValues(protoAP3000, "preamble").Inc()
		return nil
	case *ap3000.Link:
		a.metrics.frames.WithLabelValues(protoAP3000, "preamble").Inc()
		return nil
	}

	now := a.deps.Now()
	var evs []*chargeplanev1.Event
	if s.chargerID == "" {
		if refused(a.deps, a.metrics, protoAP3000, f.PhysicalID.String(), s.log) {
			return gateway.ErrRefused
		}
		s.phy = f.PhysicalID
		s.chargerID = f.PhysicalID.String()
		s.c.ChargerID = s.chargerID
		s.log = s.log.With("charger_id", s.chargerID)
		ev := event(now, protoAP3000, s.chargerID, 0)
		ev.Kind = &chargeplanev1.Event_ChargerConnected{ChargerConnected: &chargeplanev1.ChargerConnected{RemoteAddr: s.c.RemoteAddr()}}
		evs = append(evs, ev)
		if a.deps.Registry != nil {
			a.deps.Registry.attach(s.chargerID, protoAP3000, s)
		}
		s.log.Info("charger identified", "device_code", f.PhysicalID.DeviceCode(), "device_no", f.PhysicalID.DeviceNumber())
	} else if f.PhysicalID != s.phy {
		a.metrics.frames.WithLabelValues(protoAP3000, "foreign").Inc()
		s.log.Warn("frame from another physical id on this connection ignored", "other", f.PhysicalID.String())
		return nil
	}

	var reply ap3000.Message
	outcome := "answered"
	switch m := f.Body.(type) {
	case *ap3000.Register:
		s.mu.Lock()
		s.firmware = apFirmwareString(m.Firmware)
		s.mu.Unlock()
		evs = append(evs, s.heartbeatEvent(now, 0))
		reply = &ap3000.RegisterReply{}
	case *ap3000.Heartbeat:
		s.mu.Lock()
		s.seen21 = true
		s.mu.Unlock()
		evs = append(evs, s.heartbeatEvent(now, int32(m.Signal)))
		for i, st := range m.Ports {
			evs = s.portStatus(now, evs, uint8(i), st, nil)
		}
		s.notifyStatus(f)
		reply = &ap3000.HeartbeatReply{}
	case *ap3000.OldHeartbeat:
		s.mu.Lock()
		s.firmware = apFirmwareString(m.Firmware)
		answer := !s.seen21
		s.mu.Unlock()
		evs = append(evs, s.heartbeatEvent(now, int32(m.Signal)))
		for i, p := range m.Ports {
			evs = s.portStatus(now, evs, uint8(i), p.Status, nil)
			if p.Status == ap3000.PortCharging || p.Status == ap3000.PortFloatCharging {
				ev := event(now, protoAP3000, s.chargerID, uint32(i)+1)
				ev.Kind = &chargeplanev1.Event_MeterReport{MeterReport: &chargeplanev1.MeterReport{
					SessionRef: s.sessionRef(uint8(i)),
					Meter:      &chargeplanev1.MeterValues{PowerMw: int64(p.Power) * 100, VoltageMv: int64(m.Voltage) * 100},
				}}
				evs = append(evs, ev)
			}
		}
		s.notifyStatus(f)
		if answer {
			reply = &ap3000.OldHeartbeatReply{}
		}
	case *ap3000.TimeRequest:
		evs = append(evs, s.heartbeatEvent(now, 0))
		reply = &ap3000.TimeReply{Time: now}
	case *ap3000.PowerHeartbeat:
		evs = s.powerHeartbeat(now, evs, m)
		outcome = "stored"
	case *ap3000.Settlement:
		return s.settlement(ctx, f, m, now, evs)
	case *ap3000.CardSwipe:
		return s.cardSwipe(ctx, f, m, now, evs)
	case *ap3000.AlarmPush:
		evs = append(evs, apAlarmOf(now, s.chargerID, m))
		outcome = "stored"
	case *ap3000.PortPush:
		ev := event(now, protoAP3000, s.chargerID, uint32(m.Port)+1)
		ev.Kind = &chargeplanev1.Event_Alarm{Alarm: &chargeplanev1.Alarm{
			Code: "other", Severity: "warning", Raw: fmt.Sprintf("0x44 type=0x%02x port=0x%02x", m.Type, m.Port),
			Message: "cabinet door not closed",
		}}
		evs = append(evs, ev)
		outcome = "stored"
	case *ap3000.OrderConfirm:
		s.mu.Lock()
		p := s.port(m.Port)
		p.orderNo, p.hasOrder = m.OrderNo, true
		s.mu.Unlock()
		reply = &ap3000.OrderConfirmReply{Port: m.Port}
	case *ap3000.ChargeReply, *ap3000.SetRunParams1Reply, *ap3000.SetLimitsReply,
		*ap3000.RunParams1Report, *ap3000.LimitsReport, *ap3000.RebootReply:
		outcome = "reply"
		if !s.corr.deliver(apCorrKey{f.Command, f.MessageID}, f) {
			outcome = "late_reply"
			s.log.Debug("reply without a waiting command", "msg_type", f.Command.String(), "msg_id", f.MessageID)
		}
	default:
		outcome = "unhandled"
		s.log.Debug("frame not handled", "msg_type", f.Command.String(), "frame", hexFrame(raw))
	}
	if len(evs) > 0 {
		if err := a.deps.Store.Append(ctx, evs...); err != nil {
			return fmt.Errorf("store %s: %w", f.Command, err)
		}
	}
	a.metrics.frames.WithLabelValues(protoAP3000, outcome).Inc()
	if reply == nil {
		return nil
	}
	return s.reply(f, reply)
}

// reply answers a device frame, echoing its message id (§4).
func (s *ap3000Session) reply(f *ap3000.Frame, body ap3000.Message) error {
	var err error
	s.out, err = ap3000.Append(s.out[:0], &ap3000.Frame{PhysicalID: s.phy, MessageID: f.MessageID, Body: body})
	if err != nil {
		return fmt.Errorf("encode reply: %w", err)
	}
	if err := writeFrame(s.a.deps, s.c, protoAP3000, s.out); err != nil {
		return err //nolint:wrapcheck // already says what failed
	}
	return nil
}

func apFirmwareString(v uint16) string { return fmt.Sprintf("V%d.%02d", v/100, v%100) }

func (s *ap3000Session) heartbeatEvent(now time.Time, signal int32) *chargeplanev1.Event {
	s.mu.Lock()
	hb := &chargeplanev1.Heartbeat{Iccid: s.iccid, Firmware: s.firmware, Signal: signal}
	s.mu.Unlock()
	ev := event(now, protoAP3000, s.chargerID, 0)
	ev.Kind = &chargeplanev1.Event_Heartbeat{Heartbeat: hb}
	return ev
}

// port returns port's state; s.mu must be held.
func (s *ap3000Session) port(port uint8) *apPortState {
	p := s.ports[port]
	if p == nil {
		p = &apPortState{}
		s.ports[port] = p
	}
	return p
}

func (s *ap3000Session) sessionRef(port uint8) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.ports[port]; p != nil && p.hasOrder {
		return p.orderNo.String()
	}
	return ""
}

// portStatus appends a ConnectorStatusChanged when port's status (or, when
// order is given, its order number) differs from what was last reported.
func (s *ap3000Session) portStatus(now time.Time, evs []*chargeplanev1.Event, port uint8, st ap3000.PortStatus, order *ap3000.OrderNo) []*chargeplanev1.Event {
	s.mu.Lock()
	p := s.port(port)
	changed := !p.known || p.status != st
	if order != nil && (!p.hasOrder || p.orderNo != *order) {
		p.orderNo, p.hasOrder, changed = *order, true, true
	}
	if st == ap3000.PortIdle {
		// An idle port runs no session: forget its order number.
		p.hasOrder = false
	}
	p.known, p.status = true, st
	ref := ""
	if p.hasOrder {
		ref = p.orderNo.String()
	}
	s.mu.Unlock()
	if !changed {
		return evs
	}
	ev := event(now, protoAP3000, s.chargerID, uint32(port)+1)
	ev.Kind = &chargeplanev1.Event_ConnectorStatus{ConnectorStatus: &chargeplanev1.ConnectorStatusChanged{
		Status: apConnectorStatusOf(st), RawStatus: fmt.Sprintf("0x%02x", uint8(st)), SessionRef: ref,
	}}
	return append(evs, ev)
}

// apConnectorStatusOf maps a port status (§8 "Port status").
func apConnectorStatusOf(st ap3000.PortStatus) chargeplanev1.ConnectorStatus {
	switch st {
	case ap3000.PortIdle:
		return chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_AVAILABLE
	case ap3000.PortCharging, ap3000.PortFloatCharging:
		return chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_CHARGING
	case ap3000.PortPlugged:
		return chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_PREPARING
	case ap3000.PortFull:
		return chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_FINISHING
	case ap3000.PortCannotMeter, ap3000.PortMemoryFault, ap3000.PortContactStuck, ap3000.PortPoorContact,
		ap3000.PortRelayWelded, ap3000.PortPlugSensorFault, ap3000.PortPreCheckRelay, ap3000.PortPreCheckShort,
		ap3000.PortPreCheckWelded, ap3000.PortCardReaderFault, ap3000.PortDetectionFault:
		return chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_FAULTED
	default:
		return chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_UNSPECIFIED
	}
}

// powerHeartbeat turns a 0x06 report into a MeterReport, with a status
// change first when the port's state or order number is new. Its status byte
// uses 1 charging, 2 waiting for a plug, 3 full, 5 float; others are error
// values to ignore (§7.1).
func (s *ap3000Session) powerHeartbeat(now time.Time, evs []*chargeplanev1.Event, m *ap3000.PowerHeartbeat) []*chargeplanev1.Event {
	switch st := ap3000.PortStatus(m.Status); st {
	case ap3000.PortCharging, ap3000.PortPlugged, ap3000.PortFull, ap3000.PortFloatCharging:
		evs = s.portStatus(now, evs, m.Port, st, &m.OrderNo)
	}
	mv := &chargeplanev1.MeterValues{
		PowerMw: int64(m.Power) * 100, EnergyMwh: int64(m.Energy) * 10000, DurationS: int64(m.Duration),
	}
	if m.Voltage != nil {
		mv.VoltageMv = int64(*m.Voltage) * 100
	}
	if m.Current != nil {
		mv.CurrentMa = int64(*m.Current)
	}
	if m.PortTemp != nil {
		if c, ok := m.PortTemp.Celsius(); ok {
			t := int32(c)
			mv.TemperatureC = &t
		}
	}
	ev := event(now, protoAP3000, s.chargerID, uint32(m.Port)+1)
	ev.Kind = &chargeplanev1.Event_MeterReport{MeterReport: &chargeplanev1.MeterReport{SessionRef: m.OrderNo.String(), Meter: mv}}
	return append(evs, ev)
}

// settlement stores SessionEnded durably, then answers (§9: the device keeps
// resending until answered). A settlement repeated on this connection (our
// answer was lost) is answered again but not stored twice. A settlement
// re-sent after a reconnect reaches the Recorder again: control.Book
// records one end per (charger, connector, session_ref) and leaves the
// repeat out.
func (s *ap3000Session) settlement(ctx context.Context, f *ap3000.Frame, m *ap3000.Settlement, now time.Time, evs []*chargeplanev1.Event) error {
	a := s.a
	s.mu.Lock()
	p := s.port(m.Port)
	dup := false
	for _, o := range p.ended {
		if o == m.OrderNo {
			dup = true
		}
	}
	s.mu.Unlock()
	if !dup {
		ended := now
		if m.Timestamp != nil {
			ended = *m.Timestamp
		}
		se := &chargeplanev1.SessionEnded{
			SessionRef: m.OrderNo.String(),
			StartedAt:  timestamppb.New(ended.Add(-time.Duration(m.Duration) * time.Second)),
			EndedAt:    timestamppb.New(ended),
			EnergyMwh:  int64(m.Energy) * 10000,
			DurationS:  int64(m.Duration),
			Reason:     apEndReasonOf(m.StopReason),
			RawReason:  fmt.Sprintf("0x%02x", uint8(m.StopReason)),
			FinalMeter: &chargeplanev1.MeterValues{EnergyMwh: int64(m.Energy) * 10000, DurationS: int64(m.Duration)},
		}
		if m.CardOrCode != (ap3000.CardID{}) {
			se.CardId = apCardIDString(m.CardOrCode)
		}
		ev := event(now, protoAP3000, s.chargerID, uint32(m.Port)+1)
		ev.Kind = &chargeplanev1.Event_SessionEnded{SessionEnded: se}
		evs = append(evs, ev)
		if err := storeFinal(ctx, a.deps.Store, a.deps.StoreTimeout, evs...); err != nil {
			return fmt.Errorf("store settlement: %w", err)
		}
		s.mu.Lock()
		p.ended = append(p.ended, m.OrderNo)
		if len(p.ended) > apEndedPerPort {
			p.ended = p.ended[1:]
		}
		if p.hasOrder && p.orderNo == m.OrderNo {
			p.hasOrder = false
		}
		s.mu.Unlock()
		a.metrics.frames.WithLabelValues(protoAP3000, "answered").Inc()
	} else {
		if len(evs) > 0 {
			if err := a.deps.Store.Append(ctx, evs...); err != nil {
				return fmt.Errorf("store connect: %w", err)
			}
		}
		a.metrics.frames.WithLabelValues(protoAP3000, "duplicate").Inc()
		s.log.Info("settlement repeated, answered again", "session_id", m.OrderNo.String())
	}
	return s.reply(f, &ap3000.SettlementReply{})
}

// apEndReasonOf normalizes a stop reason (§8 "Stop reasons").
func apEndReasonOf(r ap3000.StopReason) chargeplanev1.EndReason {
	switch r {
	case ap3000.StopFull:
		return chargeplanev1.EndReason_END_REASON_FULL
	case ap3000.StopMaxTime, ap3000.StopPresetTime, ap3000.StopPresetEnergy:
		return chargeplanev1.EndReason_END_REASON_LIMIT_REACHED
	case ap3000.StopUnplugged, 0x0D, 0x15, 0x16: // unplugged, unplugged (contact stuck), external stop, card stop
		return chargeplanev1.EndReason_END_REASON_LOCAL
	case ap3000.StopServer, 0x17: // server stop, server forced stop
		return chargeplanev1.EndReason_END_REASON_REMOTE
	case 0x09, 0x1C: // power too low, low-power cut-off
		return chargeplanev1.EndReason_END_REASON_NO_LOAD
	case 0x1B: // under-voltage
		return chargeplanev1.EndReason_END_REASON_POWER_LOSS
	case ap3000.StopOverload, 0x08, 0x0A, 0x0B, 0x0C, 0x0E, 0x0F, 0x10, 0x11, 0x12, 0x18, 0x19, 0x1A:
		return chargeplanev1.EndReason_END_REASON_FAULT
	default:
		return chargeplanev1.EndReason_END_REASON_OTHER
	}
}

// apCardIDString is the card number as printed on M1 cards: the UID read
// big-endian, in decimal (§7.1). Site card lists use this form.
func apCardIDString(c ap3000.CardID) string { return fmt.Sprintf("%d", c.Uint32()) }

// apBalanceQueryPort is the port byte of a balance query (§7.1, §9).
const apBalanceQueryPort = 0xFF

// cardSwipe decides a card with the Authorizer, stores CardPresented, then
// answers (§9 "Card swipe charging": answer first). An accepted card on a
// port is then started for apCardStartLimit by time.
func (s *ap3000Session) cardSwipe(ctx context.Context, f *ap3000.Frame, m *ap3000.CardSwipe, now time.Time, evs []*chargeplanev1.Event) error {
	a := s.a
	card := apCardIDString(m.CardID)
	var d struct {
		accepted bool
		reason   string
		balance  int64
	}
	if a.deps.Authorizer != nil {
		dec := a.deps.Authorizer.Authorize(card)
		d.accepted, d.reason, d.balance = dec.Accepted, dec.Reason, dec.BalanceFen
		if d.balance == 0 {
			d.balance = a.deps.Authorizer.Balance(card)
		}
	} else {
		d.reason = "no_authorizer"
	}
	connector := uint32(0)
	if m.Port != apBalanceQueryPort {
		connector = uint32(m.Port) + 1
	}
	ev := event(now, protoAP3000, s.chargerID, connector)
	ev.Kind = &chargeplanev1.Event_CardPresented{CardPresented: &chargeplanev1.CardPresented{
		CardId: card, Accepted: d.accepted, Reason: d.reason, BalanceFen: d.balance,
	}}
	evs = append(evs, ev)
	if err := a.deps.Store.Append(ctx, evs...); err != nil {
		return fmt.Errorf("store card: %w", err)
	}
	a.metrics.frames.WithLabelValues(protoAP3000, "answered").Inc()
	status := ap3000.AccountNormal
	if !d.accepted {
		status = apAccountStatusOf(d.reason)
	}
	// Values above 100000000 would be read as a pass expiry (§7.3).
	bal := ap3000.BalanceOrExpiry(min(max(d.balance, 0), 100000000))
	if err := s.reply(f, &ap3000.CardReply{CardID: m.CardID, Status: status, RateMode: ap3000.RateTimed, BalanceOrExpiry: bal, Port: m.Port}); err != nil {
		return err
	}
	if !d.accepted || m.Port == apBalanceQueryPort {
		return nil
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		limit := &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_DurationS{DurationS: int64(apCardStartLimit / time.Second)}}
		res, err := s.start(s.ctx, command.Command{Kind: command.Start, Connector: connector, Limit: limit}, "card", card)
		switch {
		case err != nil:
			s.log.Warn("card start failed", "connector", connector, "err", err)
		case res.Status != command.ResultAccepted:
			s.log.Warn("card start refused by the charger", "connector", connector, "detail", res.Detail)
		}
	}()
	return nil
}

// apAccountStatusOf maps an Authorizer refusal to the 0x02 account status the
// device speaks (§8 "Account status").
func apAccountStatusOf(reason string) ap3000.AccountStatus {
	switch reason {
	case "no_balance":
		return ap3000.AccountLowBalance
	default:
		return ap3000.AccountUnregistered
	}
}

// apAlarmOf normalizes a 0x42 alarm push (§8 "Alarm push type").
func apAlarmOf(now time.Time, chargerID string, m *ap3000.AlarmPush) *chargeplanev1.Event {
	code, severity, msg := "other", "warning", fmt.Sprintf("alarm type %d", m.Type)
	switch m.Type {
	case 1:
		code, msg = "fault", "power cut"
	case 2:
		code, severity, msg = "fault", "critical", "water"
	case 3:
		code, severity, msg = "over_temperature", "critical", "hot-melt trigger"
	case 4:
		code, severity, msg = "fault", "critical", "smoke"
	case 5:
		code, severity, msg = "over_temperature", "critical", "heat"
	case 6:
		code, severity, msg = "fault", "critical", "water level"
	case 7:
		code, msg = "other", "cabinet door forced"
	}
	// The port byte is also described as a 485 address (§12.6): the alarm is
	// about the device, the byte is kept in raw.
	ev := event(now, protoAP3000, chargerID, 0)
	ev.Kind = &chargeplanev1.Event_Alarm{Alarm: &chargeplanev1.Alarm{
		Code: code, Severity: severity, Message: msg,
		Raw: fmt.Sprintf("0x42 type=0x%02x port=0x%02x trigger=0x%02x", uint8(m.Type), m.Port, m.Trigger),
	}}
	return ev
}

// notifyStatus hands a heartbeat to query_status commands waiting for one.
func (s *ap3000Session) notifyStatus(f *ap3000.Frame) {
	s.mu.Lock()
	waiting := s.statusWait
	s.statusWait = nil
	s.mu.Unlock()
	for _, ch := range waiting {
		ch <- f
	}
}

func (s *ap3000Session) end(why error) { s.closedBy.end(s.c, why) }
