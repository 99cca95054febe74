package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Config holds the gateway's listener settings and limits.
type Config struct {
	// Addr is the TCP address chargers connect to.
	Addr string `yaml:"addr"`
	// MaxConns caps concurrent charger connections; more are closed at accept.
	MaxConns int `yaml:"max_conns"`
	// AcceptRate caps new connections per second (a site rebooting its
	// chargers reconnects them all at once); AcceptBurst is the bucket size.
	AcceptRate  float64 `yaml:"accept_rate"`
	AcceptBurst int     `yaml:"accept_burst"`
	// SniffTimeout bounds how long a new connection may stay silent before
	// its protocol is known.
	SniffTimeout time.Duration `yaml:"sniff_timeout"`
	// SniffBytes is how many first bytes may be read while no protocol has
	// claimed them (AP3000 sends an unframed ICCID before its first frame).
	SniffBytes int `yaml:"sniff_bytes"`
	// IdleTimeout closes a connection that sent nothing for this long; derive
	// it from the heartbeat interval (BKV: 1 min) with room for loss.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// WriteTimeout bounds each write to a charger.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// ShutdownTimeout bounds how long shutdown waits for sessions to finish.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// DefaultConfig returns limits that fit a gateway box serving one site.
func DefaultConfig() Config {
	return Config{
		Addr:            "127.0.0.1:8600",
		MaxConns:        20000,
		AcceptRate:      500,
		AcceptBurst:     1000,
		SniffTimeout:    30 * time.Second,
		SniffBytes:      64,
		IdleTimeout:     200 * time.Second,
		WriteTimeout:    10 * time.Second,
		ShutdownTimeout: 5 * time.Second,
	}
}

// Validate reports every problem, each naming its key.
func (c Config) Validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("gateway.addr: required"))
	}
	if c.MaxConns < 1 {
		errs = append(errs, errors.New("gateway.max_conns: must be at least 1"))
	}
	if c.AcceptRate <= 0 || c.AcceptBurst < 1 {
		errs = append(errs, errors.New("gateway.accept_rate and gateway.accept_burst: must be positive"))
	}
	if c.SniffBytes < 4 {
		errs = append(errs, errors.New("gateway.sniff_bytes: must be at least 4"))
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"gateway.sniff_timeout", c.SniffTimeout}, {"gateway.idle_timeout", c.IdleTimeout},
		{"gateway.write_timeout", c.WriteTimeout}, {"gateway.shutdown_timeout", c.ShutdownTimeout},
	} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive", d.key))
		}
	}
	return errors.Join(errs...)
}

// Protocol is one charger protocol the gateway can hand connections to.
type Protocol struct {
	// Name is the short protocol name used in logs and metrics ("bkv").
	Name string
	// Sniff reports whether a connection's first bytes are this protocol's;
	// more means it cannot tell yet.
	Sniff func(prefix []byte) (match, more bool)
	// Serve runs the session until the connection ends or ctx is cancelled.
	// Its error is the reason the session ended (nil or io.EOF: the charger
	// hung up).
	Serve func(ctx context.Context, c *Conn) error
}

// ErrUnknownProtocol reports a connection whose first bytes no protocol claimed.
var ErrUnknownProtocol = errors.New("unknown protocol")

// ErrSessionPanic reports a session that panicked; the connection is closed.
var ErrSessionPanic = errors.New("session panic")

// Gateway accepts charger connections.
type Gateway struct {
	cfg       Config
	protocols []Protocol
	log       *slog.Logger
	limiter   *rate.Limiter
	sem       chan struct{}
	metrics   metrics
	bufs      *bufferPool
	handlers  *handlers

	mu    sync.Mutex
	ln    net.Listener
	conns map[*Conn]struct{}
	wg    sync.WaitGroup
}

type metrics struct {
	open     *prometheus.GaugeVec
	handlers prometheus.GaugeFunc
	buffers  prometheus.GaugeFunc
	accepted prometheus.Counter
	rejected *prometheus.CounterVec
	closed   *prometheus.CounterVec
}

// New builds a gateway for the given protocols, tried in order when sniffing.
func New(cfg Config, protocols []Protocol, logger *slog.Logger, reg prometheus.Registerer) *Gateway {
	m := metrics{
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "chargeplane_gateway_connections",
			Help: "Open charger connections by protocol (\"sniffing\" until known).",
		}, []string{"protocol"}),
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chargeplane_gateway_accepted_total",
			Help: "Charger connections accepted.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chargeplane_gateway_rejected_total",
			Help: "Connections closed at accept or sniff, by reason.",
		}, []string{"reason"}),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chargeplane_gateway_sessions_closed_total",
			Help: "Charger sessions ended, by protocol and reason.",
		}, []string{"protocol", "reason"}),
	}
	bufs, hs := newBufferPool(), newHandlers(handlerIdle)
	m.handlers = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "chargeplane_gateway_handler_goroutines",
		Help: "Goroutines handling charger frames, shared by all connections (Conn.Handle).",
	}, func() float64 { return float64(hs.running.Load()) })
	m.buffers = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "chargeplane_gateway_read_buffers_in_use",
		Help: "Read buffers held by connections with bytes in flight; silent connections hold none (Conn.ReadPooled).",
	}, func() float64 { return float64(bufs.inUse.Load()) })
	reg.MustRegister(m.open, m.accepted, m.rejected, m.closed, m.handlers, m.buffers)
	return &Gateway{
		cfg:       cfg,
		protocols: protocols,
		log:       logger.With("component", "gateway"),
		limiter:   rate.NewLimiter(rate.Limit(cfg.AcceptRate), cfg.AcceptBurst),
		sem:       make(chan struct{}, cfg.MaxConns),
		metrics:   m,
		bufs:      bufs,
		handlers:  hs,
		conns:     make(map[*Conn]struct{}),
	}
}

// Listen opens the listener and returns its address (useful with port 0).
func (g *Gateway) Listen() (net.Addr, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", g.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", g.cfg.Addr, err)
	}
	g.mu.Lock()
	g.ln = ln
	g.mu.Unlock()
	return ln.Addr(), nil
}

// OpenConns returns the number of open charger connections.
func (g *Gateway) OpenConns() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}

// Run accepts connections until ctx ends, then stops accepting, lets
// sessions finish their current frame (bounded by ShutdownTimeout) and
// returns once every session and handler goroutine has exited. Listen must
// be called first, and Run called once.
func (g *Gateway) Run(ctx context.Context) error {
	g.mu.Lock()
	ln := g.ln
	g.mu.Unlock()
	if ln == nil {
		return errors.New("gateway: Run before Listen")
	}
	sessCtx, cancelSessions := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSessions()
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()

	g.handlers.start()
	defer g.handlers.stop() // after the drain below: sessions are gone
	g.log.Info("listening for chargers", "addr", ln.Addr().String())
	var acceptErr error
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				acceptErr = fmt.Errorf("accept: %w", err)
			}
			break
		}
		if err := g.limiter.Wait(ctx); err != nil {
			_ = nc.Close()
			break
		}
		select {
		case g.sem <- struct{}{}:
		default:
			g.metrics.rejected.WithLabelValues("max_conns").Inc()
			g.log.Warn("connection refused: max_conns reached", "remote", nc.RemoteAddr().String(), "max_conns", g.cfg.MaxConns)
			_ = nc.Close()
			continue
		}
		g.metrics.accepted.Inc()
		c := g.newConn(nc)
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			defer func() { <-g.sem }()
			g.serve(sessCtx, c)
		}()
	}

	// Drain: sessions see their context cancelled and finish the frame in
	// hand; a session blocked in a read returns at once.
	cancelSessions()
	g.interruptAll()
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	timer := time.NewTimer(g.cfg.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		g.log.Warn("shutdown timeout: closing remaining charger connections", "open", g.OpenConns())
		g.closeAll()
		<-done
	}
	return acceptErr
}

// interruptAll makes every session's blocked read, and later ones, return.
// One pass at shutdown instead of a context.AfterFunc per connection, which
// would cost memory for every connection's whole life.
func (g *Gateway) interruptAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for c := range g.conns {
		c.interrupt()
	}
}

func (g *Gateway) closeAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for c := range g.conns {
		_ = c.nc.Close()
	}
}

func (g *Gateway) newConn(nc net.Conn) *Conn {
	c := &Conn{
		nc:     nc,
		gw:     g,
		remote: nc.RemoteAddr().String(),
	}
	c.initRaw(nc)
	g.mu.Lock()
	g.conns[c] = struct{}{}
	g.mu.Unlock()
	return c
}

// serve runs one connection. Its goroutine spends the connection's life
// parked in a read below this frame, so the frame is kept small: the work
// before and after the session is in functions that have returned by then.
// The connection's logger is not built up front either (slog's With copies
// the handler): the few log lines add "remote" themselves.
func (g *Gateway) serve(ctx context.Context, c *Conn) {
	defer g.forget(c)
	p, ok := g.identify(c)
	if !ok {
		return
	}
	g.metrics.open.WithLabelValues(p.Name).Inc()
	err := runSession(ctx, p, c)
	g.metrics.open.WithLabelValues(p.Name).Dec()
	g.ended(ctx, c, err)
}

// forget drops a finished connection.
func (g *Gateway) forget(c *Conn) {
	g.mu.Lock()
	delete(g.conns, c)
	g.mu.Unlock()
	_ = c.nc.Close()
}

// identify sniffs the connection's protocol; false if none claimed it (the
// connection is then counted, logged and to be closed).
func (g *Gateway) identify(c *Conn) (Protocol, bool) {
	g.metrics.open.WithLabelValues("sniffing").Inc()
	p, err := g.sniff(c)
	g.metrics.open.WithLabelValues("sniffing").Dec()
	if err != nil {
		g.metrics.rejected.WithLabelValues(reasonOf(err)).Inc()
		g.log.Warn("connection closed before its protocol was known", "remote", c.remote, "reason", reasonOf(err), "err", err)
		return Protocol{}, false
	}
	c.Protocol = p.Name
	return p, true
}

// ended counts and logs why a session ended.
func (g *Gateway) ended(ctx context.Context, c *Conn, err error) {
	reason := reasonOf(err)
	if ctx.Err() != nil && reason != "protocol_error" {
		reason = "shutdown"
	}
	g.metrics.closed.WithLabelValues(c.Protocol, reason).Inc()
	attrs := []any{"remote", c.remote, "protocol", c.Protocol, "reason", reason}
	if c.ChargerID != "" {
		attrs = append(attrs, "charger_id", c.ChargerID)
	}
	switch reason {
	case "eof", "shutdown":
		g.log.Info("charger connection closed", attrs...)
	default:
		g.log.Warn("charger connection closed", append(attrs, "err", err)...)
	}
}

// runSession runs p.Serve, turning a panic into an error so one bad session
// never takes the agent down.
func runSession(ctx context.Context, p Protocol, c *Conn) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrSessionPanic, r)
		}
	}()
	return p.Serve(ctx, c)
}

// sniff reads the first bytes until one protocol claims them.
func (g *Gateway) sniff(c *Conn) (Protocol, error) {
	if err := c.armReadDeadlineIn(g.cfg.SniffTimeout); err != nil {
		return Protocol{}, err
	}
	buf := make([]byte, 0, g.cfg.SniffBytes)
	for {
		n, err := c.nc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if n > 0 {
			undecided := false
			for _, p := range g.protocols {
				match, more := p.Sniff(buf)
				if match {
					c.prefix = buf
					return p, nil
				}
				undecided = undecided || more
			}
			if !undecided || len(buf) == cap(buf) {
				return Protocol{}, fmt.Errorf("first bytes %x: %w", buf[:min(len(buf), 16)], ErrUnknownProtocol)
			}
		}
		if err != nil {
			return Protocol{}, fmt.Errorf("read first bytes: %w", err)
		}
	}
}

// reasonOf names why a connection ended, from a small fixed set (a metric label).
func reasonOf(err error) string {
	var ne net.Error
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		return "eof"
	case errors.Is(err, ErrUnknownProtocol):
		return "unknown_protocol"
	case errors.Is(err, ErrSessionPanic):
		return "panic"
	case errors.Is(err, ErrProtocol):
		return "protocol_error"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "idle_timeout"
	case errors.Is(err, ErrWrite):
		return "write_error"
	case errors.Is(err, ErrReplaced):
		return "replaced"
	case errors.Is(err, ErrRefused):
		return "refused"
	default:
		return "error"
	}
}
