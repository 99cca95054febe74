package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// Why a subscription ended. Their texts are written for clients.
var (
	// ErrSlowSubscriber ends a subscription whose buffer filled up: the
	// watcher did not keep up, and updates would otherwise be lost silently.
	ErrSlowSubscriber = errors.New("live stream fell behind: reload the current status and watch again")
	// ErrFeedLost ends the subscriptions of a tenant when the cloud lost its
	// feed (the Redis connection dropped) and updates may be missing.
	ErrFeedLost = errors.New("live feed interrupted: reload the current status and watch again")
	// ErrClosed ends every subscription when the hub stops.
	ErrClosed = errors.New("live feed stopped: the server is shutting down")
)

// Config configures a Hub.
type Config struct {
	// Prefix starts every Redis channel name, like presence's key prefix.
	Prefix string
	// Buffer is how many updates a subscriber may have waiting before it is
	// dropped with ErrSlowSubscriber.
	Buffer int
}

// Filter narrows a subscription to one edge or one charger; empty fields
// match everything.
type Filter struct {
	EdgeID    string
	ChargerID string
}

func (f Filter) match(u *chargeplanev1.LiveUpdate) bool {
	return (f.EdgeID == "" || f.EdgeID == u.GetEdgeId()) && (f.ChargerID == "" || f.ChargerID == u.GetChargerId())
}

// Hub publishes live updates to Redis and fans what Redis delivers out to
// this replica's subscribers. Build it with NewHub and run it with Run:
// subscriptions receive nothing while Run is not running.
type Hub struct {
	rdb    *redis.Client
	cfg    Config
	log    *slog.Logger
	ps     *redis.PubSub
	closed chan struct{} // closed when Run ends

	mu       sync.Mutex
	channels map[string]*channel // guarded by mu; by Redis channel name
	// expected counts SUBSCRIBE commands sent per channel whose
	// confirmation has not arrived: a confirmation nobody waits for means
	// go-redis reconnected and subscribed again. Guarded by mu.
	expected map[string]int
	stopped  bool // guarded by mu

	published *prometheus.CounterVec
	delivered prometheus.Counter
	dropped   *prometheus.CounterVec
}

// channel is one tenant's Redis channel and its local subscribers.
type channel struct {
	subs      map[*Subscription]struct{}
	confirmed bool          // Redis confirmed the subscription
	ready     chan struct{} // closed when confirmed
}

// NewHub builds a hub on rdb and registers its metrics.
func NewHub(rdb *redis.Client, cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Hub, error) {
	if cfg.Buffer < 1 {
		return nil, errors.New("live hub config: buffer must be positive")
	}
	h := &Hub{
		rdb:      rdb,
		cfg:      cfg,
		log:      logger.With("component", "live"),
		closed:   make(chan struct{}),
		channels: map[string]*channel{},
		expected: map[string]int{},
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chargeplane_live_published_total",
			Help: "Live updates published to Redis, by result (ok, error).",
		}, []string{"result"}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chargeplane_live_delivered_total",
			Help: "Live updates handed to local subscribers.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chargeplane_live_subscribers_dropped_total",
			Help: "Subscriptions ended by the hub, by reason (slow, feed_lost).",
		}, []string{"reason"}),
	}
	watchers := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "chargeplane_live_subscribers",
		Help: "Live subscriptions open on this replica.",
	}, func() float64 { return float64(h.Subscribers()) })
	for _, c := range []prometheus.Collector{h.published, h.delivered, h.dropped, watchers} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("live metrics: %w", err)
		}
	}
	for _, r := range []string{"ok", "error"} {
		h.published.WithLabelValues(r)
	}
	for _, r := range []string{"slow", "feed_lost"} {
		h.dropped.WithLabelValues(r)
	}
	// No channel yet: go-redis connects on the first SUBSCRIBE.
	h.ps = rdb.Subscribe(context.Background())
	return h, nil
}

func (h *Hub) channelName(tenant string) string { return h.cfg.Prefix + "live:" + tenant }

// Publish sends updates to every replica's subscribers of their tenants,
// in one Redis round trip.
func (h *Hub) Publish(ctx context.Context, updates ...*chargeplanev1.LiveUpdate) error {
	if len(updates) == 0 {
		return nil
	}
	pipe := h.rdb.Pipeline()
	for _, u := range updates {
		b, err := proto.Marshal(u)
		if err != nil {
			return fmt.Errorf("encode live update: %w", err)
		}
		pipe.Publish(ctx, h.channelName(u.GetTenantId()), b)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		h.published.WithLabelValues("error").Add(float64(len(updates)))
		return fmt.Errorf("publish %d live updates: %w", len(updates), err)
	}
	h.published.WithLabelValues("ok").Add(float64(len(updates)))
	return nil
}

// Subscription is one watcher's stream of updates. Updates is closed when
// the subscription ends; Err then says why.
type Subscription struct {
	hub     *Hub
	channel string
	filter  Filter
	c       chan *chargeplanev1.LiveUpdate

	once sync.Once
	err  error // set before c is closed
}

// Updates returns the channel updates arrive on; it is closed when the
// subscription ends.
func (s *Subscription) Updates() <-chan *chargeplanev1.LiveUpdate { return s.c }

// Err returns why the subscription ended: ErrSlowSubscriber, ErrFeedLost
// or ErrClosed, or nil when the subscriber closed it. Call it after Updates
// was closed.
func (s *Subscription) Err() error { return s.err }

// Close ends the subscription. It is safe to call more than once.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.remove(s, nil)
}

// end closes the subscription with err; callers hold hub.mu.
func (s *Subscription) end(err error) {
	s.once.Do(func() {
		s.err = err
		close(s.c)
	})
}

// Subscribe starts receiving tenant's updates that match f. It returns once
// Redis confirmed the subscription, so nothing published afterwards is
// missed; it fails when ctx ends first or the hub stopped.
func (h *Hub) Subscribe(ctx context.Context, tenant string, f Filter) (*Subscription, error) {
	name := h.channelName(tenant)
	s := &Subscription{hub: h, channel: name, filter: f, c: make(chan *chargeplanev1.LiveUpdate, h.cfg.Buffer)}
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	ch := h.channels[name]
	if ch == nil {
		ch = &channel{subs: map[*Subscription]struct{}{}, ready: make(chan struct{})}
		h.channels[name] = ch
		h.expected[name]++
		if err := h.ps.Subscribe(ctx, name); err != nil {
			h.expected[name]--
			delete(h.channels, name)
			h.mu.Unlock()
			return nil, fmt.Errorf("subscribe to live updates: %w", err)
		}
	}
	ch.subs[s] = struct{}{}
	ready := ch.ready
	h.mu.Unlock()

	select {
	case <-ready:
		return s, nil
	case <-h.closed:
		s.Close()
		return nil, ErrClosed
	case <-ctx.Done():
		s.Close()
		return nil, fmt.Errorf("subscribe to live updates: %w", ctx.Err())
	}
}

// remove takes s out of its channel, ending it with err, and unsubscribes
// from Redis when it was the channel's last subscriber. Callers hold mu.
func (h *Hub) remove(s *Subscription, err error) {
	s.end(err)
	ch := h.channels[s.channel]
	if ch == nil {
		return
	}
	if _, ok := ch.subs[s]; !ok {
		return
	}
	delete(ch.subs, s)
	if len(ch.subs) > 0 || h.stopped {
		return
	}
	delete(h.channels, s.channel)
	// Bounded: a Redis that does not answer must not hold mu for long.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.ps.Unsubscribe(ctx, s.channel); err != nil {
		// The next reconnect drops it; until then Run ignores its messages.
		h.log.Warn("unsubscribe from live channel failed", "channel", s.channel, "err", err)
	}
}

// Subscribers returns how many subscriptions are open on this replica.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, ch := range h.channels {
		if ch.confirmed {
			n += len(ch.subs)
		}
	}
	return n
}

// Run delivers what Redis sends to the local subscribers until ctx ends,
// then ends every subscription with ErrClosed and closes the Redis
// subscription connection. go-redis reconnects by itself; the subscribers
// of a channel it had to subscribe again are ended with ErrFeedLost.
func (h *Hub) Run(ctx context.Context) error {
	msgs := h.ps.ChannelWithSubscriptions(redis.WithChannelSize(1024))
	defer h.stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				return nil
			}
			switch m := m.(type) {
			case *redis.Subscription:
				if m.Kind == "subscribe" {
					h.confirm(m.Channel)
				}
			case *redis.Message:
				h.deliver(m)
			}
		}
	}
}

func (h *Hub) stop() {
	h.mu.Lock()
	h.stopped = true
	for _, ch := range h.channels {
		for s := range ch.subs {
			s.end(ErrClosed)
		}
	}
	h.channels = map[string]*channel{}
	h.mu.Unlock()
	close(h.closed)
	if err := h.ps.Close(); err != nil {
		h.log.Warn("close live subscription connection", "err", err)
	}
}

// confirm handles Redis confirming a SUBSCRIBE: the one a new channel waits
// for, or one go-redis sent again after reconnecting, which means updates
// may have been lost in between.
func (h *Hub) confirm(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := h.channels[name]
	if h.expected[name] > 0 {
		h.expected[name]--
		if h.expected[name] == 0 {
			delete(h.expected, name)
		}
		if ch != nil && !ch.confirmed && h.expected[name] == 0 {
			ch.confirmed = true
			close(ch.ready)
		}
		return
	}
	if ch == nil || !ch.confirmed {
		return
	}
	h.log.Warn("live feed resubscribed after a Redis reconnect; ending its subscriptions", "channel", name, "subscribers", len(ch.subs))
	for s := range ch.subs {
		h.dropped.WithLabelValues("feed_lost").Inc()
		h.remove(s, ErrFeedLost) // the last one unsubscribes
	}
}

func (h *Hub) deliver(m *redis.Message) {
	var u chargeplanev1.LiveUpdate
	if err := proto.Unmarshal([]byte(m.Payload), &u); err != nil {
		h.log.Warn("dropping undecodable live update", "channel", m.Channel, "err", err)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := h.channels[m.Channel]
	if ch == nil || !ch.confirmed {
		return
	}
	for s := range ch.subs {
		if !s.filter.match(&u) {
			continue
		}
		select {
		case s.c <- &u: // shared: subscribers only read it
			h.delivered.Inc()
		default:
			h.dropped.WithLabelValues("slow").Inc()
			h.remove(s, ErrSlowSubscriber)
		}
	}
}
