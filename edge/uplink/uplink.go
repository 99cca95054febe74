package uplink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"connectrpc.com/connect"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/chargeplane/chargeplane/edge/store"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1/chargeplanev1connect"
	"github.com/chargeplane/chargeplane/shared/topic"
)

// Config holds the uplink settings.
type Config struct {
	// MQTTURL is the broker address, tcp://host:port (or ssl://).
	MQTTURL string `yaml:"mqtt_url"`
	// ClientID identifies the edge to the broker (one connection per id);
	// empty means "chargeplane-edge-<edge id>".
	ClientID string `yaml:"client_id"`
	Username string `yaml:"username"`
	Password string `yaml:"password" secret:"true"`
	// TopicRoot is the MQTT topic root shared with the cloud.
	TopicRoot string `yaml:"topic_root"`
	// CloudURL is the cloud's Connect-RPC base URL (http://host:port).
	CloudURL string `yaml:"cloud_url"`
	// BatchEvents caps events per MQTT message.
	BatchEvents int `yaml:"batch_events"`
	// PublishTimeout bounds the wait for the broker's PUBACK.
	PublishTimeout time.Duration `yaml:"publish_timeout"`
	// RetryMin and RetryMax bound the backoff between failed attempts.
	RetryMin time.Duration `yaml:"retry_min"`
	RetryMax time.Duration `yaml:"retry_max"`
}

// DefaultConfig returns loopback defaults.
func DefaultConfig() Config {
	return Config{
		MQTTURL:        "tcp://127.0.0.1:1883",
		TopicRoot:      topic.DefaultRoot,
		CloudURL:       "http://127.0.0.1:8080",
		BatchEvents:    500,
		PublishTimeout: 10 * time.Second,
		RetryMin:       500 * time.Millisecond,
		RetryMax:       30 * time.Second,
	}
}

// Validate reports every problem, each naming its key.
func (c Config) Validate() error {
	var errs []error
	if c.MQTTURL == "" {
		errs = append(errs, errors.New("uplink.mqtt_url: required"))
	}
	if _, err := topic.New(c.TopicRoot); err != nil {
		errs = append(errs, fmt.Errorf("uplink.topic_root: %w", err))
	}
	if c.CloudURL == "" {
		errs = append(errs, errors.New("uplink.cloud_url: required"))
	}
	if c.BatchEvents < 1 || c.BatchEvents > 10000 {
		errs = append(errs, errors.New("uplink.batch_events: must be 1–10000"))
	}
	if c.PublishTimeout <= 0 {
		errs = append(errs, errors.New("uplink.publish_timeout: must be positive"))
	}
	if c.RetryMin <= 0 || c.RetryMax < c.RetryMin {
		errs = append(errs, errors.New("uplink.retry_min/retry_max: need 0 < retry_min <= retry_max"))
	}
	return errors.Join(errs...)
}

// Status is what the admin page shows about the link to the cloud.
type Status struct {
	Connected     bool
	LastPublish   time.Time
	LastError     string
	CloudLastSeq  uint64
	LastHandshake time.Time
}

// Uplink drains the store to the cloud.
type Uplink struct {
	cfg      Config
	tenantID string
	edgeID   string
	version  string
	store    *store.Store
	space    topic.Space
	log      *slog.Logger
	sync     chargeplanev1connect.SyncServiceClient

	published prometheus.Counter
	batches   prometheus.Counter
	failures  prometheus.Counter
	connected prometheus.Gauge

	// connectedCh receives a signal on every (re)connect.
	connectedCh chan struct{}

	mu     sync.Mutex
	status Status
}

// New builds an uplink for one edge.
func New(cfg Config, tenantID, edgeID, version string, st *store.Store, logger *slog.Logger, reg prometheus.Registerer) (*Uplink, error) {
	space, err := topic.New(cfg.TopicRoot)
	if err != nil {
		return nil, fmt.Errorf("uplink: %w", err)
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "chargeplane-edge-" + edgeID
	}
	rc := retryablehttp.NewClient()
	rc.RetryWaitMin = cfg.RetryMin
	rc.RetryWaitMax = cfg.RetryMax
	rc.RetryMax = 3
	rc.Logger = nil
	u := &Uplink{
		cfg: cfg, tenantID: tenantID, edgeID: edgeID, version: version, store: st, space: space,
		log:  logger.With("component", "uplink"),
		sync: chargeplanev1connect.NewSyncServiceClient(rc.StandardClient(), cfg.CloudURL),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chargeplane_uplink_published_events_total", Help: "Events confirmed by the broker.",
		}),
		batches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chargeplane_uplink_published_batches_total", Help: "MQTT messages confirmed by the broker.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chargeplane_uplink_publish_failures_total", Help: "Publishes that failed or timed out.",
		}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chargeplane_uplink_connected", Help: "1 while the MQTT connection is up.",
		}),
		connectedCh: make(chan struct{}, 1),
	}
	reg.MustRegister(u.published, u.batches, u.failures, u.connected)
	return u, nil
}

// Status returns a snapshot of the link state.
func (u *Uplink) Status() Status {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.status
}

func (u *Uplink) setStatus(f func(*Status)) {
	u.mu.Lock()
	f(&u.status)
	u.mu.Unlock()
}

// Run connects and drains until ctx ends. Broker or cloud outages are
// retried forever; only ctx ends it.
func (u *Uplink) Run(ctx context.Context) error {
	stateTopic := u.space.State(u.tenantID, u.edgeID)
	opts := mqtt.NewClientOptions().
		AddBroker(u.cfg.MQTTURL).
		SetClientID(u.cfg.ClientID).
		SetUsername(u.cfg.Username).
		SetPassword(u.cfg.Password).
		// A clean session: what must survive an outage is in the store's
		// outbox, not in the broker session. (paho also races when it resumes
		// a persistent session while new publishes are queued.)
		SetCleanSession(true).
		SetKeepAlive(30*time.Second).
		SetConnectTimeout(10*time.Second).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(u.cfg.RetryMin).
		SetMaxReconnectInterval(u.cfg.RetryMax).
		SetWill(stateTopic, topic.StateOffline, 1, true).
		SetOnConnectHandler(func(c mqtt.Client) {
			u.connected.Set(1)
			u.setStatus(func(s *Status) { s.Connected = true })
			u.log.Info("connected to broker", "broker", u.cfg.MQTTURL)
			// Publishing from the handler must not block it: paho waits for
			// this handler before it processes acknowledgements.
			c.Publish(stateTopic, 1, true, topic.StateOnline)
			select {
			case u.connectedCh <- struct{}{}:
			default:
			}
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			u.connected.Set(0)
			u.setStatus(func(s *Status) { s.Connected = false; s.LastError = err.Error() })
			u.log.Warn("lost broker connection", "err", err)
		})
	client := mqtt.NewClient(opts)
	client.Connect() // with ConnectRetry the token completes only on success; the drain loop waits for connectedCh.
	defer func() {
		if client.IsConnectionOpen() {
			// A clean stop says so explicitly; the will covers crashes.
			t := client.Publish(stateTopic, 1, true, topic.StateOffline)
			t.WaitTimeout(2 * time.Second)
		}
		client.Disconnect(250)
		u.connected.Set(0)
	}()

	handshakeNow := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		u.handshakeLoop(ctx, handshakeNow)
	}()
	err := u.drain(ctx, client, handshakeNow)
	wg.Wait()
	return err
}

// drain publishes the outbox in seq order, one batch in flight, acking each
// batch in the store once the broker confirmed it.
func (u *Uplink) drain(ctx context.Context, client mqtt.Client, handshakeNow chan<- struct{}) error {
	eventsTopic := u.space.Stream(u.tenantID, u.edgeID, topic.Up, topic.KindEvents)
	backoff := u.cfg.RetryMin
	var after uint64
	for {
		if !client.IsConnectionOpen() {
			select {
			case <-ctx.Done():
				return nil
			case <-u.connectedCh:
				select {
				case handshakeNow <- struct{}{}:
				default:
				}
			}
			continue
		}
		evs, err := u.store.Pending(ctx, after, u.cfg.BatchEvents)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read outbox: %w", err)
		}
		if len(evs) == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-u.store.Appended():
			case <-u.connectedCh:
			}
			continue
		}
		payload, err := proto.Marshal(&chargeplanev1.EventBatch{Events: evs})
		if err != nil {
			return fmt.Errorf("marshal batch: %w", err)
		}
		last := evs[len(evs)-1].GetSeq()
		tok := client.Publish(eventsTopic, 1, false, payload)
		if err := waitToken(ctx, tok, u.cfg.PublishTimeout); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			u.failures.Inc()
			u.setStatus(func(s *Status) { s.LastError = err.Error() })
			u.log.Warn("publish failed; will retry", "err", err, "seq", last, "backoff", backoff)
			if !sleep(ctx, backoff) {
				return nil
			}
			backoff = min(backoff*2, u.cfg.RetryMax)
			continue
		}
		backoff = u.cfg.RetryMin
		// The broker has the batch; a crash before this Ack only resends it,
		// and the cloud drops the duplicates by (edge_id, seq).
		if err := u.store.Ack(context.WithoutCancel(ctx), last); err != nil {
			return fmt.Errorf("ack outbox to %d: %w", last, err)
		}
		after = last
		u.published.Add(float64(len(evs)))
		u.batches.Inc()
		u.setStatus(func(s *Status) { s.LastPublish = time.Now() })
	}
}

var errPublishTimeout = errors.New("no PUBACK before publish_timeout") //nolint:gochecknoglobals // sentinel

func waitToken(ctx context.Context, tok mqtt.Token, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		return nil
	case <-timer.C:
		return errPublishTimeout
	case <-ctx.Done():
		return fmt.Errorf("publish: %w", ctx.Err())
	}
}

// handshakeLoop calls SyncService.Handshake at start and after every
// reconnect, retrying with backoff until it succeeds.
func (u *Uplink) handshakeLoop(ctx context.Context, now <-chan struct{}) {
	for {
		backoff := u.cfg.RetryMin
		for {
			err := u.handshake(ctx)
			if err == nil || ctx.Err() != nil {
				break
			}
			u.log.Warn("cloud handshake failed; will retry", "err", err, "backoff", backoff)
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(backoff*2, u.cfg.RetryMax)
		}
		select {
		case <-ctx.Done():
			return
		case <-now:
		}
	}
}

func (u *Uplink) handshake(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	resp, err := u.sync.Handshake(ctx, connect.NewRequest(&chargeplanev1.HandshakeRequest{
		EdgeId: u.edgeID, TenantId: u.tenantID, AgentVersion: u.version, LastSeq: u.store.LastSeq(),
	}))
	if err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	u.setStatus(func(s *Status) {
		s.CloudLastSeq = resp.Msg.GetLastStoredSeq()
		s.LastHandshake = time.Now()
	})
	u.log.Info("cloud handshake ok", "cloud_version", resp.Msg.GetCloudVersion(),
		"cloud_last_seq", resp.Msg.GetLastStoredSeq(), "seq", u.store.LastSeq())
	return nil
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
