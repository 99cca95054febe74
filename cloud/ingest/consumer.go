package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/chargeplane/chargeplane/cloud/fleet"
	"github.com/chargeplane/chargeplane/cloud/presence"
	"github.com/chargeplane/chargeplane/shared/topic"
)

// ErrSubscribe reports that the broker refused a subscription: retrying
// cannot help (no shared subscriptions, or an ACL denies the topic).
var ErrSubscribe = errors.New("broker refused subscription")

// Config is the consumer's configuration.
type Config struct {
	// URL of the broker: tcp://host:port, ssl://host:port or ws://….
	URL string
	// ClientID must be stable across restarts (the broker keeps the
	// persistent session, and unacknowledged messages, under it) and unique
	// per replica.
	ClientID string
	Username string
	Password string
	// Group is the shared-subscription group all replicas join.
	Group string
	// TopicRoot is the root of the topic space (topic.DefaultRoot in production).
	TopicRoot string
	// BatchEvents closes a batch once it holds this many events.
	BatchEvents int
	// BatchWait closes a batch this long after its first message arrived,
	// if it has not closed before: a batch also closes as soon as no further
	// message is waiting.
	BatchWait time.Duration
	// QueueMessages bounds the messages received but not yet batched.
	QueueMessages int
	// DrainTimeout bounds the final flush when the consumer stops.
	DrainTimeout time.Duration
}

// Deps are the consumer's collaborators.
type Deps struct {
	Fleet    *fleet.Store
	Presence *presence.Store
	// Observers are told about newly stored events, in this order, before
	// the messages are acknowledged (see Observer).
	Observers  []Observer
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Now is the clock commits are timed by (chargeplane_ingest_lag_seconds);
	// nil means time.Now.
	Now func() time.Time
}

// Consumer is the MQTT consumer. Build it with New and run it with Run.
type Consumer struct {
	cfg       Config
	space     topic.Space
	fleet     *fleet.Store
	presence  *presence.Store
	observers []Observer
	log       *slog.Logger
	metrics   *metrics
	now       func() time.Time
	client    paho.Client

	queue      chan paho.Message
	stopping   chan struct{} // closed when Run's context ends: the handler stops queueing
	connects   chan struct{} // a connection (re)opened: subscribe
	subscribed atomic.Bool
}

// New checks cfg and builds a consumer; it connects nothing until Run.
func New(cfg Config, deps Deps) (*Consumer, error) {
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
	if !topic.ValidSegment(cfg.Group) {
		errs = append(errs, fmt.Errorf("group %q: must be one topic level", cfg.Group))
	}
	if cfg.BatchEvents < 1 || cfg.BatchWait <= 0 || cfg.QueueMessages < 1 {
		errs = append(errs, errors.New("batch events, batch wait and queue messages must be positive"))
	}
	for i, o := range deps.Observers {
		if o.Name == "" || o.Observe == nil {
			errs = append(errs, fmt.Errorf("observer %d: name and Observe are required", i))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("ingest config: %w", errors.Join(errs...))
	}
	c := &Consumer{
		cfg:       cfg,
		space:     space,
		fleet:     deps.Fleet,
		presence:  deps.Presence,
		observers: deps.Observers,
		log:       deps.Logger.With("component", "ingest"),
		now:       deps.Now,
		queue:     make(chan paho.Message, cfg.QueueMessages),
		stopping:  make(chan struct{}),
		connects:  make(chan struct{}, 1),
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.metrics, err = newMetrics(deps.Registerer, func() float64 { return float64(len(c.queue)) })
	if err != nil {
		return nil, fmt.Errorf("ingest metrics: %w", err)
	}
	for _, o := range deps.Observers {
		c.metrics.observerErrors.WithLabelValues(o.Name)
	}
	opts := paho.NewClientOptions().
		AddBroker(cfg.URL).
		SetClientID(cfg.ClientID).
		SetUsername(cfg.Username).
		SetPassword(cfg.Password).
		// The broker keeps our subscriptions and unacknowledged messages
		// while we are away, and redelivers them when we come back.
		SetCleanSession(false).
		// Acknowledge only after the effect is committed (flush), in order.
		SetAutoAckDisabled(true).
		// The handler runs on paho's reading goroutine: while it blocks on a
		// full queue, nothing more is read from the broker.
		SetOrderMatters(true).
		SetDefaultPublishHandler(c.receive).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(10 * time.Second).
		SetConnectTimeout(10 * time.Second).
		SetWriteTimeout(10 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetOnConnectHandler(func(paho.Client) {
			select {
			case c.connects <- struct{}{}:
			default: // a subscribe is already pending
			}
		}).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			c.setSubscribed(false)
			c.log.Warn("lost connection to broker; reconnecting", "err", err)
		})
	c.client = paho.NewClient(opts)
	return c, nil
}

// Connected reports whether the consumer is connected and subscribed, for
// readiness.
func (c *Consumer) Connected() bool {
	return c.subscribed.Load() && c.client.IsConnectionOpen()
}

func (c *Consumer) setSubscribed(v bool) {
	c.subscribed.Store(v)
	if v {
		c.metrics.connected.Set(1)
	} else {
		c.metrics.connected.Set(0)
	}
}

// receive is paho's handler for every message. It only queues.
func (c *Consumer) receive(_ paho.Client, m paho.Message) {
	select {
	case c.queue <- m:
	case <-c.stopping:
		// Not acknowledged: the broker redelivers it to this session.
	}
}

// Run connects (retrying until the broker answers), consumes until ctx ends,
// then drains the batch in hand (bounded by Config.DrainTimeout) and
// disconnects. It returns an error only when consuming cannot go on, such as
// the broker refusing the subscriptions.
func (c *Consumer) Run(ctx context.Context) error {
	c.log.Info("connecting to broker", "broker", c.cfg.URL, "client_id", c.cfg.ClientID, "subscription", c.space.SharedUp(c.cfg.Group))
	c.client.Connect() // completes in the background; onConnect triggers subscribe

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return c.subscribeLoop(gctx) })
	g.Go(func() error { return c.batchLoop(gctx) })
	<-gctx.Done()
	close(c.stopping)
	err := g.Wait()
	c.setSubscribed(false)
	c.client.Disconnect(250)
	c.log.Info("disconnected from broker")
	return err
}

// subscribeLoop subscribes after every (re)connect. The broker keeps a
// persistent session's subscriptions, but subscribing again is cheap and
// covers a broker that lost its state.
func (c *Consumer) subscribeLoop(ctx context.Context) error {
	filters := map[string]byte{
		c.space.SharedUp(c.cfg.Group): 1,
		c.space.State("+", "+"):       1,
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.connects:
		}
		tok := c.client.SubscribeMultiple(filters, nil)
		select {
		case <-ctx.Done():
			return nil
		case <-tok.Done():
		case <-time.After(30 * time.Second):
			c.log.Warn("subscribe timed out; retrying after reconnect")
			continue
		}
		if err := tok.Error(); err != nil {
			// Typically the connection dropped meanwhile; the reconnect
			// subscribes again.
			c.log.Warn("subscribe failed", "err", err)
			continue
		}
		for filter, code := range tok.(*paho.SubscribeToken).Result() {
			if code > 2 {
				return fmt.Errorf("subscribe %q: return code %#x: %w", filter, code, ErrSubscribe)
			}
		}
		c.setSubscribed(true)
		c.log.Info("subscribed", "subscription", c.space.SharedUp(c.cfg.Group))
	}
}
