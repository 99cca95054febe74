package control

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/edge/command"
	"github.com/chargeplane/chargeplane/edge/store"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// Append observes evs — session starts, meter readings and session ends —
// and stores them together with the Book's state changes in one store
// write, so the two never disagree after a crash. A SessionEnded already in
// the ledger is left out (the caller may still acknowledge the charger:
// the session is recorded). Events of one connector are handled one Append
// at a time; other connectors' Appends proceed in parallel and share group
// commits.
func (b *Book) Append(ctx context.Context, evs ...*chargeplanev1.Event) error {
	conns := sessionConns(evs)
	if len(conns) == 0 {
		_, err := b.st.Write(ctx, store.Write{Events: evs})
		return err //nolint:wrapcheck // the store's errors say what failed
	}
	release := b.locks.lock(conns)
	defer release()
	recorded, err := b.recordedEnds(ctx, evs)
	if err != nil {
		return err
	}
	p := b.plan(evs, recorded)
	if _, err := b.st.Write(ctx, p.write()); err != nil {
		return err //nolint:wrapcheck // the store's errors say what failed
	}
	b.commit(p)
	return nil
}

// sessionConns lists the connectors whose session state evs touch.
func sessionConns(evs []*chargeplanev1.Event) []connKey {
	var out []connKey
	for _, ev := range evs {
		touch := false
		switch k := ev.GetKind().(type) {
		case *chargeplanev1.Event_SessionStarted:
			touch = k.SessionStarted.GetSessionRef() != ""
		case *chargeplanev1.Event_SessionEnded:
			touch = true
		case *chargeplanev1.Event_MeterReport:
			touch = k.MeterReport.GetSessionRef() != "" && k.MeterReport.GetMeter() != nil
		case *chargeplanev1.Event_ConnectorStatus:
			touch = k.ConnectorStatus.GetSessionRef() != "" && k.ConnectorStatus.GetMeter() != nil
		}
		if touch {
			out = append(out, connKey{ev.GetChargerId(), ev.GetConnector()})
		}
	}
	return out
}

// meterOf returns the session ref and meter an event carries, if any.
func meterOf(ev *chargeplanev1.Event) (string, *chargeplanev1.MeterValues) {
	switch k := ev.GetKind().(type) {
	case *chargeplanev1.Event_MeterReport:
		return k.MeterReport.GetSessionRef(), k.MeterReport.GetMeter()
	case *chargeplanev1.Event_ConnectorStatus:
		return k.ConnectorStatus.GetSessionRef(), k.ConnectorStatus.GetMeter()
	}
	return "", nil
}

// recordedEnds finds the session ends among evs that the ledger already
// holds, by index. Only ends with no open session are looked up: an open
// session is deleted in the same write that records its end, so while it
// is open its end is not recorded (and a reused ref of an older session
// does not hide it). The caller holds the connector locks.
func (b *Book) recordedEnds(ctx context.Context, evs []*chargeplanev1.Event) (map[int]bool, error) {
	var look []int
	b.mu.Lock()
	for i, ev := range evs {
		se := ev.GetSessionEnded()
		if se == nil || se.GetSessionRef() == "" {
			continue
		}
		if b.open[sessKey{ev.GetChargerId(), ev.GetConnector(), se.GetSessionRef()}] == nil {
			look = append(look, i)
		}
	}
	b.mu.Unlock()
	var recorded map[int]bool
	for _, i := range look {
		ev := evs[i]
		_, found, err := b.st.SessionByRef(ctx, ev.GetChargerId(), ev.GetConnector(), ev.GetSessionEnded().GetSessionRef())
		if err != nil {
			return nil, fmt.Errorf("look up session end: %w", err)
		}
		if found {
			if recorded == nil {
				recorded = map[int]bool{}
			}
			recorded[i] = true
		}
	}
	return recorded, nil
}

// plan is what one Append changes: the events to store and the sessions,
// pending starts, card decisions and debits as they will be once stored.
type plan struct {
	events  []*chargeplanev1.Event
	work    map[sessKey]*openSession // final state; nil: ended
	existed map[sessKey]bool         // open before this Append
	dirty   map[sessKey]bool         // record to store
	ended   map[sessKey]bool         // ended (recorded) by this Append
	starts  map[connKey]*pendingStart
	memos   []string
	debits  []plannedDebit
	settled []settled
	stops   []stopOrder
}

type plannedDebit struct {
	key string
	rec debitRecord
	ev  *chargeplanev1.Event
}

type settled struct {
	authMethod string
	amountFen  int64
}

type stopOrder struct {
	key      sessKey
	protocol string
}

func (p *plan) write() store.Write {
	w := store.Write{Events: p.events}
	for k, s := range p.work {
		switch {
		case s == nil && p.existed[k]:
			w.Delete = append(w.Delete, openKey(k))
		case s != nil && p.dirty[k]:
			w.Put = append(w.Put, store.KV{Key: openKey(k), Value: encodeRecord(s.rec)})
		}
	}
	for _, d := range p.debits {
		w.Put = append(w.Put, store.KV{Key: []byte(d.key), Value: encodeRecord(d.rec)})
	}
	return w
}

// plan works out what evs change. It calls nothing that blocks.
func (b *Book) plan(evs []*chargeplanev1.Event, recorded map[int]bool) *plan {
	online := b.isOnline()
	now := b.now()
	p := &plan{
		work: map[sessKey]*openSession{}, existed: map[sessKey]bool{}, dirty: map[sessKey]bool{},
		ended: map[sessKey]bool{}, starts: map[connKey]*pendingStart{},
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, ev := range evs {
		switch k := ev.GetKind().(type) {
		case *chargeplanev1.Event_SessionStarted:
			if k.SessionStarted.GetSessionRef() != "" {
				b.planStart(p, ev, k.SessionStarted, online, now)
			}
		case *chargeplanev1.Event_MeterReport, *chargeplanev1.Event_ConnectorStatus:
			if ref, m := meterOf(ev); ref != "" && m != nil {
				b.planMeter(p, ev, ref, m, now)
			}
		case *chargeplanev1.Event_SessionEnded:
			if !b.planEnd(p, ev, k.SessionEnded, recorded[i], now) {
				continue
			}
		}
		p.events = append(p.events, ev)
	}
	return p
}

// sessionLocked returns the plan's copy of session k (nil: not open).
func (b *Book) sessionLocked(p *plan, k sessKey) *openSession {
	if s, ok := p.work[k]; ok {
		return s
	}
	if s := b.open[k]; s != nil {
		c := s.clone()
		p.work[k] = c
		p.existed[k] = true
		return c
	}
	return nil
}

func eventTime(ev *chargeplanev1.Event, now time.Time) time.Time {
	if ev.GetOccurredAt() != nil {
		return ev.GetOccurredAt().AsTime()
	}
	return now
}

// planStart opens a session, or resumes the one already open under the same
// ref (a charger that reconnected and announced it again).
func (b *Book) planStart(p *plan, ev *chargeplanev1.Event, ss *chargeplanev1.SessionStarted, online bool, now time.Time) {
	k := sessKey{ev.GetChargerId(), ev.GetConnector(), ss.GetSessionRef()}
	if s := b.sessionLocked(p, k); s != nil {
		b.log.Info("session resumed", "charger_id", k.charger, "connector", k.connector, "session_id", k.ref)
		return
	}
	t := b.cache.tariff
	s := &openSession{key: k, tariff: t, rec: openRecord{
		V: recordVersion, Protocol: ev.GetProtocol(), StartedAt: eventTime(ev, now), Tariff: tariffToRecord(t),
		EnergyMWh: make([]int64, len(t.GetPeriods())), LastPeriod: -1,
	}}
	ck, ps := b.pendingStartLocked(p, k.conn())
	switch {
	case ps != nil:
		p.starts[ck] = ps
		s.rec.AuthMethod, s.rec.CardID, s.rec.UserID = ps.authMethod, ps.cardID, ps.userID
		s.rec.StartCommandID, s.rec.LimitFen, s.rec.Offline = ps.commandID, ps.limitFen, ps.offline
		ss.AuthMethod = ps.authMethod
		if ss.GetCardId() == "" {
			ss.CardId = ps.cardID
		}
	case ss.GetCardId() != "":
		card := cardKey(ss.GetCardId())
		d := b.cache.decide(card, b.debitByCard[card], online)
		if m, ok := b.memos[card]; ok && now.Sub(m.at) <= cardMemoTTL {
			d = m.decision
			p.memos = append(p.memos, card)
		}
		s.rec.AuthMethod, s.rec.CardID, s.rec.UserID = AuthCard, ss.GetCardId(), b.cache.cards[card].userID
		s.rec.Offline = d.Offline
		if d.Accepted {
			s.rec.LimitFen = d.LimitFen
		}
	case ss.GetAuthMethod() == AuthRemote || ss.GetAuthMethod() == AuthLocal:
		// Started through the adapter registry directly, not Execute.
		s.rec.AuthMethod, s.rec.Offline = ss.GetAuthMethod(), !online
	default:
		s.rec.AuthMethod = AuthCharger
	}
	p.work[k] = s
	p.dirty[k] = true
	b.log.Info("session opened", "charger_id", k.charger, "connector", k.connector, "session_id", k.ref,
		"auth_method", s.rec.AuthMethod, "limit_fen", s.rec.LimitFen, "offline", s.rec.Offline)
}

// pendingStartLocked finds the start command waiting on connector ck, or
// on connector 0 of the charger (a start that let the charger pick the
// connector).
func (b *Book) pendingStartLocked(p *plan, ck connKey) (connKey, *pendingStart) {
	for _, c := range []connKey{ck, {ck.charger, 0}} {
		if ps := b.pending[c]; ps != nil && p.starts[c] == nil {
			return c, ps
		}
	}
	return connKey{}, nil
}

// observe attributes a meter reading's progress to the tariff period in
// force at at, and reports whether the stored record should be rewritten:
// on the first reading that moved and whenever the energy goes to another
// period. In between, a crash loses only the split between the readings
// since the last write, which the next reading (or the end) attributes.
// Readings that do not move the meter forward say nothing about when energy
// flowed (AP3000's power-only reports carry 0) and are ignored.
func (s *openSession) observe(reading int64, at time.Time, loc *time.Location) bool {
	if reading <= s.rec.LastMeterMWh {
		return false
	}
	i := periodAt(s.tariff, at, loc)
	s.rec.EnergyMWh[i] += reading - s.rec.LastMeterMWh
	s.rec.LastMeterMWh = reading
	write := !s.rec.Metered || i != s.rec.LastPeriod
	s.rec.Metered, s.rec.LastPeriod = true, i
	return write
}

func (b *Book) planMeter(p *plan, ev *chargeplanev1.Event, ref string, m *chargeplanev1.MeterValues, now time.Time) {
	k := sessKey{ev.GetChargerId(), ev.GetConnector(), ref}
	s := b.sessionLocked(p, k)
	if s == nil {
		return
	}
	if s.observe(m.GetEnergyMwh(), eventTime(ev, now), b.loc) {
		p.dirty[k] = true
	}
	if s.rec.LimitFen > 0 && !s.rec.LimitStopSent && !now.Before(s.retryStopAt) && s.amount() >= s.rec.LimitFen {
		s.rec.LimitStopSent = true
		p.dirty[k] = true
		p.stops = append(p.stops, stopOrder{key: k, protocol: ev.GetProtocol()})
	}
}

// planEnd settles a session end and reports whether to store it: false for
// a repeat of an end already recorded.
func (b *Book) planEnd(p *plan, ev *chargeplanev1.Event, se *chargeplanev1.SessionEnded, recorded bool, now time.Time) bool {
	k := sessKey{ev.GetChargerId(), ev.GetConnector(), se.GetSessionRef()}
	var s *openSession
	if k.ref != "" {
		s = b.sessionLocked(p, k)
		if s == nil && (recorded || p.ended[k]) {
			b.log.Info("repeated session end not stored again", "charger_id", k.charger, "connector", k.connector, "session_id", k.ref)
			return false
		}
		p.ended[k] = true
	}
	endedAt := eventTime(ev, now)
	if se.GetEndedAt() != nil {
		endedAt = se.GetEndedAt().AsTime()
	} else {
		se.EndedAt = timestamppb.New(endedAt)
	}
	var (
		tariff *chargeplanev1.Tariff
		energy []int64
		rest   int // period of the energy no reading attributed
	)
	if s != nil {
		if se.GetStartedAt() == nil {
			se.StartedAt = timestamppb.New(s.rec.StartedAt)
		}
		tariff, energy = s.tariff, slices.Clone(s.rec.EnergyMWh)
		rest = periodAt(tariff, se.GetStartedAt().AsTime(), b.loc)
		if s.rec.Metered {
			rest = periodAt(tariff, endedAt, b.loc)
		}
		se.AuthMethod, se.UserId, se.Offline, se.StartCommandId = s.rec.AuthMethod, s.rec.UserID, s.rec.Offline, s.rec.StartCommandID
		if se.GetCardId() == "" {
			se.CardId = s.rec.CardID
		}
		switch r := se.GetReason(); {
		case s.rec.LimitStopSent && (r == chargeplanev1.EndReason_END_REASON_REMOTE || r == chargeplanev1.EndReason_END_REASON_OTHER || r == chargeplanev1.EndReason_END_REASON_UNSPECIFIED):
			se.Reason = chargeplanev1.EndReason_END_REASON_LIMIT_REACHED
		case s.rec.OperatorStop && (r == chargeplanev1.EndReason_END_REASON_OTHER || r == chargeplanev1.EndReason_END_REASON_UNSPECIFIED):
			se.Reason = chargeplanev1.EndReason_END_REASON_REMOTE
		}
		p.work[k] = nil
	} else {
		if se.GetStartedAt() == nil && se.GetDurationS() > 0 {
			se.StartedAt = timestamppb.New(endedAt.Add(-time.Duration(se.GetDurationS()) * time.Second))
		}
		startedAt := endedAt
		if se.GetStartedAt() != nil {
			startedAt = se.GetStartedAt().AsTime()
		}
		tariff = b.cache.tariff
		energy = make([]int64, len(tariff.GetPeriods()))
		rest = periodAt(tariff, startedAt, b.loc)
		se.AuthMethod = AuthCharger
		if se.GetCardId() != "" {
			se.AuthMethod, se.UserId = AuthCard, b.cache.cards[cardKey(se.GetCardId())].userID
		}
	}
	attribute(energy, max(se.GetEnergyMwh(), 0), rest)
	elec, svc := price(tariff, energy)
	se.ElectricityFen, se.ServiceFen, se.AmountFen = elec, svc, elec+svc
	se.Tariff = proto.CloneOf(tariff)
	p.settled = append(p.settled, settled{authMethod: se.GetAuthMethod(), amountFen: se.GetAmountFen()})
	if se.GetCardId() != "" && se.GetAmountFen() > 0 {
		p.debits = append(p.debits, plannedDebit{
			key: string(debitKey(k, endedAt)), ev: ev,
			rec: debitRecord{V: recordVersion, CardID: se.GetCardId(), Amount: se.GetAmountFen()},
		})
	}
	b.log.Info("session settled", "charger_id", k.charger, "connector", k.connector, "session_id", k.ref,
		"auth_method", se.GetAuthMethod(), "energy_mwh", se.GetEnergyMwh(), "amount_fen", se.GetAmountFen())
	return true
}

// attribute makes energy (mWh per period) add up to total, the end report's
// energy, which is authoritative: energy no reading attributed goes to
// period rest; readings that summed to more than total give the excess back
// from period rest first, then from the latest periods.
func attribute(energy []int64, total int64, rest int) {
	var sum int64
	for _, e := range energy {
		sum += e
	}
	if total >= sum {
		energy[rest] += total - sum
		return
	}
	excess := sum - total
	order := []int{rest}
	for i := len(energy) - 1; i >= 0; i-- {
		if i != rest {
			order = append(order, i)
		}
	}
	for _, i := range order {
		take := min(energy[i], excess)
		energy[i] -= take
		if excess -= take; excess == 0 {
			return
		}
	}
}

// commit publishes a stored plan.
func (b *Book) commit(p *plan) {
	b.mu.Lock()
	for k, s := range p.work {
		if s == nil {
			delete(b.open, k)
		} else {
			b.open[k] = s
		}
	}
	for ck, ps := range p.starts {
		if b.pending[ck] == ps {
			delete(b.pending, ck)
		}
	}
	for _, c := range p.memos {
		delete(b.memos, c)
	}
	for _, d := range p.debits {
		seq := d.ev.GetSeq()
		b.debits[d.key] = &debit{rec: d.rec, seq: seq}
		if seq != 0 {
			b.debitBySeq[seq] = d.key
		}
		b.debitByCard[cardKey(d.rec.CardID)] += d.rec.Amount
	}
	for _, st := range p.stops {
		b.sendLimitStopLocked(st)
	}
	b.mu.Unlock()
	for _, s := range p.settled {
		b.m.ended.WithLabelValues(s.authMethod).Inc()
		b.m.billed.Add(float64(s.amountFen))
	}
}

// sendLimitStopLocked stops a session whose amount reached its limit, in
// a goroutine: Append never waits for a charger. A stop that fails is
// allowed again by a reading stopRetryAfter later.
func (b *Book) sendLimitStopLocked(st stopOrder) {
	if b.closed {
		return
	}
	b.m.limitStops.Inc()
	b.log.Info("amount limit reached, stopping the session", "charger_id", st.key.charger, "connector", st.key.connector, "session_id", st.key.ref)
	ex := b.exec
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		if ex == nil {
			b.log.Error("cannot stop a session at its amount limit: no executor", "charger_id", st.key.charger, "session_id", st.key.ref)
			b.rearmLimitStop(st.key)
			return
		}
		ctx, cancel := context.WithTimeout(b.life, stopTimeout)
		defer cancel()
		cmd := command.Command{
			ID:   "limit:" + st.key.charger + ":" + strconv.FormatUint(uint64(st.key.connector), 10) + ":" + st.key.ref,
			Kind: command.Stop, Connector: st.key.connector, Params: map[string]string{"session_ref": st.key.ref},
		}
		res, err := ex.Do(ctx, st.key.charger, st.protocol, cmd)
		if err == nil && res.Status == command.ResultAccepted {
			return
		}
		b.log.Warn("limit stop failed; will retry on a later reading", "charger_id", st.key.charger, "connector", st.key.connector,
			"session_id", st.key.ref, "status", res.Status, "detail", res.Detail, "err", err)
		b.rearmLimitStop(st.key)
	}()
}

func (b *Book) rearmLimitStop(k sessKey) {
	release := b.locks.lock([]connKey{k.conn()})
	defer release()
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := b.open[k]; s != nil {
		s.rec.LimitStopSent = false
		s.retryStopAt = b.now().Add(stopRetryAfter)
	}
}
