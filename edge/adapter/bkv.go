package adapter

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chargeplane/chargeplane/edge/control"
	"github.com/chargeplane/chargeplane/edge/gateway"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/protocol/bkv"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const protoBKV = "bkv"

// BKV serves BKV gateway connections (shared/protocols/bkv.md). It identifies
// the gateway from its first frame, answers heartbeats with the site's
// wall-clock time, turns status, end, card, balance and exception reports into
// protocol-neutral events stored before the gateway is acknowledged, and
// carries commands (bkv_command.go).
//
// # Connectors
//
// A BKV connector is (gateway, socket number, port) (§1). The charger is the
// gateway; its connector number is
//
//	connector = socket × 2 + port + 1 − 2
//
// so socket s (1–250) port A (0) is 2s−1 and port B (1) is 2s; socket 1 has
// connectors 1 and 2, socket 2 has 3 and 4. Connector 0 is the gateway.
//
// # Sessions
//
// The gateway allocates a business number per session and port (§4); it is
// the session_ref of every event, in decimal. Business numbers are only 2
// bytes and repeat over time; the connector and the time tell sessions apart.
//
// # Duplicate end reports
//
// A gateway repeats an end report until it hears the acknowledgement, and
// again after reconnecting (§4 [C]). Within one connection the session
// remembers the last few ended business numbers per connector and answers a
// repeat without recording it again. Across reconnects the Recorder dedupes:
// control.Book records one session end per (charger, connector,
// session_ref) and leaves a repeat out of the store, and the adapter
// acknowledges it all the same.
//
// # Reconnects during a session
//
// A session outlives its connection: the gateway keeps charging, reports
// the same business number on the new connection and sends the end report
// there. Nothing here depends on having seen the start on the same
// connection: the end report carries the session's energy and minutes, and
// control.Book, which saw the start, fills in the start time and the
// billing. Only the times of 0x02/0x0C end reports are then left to the
// Book (the report has none).
//
// # Amounts
//
// The amount a gateway computed itself (card, power-tier and fee end
// reports) goes to SessionEnded.charger_amount_fen for reconciliation; the
// billed amount_fen is the edge's, computed by control.Book from the tariff.
type BKV struct {
	deps    Deps
	log     *slog.Logger
	metrics sessionMetrics
}

// NewBKV builds the BKV adapter.
// A nil Deps.Authorizer refuses every card (control.DefaultAuthConfig).
func NewBKV(deps Deps) *BKV {
	deps = deps.withDefaults()
	if deps.Authorizer == nil {
		deps.Authorizer = control.NewAuthorizer(control.DefaultAuthConfig())
	}
	return &BKV{
		deps:    deps,
		log:     deps.Logger.With("component", "adapter", "protocol", protoBKV),
		metrics: newSessionMetrics(deps.Registerer),
	}
}

// Protocol registers the adapter with the gateway.
func (a *BKV) Protocol() gateway.Protocol {
	return gateway.Protocol{Name: protoBKV, Sniff: bkv.Sniff, Serve: a.Serve}
}

// bkvCardOrderMinutes is the time limit of a session started by an accepted
// card: the site default, 240 minutes, sent in the card order's duration.
const bkvCardOrderMinutes = 240

// bkvMaxOpenOrders bounds the card orders a connection waits to see
// confirmed: one per port of a few dozen sockets swiped at once.
const bkvMaxOpenOrders = 64

// bkvEndedMemory is how many ended business numbers a connector remembers to
// recognise a repeated end report.
const bkvEndedMemory = 4

// bkvReplyKey matches a gateway reply to its command (§4): frame command,
// sub-command (0x0005/0x0015) or BKV command (0x1000), msg id.
type bkvReplyKey struct {
	command uint16
	sub     uint16
	msgID   uint32
}

// bkvPort is what a session remembers about one connector.
type bkvPort struct {
	known     bool
	status    chargeplanev1.ConnectorStatus
	raw       bkv.PortStatus
	business  uint16
	ended     []uint16  // last ended business numbers, newest last
	startedBN uint16    // business number of a start seen on this connection
	startedAt time.Time // when it started (zero: not seen)
	stopBN    uint16    // business number a stop command was accepted for
	stopping  bool
}

// bkvCardOrder is a card order sent and not yet confirmed (0x0B down → 0x0F up).
type bkvCardOrder struct {
	connector uint32
	business  uint16
	card      string
}

// bkvSession is the state of one gateway connection. The session loop owns
// everything but ports (shared with command goroutines under mu), replies,
// and the atomics.
type bkvSession struct {
	a         *BKV
	c         *gateway.Conn
	log       *slog.Logger
	gatewayID bkv.GatewayID
	chargerID string
	out       []byte // reply buffer, reused; session loop only

	orders map[uint32]bkvCardOrder // by msg id; session loop only

	// life ends when the session does, so commands waiting for a reply
	// give up at once.
	life      context.Context
	replies   *correlator[bkvReplyKey, bkv.Message]
	nextMsgID atomic.Uint32
	closedBy  ending // closed from outside: replaced or refused

	mu           sync.Mutex
	ports        map[uint32]*bkvPort
	statusWaiter map[uint8]uint32 // socket → msg id of a pending status query
}

// bkvConnector maps (socket, port) to the connector number (see BKV).
func bkvConnector(socket, port uint8) uint32 { return uint32(socket)*2 + uint32(port) + 1 - 2 }

// bkvSocketPort is the inverse of bkvConnector.
func bkvSocketPort(connector uint32) (socket, port uint8, ok bool) {
	if connector < 1 || connector > 500 {
		return 0, 0, false
	}
	return uint8((connector + 1) / 2), uint8((connector - 1) % 2), true //nolint:gosec // range checked
}

func bkvSessionRef(bn uint16) string { return strconv.Itoa(int(bn)) }

// Serve runs one connection until it ends. The returned error is why.
func (a *BKV) Serve(ctx context.Context, c *gateway.Conn) (err error) {
	s := &bkvSession{
		a: a, c: c, log: a.log.With("remote", c.RemoteAddr()),
		orders:       make(map[uint32]bkvCardOrder),
		replies:      newCorrelator[bkvReplyKey, bkv.Message](),
		ports:        make(map[uint32]*bkvPort),
		statusWaiter: make(map[uint8]uint32),
	}
	var endLife context.CancelFunc
	s.life, endLife = context.WithCancel(context.WithoutCancel(ctx))
	defer endLife()
	defer func() { recordEnd(ctx, a.deps, protoBKV, s.chargerID, s, err, s.log) }()
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("session panic", "panic", r)
			err = fmt.Errorf("%w: panic: %v", gateway.ErrProtocol, r)
		}
	}()

	reader := frameReader{protocol: protoBKV, split: bkv.Split, deps: a.deps, metrics: a.metrics, log: s.log}
	err = reader.run(ctx, c, func(frame []byte) error { return s.handle(ctx, frame) })
	return s.closedBy.or(err)
}

func (s *bkvSession) end(why error) { s.closedBy.end(s.c, why) }

// handle processes one complete frame: decode, store, reply.
func (s *bkvSession) handle(ctx context.Context, raw []byte) error {
	a := s.a
	f, err := bkv.Decode(raw)
	if err != nil {
		// Split found a well-delimited frame that does not decode (bad checksum,
		// inner lengths): drop just this frame, as the stream is still in sync.
		a.metrics.frames.WithLabelValues(protoBKV, "invalid").Inc()
		s.log.Warn("dropped invalid frame", "charger_id", s.chargerID, "err", err)
		return nil
	}
	if f.Direction != bkv.Up {
		a.metrics.frames.WithLabelValues(protoBKV, "invalid").Inc()
		s.log.Warn("dropped platform-direction frame from a gateway")
		return nil
	}
	var evs []*chargeplanev1.Event
	now := a.deps.Now()
	if s.chargerID == "" {
		if refused(a.deps, a.metrics, protoBKV, f.GatewayID.String(), s.log) {
			return gateway.ErrRefused
		}
		s.gatewayID = f.GatewayID
		s.chargerID = f.GatewayID.String()
		s.c.ChargerID = s.chargerID
		s.log = s.log.With("charger_id", s.chargerID)
		ev := event(now, protoBKV, s.chargerID, 0)
		ev.Kind = &chargeplanev1.Event_ChargerConnected{ChargerConnected: &chargeplanev1.ChargerConnected{RemoteAddr: s.c.RemoteAddr()}}
		evs = append(evs, ev)
		s.log.Info("charger identified")
		if a.deps.Registry != nil {
			a.deps.Registry.attach(s.chargerID, protoBKV, s)
		}
	} else if f.GatewayID != s.gatewayID {
		a.metrics.frames.WithLabelValues(protoBKV, "foreign").Inc()
		s.log.Warn("frame from another gateway id on this connection ignored", "other", f.GatewayID.String())
		return nil
	}

	var reply bkv.Message
	replyID := f.MsgID
	outcome := "answered"
	switch m := f.Body.(type) {
	case *bkv.Heartbeat:
		ev := event(now, protoBKV, s.chargerID, 0)
		ev.Kind = &chargeplanev1.Event_Heartbeat{Heartbeat: &chargeplanev1.Heartbeat{
			Iccid: m.ICCID, Firmware: m.Firmware, Signal: int32(m.Signal),
		}}
		evs = append(evs, ev)
		// The reply sets the gateway's clock (§7.1).
		reply = &bkv.HeartbeatReply{Time: wallClock(now, a.deps.Location)}
	case *bkv.StatusReport:
		evs = append(evs, s.statusEvents(now, m.Sockets)...)
		reply = &bkv.StatusReportAck{Seq: m.Seq, Result: bkv.ResultOK}
	case *bkv.ChargeEnd:
		ev, dup := s.endEvent(now, m.EndHead, nil)
		evs = appendIf(evs, ev, !dup)
		reply = &bkv.CardEndReply{Socket: m.Socket, Result: bkv.ResultOK}
	case *bkv.CardEnd:
		ev, dup := s.endEvent(now, m.EndHead, func(e *chargeplanev1.SessionEnded) {
			e.CardId = m.Card.String()
			e.ChargerAmountFen = int64(m.Amount)
		})
		evs = appendIf(evs, ev, !dup)
		reply = &bkv.CardEndReply{Socket: m.Socket, Result: bkv.ResultOK}
	case *bkv.PowerTierEnd:
		ev, dup := s.endEvent(now, m.EndHead, func(e *chargeplanev1.SessionEnded) {
			e.ChargerAmountFen = int64(m.Amount)
			e.RawReason = fmt.Sprintf("reason=%d status=%s", m.EndReason, m.Status)
			s.setEndTime(e, m.EndTime)
		})
		evs = appendIf(evs, ev, !dup)
		// No reply is documented (§7.5); the 0x02 acknowledgement is the
		// closest the gateway knows and stops it repeating (§7.4).
		reply = &bkv.CardEndReply{Socket: m.Socket, Result: bkv.ResultOK}
	case *bkv.FeeEnd:
		head := bkv.EndHead{Socket: m.Socket, Port: m.Port, Status: m.Status, BusinessNo: m.BusinessNo,
			Power: m.Power, Current: m.Current, Energy: m.Energy, Minutes: m.Minutes, Temperature: m.MCUTemperature}
		ev, dup := s.endEvent(now, head, func(e *chargeplanev1.SessionEnded) {
			e.ChargerAmountFen = int64(m.ElecAmount) + int64(m.ServiceAmount)
			e.RawReason = fmt.Sprintf("reason=%d status=%s", m.EndReason, m.Status)
			s.setEndTime(e, m.EndTime)
		})
		evs = appendIf(evs, ev, !dup)
		reply = &bkv.FeeEndAck{Seq: m.Seq, Result: bkv.ResultOK, Socket: m.Socket, Port: m.Port}
	case *bkv.CardSwipe:
		var order *bkv.CardOrder
		evs, order = s.cardSwipe(now, evs, m)
		reply, replyID = order, s.newMsgID()
		if order.Switch == bkv.SwitchOn {
			if len(s.orders) >= bkvMaxOpenOrders {
				// A gateway that never confirms must not grow the map: forget
				// the oldest order (msg ids increase).
				oldest := replyID
				for id := range s.orders {
					oldest = min(oldest, id)
				}
				delete(s.orders, oldest)
			}
			s.orders[replyID] = bkvCardOrder{connector: bkvConnector(m.Socket, m.Port), business: m.BusinessNo, card: m.Card.String()}
		}
	case *bkv.OrderConfirm:
		evs = s.orderConfirmed(now, evs, f.MsgID, m)
		outcome = "handled"
	case *bkv.BalanceQuery:
		card := m.Card.String()
		d := a.deps.Authorizer.Authorize(card)
		ev := event(now, protoBKV, s.chargerID, bkvConnector(m.Socket, m.Port))
		bal := a.deps.Authorizer.Balance(card)
		ev.Kind = &chargeplanev1.Event_CardPresented{CardPresented: &chargeplanev1.CardPresented{
			CardId: card, Accepted: d.Accepted, Reason: d.Reason, BalanceFen: bal,
		}}
		evs = append(evs, ev)
		// The guide's balance reply carries a fresh msg id (§4, §7.7).
		reply, replyID = &bkv.Balance{Socket: m.Socket, Port: m.Port, Card: m.Card, Balance: uint32(max(bal, 0))}, s.newMsgID() //nolint:gosec // clamped
	case *bkv.ExceptionEvent:
		evs = append(evs, s.alarmEvents(now, m)...)
		reply = &bkv.ExceptionEventAck{Seq: m.Seq, Socket: m.Socket, Result: bkv.ResultOK}
	case *bkv.ControlResult, *bkv.NodeListResult, *bkv.AddNodeResult, *bkv.DeleteNodeResult,
		*bkv.StatusQueryReply, *bkv.ParamSetResult, *bkv.ParamQueryResult, *bkv.VoiceResult, *bkv.PowerTierStartResult:
		outcome = s.deliver(f)
	default:
		outcome = "unhandled"
		s.log.Debug("frame not handled", "msg_type", reflect.TypeOf(m), "frame", hexFrame(raw))
	}
	if len(evs) > 0 {
		if err := a.deps.Store.Append(ctx, evs...); err != nil {
			return fmt.Errorf("store %T: %w", f.Body, err)
		}
	}
	if reply == nil {
		a.metrics.frames.WithLabelValues(protoBKV, outcome).Inc()
		return nil
	}
	// Stored; now the gateway may hear back.
	return s.write(&bkv.Frame{Direction: bkv.Down, Command: f.Command, MsgID: replyID, GatewayID: s.gatewayID, Body: reply})
}

func appendIf(evs []*chargeplanev1.Event, ev *chargeplanev1.Event, ok bool) []*chargeplanev1.Event {
	if ok && ev != nil {
		return append(evs, ev)
	}
	return evs
}

// newMsgID returns a msg id unique among this connection's outstanding
// commands (§4): a counter, never 0 (the id of gateway-initiated frames).
func (s *bkvSession) newMsgID() uint32 {
	for {
		if id := s.nextMsgID.Add(1); id != 0 {
			return id
		}
	}
}

// bkvStatus maps a port to the neutral status. Only bit 7 (online) of the
// status byte is settled (§9), so the business number says whether the port
// has a session and the other bits are only kept raw.
func bkvStatus(st bkv.PortStatus, business uint16) chargeplanev1.ConnectorStatus {
	switch {
	case !st.Online():
		return chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_OFFLINE
	case business != 0:
		return chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_CHARGING
	default:
		return chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_AVAILABLE
	}
}

// bkvMeter converts wire units (§6.2) to milli-units.
func bkvMeter(p bkv.PortReport, temperature uint8) *chargeplanev1.MeterValues {
	t := int32(temperature)
	return &chargeplanev1.MeterValues{
		PowerMw: int64(p.Power) * 100, VoltageMv: int64(p.Voltage) * 100, CurrentMa: int64(p.Current),
		EnergyMwh: int64(p.Energy) * 1000, DurationS: int64(p.Minutes) * 60, TemperatureC: &t,
	}
}

// statusEvents turns socket reports into ConnectorStatusChanged on a change
// of status or session, and MeterReport for every charging port.
func (s *bkvSession) statusEvents(now time.Time, sockets []bkv.SocketReport) []*chargeplanev1.Event {
	var evs []*chargeplanev1.Event
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range sockets {
		sr := &sockets[i]
		if id, ok := s.statusWaiter[sr.Socket]; ok {
			// The captured gateway answers a status query with a report (§7.3).
			delete(s.statusWaiter, sr.Socket)
			s.replies.deliver(bkvReplyKey{bkv.CommandCharge, uint16(bkv.SubStatusReply), id},
				&bkv.StatusQueryReply{Socket: sr.Socket, SocketFirmware: sr.SocketFirmware, Temperature: sr.Temperature, RSSI: sr.RSSI, Ports: sr.Ports})
		}
		for _, p := range sr.Ports {
			if p.Port > 1 {
				s.log.Debug("port number out of range", "socket", sr.Socket, "port", p.Port)
				continue
			}
			conn := bkvConnector(sr.Socket, p.Port)
			st := bkvStatus(p.Status, p.BusinessNo)
			ps := s.port(conn)
			meter := bkvMeter(p, sr.Temperature)
			ref := ""
			if p.BusinessNo != 0 {
				ref = bkvSessionRef(p.BusinessNo)
			}
			if !ps.known || ps.status != st || ps.business != p.BusinessNo {
				ev := event(now, protoBKV, s.chargerID, conn)
				ev.Kind = &chargeplanev1.Event_ConnectorStatus{ConnectorStatus: &chargeplanev1.ConnectorStatusChanged{
					Status: st, RawStatus: p.Status.String(), SessionRef: ref, Meter: meter,
				}}
				evs = append(evs, ev)
			}
			ps.known, ps.status, ps.raw, ps.business = true, st, p.Status, p.BusinessNo
			if st == chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_CHARGING {
				ev := event(now, protoBKV, s.chargerID, conn)
				ev.Kind = &chargeplanev1.Event_MeterReport{MeterReport: &chargeplanev1.MeterReport{SessionRef: ref, Meter: meter}}
				evs = append(evs, ev)
			}
		}
	}
	return evs
}

// port returns the state of connector conn; s.mu must be held.
func (s *bkvSession) port(conn uint32) *bkvPort {
	p := s.ports[conn]
	if p == nil {
		p = &bkvPort{}
		s.ports[conn] = p
	}
	return p
}

// endEvent builds the SessionEnded of an end report, or reports a repeat
// of one already stored on this connection (see BKV, duplicate end reports).
func (s *bkvSession) endEvent(now time.Time, h bkv.EndHead, more func(*chargeplanev1.SessionEnded)) (*chargeplanev1.Event, bool) {
	conn := bkvConnector(h.Socket, h.Port)
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.port(conn)
	for _, bn := range ps.ended {
		if bn == h.BusinessNo {
			s.a.metrics.frames.WithLabelValues(protoBKV, "duplicate").Inc()
			s.log.Debug("repeated end report acknowledged again", "connector", conn, "session_id", h.BusinessNo)
			return nil, true
		}
	}
	ps.ended = append(ps.ended, h.BusinessNo)
	if len(ps.ended) > bkvEndedMemory {
		ps.ended = ps.ended[1:]
	}
	t := int32(h.Temperature)
	e := &chargeplanev1.SessionEnded{
		SessionRef: bkvSessionRef(h.BusinessNo),
		EnergyMwh:  int64(h.Energy) * 1000,
		DurationS:  int64(h.Minutes) * 60,
		RawReason:  "status=" + h.Status.String(),
		FinalMeter: &chargeplanev1.MeterValues{
			PowerMw: int64(h.Power) * 100, CurrentMa: int64(h.Current), EnergyMwh: int64(h.Energy) * 1000,
			DurationS: int64(h.Minutes) * 60, TemperatureC: &t,
		},
	}
	switch {
	case ps.stopping && ps.stopBN == h.BusinessNo:
		e.Reason = chargeplanev1.EndReason_END_REASON_REMOTE
	case h.Status&0x08 != 0:
		// Bit 3: no-load, the guide's one explained status (§9).
		e.Reason = chargeplanev1.EndReason_END_REASON_NO_LOAD
	case h.Status&0x20 != 0:
		// Bit 5: set when a timed order ran out [C] (§9, inferred).
		e.Reason = chargeplanev1.EndReason_END_REASON_LIMIT_REACHED
	default:
		e.Reason = chargeplanev1.EndReason_END_REASON_OTHER
	}
	if ps.startedBN == h.BusinessNo && !ps.startedAt.IsZero() {
		// 0x02 and 0x0C carry no times: known only when the start was seen
		// on this connection.
		e.StartedAt = timestamppb.New(ps.startedAt)
		e.EndedAt = timestamppb.New(now)
	}
	if ps.business == h.BusinessNo {
		ps.business = 0
	}
	ps.stopping = false
	if more != nil {
		more(e)
	}
	ev := event(now, protoBKV, s.chargerID, conn)
	ev.Kind = &chargeplanev1.Event_SessionEnded{SessionEnded: e}
	return ev, false
}

// setEndTime sets ended_at from a device wall-clock end time (§11) in the
// site's zone, and started_at from it and the duration.
func (s *bkvSession) setEndTime(e *chargeplanev1.SessionEnded, wall time.Time) {
	if wall.IsZero() {
		return
	}
	loc := s.a.deps.Location
	if loc == nil {
		loc = time.UTC
	}
	end := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, loc)
	e.EndedAt = timestamppb.New(end)
	e.StartedAt = timestamppb.New(end.Add(-time.Duration(e.GetDurationS()) * time.Second))
}

// cardSwipe decides a swipe and builds the card order: an accepted card
// starts the port by time for the site default (§7.6); a refused one gets an
// order with the switch off, which starts nothing [I].
func (s *bkvSession) cardSwipe(now time.Time, evs []*chargeplanev1.Event, m *bkv.CardSwipe) ([]*chargeplanev1.Event, *bkv.CardOrder) {
	card := m.Card.String()
	d := s.a.deps.Authorizer.Authorize(card)
	ev := event(now, protoBKV, s.chargerID, bkvConnector(m.Socket, m.Port))
	ev.Kind = &chargeplanev1.Event_CardPresented{CardPresented: &chargeplanev1.CardPresented{
		CardId: card, Accepted: d.Accepted, Reason: d.Reason, BalanceFen: d.BalanceFen,
	}}
	order := &bkv.CardOrder{Socket: m.Socket, Port: m.Port, BusinessNo: m.BusinessNo, Switch: bkv.SwitchOff, Mode: bkv.BillByTime}
	if d.Accepted {
		order.Switch, order.Duration = bkv.SwitchOn, bkvCardOrderMinutes
	}
	return append(evs, ev), order
}

// orderConfirmed turns the gateway's confirmation of a card order into
// SessionStarted.
func (s *bkvSession) orderConfirmed(now time.Time, evs []*chargeplanev1.Event, msgID uint32, m *bkv.OrderConfirm) []*chargeplanev1.Event {
	o, ok := s.orders[msgID]
	if !ok {
		s.log.Debug("order confirmation without an order", "msg_id", msgID)
		return evs
	}
	delete(s.orders, msgID)
	if m.Result != bkv.ResultOK {
		s.log.Info("gateway refused a card order", "connector", o.connector, "session_id", o.business)
		return evs
	}
	s.mu.Lock()
	ps := s.port(o.connector)
	ps.startedBN, ps.startedAt = o.business, now
	s.mu.Unlock()
	ev := event(now, protoBKV, s.chargerID, o.connector)
	ev.Kind = &chargeplanev1.Event_SessionStarted{SessionStarted: &chargeplanev1.SessionStarted{
		SessionRef: bkvSessionRef(o.business), AuthMethod: "card", CardId: o.card,
		Limit: &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_DurationS{DurationS: bkvCardOrderMinutes * 60}},
	}}
	return append(evs, ev)
}

// alarmEvents turns an exception event (§7.10) into one Alarm per port with
// something to say, plus one for the socket; reason and status codes are not
// enumerated anywhere, so they stay raw.
func (s *bkvSession) alarmEvents(now time.Time, m *bkv.ExceptionEvent) []*chargeplanev1.Event {
	type portFields struct {
		reason, status, overTemp uint8
		leakage                  uint16
		st                       bkv.PortStatus
	}
	ports := [2]portFields{
		{m.Port1EventReason, m.Port1EventStatus, m.Port1OverTemp, m.Port1Leakage, m.Port1Status},
		{m.Port2EventReason, m.Port2EventStatus, m.Port2OverTemp, m.Port2Leakage, m.Port2Status},
	}
	var evs []*chargeplanev1.Event
	add := func(conn uint32, code, severity, raw, msg string) {
		ev := event(now, protoBKV, s.chargerID, conn)
		ev.Kind = &chargeplanev1.Event_Alarm{Alarm: &chargeplanev1.Alarm{Code: code, Severity: severity, Raw: raw, Message: msg}}
		evs = append(evs, ev)
	}
	volts := fmt.Sprintf(" over_voltage=%d under_voltage=%d", m.OverVoltage, m.UnderVoltage)
	for i, p := range ports {
		if p.reason == 0 && p.status == 0 && p.overTemp == 0 && p.leakage == 0 {
			continue
		}
		code, severity := "other", "warning"
		switch {
		case p.overTemp != 0:
			code, severity = "over_temperature", "critical"
		case p.leakage != 0:
			code, severity = "leakage", "critical"
		}
		raw := fmt.Sprintf("reason=%d status=%d over_temp=%d leakage=%d port_status=%s", p.reason, p.status, p.overTemp, p.leakage, p.st) + volts
		add(bkvConnector(m.Socket, uint8(i)), code, severity, raw, fmt.Sprintf("socket %d port %c exception", m.Socket, 'A'+i)) //nolint:gosec // i < 2
	}
	if m.SocketEventReason != 0 || m.SocketEventStatus != 0 || len(evs) == 0 {
		raw := fmt.Sprintf("socket=%d reason=%d status=%d", m.Socket, m.SocketEventReason, m.SocketEventStatus) + volts
		add(0, "other", "warning", raw, fmt.Sprintf("socket %d exception", m.Socket))
	}
	return evs
}

func (s *bkvSession) write(f *bkv.Frame) error {
	var err error
	s.out, err = bkv.Append(s.out[:0], f)
	if err != nil {
		return fmt.Errorf("encode reply: %w", err)
	}
	a := s.a
	if err := writeFrame(a.deps, s.c, protoBKV, s.out); err != nil {
		return err //nolint:wrapcheck // already says what failed
	}
	a.metrics.frames.WithLabelValues(protoBKV, "answered").Inc()
	return nil
}
