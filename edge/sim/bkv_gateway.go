package sim

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/chargeplane/chargeplane/shared/protocol/bkv"
)

// BKVOptions shape the gateways of a "bkv" fleet. The zero value keeps
// them heartbeat-only, measuring the edge's reply latency. With Sessions
// each charger is a BKVGateway (the other fields as in BKVGatewayConfig,
// zero meaning its default): unpaired, and so silent but for heartbeats,
// until the platform pairs its sockets (or Paired from the start); it
// reconnects by itself and its heartbeats are not counted in the Summary.
type BKVOptions struct {
	Sessions     bool
	Paired       bool
	Sockets      int
	StatusEvery  time.Duration
	CardEvery    time.Duration
	Cards        []string
	Minute       time.Duration
	UnplugChance float64
	Retransmit   time.Duration
}

// gatewayConfig is charger i's gateway configuration.
func (f *Fleet) gatewayConfig(i int) BKVGatewayConfig {
	o := f.cfg.BKV
	return BKVGatewayConfig{
		Addr: f.cfg.Addr, IDBase: f.cfg.IDBase, Index: i, Sockets: o.Sockets, Paired: o.Paired, Heartbeat: f.cfg.Heartbeat,
		StatusEvery: o.StatusEvery, CardEvery: o.CardEvery, Cards: o.Cards, Minute: o.Minute,
		UnplugChance: o.UnplugChance, Retransmit: o.Retransmit, ReplyTimeout: f.cfg.ReplyTimeout,
	}
}

// runBKVGateway runs charger i of the fleet as a full gateway until ctx ends.
func (f *Fleet) runBKVGateway(ctx context.Context, i int) error {
	g, err := NewBKVGateway(f.gatewayConfig(i), f.log)
	if err != nil {
		return err
	}
	if f.cfg.OnSession != nil {
		id := g.ID()
		g.onAcked = func(s BKVSession) { f.cfg.OnSession(s.session(id)) }
	}
	g.onConnected = func(up bool) {
		if up {
			f.connected.Add(1)
		} else {
			f.connected.Add(-1)
		}
	}
	return g.Run(ctx)
}

// BKVGatewayConfig describes one simulated BKV gateway with its sockets.
type BKVGatewayConfig struct {
	// Addr is the edge's charger address.
	Addr string
	// IDBase and Index give the gateway id (as the fleet numbers chargers)
	// and seed its random choices, so runs are reproducible.
	IDBase uint64
	Index  int
	// Sockets is how many radio sockets (two ports each) the gateway
	// relays for (default 4). They are unpaired until the platform pairs
	// them by MAC (MACs); an unpaired socket reports nothing.
	Sockets int
	// Paired starts the gateway with socket i (0-based) already paired as
	// socket number i+1, as a gateway that kept its node list in flash: it
	// charges without the platform pairing it first.
	Paired bool
	// Heartbeat is the heartbeat interval (default 1 min, §2).
	Heartbeat time.Duration
	// StatusEvery is the periodic status report interval (default 5 min,
	// §2); reports are also sent on every change.
	StatusEvery time.Duration
	// CardEvery is the mean time between card swipes on a random idle
	// paired port (0: no swipes).
	CardEvery time.Duration
	// Cards are the card numbers (12 hex digits) swiped, in turn
	// (default "000000000001").
	Cards []string
	// Minute is how long a simulated minute lasts (default 1 min): session
	// time, energy and limits advance once per Minute.
	Minute time.Duration
	// UnplugChance is the probability per simulated minute that the user
	// of a charging port unplugs (0: sessions end only by their limit).
	UnplugChance float64
	// Retransmit is how often an unacknowledged end report is repeated
	// (default 11 s, as the captured gateway does, §4).
	Retransmit time.Duration
	// ReplyTimeout bounds each write (default 5 s).
	ReplyTimeout time.Duration
}

func (c BKVGatewayConfig) withDefaults() BKVGatewayConfig {
	if c.Sockets == 0 {
		c.Sockets = 4
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = time.Minute
	}
	if c.StatusEvery == 0 {
		c.StatusEvery = 5 * time.Minute
	}
	if len(c.Cards) == 0 {
		c.Cards = []string{"000000000001"}
	}
	if c.Minute == 0 {
		c.Minute = time.Minute
	}
	if c.Retransmit == 0 {
		c.Retransmit = 11 * time.Second
	}
	if c.ReplyTimeout == 0 {
		c.ReplyTimeout = 5 * time.Second
	}
	return c
}

// BKVSession is a session the simulated gateway ended and the platform
// acknowledged: what the device itself delivered.
type BKVSession struct {
	Socket, Port uint8
	BusinessNo   uint16
	Card         string // 12 hex digits for a card session, "" otherwise
	Minutes      uint16
	EnergyWh     uint16
	Status       bkv.PortStatus // 0xB0 limit reached, 0x98 unplugged (no load), 0x90 stopped
	// StartedAt and EndedAt are the simulator's wall clock at the start
	// and at the end report.
	StartedAt, EndedAt time.Time
}

// Connector is the edge's number for the session's port: 2s−1 for port A
// of socket s, 2s for port B.
func (s BKVSession) Connector() uint32 { return uint32(s.Socket)*2 + uint32(s.Port) - 1 }

// session names s as the edge does (see Session).
func (s BKVSession) session(chargerID string) Session {
	return Session{
		ChargerID: chargerID, Connector: s.Connector(), SessionRef: strconv.Itoa(int(s.BusinessNo)),
		CardID: s.Card, EnergyMWh: int64(s.EnergyWh) * 1000, StartedAt: s.StartedAt, EndedAt: s.EndedAt,
	}
}

// BKVGateway is one simulated BKV gateway (shared/protocols/bkv.md). It keeps
// its pairing and sessions across reconnects, and repeats unacknowledged end
// reports after reconnecting, as the real device does (§2, §4).
type BKVGateway struct {
	cfg   BKVGatewayConfig
	log   *slog.Logger
	id    bkv.GatewayID
	cards []bkv.CardNo

	// Session-loop state: touched only by the goroutine running Run.
	rng     *rand.Rand
	sockets []*simSocket
	nextBN  uint16
	nextCrd int
	unacked []bkvEnd // end reports waiting for the platform's ack, oldest first
	// sentEnds are the end reports sent on the current connection (first
	// sends and repeats) whose 0x02 reply has not arrived, oldest first.
	// The reply names only the socket, and the edge answers every end
	// report in order, so a reply belongs to the oldest report sent for
	// its socket: matching it to any unacknowledged report of the socket
	// would take a repeat's reply as the ack of the other port's report.
	sentEnds []bkvEndKey
	params   map[uint8][]bkv.Param
	out      []byte

	// onConnected, when set, hears every connect and disconnect (the
	// fleet's connection count); onAcked hears every end report the
	// platform acknowledged, once.
	onConnected func(bool)
	onAcked     func(BKVSession)

	mu        sync.Mutex // guards ended and paired, read by accessors
	ended     []BKVSession
	paired    int
	connected bool
}

type simSocket struct {
	mac    bkv.MAC
	number uint8 // 0: unpaired
	ports  [2]simPort
}

// bkvEnd is an end report waiting for its acknowledgement, and the record
// kept once it comes.
type bkvEnd struct {
	msg bkv.Message
	rec BKVSession
}

// bkvEndKey identifies an end report: one session of one port.
type bkvEndKey struct {
	socket, port uint8
	bn           uint16
}

func (e bkvEnd) key() bkvEndKey {
	return bkvEndKey{socket: e.rec.Socket, port: e.rec.Port, bn: e.rec.BusinessNo}
}

type simPort struct {
	bn        uint16    // session business number, 0 when idle
	startedAt time.Time // wall clock at the start
	card      *bkv.CardNo
	limitMin  uint16
	limitWh   uint16
	minutes   uint16
	mwMin     int64  // energy in mW·min
	power     uint16 // 0.1 W
	swipeBN   uint16 // business number of a swipe waiting for its order
	swipe     bkv.CardNo
}

func (p *simPort) energyWh() uint16 { return uint16(min(p.mwMin/60/1000, 0xFFFF)) } //nolint:gosec // clamped

// validate checks what a fleet shares (everything but Addr), defaults
// applied.
func (c BKVGatewayConfig) validate() error {
	var errs []error
	if c.Sockets < 1 || c.Sockets > 250 {
		errs = append(errs, errors.New("sockets: must be 1–250"))
	}
	if c.UnplugChance < 0 || c.UnplugChance > 1 {
		errs = append(errs, errors.New("unplug chance: must be 0–1"))
	}
	for _, c := range c.Cards {
		if _, err := parseBKVCard(c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func parseBKVCard(s string) (bkv.CardNo, error) {
	var n bkv.CardNo
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(n) {
		return n, fmt.Errorf("card %q: want 12 hex digits", s)
	}
	copy(n[:], b)
	return n, nil
}

// NewBKVGateway builds a simulated gateway.
func NewBKVGateway(cfg BKVGatewayConfig, logger *slog.Logger) (*BKVGateway, error) {
	cfg = cfg.withDefaults()
	errs := []error{cfg.validate()}
	if cfg.Addr == "" {
		errs = append(errs, errors.New("addr: required"))
	}
	g := &BKVGateway{cfg: cfg, id: gatewayID(cfg.IDBase, cfg.Index), params: make(map[uint8][]bkv.Param)}
	for _, c := range cfg.Cards {
		n, _ := parseBKVCard(c)
		g.cards = append(g.cards, n)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("bkv gateway config: %w", err)
	}
	seed := cfg.IDBase + uint64(cfg.Index)                       //nolint:gosec // index is small and non-negative
	g.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) //nolint:gosec // a seeded, reproducible simulation, not security
	g.log = logger.With("component", "sim", "charger_id", g.id.String())
	for i := range cfg.Sockets {
		s := &simSocket{}
		copy(s.mac[:], g.id[1:])
		s.mac[5] += byte(i + 1)
		s.mac[0] = 0x5b
		if cfg.Paired {
			s.number = uint8(i + 1) //nolint:gosec // Sockets ≤ 250
		}
		g.sockets = append(g.sockets, s)
	}
	g.countPaired()
	return g, nil
}

// ID is the gateway id as the edge reports it.
func (g *BKVGateway) ID() string { return g.id.String() }

// MACs are the factory MACs of the gateway's sockets (12 hex digits), which
// the platform pairs with socket numbers.
func (g *BKVGateway) MACs() []string {
	macs := make([]string, len(g.sockets))
	for i, s := range g.sockets {
		macs[i] = s.mac.String()
	}
	return macs
}

// Ended returns the sessions ended and acknowledged so far, oldest first.
func (g *BKVGateway) Ended() []BKVSession {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]BKVSession(nil), g.ended...)
}

// Paired returns how many sockets are paired.
func (g *BKVGateway) Paired() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.paired
}

// Connected reports whether the gateway has a connection now.
func (g *BKVGateway) Connected() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.connected
}

// Run keeps the gateway connected until ctx ends, reconnecting after a
// second when the connection fails. It returns nil when ctx ends.
func (g *BKVGateway) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		if err := g.runConn(ctx); err != nil && ctx.Err() == nil {
			g.log.Debug("gateway connection ended", "err", err)
			sleep(ctx, time.Second)
		}
	}
	return nil
}

// runConn is one connection's life; the reader goroutine hands frames to
// this loop, which alone touches the gateway's state and writes.
func (g *BKVGateway) runConn(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", g.cfg.Addr)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	g.setConnected(true)
	defer g.setConnected(false)
	done := make(chan struct{})
	frames := make(chan *bkv.Frame, 64)
	readErr := make(chan error, 1)
	var wg sync.WaitGroup
	defer func() {
		close(done)
		_ = conn.Close()
		wg.Wait()
	}()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	wg.Add(1)
	go func() {
		defer wg.Done()
		readErr <- readBKV(conn, frames, done)
	}()

	// Replies to the last connection's reports will not come, and a card
	// swipe whose order never came is given up, as the device's own swipe
	// times out: the port may be swiped again.
	g.sentEnds = g.sentEnds[:0]
	for _, s := range g.sockets {
		for i := range s.ports {
			s.ports[i].swipeBN = 0
		}
	}

	// After (re)connecting: heartbeat, then unacknowledged end reports
	// (§2 [C]), then the status of paired sockets.
	if err := g.heartbeat(conn); err != nil {
		return err
	}
	if err := g.resendEnds(conn); err != nil {
		return err
	}
	if err := g.status(conn); err != nil {
		return err
	}

	hb := time.NewTicker(g.cfg.Heartbeat)
	defer hb.Stop()
	st := time.NewTicker(g.cfg.StatusEvery)
	defer st.Stop()
	minute := time.NewTicker(g.cfg.Minute)
	defer minute.Stop()
	retx := time.NewTicker(g.cfg.Retransmit)
	defer retx.Stop()
	card := time.NewTimer(g.nextSwipe())
	defer card.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case err = <-readErr:
			return err
		case f := <-frames:
			err = g.handle(conn, f)
		case <-hb.C:
			err = g.heartbeat(conn)
		case <-st.C:
			err = g.status(conn)
		case <-minute.C:
			err = g.tick(conn)
		case <-retx.C:
			err = g.resendEnds(conn)
		case <-card.C:
			err = g.swipe(conn)
			card.Reset(g.nextSwipe())
		}
		if err != nil {
			return err
		}
	}
}

// sendEnd sends one end report and remembers it for its reply.
func (g *BKVGateway) sendEnd(conn net.Conn, e bkvEnd) error {
	if err := g.send(conn, bkv.CommandCharge, 0, e.msg); err != nil {
		return err
	}
	g.sentEnds = append(g.sentEnds, e.key())
	return nil
}

// resendEnds repeats every unacknowledged end report, oldest first.
func (g *BKVGateway) resendEnds(conn net.Conn) error {
	for _, e := range g.unacked {
		if err := g.sendEnd(conn, e); err != nil {
			return err
		}
	}
	return nil
}

// endAcked takes a 0x02 reply for socket: it answers the oldest end report
// sent for that socket on this connection; if that report is still
// unacknowledged (the reply may answer a repeat of one acknowledged
// already), the session is done.
func (g *BKVGateway) endAcked(socket uint8) {
	i := slices.IndexFunc(g.sentEnds, func(k bkvEndKey) bool { return k.socket == socket })
	if i < 0 {
		g.log.Debug("end report reply without a report", "socket", socket)
		return
	}
	key := g.sentEnds[i]
	g.sentEnds = slices.Delete(g.sentEnds, i, i+1)
	j := slices.IndexFunc(g.unacked, func(e bkvEnd) bool { return e.key() == key })
	if j < 0 {
		return
	}
	rec := g.unacked[j].rec
	g.unacked = slices.Delete(g.unacked, j, j+1)
	g.mu.Lock()
	g.ended = append(g.ended, rec)
	g.mu.Unlock()
	if g.onAcked != nil {
		g.onAcked(rec)
	}
}

func (g *BKVGateway) setConnected(v bool) {
	g.mu.Lock()
	g.connected = v
	g.mu.Unlock()
	if g.onConnected != nil {
		g.onConnected(v)
	}
}

// nextSwipe draws the time to the next card swipe (exponential around
// CardEvery); with no swipes configured, practically never.
func (g *BKVGateway) nextSwipe() time.Duration {
	if g.cfg.CardEvery <= 0 {
		return 1 << 62
	}
	return time.Duration(g.rng.ExpFloat64()*float64(g.cfg.CardEvery)) + time.Millisecond
}

func readBKV(conn net.Conn, frames chan<- *bkv.Frame, done <-chan struct{}) error {
	return readFrames(conn, bkv.Split, func(frame []byte) error {
		f, err := bkv.Decode(frame)
		if err != nil {
			return fmt.Errorf("decode edge frame: %w", err)
		}
		select {
		case frames <- f:
			return nil
		case <-done:
			return errStop
		}
	})
}

func (g *BKVGateway) send(conn net.Conn, command uint16, msgID uint32, body bkv.Message) error {
	var err error
	g.out, err = bkv.Append(g.out[:0], &bkv.Frame{Direction: bkv.Up, Command: command, MsgID: msgID, GatewayID: g.id, Body: body})
	if err != nil {
		return fmt.Errorf("encode %T: %w", body, err)
	}
	_ = conn.SetWriteDeadline(time.Now().Add(g.cfg.ReplyTimeout))
	if _, err := conn.Write(g.out); err != nil {
		return fmt.Errorf("write %T: %w", body, err)
	}
	return nil
}

func (g *BKVGateway) heartbeat(conn net.Conn) error {
	return g.send(conn, bkv.CommandHeartbeat, 0, &bkv.Heartbeat{
		ICCID: fmt.Sprintf("8986%016d", g.cfg.IDBase+uint64(g.cfg.Index)), Firmware: "sim-1.0", Signal: 25, //nolint:gosec // small index
	})
}

// bySocket returns the paired socket with number n.
func (g *BKVGateway) bySocket(n uint8) *simSocket {
	if n == 0 {
		return nil
	}
	for _, s := range g.sockets {
		if s.number == n {
			return s
		}
	}
	return nil
}

func (g *BKVGateway) byMAC(mac bkv.MAC) *simSocket {
	for _, s := range g.sockets {
		if s.mac == mac {
			return s
		}
	}
	return nil
}

func (g *BKVGateway) countPaired() {
	n := 0
	for _, s := range g.sockets {
		if s.number != 0 {
			n++
		}
	}
	g.mu.Lock()
	g.paired = n
	g.mu.Unlock()
}

func (g *BKVGateway) portReport(i uint8, p *simPort) bkv.PortReport {
	r := bkv.PortReport{Port: i, Status: 0x80, BusinessNo: p.bn, Voltage: 2200}
	if p.bn != 0 {
		r.Status = 0x90
		r.Power, r.Current = p.power, uint16(uint32(p.power)*10/22) //nolint:gosec // small
		r.Energy, r.Minutes = p.energyWh(), p.minutes
	}
	return r
}

// status sends the paired sockets' status (0x1000/0x1017, §8.3), eight
// sockets per frame; a gateway with nothing paired sends nothing.
func (g *BKVGateway) status(conn net.Conn) error {
	var reports []bkv.SocketReport
	paired := make([]*simSocket, 0, len(g.sockets))
	for _, s := range g.sockets {
		if s.number != 0 {
			paired = append(paired, s)
		}
	}
	sort.Slice(paired, func(i, j int) bool { return paired[i].number < paired[j].number })
	for _, s := range paired {
		reports = append(reports, bkv.SocketReport{
			Socket: s.number, SocketFirmware: 0xFFFF, Temperature: 30, RSSI: 30,
			Ports: []bkv.PortReport{g.portReport(0, &s.ports[0]), g.portReport(1, &s.ports[1])},
		})
	}
	for len(reports) > 0 {
		n := min(len(reports), 8)
		if err := g.send(conn, bkv.CommandBKV, 0, &bkv.StatusReport{Sockets: reports[:n]}); err != nil {
			return err
		}
		reports = reports[n:]
	}
	return nil
}

func (g *BKVGateway) newBN() uint16 {
	g.nextBN++
	if g.nextBN == 0 {
		g.nextBN = 1
	}
	return g.nextBN
}

// start begins a session on an idle paired port; false if it cannot.
func (g *BKVGateway) start(s *simSocket, port uint8, bn uint16, card *bkv.CardNo, limitMin, limitWh uint16) bool {
	if s == nil || port > 1 || s.ports[port].bn != 0 {
		return false
	}
	s.ports[port] = simPort{bn: bn, startedAt: time.Now(), card: card, limitMin: limitMin, limitWh: limitWh,
		power: uint16(800 + g.rng.IntN(1700))} //nolint:gosec // < 2500
	return true
}

// end finishes a session, queues its end report and sends it.
func (g *BKVGateway) end(conn net.Conn, s *simSocket, port uint8, status bkv.PortStatus) error {
	p := &s.ports[port]
	head := bkv.EndHead{
		Socket: s.number, SocketFirmware: 0xFFFF, Temperature: 30, RSSI: 30, Port: port, Status: status,
		BusinessNo: p.bn, Energy: p.energyWh(), Minutes: p.minutes,
	}
	e := bkvEnd{msg: &bkv.ChargeEnd{EndHead: head}, rec: BKVSession{
		Socket: head.Socket, Port: head.Port, BusinessNo: head.BusinessNo, Minutes: head.Minutes, EnergyWh: head.Energy,
		Status: head.Status, StartedAt: p.startedAt, EndedAt: time.Now(),
	}}
	if p.card != nil {
		e.msg = &bkv.CardEnd{EndHead: head, Card: *p.card, BillingMode: bkv.BillByTime}
		e.rec.Card = p.card.String()
	}
	*p = simPort{}
	g.unacked = append(g.unacked, e)
	if err := g.sendEnd(conn, e); err != nil {
		return err
	}
	return g.status(conn)
}

// tick advances every session by one simulated minute and ends those whose
// limit was reached or whose user unplugged.
func (g *BKVGateway) tick(conn net.Conn) error {
	for _, s := range g.sockets {
		for i := range s.ports {
			p := &s.ports[i]
			if p.bn == 0 || s.number == 0 {
				continue
			}
			p.minutes++
			p.mwMin += int64(p.power) * 100
			var status bkv.PortStatus
			switch {
			case p.limitMin > 0 && p.minutes >= p.limitMin, p.limitWh > 0 && p.energyWh() >= p.limitWh:
				status = 0xB0 // ended on its limit (§9 [C])
			case g.cfg.UnplugChance > 0 && g.rng.Float64() < g.cfg.UnplugChance:
				status = 0x98 // unplugged: no load (§9)
			default:
				continue
			}
			if err := g.end(conn, s, uint8(i), status); err != nil { //nolint:gosec // i < 2
				return err
			}
		}
	}
	return nil
}

// swipe presents the next card on a random idle paired port (0x0B up).
func (g *BKVGateway) swipe(conn net.Conn) error {
	type target struct {
		s    *simSocket
		port uint8
	}
	var idle []target
	for _, s := range g.sockets {
		for i := range s.ports {
			if s.number != 0 && s.ports[i].bn == 0 && s.ports[i].swipeBN == 0 {
				idle = append(idle, target{s, uint8(i)}) //nolint:gosec // i < 2
			}
		}
	}
	if len(idle) == 0 {
		return nil
	}
	t := idle[g.rng.IntN(len(idle))]
	card := g.cards[g.nextCrd%len(g.cards)]
	g.nextCrd++
	p := &t.s.ports[t.port]
	p.swipeBN, p.swipe = g.newBN(), card
	return g.send(conn, bkv.CommandCharge, 0, &bkv.CardSwipe{Socket: t.s.number, Port: t.port, BusinessNo: p.swipeBN, Status: 0x90, Card: card})
}

func okResult(ok bool) bkv.Result {
	if ok {
		return bkv.ResultOK
	}
	return bkv.ResultFailed
}

// handle answers one platform frame as the device does.
func (g *BKVGateway) handle(conn net.Conn, f *bkv.Frame) error {
	switch m := f.Body.(type) {
	case *bkv.NodeList:
		for _, s := range g.sockets {
			s.number = 0
		}
		ok := true
		for _, n := range m.Nodes {
			if s := g.byMAC(n.MAC); s != nil && n.Socket >= 1 && n.Socket <= 250 {
				s.number = n.Socket
			} else {
				ok = false
			}
		}
		g.countPaired()
		if err := g.send(conn, f.Command, f.MsgID, &bkv.NodeListResult{Result: okResult(ok)}); err != nil {
			return err
		}
		return g.status(conn)
	case *bkv.AddNode:
		s := g.byMAC(m.MAC)
		ok := s != nil && m.Socket >= 1 && m.Socket <= 250
		if ok {
			if other := g.bySocket(m.Socket); other != nil && other != s {
				other.number = 0
			}
			s.number = m.Socket
			g.countPaired()
		}
		if err := g.send(conn, f.Command, f.MsgID, &bkv.AddNodeResult{Result: okResult(ok)}); err != nil {
			return err
		}
		return g.status(conn)
	case *bkv.DeleteNode:
		s := g.bySocket(m.Socket)
		ok := s != nil && s.mac == m.MAC
		if ok {
			s.number = 0
			g.countPaired()
		}
		return g.send(conn, f.Command, f.MsgID, &bkv.DeleteNodeResult{Result: okResult(ok)})
	case *bkv.StatusQuery:
		s := g.bySocket(m.Socket)
		if s == nil {
			return nil // an unpaired socket cannot answer
		}
		return g.send(conn, f.Command, f.MsgID, &bkv.StatusQueryReply{
			Socket: s.number, SocketFirmware: 0xFFFF, Temperature: 30, RSSI: 30,
			Ports: []bkv.PortReport{g.portReport(0, &s.ports[0]), g.portReport(1, &s.ports[1])},
		})
	case *bkv.Control:
		return g.control(conn, f, m)
	case *bkv.CardOrder:
		s := g.bySocket(m.Socket)
		ok := false
		if s != nil && m.Port <= 1 && s.ports[m.Port].swipeBN == m.BusinessNo && m.BusinessNo != 0 {
			card := s.ports[m.Port].swipe
			s.ports[m.Port].swipeBN = 0
			if m.Switch == bkv.SwitchOn {
				var limMin, limWh uint16
				if m.Mode == bkv.BillByEnergy {
					limWh = m.Energy
				} else {
					limMin = m.Duration
				}
				ok = g.start(s, m.Port, m.BusinessNo, &card, limMin, limWh)
			}
		}
		if err := g.send(conn, f.Command, f.MsgID, &bkv.OrderConfirm{Socket: m.Socket, Port: m.Port, Result: okResult(ok)}); err != nil {
			return err
		}
		if ok {
			return g.status(conn)
		}
		return nil
	case *bkv.CardEndReply:
		g.endAcked(m.Socket)
		return nil
	case *bkv.ParamSet:
		ok := g.bySocket(m.Socket) != nil
		if ok {
			g.params[m.Socket] = mergeParams(g.params[m.Socket], m.Params)
		}
		return g.send(conn, f.Command, f.MsgID, &bkv.ParamSetResult{Seq: m.Seq, Socket: m.Socket, Result: okResult(ok)})
	case *bkv.ParamQuery:
		if g.bySocket(m.Socket) == nil {
			return g.send(conn, f.Command, f.MsgID, &bkv.ParamQueryResult{Seq: m.Seq, Socket: m.Socket, Result: bkv.ResultFailed})
		}
		return g.send(conn, f.Command, f.MsgID, &bkv.ParamQueryResult{Seq: m.Seq, Socket: m.Socket, Result: bkv.ResultOK,
			Params: mergeParams(defaultBKVParams(), g.params[m.Socket])})
	default:
		// Heartbeat replies, acks, balances and OTA need no answer.
		return nil
	}
}

// control starts or stops a port (0x07, §7.4).
func (g *BKVGateway) control(conn net.Conn, f *bkv.Frame, m *bkv.Control) error {
	s := g.bySocket(m.Socket)
	res := &bkv.ControlResult{Socket: m.Socket, Port: m.Port}
	if m.Switch == bkv.SwitchOn {
		bn := g.nextBN + 1
		if bn == 0 {
			bn = 1
		}
		var limMin, limWh uint16
		if m.Mode == bkv.ControlByTime {
			limMin = m.Minutes
		} else {
			limWh = m.Energy
		}
		if g.start(s, m.Port, bn, nil, limMin, limWh) {
			g.newBN()
			res.Result, res.BusinessNo = bkv.ResultOK, bn
		}
		if err := g.send(conn, f.Command, f.MsgID, res); err != nil {
			return err
		}
		if res.Result == bkv.ResultOK {
			return g.status(conn)
		}
		return nil
	}
	if s == nil || m.Port > 1 || s.ports[m.Port].bn == 0 {
		return g.send(conn, f.Command, f.MsgID, res)
	}
	res.Result, res.BusinessNo = bkv.ResultOK, s.ports[m.Port].bn
	if err := g.send(conn, f.Command, f.MsgID, res); err != nil {
		return err
	}
	return g.end(conn, s, m.Port, 0x90)
}

// defaultBKVParams are the guide's query-reply values (§7.9).
func defaultBKVParams() []bkv.Param {
	return []bkv.Param{
		{Key: bkv.ParamFullPowerThreshold, Value: 100}, {Key: bkv.ParamTrickleThreshold, Value: 10},
		{Key: bkv.ParamFullChargeDelay, Value: 7200}, {Key: bkv.ParamNoLoadPowerThreshold, Value: 8},
		{Key: bkv.ParamNoLoadDelay, Value: 120}, {Key: bkv.ParamMaxChargeMinutes, Value: 600},
		{Key: bkv.ParamHighTemperature, Value: 85}, {Key: bkv.ParamPowerLimit, Value: 7000},
		{Key: bkv.ParamOverCurrentLimit, Value: 5000},
	}
}

func mergeParams(base, set []bkv.Param) []bkv.Param {
	out := append([]bkv.Param(nil), base...)
	for _, p := range set {
		found := false
		for i := range out {
			if out[i].Key == p.Key {
				out[i].Value, found = p.Value, true
			}
		}
		if !found {
			out = append(out, p)
		}
	}
	return out
}
