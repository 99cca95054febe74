package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/chargeplane/chargeplane/shared/protocol/ap3000"
)

// AP3000Options shape the simulated AP3000 devices (Config.Protocol
// "ap3000"). The zero value is a heartbeat-only dual socket.
type AP3000Options struct {
	// Ports is the number of sockets per device (0 means 2; device code 04,
	// dual socket).
	Ports int
	// Sessions lets the devices charge: sessions started by the platform
	// (0x82) or by a card swipe, metered with 0x06, settled with 0x03.
	Sessions bool
	// CardRate is the mean real time between card swipes on one device
	// (exponentially distributed); 0 means no swipes. Needs Sessions.
	CardRate time.Duration
	// MaxCardSwipes stops swiping after this many swipes per connection
	// (0 means no limit).
	MaxCardSwipes int
	// Speed is how many device seconds pass per real second while
	// charging (0 means 1): 3600 runs an hour-long session in a second.
	Speed float64
	// PowerW is the mean charging power per socket (0 means 200 W); each
	// session draws within ±25 % of it.
	PowerW float64
	// UnplugChance is the probability that a session ends by unplugging
	// at a random point before its limit (default 0: never).
	UnplugChance float64
	// MeterEvery is the device-time interval of 0x06 power heartbeats
	// while charging (0 means 5 min, ap3000.md §5).
	MeterEvery time.Duration
}

func (o AP3000Options) withDefaults() AP3000Options {
	if o.Ports <= 0 {
		o.Ports = 2
	}
	if o.Speed <= 0 {
		o.Speed = 1
	}
	if o.PowerW <= 0 {
		o.PowerW = 200
	}
	if o.MeterEvery <= 0 {
		o.MeterEvery = 5 * time.Minute
	}
	return o
}

// AP3000Settlement is a session a simulated device settled and the edge
// acknowledged: the device's own numbers.
type AP3000Settlement struct {
	ChargerID string
	Connector uint32 // port + 1
	// SessionRef is the order number as lowercase hex.
	SessionRef string
	// Energy is what the device delivered, in 0.01 kWh (the wire unit).
	Energy     uint16
	Duration   uint16 // seconds
	StopReason ap3000.StopReason
	Card       string // the card that started it, decimal; "" for platform starts
}

// EnergyMWh is the settled energy in milliwatt-hours.
func (s AP3000Settlement) EnergyMWh() int64 { return int64(s.Energy) * 10000 }

// ap3000Settled records acknowledged settlements across the fleet.
type ap3000Settled struct {
	mu   sync.Mutex
	list []AP3000Settlement
}

// AP3000Settlements returns the settlements the edge has acknowledged so far.
func (f *Fleet) AP3000Settlements() []AP3000Settlement {
	f.ap3k.mu.Lock()
	defer f.ap3k.mu.Unlock()
	return append([]AP3000Settlement(nil), f.ap3k.list...)
}

// ap3000ID is charger i's physical id: code 04, number from IDBase+i.
func ap3000ID(base uint64, i int) ap3000.PhysicalID {
	return ap3000.PhysicalID(0x04<<24 | uint32((0x100000+base+uint64(i))&0xFFFFFF))
}

// AP3000Card is the card charger i swipes, as printed (decimal), so a test
// can list it in the edge's authorization config.
func (f *Fleet) AP3000Card(i int) string {
	return fmt.Sprintf("%d", ap3000CardID(f.cfg.IDBase, i).Uint32())
}

func ap3000CardID(base uint64, i int) ap3000.CardID {
	v := uint32(0x30000000 + base + uint64(i))
	return ap3000.CardID{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

// ap3kPort is one socket's state.
type ap3kPort struct {
	charging  bool
	order     ap3000.OrderNo
	card      ap3000.CardID // swiped and accepted, waiting for the start
	hasCard   bool
	started   float64   // device seconds at start
	startedAt time.Time // wall clock at start
	powerW    float64
	endAt     float64 // device seconds after start when the session ends
	reason    ap3000.StopReason
	nextMtr   float64 // device seconds after start of the next 0x06
}

// ap3kPending is a settlement waiting for the edge's answer.
type ap3kPending struct {
	frame              []byte
	sentAt             time.Time
	rec                AP3000Settlement
	startedAt, endedAt time.Time // wall clock, for Config.OnSession
}

// ap3kDevice is one connection's life; only its run loop touches it.
type ap3kDevice struct {
	f        *Fleet
	i        int
	opt      AP3000Options
	conn     net.Conn
	id       ap3000.PhysicalID
	rng      *rand.Rand
	msgID    uint16
	born     time.Time // real time of connect; device clock runs from here
	lastSent time.Time
	ports    []ap3kPort
	hbSent   map[uint16]time.Time
	settle   map[uint16]*ap3kPending
	swipes   int
	regAck   bool
	params   ap3000.RunParams1
	limits   ap3000.Limits
}

// runAP3000 is one device connection: ICCID, registration, time request,
// heartbeats; with Sessions, card swipes, charging and settlements.
func (f *Fleet) runAP3000(ctx context.Context, i int) error {
	var dl net.Dialer
	conn, err := dl.DialContext(ctx, "tcp", f.cfg.Addr)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	f.connected.Add(1)
	defer f.connected.Add(-1)
	opt := f.cfg.AP3000.withDefaults()
	d := &ap3kDevice{
		f: f, i: i, opt: opt, conn: conn, id: ap3000ID(f.cfg.IDBase, i),
		rng:  rand.New(rand.NewPCG(f.cfg.IDBase+uint64(i), 0xA3000)), //nolint:gosec // reproducible simulation, not security
		born: time.Now(), ports: make([]ap3kPort, opt.Ports),
		hbSent: map[uint16]time.Time{}, settle: map[uint16]*ap3kPending{},
		params: ap3000.RunParams1{UnplugPower: 3, UnplugDetectTime: 10, FloatPercent: 20, FloatDetectTime: 1800, FloatTime: 3600, HeartbeatInterval: 180},
		limits: ap3000.Limits{MaxChargeTime: 36000, OverloadPower: 35000},
	}

	in := make(chan *ap3000.Frame, 64)
	readErr := make(chan error, 1)
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		readErr <- d.read(rctx, in)
	}()
	defer func() {
		// Unblock the reader (its read and its hand-over), then wait for it.
		cancel()
		_ = conn.Close()
		wg.Wait()
	}()

	// §1: the module's ICCID first, then registration and the time.
	if err := d.writeRaw([]byte(fmt.Sprintf("8986%016d", f.cfg.IDBase+uint64(i)))); err != nil {
		return err
	}
	if err := d.write(&ap3000.Register{Firmware: 126, PortCount: uint8(opt.Ports), DeviceType: 0x21}); err != nil {
		return err
	}
	if err := d.write(&ap3000.TimeRequest{}); err != nil {
		return err
	}
	if err := d.heartbeat(); err != nil {
		return err
	}
	hb := time.NewTicker(f.cfg.Heartbeat)
	defer hb.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	swipe := make(<-chan time.Time)
	var swipeTimer *time.Timer
	if opt.Sessions && opt.CardRate > 0 {
		swipeTimer = time.NewTimer(d.nextSwipe())
		defer swipeTimer.Stop()
		swipe = swipeTimer.C
	}
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case err = <-readErr:
			return err
		case fr := <-in:
			err = d.handle(fr)
		case <-hb.C:
			if !d.regAck {
				err = d.write(&ap3000.Register{Firmware: 126, PortCount: uint8(opt.Ports), DeviceType: 0x21})
			}
			if err == nil {
				err = d.heartbeat()
			}
		case <-tick.C:
			err = d.progress()
		case <-swipe:
			err = d.swipe()
			if opt.MaxCardSwipes == 0 || d.swipes < opt.MaxCardSwipes {
				swipeTimer.Reset(d.nextSwipe())
			}
		}
		if err != nil {
			return err
		}
	}
}

func (d *ap3kDevice) nextSwipe() time.Duration {
	return time.Duration(d.rng.ExpFloat64() * float64(d.opt.CardRate))
}

// now is the device clock in seconds since connect.
func (d *ap3kDevice) now() float64 { return time.Since(d.born).Seconds() * d.opt.Speed }

func (d *ap3kDevice) writeRaw(b []byte) error {
	_ = d.conn.SetWriteDeadline(time.Now().Add(d.f.cfg.ReplyTimeout))
	if _, err := d.conn.Write(b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	d.lastSent = time.Now()
	return nil
}

// write sends a device-initiated message with the next message id.
func (d *ap3kDevice) write(body ap3000.Message) error {
	d.msgID++
	return d.writeID(d.msgID, body)
}

func (d *ap3kDevice) writeID(id uint16, body ap3000.Message) error {
	b, err := ap3000.Append(nil, &ap3000.Frame{PhysicalID: d.id, MessageID: id, Body: body})
	if err != nil {
		return fmt.Errorf("encode %T: %w", body, err)
	}
	return d.writeRaw(b)
}

func (d *ap3kDevice) heartbeat() error {
	if len(d.hbSent) > 64 {
		return errors.New("too many unanswered heartbeats")
	}
	st := make([]ap3000.PortStatus, len(d.ports))
	for p := range d.ports {
		if d.ports[p].charging {
			st[p] = ap3000.PortCharging
		}
	}
	if err := d.write(&ap3000.Heartbeat{Voltage: 2200, Ports: st, Signal: 25, Temperature: 85}); err != nil {
		return err
	}
	d.hbSent[d.msgID] = time.Now()
	d.f.sent.Add(1)
	return nil
}

// swipe presents the device's card on a free port (§9 "Card swipe charging").
func (d *ap3kDevice) swipe() error {
	var free []int
	for p := range d.ports {
		if !d.ports[p].charging && !d.ports[p].hasCard {
			free = append(free, p)
		}
	}
	if len(free) == 0 {
		return nil
	}
	d.swipes++
	p := free[d.rng.IntN(len(free))]
	return d.write(&ap3000.CardSwipe{CardID: ap3000CardID(d.f.cfg.IDBase, d.i), CardType: ap3000.CardExisting, Port: uint8(p)})
}

// handle reacts to one server frame as the device does.
func (d *ap3kDevice) handle(fr *ap3000.Frame) error {
	switch m := fr.Body.(type) {
	case *ap3000.RegisterReply:
		d.regAck = true
	case *ap3000.HeartbeatReply:
		if t, ok := d.hbSent[fr.MessageID]; ok {
			delete(d.hbSent, fr.MessageID)
			d.f.lat.add(time.Since(t))
			d.f.answered.Add(1)
		}
	case *ap3000.TimeReply, *ap3000.OldHeartbeatReply:
	case *ap3000.CardReply:
		if m.Port < uint8(len(d.ports)) && m.Status == ap3000.AccountNormal && !d.ports[m.Port].charging {
			d.ports[m.Port].card, d.ports[m.Port].hasCard = m.CardID, true
		}
	case *ap3000.SettlementReply:
		if p, ok := d.settle[fr.MessageID]; ok {
			delete(d.settle, fr.MessageID)
			d.f.ap3k.mu.Lock()
			d.f.ap3k.list = append(d.f.ap3k.list, p.rec)
			d.f.ap3k.mu.Unlock()
			if d.f.cfg.OnSession != nil {
				d.f.cfg.OnSession(Session{
					ChargerID: p.rec.ChargerID, Connector: p.rec.Connector, SessionRef: p.rec.SessionRef, CardID: p.rec.Card,
					EnergyMWh: p.rec.EnergyMWh(), StartedAt: p.startedAt, EndedAt: p.endedAt,
				})
			}
		}
	case *ap3000.Charge:
		return d.charge(fr.MessageID, m)
	case *ap3000.QueryDevice:
		if err := d.write(&ap3000.Register{Firmware: 126, PortCount: uint8(len(d.ports)), DeviceType: 0x21}); err != nil {
			return err
		}
		return d.heartbeat()
	case *ap3000.QueryRunParams1:
		return d.writeID(fr.MessageID, &ap3000.RunParams1Report{Params: d.params})
	case *ap3000.SetRunParams1:
		d.params = m.Params
		return d.writeID(fr.MessageID, &ap3000.SetRunParams1Reply{})
	case *ap3000.QueryLimits:
		return d.writeID(fr.MessageID, &ap3000.LimitsReport{Params: d.limits})
	case *ap3000.SetLimits:
		d.limits = m.Params
		return d.writeID(fr.MessageID, &ap3000.SetLimitsReply{})
	default:
		d.f.log.Debug("ap3000 sim: frame ignored", "msg_type", fr.Command.String())
	}
	return nil
}

// charge answers 0x82 (§7.2, §7.3, §8 "0x82 answer").
func (d *ap3kDevice) charge(id uint16, m *ap3000.Charge) error {
	answer := func(r ap3000.ChargeResult, p uint8, o ap3000.OrderNo) error {
		waiting := uint16(0)
		return d.writeID(id, &ap3000.ChargeReply{Answer: r, OrderNo: &o, Port: &p, WaitingPorts: &waiting})
	}
	p := int(m.Port)
	if m.Port == 0xFF && m.Action == ap3000.ActionStart {
		p = -1
		for q := range d.ports {
			if !d.ports[q].charging {
				p = q
				break
			}
		}
		if p < 0 {
			return answer(ap3000.ChargeSameState, m.Port, m.OrderNo)
		}
	}
	if p >= len(d.ports) {
		return answer(ap3000.ChargeNoSuchPort, m.Port, m.OrderNo)
	}
	if !d.opt.Sessions {
		return answer(ap3000.ChargeNoPlug, uint8(p), m.OrderNo)
	}
	port := &d.ports[p]
	if m.Action == ap3000.ActionStop {
		switch {
		case !port.charging:
			return answer(ap3000.ChargeSameState, uint8(p), m.OrderNo)
		case port.order != m.OrderNo:
			return nil // §7.3: a wrong order number is ignored
		}
		if err := answer(ap3000.ChargeOK, uint8(p), m.OrderNo); err != nil {
			return err
		}
		port.endAt, port.reason = d.now()-port.started, ap3000.StopServer
		return d.finish(p)
	}
	if port.charging {
		return answer(ap3000.ChargeSameState, uint8(p), port.order)
	}
	now := d.now()
	*port = ap3kPort{
		charging: true, order: m.OrderNo, card: port.card, hasCard: port.hasCard, started: now, startedAt: time.Now(),
		powerW: d.opt.PowerW * (0.75 + 0.5*d.rng.Float64()),
	}
	// The session ends at the first of: its limit, full (for "until
	// full", after 2–5 h), an unplug at a random point.
	port.endAt, port.reason = float64(2*3600+d.rng.IntN(3*3600)), ap3000.StopFull
	switch {
	case m.DurationOrEnergy == 0:
	case m.RateMode == ap3000.RateMetered:
		port.endAt, port.reason = float64(m.DurationOrEnergy)*10/port.powerW*3600, ap3000.StopPresetEnergy
	default:
		port.endAt, port.reason = float64(m.DurationOrEnergy), ap3000.StopPresetTime
	}
	if d.rng.Float64() < d.opt.UnplugChance {
		port.endAt, port.reason = math.Floor(port.endAt*d.rng.Float64()), ap3000.StopUnplugged
	}
	port.nextMtr = d.opt.MeterEvery.Seconds()
	return answer(ap3000.ChargeOK, uint8(p), m.OrderNo)
}

// progress advances charging sessions: power heartbeats, ends, settlement
// resends, and the "link" keep-alive after 30 s of silence (§1).
func (d *ap3kDevice) progress() error {
	now := d.now()
	for p := range d.ports {
		port := &d.ports[p]
		if !port.charging {
			continue
		}
		el := now - port.started
		for port.nextMtr < port.endAt && el >= port.nextMtr {
			if err := d.meter(p, port.nextMtr); err != nil {
				return err
			}
			port.nextMtr += d.opt.MeterEvery.Seconds()
		}
		if el >= port.endAt {
			if err := d.finish(p); err != nil {
				return err
			}
		}
	}
	for id, s := range d.settle {
		if time.Since(s.sentAt) >= d.f.cfg.ReplyTimeout {
			// Unanswered: the device resends it with the same id (§9).
			s.sentAt = time.Now()
			if err := d.writeRaw(s.frame); err != nil {
				return err
			}
			d.f.log.Debug("ap3000 sim: settlement resent", "msg_id", id)
		}
	}
	if time.Since(d.lastSent) >= 30*time.Second {
		return d.writeRaw([]byte("link"))
	}
	return nil
}

// centiKWh is the energy in 0.01 kWh after el seconds at w watts.
func centiKWh(w, el float64) uint16 { return uint16(math.Min(w*el/3600/10, math.MaxUint16)) }

func (d *ap3kDevice) meter(p int, el float64) error {
	port := &d.ports[p]
	pw := uint16(port.powerW * 10)
	v, c := uint16(2200), uint16(port.powerW/220*1000)
	return d.write(&ap3000.PowerHeartbeat{
		Port: uint8(p), Status: 1, Duration: uint16(el), Energy: centiKWh(port.powerW, el), StartMode: ap3000.StartOnline,
		Power: pw, MaxPower: pw, MinPower: pw, AvgPower: pw, OrderNo: port.order,
		PeriodEnergy: new(uint16), PeakPower: &pw, Voltage: &v, Current: &c,
	})
}

// finish ends port p's session at its endAt and sends the settlement.
func (d *ap3kDevice) finish(p int) error {
	port := &d.ports[p]
	dur := uint16(math.Min(math.Floor(port.endAt), math.MaxUint16))
	s := &ap3000.Settlement{
		Duration: dur, MaxPower: uint16(port.powerW * 10), Energy: centiKWh(port.powerW, float64(dur)),
		Port: uint8(p), StartMode: ap3000.StartOnline, StopReason: port.reason, OrderNo: port.order,
	}
	rec := AP3000Settlement{
		ChargerID: d.id.String(), Connector: uint32(p) + 1, SessionRef: port.order.String(),
		Energy: s.Energy, Duration: s.Duration, StopReason: s.StopReason,
	}
	if port.hasCard {
		s.CardOrCode = port.card
		rec.Card = fmt.Sprintf("%d", port.card.Uint32())
	}
	startedAt := port.startedAt
	*port = ap3kPort{}
	d.msgID++
	b, err := ap3000.Append(nil, &ap3000.Frame{PhysicalID: d.id, MessageID: d.msgID, Body: s})
	if err != nil {
		return fmt.Errorf("encode settlement: %w", err)
	}
	d.settle[d.msgID] = &ap3kPending{frame: b, sentAt: time.Now(), rec: rec, startedAt: startedAt, endedAt: time.Now()}
	return d.writeRaw(b)
}

// read decodes server frames until the connection ends.
func (d *ap3kDevice) read(ctx context.Context, in chan<- *ap3000.Frame) error {
	return readFrames(d.conn, ap3000.Split, func(frame []byte) error {
		fr, err := ap3000.DecodeDir(frame, ap3000.Down)
		if err != nil {
			return fmt.Errorf("decode server frame: %w", err)
		}
		select {
		case in <- fr:
			return nil
		case <-ctx.Done():
			return errStop
		}
	})
}
