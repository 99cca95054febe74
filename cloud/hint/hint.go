// Package hint publishes config-changed hints: after a change to what an
// edge pulls (cloud/site), the cloud publishes the edge's new config version
// as decimal text on {root}/{tenant}/{edge}/down/config (topic.KindConfig,
// QoS 1, not retained), and the edge calls SyncService.PullConfig when the
// version is above the one it holds.
//
// A hint is only a nudge: edges also pull on start, after reconnecting and
// periodically. So Notify never blocks or fails the change that caused it;
// the Publisher keeps at most one pending hint per edge (the newest version
// wins) and sends them from Run, retrying after a broker outage.
//
// The Publisher has an MQTT connection of its own rather than sharing the
// ingest consumer's: that one's reader blocks while its queue is full
// (backpressure), and a publish waiting for its PUBACK behind it would stall
// API calls. Send is the one-shot form for the command line.
package hint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chargeplane/chargeplane/cloud/site"
	"github.com/chargeplane/chargeplane/shared/topic"
)

// Config says how to reach the broker.
type Config struct {
	// URL of the broker (tcp://host:port, ssl://…).
	URL string
	// ClientID must be unique per process: the session is clean, so it need
	// not be stable.
	ClientID  string
	Username  string
	Password  string
	TopicRoot string
	// Timeout bounds connecting and each publish's wait for its PUBACK.
	Timeout time.Duration
}

// retryWait is how long Run waits before publishing again after a failure.
const retryWait = time.Second

// Publisher sends hints from Run. Build it with New.
type Publisher struct {
	cfg   Config
	space topic.Space
	log   *slog.Logger

	mu      sync.Mutex
	pending map[site.Target]uint64 // guarded by mu
	wake    chan struct{}          // cap 1: something was added to pending

	published *prometheus.CounterVec
}

// New checks cfg and builds a Publisher; nothing connects until Run.
func New(cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Publisher, error) {
	space, err := check(cfg)
	if err != nil {
		return nil, err
	}
	p := &Publisher{
		cfg:     cfg,
		space:   space,
		log:     logger.With("component", "hint"),
		pending: map[site.Target]uint64{},
		wake:    make(chan struct{}, 1),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chargeplane_hint_published_total",
			Help: "Config-changed hints published to edges, by result (ok, error; failed ones are retried).",
		}, []string{"result"}),
	}
	pending := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "chargeplane_hint_pending",
		Help: "Edges with a config-changed hint waiting to be published.",
	}, func() float64 {
		p.mu.Lock()
		defer p.mu.Unlock()
		return float64(len(p.pending))
	})
	for _, c := range []prometheus.Collector{p.published, pending} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("hint metrics: %w", err)
		}
	}
	p.published.WithLabelValues("ok")
	p.published.WithLabelValues("error")
	return p, nil
}

func check(cfg Config) (topic.Space, error) {
	space, err := topic.New(cfg.TopicRoot)
	var errs []error
	if err != nil {
		errs = append(errs, fmt.Errorf("topic root: %w", err))
	}
	if cfg.URL == "" {
		errs = append(errs, errors.New("broker url: required"))
	}
	if cfg.ClientID == "" {
		errs = append(errs, errors.New("client id: required"))
	}
	if cfg.Timeout <= 0 {
		errs = append(errs, errors.New("timeout: must be positive"))
	}
	if len(errs) > 0 {
		return topic.Space{}, fmt.Errorf("hint config: %w", errors.Join(errs...))
	}
	return space, nil
}

// Notify queues a hint of version to each target and returns at once. A
// newer version replaces an older one still pending for the same edge.
func (p *Publisher) Notify(ch site.Change) {
	if ch.Version == 0 || len(ch.Edges) == 0 {
		return
	}
	p.mu.Lock()
	for _, t := range ch.Edges {
		if p.pending[t] < ch.Version {
			p.pending[t] = ch.Version
		}
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// Run connects to the broker (retrying until it answers) and publishes
// pending hints until ctx ends; it then makes one last attempt at what is
// pending, bounded by Config.Timeout, and disconnects. It returns nil: a
// hint that cannot be sent is logged and left to the edge's periodic pull.
func (p *Publisher) Run(ctx context.Context) error {
	// paho's own reconnect resends its stored publishes while new ones go
	// out on the same packets (a data race in paho 1.5); hints are retried
	// here anyway, so reconnect by hand with a fresh clean session instead.
	lost := make(chan struct{}, 1)
	client := paho.NewClient(options(p.cfg).
		SetAutoReconnect(false).
		SetOnConnectHandler(func(paho.Client) {
			p.log.Info("connected to broker", "broker", p.cfg.URL, "client_id", p.cfg.ClientID)
		}).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			p.log.Warn("lost connection to broker; reconnecting", "err", err)
			select {
			case lost <- struct{}{}:
			default:
			}
		}))
	defer client.Disconnect(250)

	wait := time.Second
	for ctx.Err() == nil {
		tok := client.Connect()
		if !tok.WaitTimeout(p.cfg.Timeout) || tok.Error() != nil {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
			wait = min(2*wait, 10*time.Second)
			continue
		}
		wait = time.Second
		p.poke() // publish what piled up while away
		if p.serve(ctx, client, lost) {
			return nil
		}
	}
	return nil
}

// serve publishes pending hints while the connection lasts; true when ctx
// ended (after one last flush).
func (p *Publisher) serve(ctx context.Context, client paho.Client, lost <-chan struct{}) bool {
	for {
		select {
		case <-ctx.Done():
			if client.IsConnectionOpen() {
				p.flush(client)
			}
			return true
		case <-lost:
			return false
		case <-p.wake:
		}
		if !p.flush(client) {
			select {
			case <-ctx.Done():
			case <-lost:
				return false
			case <-time.After(retryWait):
				p.poke()
			}
		}
	}
}

func (p *Publisher) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// flush publishes every pending hint and reports whether all went out.
// Failed ones go back to pending unless a newer version arrived meanwhile.
func (p *Publisher) flush(client paho.Client) bool {
	p.mu.Lock()
	batch := p.pending
	p.pending = map[site.Target]uint64{}
	p.mu.Unlock()
	if len(batch) == 0 {
		return true
	}
	failed := publish(client, p.space, p.cfg.Timeout, batch)
	p.published.WithLabelValues("ok").Add(float64(len(batch) - len(failed)))
	if len(failed) == 0 {
		return true
	}
	p.published.WithLabelValues("error").Add(float64(len(failed)))
	p.mu.Lock()
	for t, f := range failed {
		if p.pending[t] < f.version {
			p.pending[t] = f.version
		}
	}
	p.mu.Unlock()
	var first error
	for _, f := range failed {
		first = f.err
		break
	}
	p.log.Warn("config-changed hints not published; retrying", "edges", len(failed), "err", first)
	return false
}

type failure struct {
	version uint64
	err     error
}

// publish sends all hints at once and waits for their PUBACKs; it returns
// the ones that failed.
func publish(client paho.Client, space topic.Space, timeout time.Duration, hints map[site.Target]uint64) map[site.Target]failure {
	toks := make(map[site.Target]paho.Token, len(hints))
	for t, v := range hints {
		name := space.Stream(t.TenantID, t.EdgeID, topic.Down, topic.KindConfig)
		toks[t] = client.Publish(name, 1, false, strconv.FormatUint(v, 10))
	}
	deadline := time.Now().Add(timeout)
	failed := map[site.Target]failure{}
	for t, tok := range toks {
		var err error
		if !tok.WaitTimeout(time.Until(deadline)) {
			err = errors.New("no PUBACK in time")
		} else {
			err = tok.Error()
		}
		if err != nil {
			failed[t] = failure{version: hints[t], err: err}
		}
	}
	return failed
}

func options(cfg Config) *paho.ClientOptions {
	return paho.NewClientOptions().
		AddBroker(cfg.URL).
		SetClientID(cfg.ClientID).
		SetUsername(cfg.Username).
		SetPassword(cfg.Password).
		SetCleanSession(true).
		SetConnectTimeout(cfg.Timeout).
		SetWriteTimeout(cfg.Timeout).
		SetKeepAlive(30 * time.Second)
}

// Send connects, publishes ch's hints, waits for their PUBACKs and
// disconnects: the command line's way to nudge edges after a change.
func Send(ctx context.Context, cfg Config, ch site.Change) error {
	space, err := check(cfg)
	if err != nil {
		return err
	}
	if ch.Version == 0 || len(ch.Edges) == 0 {
		return nil
	}
	client := paho.NewClient(options(cfg))
	tok := client.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return fmt.Errorf("connect to %s: %w", cfg.URL, ctx.Err())
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("connect to %s: %w", cfg.URL, err)
	}
	defer client.Disconnect(250)
	hints := make(map[site.Target]uint64, len(ch.Edges))
	for _, t := range ch.Edges {
		hints[t] = ch.Version
	}
	failed := publish(client, space, cfg.Timeout, hints)
	for t, f := range failed {
		return fmt.Errorf("publish hint to edge %q (and %d more): %w", t.EdgeID, len(failed)-1, f.err)
	}
	return nil
}
