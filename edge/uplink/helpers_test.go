package uplink

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	paho "github.com/eclipse/paho.mqtt.golang"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/edge/store"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1/chargeplanev1connect"
	"github.com/chargeplane/chargeplane/shared/mqtttest"
	"github.com/chargeplane/chargeplane/shared/topic"
)

const (
	testTenant = "t1"
	testEdge   = "edge-u1"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// uniqueID makes client ids and topic roots that no other test on the
// shared broker uses.
func uniqueID(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), time.Now().UnixNano())
}

// testConfig is an uplink config for brokerURL and cloudURL with fast
// retries, its own topic root and client id, and polls that never fire
// during a test (so only the behaviour under test triggers calls).
func testConfig(brokerURL, cloudURL string) Config {
	cfg := DefaultConfig()
	cfg.MQTTURL = brokerURL
	cfg.CloudURL = cloudURL
	cfg.TopicRoot = uniqueID("test") + "/cp/v1"
	cfg.ClientID = uniqueID("uplink-test")
	cfg.RetryMin = 20 * time.Millisecond
	cfg.RetryMax = 200 * time.Millisecond
	cfg.PublishTimeout = 5 * time.Second
	cfg.CallTimeout = 5 * time.Second
	cfg.SessionPoll = 50 * time.Millisecond
	cfg.ConfigPoll = time.Hour
	return cfg
}

// openStore opens the real Badger store in dir; it is closed when the test
// ends (closing twice is fine).
func openStore(tb testing.TB, dir string, durable bool) *store.Store {
	tb.Helper()
	scfg := store.DefaultConfig()
	scfg.Dir = dir
	scfg.Durable = durable
	st, err := store.Open(scfg, testEdge, discard(), prometheus.NewRegistry())
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

func heartbeat(i int) *chargeplanev1.Event {
	return &chargeplanev1.Event{
		OccurredAt: timestamppb.Now(), ChargerId: fmt.Sprintf("c%d", i%7), Protocol: "bkv",
		Kind: &chargeplanev1.Event_Heartbeat{Heartbeat: &chargeplanev1.Heartbeat{Signal: int32(i % 31)}},
	}
}

func sessionEnded(ref string, energyMWh int64) *chargeplanev1.Event {
	return &chargeplanev1.Event{
		OccurredAt: timestamppb.Now(), ChargerId: "c1", Connector: 1, Protocol: "bkv",
		Kind: &chargeplanev1.Event_SessionEnded{SessionEnded: &chargeplanev1.SessionEnded{
			SessionRef: ref, EnergyMwh: energyMWh, AmountFen: energyMWh / 10_000, CardId: "card-1", AuthMethod: "card",
		}},
	}
}

func appendAll(tb testing.TB, st *store.Store, evs ...*chargeplanev1.Event) {
	tb.Helper()
	if err := st.Append(context.Background(), evs...); err != nil {
		tb.Fatalf("append: %v", err)
	}
}

// appendHeartbeats stores n heartbeats, 500 per append.
func appendHeartbeats(tb testing.TB, st *store.Store, n int) {
	tb.Helper()
	evs := make([]*chargeplanev1.Event, 0, 500)
	for i := range n {
		evs = append(evs, heartbeat(i))
		if len(evs) == cap(evs) || i == n-1 {
			appendAll(tb, st, evs...)
			evs = evs[:0]
		}
	}
}

func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// running is an uplink started by startUplink.
type running struct {
	*Uplink
	reg  *prometheus.Registry
	stop func()
}

// startUplink runs an uplink until the returned stop (or the test's end),
// which fails the test if Run returned an error.
func startUplink(tb testing.TB, cfg Config, st *store.Store, sessions SessionSource, sink ConfigSink,
	logger *slog.Logger,
) running {
	tb.Helper()
	reg := prometheus.NewRegistry()
	u, err := New(cfg, testTenant, testEdge, "test", st, sessions, sink, logger, reg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				tb.Errorf("Run: %v", err)
			}
		})
	}
	tb.Cleanup(stop)
	return running{Uplink: u, reg: reg, stop: stop}
}

// metricValue reads a gauge or counter from reg (0 when absent), summed
// over the series whose labels include the given name/value pairs.
func metricValue(tb testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var sum float64
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					found = found || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
				}
				if !found {
					continue series
				}
			}
			sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
		return sum
	}
	return 0
}

// subscriber collects every event batch and state published under a topic
// root, resubscribing after reconnects.
type subscriber struct {
	mu     sync.Mutex
	seqs   []uint64
	states []string
	counts map[uint64]int
}

func subscribe(tb testing.TB, brokerURL string, space topic.Space) *subscriber {
	tb.Helper()
	s := &subscriber{counts: map[uint64]int{}}
	handler := func(_ paho.Client, m paho.Message) {
		s.mu.Lock()
		defer s.mu.Unlock()
		t, err := space.Parse(m.Topic())
		if err != nil { // the state topic has no direction
			s.states = append(s.states, string(m.Payload()))
			return
		}
		if t.Kind != topic.KindEvents {
			return
		}
		var b chargeplanev1.EventBatch
		if err := proto.Unmarshal(m.Payload(), &b); err != nil {
			tb.Errorf("bad payload on %s: %v", m.Topic(), err)
			return
		}
		for _, e := range b.GetEvents() {
			s.seqs = append(s.seqs, e.GetSeq())
			s.counts[e.GetSeq()]++
		}
	}
	ready := make(chan struct{}, 1)
	mqtttest.MustConnect(tb, brokerURL, uniqueID("uplink-test-sub"), func(o *paho.ClientOptions) {
		o.SetConnectRetry(true).SetConnectRetryInterval(20 * time.Millisecond).
			SetMaxReconnectInterval(100 * time.Millisecond).
			SetOnConnectHandler(func(c paho.Client) {
				tok := c.Subscribe(space.Root()+"/#", 1, handler)
				if tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
					select {
					case ready <- struct{}{}:
					default:
					}
				}
			})
	})
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		tb.Fatalf("subscriber: no SUBACK from %s", brokerURL)
	}
	return s
}

func (s *subscriber) snapshot() ([]uint64, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seqs), slices.Clone(s.states)
}

// distinct returns how many different seqs arrived and whether every seq in
// 1..n is among them.
func (s *subscriber) covers(n uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for seq := uint64(1); seq <= n; seq++ {
		if s.counts[seq] == 0 {
			return false
		}
	}
	return true
}

func (s *subscriber) count(seq uint64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[seq]
}

// testBroker is an in-process mochi broker on 127.0.0.1 with extra hooks,
// optional TLS and an optional login; it can be restarted on the same
// address (sessions are lost, as in a crash).
type testBroker struct {
	tb     testing.TB
	addr   string
	scheme string
	opts   brokerOpts

	mu  sync.Mutex
	srv *mochi.Server
}

type brokerOpts struct {
	hooks []mochi.Hook
	tls   *tls.Config
	// login, when set, is the only username/password accepted.
	login *[2]string
}

func startBroker(tb testing.TB, opts brokerOpts) *testBroker {
	tb.Helper()
	b := &testBroker{tb: tb, addr: "127.0.0.1:0", scheme: "tcp", opts: opts}
	if opts.tls != nil {
		b.scheme = "ssl"
	}
	b.start()
	tb.Cleanup(b.stop)
	return b
}

func (b *testBroker) url() string { return b.scheme + "://" + b.addr }

func (b *testBroker) start() {
	b.tb.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	srv := mochi.New(&mochi.Options{Logger: discard(), InlineClient: true})
	if b.opts.login != nil {
		ledger := &auth.Ledger{Auth: auth.AuthRules{{
			Username: auth.RString(b.opts.login[0]), Password: auth.RString(b.opts.login[1]), Allow: true,
		}}}
		if err := srv.AddHook(new(auth.Hook), &auth.Options{Ledger: ledger}); err != nil {
			b.tb.Fatalf("broker: auth hook: %v", err)
		}
	} else if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		b.tb.Fatalf("broker: allow hook: %v", err)
	}
	for _, h := range b.opts.hooks {
		if err := srv.AddHook(h, nil); err != nil {
			b.tb.Fatalf("broker: hook %s: %v", h.ID(), err)
		}
	}
	l := listeners.NewTCP(listeners.Config{Type: listeners.TypeTCP, ID: "t", Address: b.addr, TLSConfig: b.opts.tls})
	if err := srv.AddListener(l); err != nil {
		b.tb.Fatalf("broker: listen on %s: %v", b.addr, err)
	}
	if err := srv.Serve(); err != nil {
		b.tb.Fatalf("broker: serve: %v", err)
	}
	b.addr = l.Address()
	b.srv = srv
}

func (b *testBroker) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		_ = b.srv.Close()
		b.srv = nil
	}
}

func (b *testBroker) restart() {
	b.stop()
	b.start()
}

// publish sends payload to topicName from the broker's inline client
// (QoS 1 to subscribers).
func (b *testBroker) publish(topicName, payload string) {
	b.tb.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.srv.Publish(topicName, []byte(payload), false, 1); err != nil {
		b.tb.Fatalf("broker publish %s: %v", topicName, err)
	}
}

// gateHook holds every PUBLISH on topics ending in suffix until open is
// called: the broker sends no PUBACK for them meanwhile (mochi calls
// OnPublish before it acknowledges).
type gateHook struct {
	mochi.HookBase
	suffix string
	gate   chan struct{}
	held   atomic.Int64
	once   sync.Once
}

func newGateHook(suffix string) *gateHook {
	return &gateHook{suffix: suffix, gate: make(chan struct{})}
}

func (h *gateHook) ID() string { return "gate" }

func (h *gateHook) Provides(b byte) bool { return b == mochi.OnPublish }

func (h *gateHook) OnPublish(_ *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if strings.HasSuffix(pk.TopicName, h.suffix) {
		h.held.Add(1)
		<-h.gate
	}
	return pk, nil
}

func (h *gateHook) open() { h.once.Do(func() { close(h.gate) }) }

// subscribeHook records whether a client has subscribed to a topic ending in
// suffix (OnSubscribe runs before the broker's SUBACK).
type subscribeHook struct {
	mochi.HookBase
	suffix string
	done   atomic.Bool
}

func (h *subscribeHook) ID() string { return "subscribed" }

func (h *subscribeHook) Provides(b byte) bool { return b == mochi.OnSubscribe }

func (h *subscribeHook) OnSubscribe(_ *mochi.Client, pk packets.Packet) packets.Packet {
	for _, f := range pk.Filters {
		if strings.HasSuffix(f.Filter, h.suffix) {
			h.done.Store(true)
		}
	}
	return pk
}

// cloud is a real Connect SyncService peer for the uplink's calls, recording
// what it receives. Its behaviour is set through its fields (under mu).
type cloud struct {
	mu           sync.Mutex
	auth         []string // Authorization header of every call
	handshakes   int
	handshakeErr error      // when set, Handshake fails with it
	pushes       [][]uint64 // seqs of every PushSessions request
	pushErr      error      // when set, PushSessions fails with it
	stored       map[uint64]bool
	skip         map[uint64]bool // neither stored nor duplicate
	foreign      []uint64        // reported stored although not sent
	version      uint64          // config_version returned by PushSessions
	config       *chargeplanev1.SiteConfig
	pulls        []pull
	subscribed   func() bool // for pulls: has the edge subscribed to hints yet
}

type pull struct {
	have           uint64
	afterSubscribe bool
}

func newCloud() *cloud { return &cloud{stored: map[uint64]bool{}, skip: map[uint64]bool{}} }

func (c *cloud) Handshake(_ context.Context, req *connect.Request[chargeplanev1.HandshakeRequest]) (*connect.Response[chargeplanev1.HandshakeResponse], error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.auth = append(c.auth, req.Header().Get("Authorization"))
	c.handshakes++
	if c.handshakeErr != nil {
		return nil, c.handshakeErr
	}
	return connect.NewResponse(&chargeplanev1.HandshakeResponse{
		ServerTime: timestamppb.Now(), CloudVersion: "test", LastStoredSeq: req.Msg.GetLastSeq(),
	}), nil
}

func (c *cloud) PushSessions(_ context.Context, req *connect.Request[chargeplanev1.PushSessionsRequest]) (*connect.Response[chargeplanev1.PushSessionsResponse], error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.auth = append(c.auth, req.Header().Get("Authorization"))
	var seqs []uint64
	for _, ev := range req.Msg.GetSessions() {
		seqs = append(seqs, ev.GetSeq())
	}
	c.pushes = append(c.pushes, seqs)
	if c.pushErr != nil {
		return nil, c.pushErr
	}
	resp := &chargeplanev1.PushSessionsResponse{ConfigVersion: c.version, StoredSeqs: slices.Clone(c.foreign)}
	for _, seq := range seqs {
		switch {
		case c.skip[seq]:
		case c.stored[seq]:
			resp.DuplicateSeqs = append(resp.DuplicateSeqs, seq)
		default:
			c.stored[seq] = true
			resp.StoredSeqs = append(resp.StoredSeqs, seq)
		}
	}
	return connect.NewResponse(resp), nil
}

func (c *cloud) PullConfig(_ context.Context, req *connect.Request[chargeplanev1.PullConfigRequest]) (*connect.Response[chargeplanev1.PullConfigResponse], error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.auth = append(c.auth, req.Header().Get("Authorization"))
	c.pulls = append(c.pulls, pull{have: req.Msg.GetHaveVersion(), afterSubscribe: c.subscribed != nil && c.subscribed()})
	if c.config == nil || c.config.GetVersion() <= req.Msg.GetHaveVersion() {
		return connect.NewResponse(&chargeplanev1.PullConfigResponse{}), nil
	}
	return connect.NewResponse(&chargeplanev1.PullConfigResponse{Changed: true, Config: proto.CloneOf(c.config)}), nil
}

func (c *cloud) set(f func(c *cloud)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(c)
}

func (c *cloud) get(f func(c *cloud)) { c.set(f) }

// serve starts a real HTTP server for c (TLS with cert when given) and
// returns its URL.
func (c *cloud) serve(tb testing.TB, cert *tls.Certificate) string {
	tb.Helper()
	mux := http.NewServeMux()
	mux.Handle(chargeplanev1connect.NewSyncServiceHandler(c))
	srv := httptest.NewUnstartedServer(mux)
	// Refused TLS handshakes are what some tests provoke.
	srv.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	if cert != nil {
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
		srv.StartTLS()
	} else {
		srv.Start()
	}
	tb.Cleanup(srv.Close)
	return srv.URL
}

// ledger is the session source over the real store: the store's ledger
// plus the config versions the uplink passed with each mark.
type ledger struct {
	st       *store.Store
	mu       sync.Mutex
	marked   []uint64
	versions []uint64
}

func (l *ledger) PendingSessions(ctx context.Context, limit int) ([]*chargeplanev1.Event, error) {
	return l.st.PendingSessions(ctx, limit)
}

func (l *ledger) PendingSessionCount() int64 { return l.st.PendingSessionCount() }

func (l *ledger) MarkSessionsSynced(ctx context.Context, seqs []uint64, configVersion uint64) error {
	if err := l.st.MarkSessionsSynced(ctx, seqs); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.marked = append(l.marked, seqs...)
	l.versions = append(l.versions, configVersion)
	return nil
}

func (l *ledger) snapshot() (marked, versions []uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.marked), slices.Clone(l.versions)
}

// sink is a ConfigSink that keeps what it was given.
type sink struct {
	mu      sync.Mutex
	version uint64
	applied []*chargeplanev1.SiteConfig
}

func (s *sink) ConfigVersion() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

func (s *sink) ApplyConfig(_ context.Context, cfg *chargeplanev1.SiteConfig) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version = cfg.GetVersion()
	s.applied = append(s.applied, cfg)
	return nil
}

// logRecorder is a slog handler that keeps every message, Debug included.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Message)
	return nil
}

func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

func (r *logRecorder) count(msg string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if m == msg {
			n++
		}
	}
	return n
}

// selfSignedCert makes a CA-flagged self-signed certificate for 127.0.0.1
// and localhost and writes it as PEM to a file in dir.
func selfSignedCert(tb testing.TB, dir string) (tls.Certificate, string) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "chargeplane uplink test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, path
}
