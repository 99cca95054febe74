package uplink

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/chargeplane/chargeplane/edge/store"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1/chargeplanev1connect"
	"github.com/chargeplane/chargeplane/shared/topic"
)

// SessionSource is the edge's session ledger as the uplink sees it (the
// control.Book implements it).
type SessionSource interface {
	// PendingSessions returns up to limit SessionEnded events not yet
	// confirmed by the cloud, in seq order.
	PendingSessions(ctx context.Context, limit int) ([]*chargeplanev1.Event, error)
	// MarkSessionsSynced records that the cloud holds these sessions; the
	// card debits they carry are included in every config at or above
	// configVersion.
	MarkSessionsSynced(ctx context.Context, seqs []uint64, configVersion uint64) error
}

// ConfigSink receives the site configuration pulled from the cloud (the
// control.Book implements it).
type ConfigSink interface {
	// ConfigVersion is the version held now (0: none yet).
	ConfigVersion() uint64
	// ApplyConfig replaces the held configuration with cfg.
	ApplyConfig(ctx context.Context, cfg *chargeplanev1.SiteConfig) error
}

// Status is what the admin page shows about the link to the cloud.
type Status struct {
	// Connected: the MQTT connection is up.
	Connected bool
	// Online: see Uplink.Online.
	Online        bool
	LastPublish   time.Time
	LastError     string
	CloudLastSeq  uint64
	LastHandshake time.Time
	// LastSessionPush is when the cloud last answered a PushSessions call.
	LastSessionPush time.Time
	// PendingSessions is the session source's count of sessions not yet
	// confirmed, when it can count them (-1 otherwise).
	PendingSessions int64
	// ConfigVersion is the site config version the sink holds.
	ConfigVersion  uint64
	LastConfigPull time.Time
}

// Uplink carries the edge's outbox and session ledger to the cloud and the
// cloud's site configuration back.
type Uplink struct {
	cfg      Config
	tenantID string
	edgeID   string
	version  string
	store    *store.Store
	sessions SessionSource // nil: no session upload
	sink     ConfigSink    // nil: no config pull
	space    topic.Space
	tls      *tls.Config // nil: library defaults
	log      *slog.Logger
	sync     chargeplanev1connect.SyncServiceClient
	m        *metrics

	// conn announces every MQTT (re)connect to the loops that act on it.
	conn connWatch
	// lost receives a signal when an established MQTT connection is lost.
	lost chan struct{}
	// hint carries config-changed hints newer than the held version to the
	// config loop; one pending hint is enough.
	hint chan struct{}

	mqttUp atomic.Bool // the MQTT connection is up
	rpcOK  atomic.Bool // the last cloud call succeeded

	mu     sync.Mutex
	status Status
}

// New builds an uplink for one edge. sessions and configSink may be nil; the
// session upload or the config pull then does not run.
func New(cfg Config, tenantID, edgeID, version string, st *store.Store, sessions SessionSource,
	configSink ConfigSink, logger *slog.Logger, reg prometheus.Registerer,
) (*Uplink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("uplink: %w", err)
	}
	space, err := topic.New(cfg.TopicRoot)
	if err != nil {
		return nil, fmt.Errorf("uplink: %w", err)
	}
	if !topic.ValidSegment(tenantID) || !topic.ValidSegment(edgeID) {
		return nil, fmt.Errorf("uplink: tenant %q and edge %q must be valid topic levels: %w", tenantID, edgeID, topic.ErrInvalid)
	}
	tlsCfg, err := cfg.TLSConfig()
	if err != nil {
		return nil, fmt.Errorf("uplink: %w", err)
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "chargeplane-edge-" + edgeID
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "uplink")
	u := &Uplink{
		cfg: cfg, tenantID: tenantID, edgeID: edgeID, version: version, store: st,
		sessions: sessions, sink: configSink, space: space, tls: tlsCfg, log: logger,
		sync: newSyncClient(cfg, tlsCfg, logger),
		m:    newMetrics(),
		conn: connWatch{ch: make(chan struct{})},
		hint: make(chan struct{}, 1),
		lost: make(chan struct{}, 1),
	}
	if err := u.m.register(reg); err != nil {
		return nil, fmt.Errorf("uplink: register metrics: %w", err)
	}
	return u, nil
}

// Online reports whether the cloud is reachable now: the last cloud call
// (Handshake, PushSessions or PullConfig) succeeded and the MQTT connection
// is up. It turns false with a failed call and stays so until the next
// successful one.
func (u *Uplink) Online() bool { return u.rpcOK.Load() && u.mqttUp.Load() }

// Status returns a snapshot of the link state.
func (u *Uplink) Status() Status {
	u.mu.Lock()
	s := u.status
	u.mu.Unlock()
	s.Online = u.Online()
	s.PendingSessions = -1
	if c, ok := u.sessions.(interface{ PendingSessionCount() int64 }); ok {
		s.PendingSessions = c.PendingSessionCount()
	}
	if u.sink != nil {
		s.ConfigVersion = u.sink.ConfigVersion()
	}
	return s
}

func (u *Uplink) setStatus(f func(*Status)) {
	u.mu.Lock()
	f(&u.status)
	u.mu.Unlock()
}

// callDone records the outcome of a cloud call for Online.
func (u *Uplink) callDone(method string, err error) {
	if err != nil {
		u.rpcOK.Store(false)
		u.m.callFailures.WithLabelValues(method).Inc()
		u.setStatus(func(s *Status) { s.LastError = err.Error() })
		return
	}
	u.rpcOK.Store(true)
}

// Run connects and works until ctx ends: it drains the outbox, uploads
// finished sessions, pulls the site config and repeats the handshake after
// every reconnect. Broker or cloud outages are retried forever; it returns an
// error only when the store fails.
func (u *Uplink) Run(ctx context.Context) error {
	stateTopic := u.space.State(u.tenantID, u.edgeID)
	username, password := u.cfg.MQTTCredentials(u.edgeID)
	opts := mqtt.NewClientOptions().
		AddBroker(u.cfg.MQTTURL).
		SetClientID(u.cfg.ClientID).
		SetUsername(username).
		SetPassword(password).
		// A clean session: what must survive an outage is in the store's
		// outbox, not in the broker session; a config hint missed while
		// disconnected is covered by the pull after every reconnect. (paho
		// also races when it resumes a persistent session while new
		// publishes are queued.)
		SetCleanSession(true).
		SetKeepAlive(30*time.Second).
		SetConnectTimeout(10*time.Second).
		// Reconnecting is connectLoop's job, not paho's: paho's automatic
		// reconnect resends its stored publishes while new ones go out,
		// racing on the same packets, and keeps the tokens of a lost
		// connection pending. Without it, a lost connection fails every
		// pending token at once, and the drain resends from the store.
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetWill(stateTopic, topic.StateOffline, 1, true).
		SetOnConnectHandler(func(c mqtt.Client) {
			u.mqttUp.Store(true)
			u.m.connected.Set(1)
			u.setStatus(func(s *Status) { s.Connected = true })
			u.log.Info("connected to broker", "broker", u.cfg.MQTTURL)
			// Nothing here may wait on a token: paho waits for this
			// handler before it processes acknowledgements.
			c.Publish(stateTopic, 1, true, topic.StateOnline)
			u.conn.connected()
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			u.mqttUp.Store(false)
			u.m.connected.Set(0)
			u.setStatus(func(s *Status) { s.Connected = false; s.LastError = err.Error() })
			u.log.Warn("lost broker connection", "err", err)
			select {
			case u.lost <- struct{}{}:
			default:
			}
		})
	if u.tls != nil {
		opts.SetTLSConfig(u.tls.Clone())
	}
	client := mqtt.NewClient(opts)
	defer func() {
		if client.IsConnectionOpen() {
			// A clean stop says so explicitly; the will covers crashes.
			t := client.Publish(stateTopic, 1, true, topic.StateOffline)
			t.WaitTimeout(2 * time.Second)
		}
		client.Disconnect(250)
		u.mqttUp.Store(false)
		u.m.connected.Set(0)
	}()

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { u.connectLoop(gctx, client); return nil })
	g.Go(func() error { u.handshakeLoop(gctx); return nil })
	if u.sessions != nil {
		g.Go(func() error { u.sessionLoop(gctx); return nil })
	}
	if u.sink != nil {
		g.Go(func() error { u.configLoop(gctx, client); return nil })
	}
	g.Go(func() error { return u.drain(gctx, client) })
	return g.Wait()
}

// connectLoop connects to the broker, and again after every lost
// connection, backing off from retry_min to retry_max between failed
// attempts. When ctx ends it still waits for an attempt in progress (at most
// the connect timeout), so that Run's Disconnect finds a settled client.
func (u *Uplink) connectLoop(ctx context.Context, client mqtt.Client) {
	bo := newBackoff(u.cfg)
	for {
		select {
		case <-u.lost: // about a connection before this attempt
		default:
		}
		tok := client.Connect()
		<-tok.Done()
		if ctx.Err() != nil {
			return
		}
		// An error with the connection open is a stale loss signal sending
		// us here while connected: nothing to do but wait.
		if err := tok.Error(); err != nil && !client.IsConnectionOpen() {
			d := bo.wait()
			u.setStatus(func(s *Status) { s.LastError = err.Error() })
			u.log.Warn("connect to broker failed; will retry", "err", err, "broker", u.cfg.MQTTURL, "backoff", d)
			if !sleep(ctx, d) {
				return
			}
			continue
		}
		bo.reset()
		if !u.waitLost(ctx, client) {
			return
		}
	}
}

// lostCheck is how often connectLoop looks at the connection itself, in
// case paho lost it without calling the lost handler (it skips the handler
// when a connection drops while still being set up).
const lostCheck = 30 * time.Second

// waitLost waits until the connection is lost; false when ctx ended first.
func (u *Uplink) waitLost(ctx context.Context, client mqtt.Client) bool {
	check := time.NewTicker(lostCheck)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-u.lost:
			return true
		case <-check.C:
			if !client.IsConnectionOpen() {
				return true
			}
		}
	}
}

// connWatch announces MQTT connects. A loop remembers the generation it has
// handled and waits on the channel, which is closed (and replaced) at the
// next connect, so no connect is missed however late the loop looks.
type connWatch struct {
	mu  sync.Mutex
	gen uint64
	ch  chan struct{}
}

func (w *connWatch) connected() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.gen++
	close(w.ch)
	w.ch = make(chan struct{})
}

// state returns the number of connects so far and a channel closed at the
// next one.
func (w *connWatch) state() (uint64, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.gen, w.ch
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// backoff doubles from RetryMin up to RetryMax.
type backoff struct {
	first, limit, next time.Duration
}

func newBackoff(cfg Config) backoff {
	return backoff{first: cfg.RetryMin, limit: cfg.RetryMax, next: cfg.RetryMin}
}

// wait returns the delay to wait now and doubles the next one.
func (b *backoff) wait() time.Duration {
	d := b.next
	b.next = min(b.next*2, b.limit)
	return d
}

func (b *backoff) reset() { b.next = b.first }
