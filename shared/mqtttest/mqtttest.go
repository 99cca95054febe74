// Package mqtttest holds MQTT helpers for tests of both tiers: an in-process
// broker on 127.0.0.1:0 for tests that must stop, restart or lose the broker
// (Broker, Start), and clients of the real broker the normal paths are tested
// against (URL, MustConnect, MustReach; Mosquitto on TEST_MQTT_URL, default
// tcp://127.0.0.1:1883).
//
// Test code only: production code never imports this package. The cloud's
// embedded production broker is cloud/broker.
package mqtttest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// DefaultURL is the real broker used when TEST_MQTT_URL is unset.
const DefaultURL = "tcp://127.0.0.1:1883"

// URL returns TEST_MQTT_URL or DefaultURL.
func URL() string {
	if u := os.Getenv("TEST_MQTT_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// Broker starts an in-process broker that lets every client do anything,
// listening on 127.0.0.1 at a free port, and returns its URL
// (tcp://127.0.0.1:port). It is closed when the test ends.
func Broker(tb testing.TB) string {
	tb.Helper()
	return Start(tb).URL()
}

// Server is an in-process broker that a test can stop and restart on the
// same address.
type Server struct {
	tb   testing.TB
	addr string // fixed after the first start

	mu  sync.Mutex
	srv *mqtt.Server // nil while stopped
}

// Start starts a broker like Broker does and returns it, for tests that
// stop or restart it. It is stopped when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{tb: tb, addr: "127.0.0.1:0"}
	s.start()
	tb.Cleanup(s.Stop)
	return s
}

// URL returns tcp://host:port of the broker.
func (s *Server) URL() string { return "tcp://" + s.addr }

// Addr returns the broker's host:port.
func (s *Server) Addr() string { return s.addr }

// Stop closes the broker and disconnects its clients without sending them
// anything, as a crash would (their wills are published to no one). Sessions
// and retained messages are lost. Stopping a stopped broker does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return
	}
	_ = s.srv.Close() // always nil
	s.srv = nil
}

// Restart stops the broker if it runs and starts a new one on the same
// address.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	s.start()
}

func (s *Server) start() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	// The broker's own logs would outlive the test; tests look at what
	// clients saw instead.
	srv := mqtt.New(&mqtt.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		s.tb.Fatalf("mqtttest: add auth hook: %v", err)
	}
	tcp := listeners.NewTCP(listeners.Config{Type: listeners.TypeTCP, ID: "tcp", Address: s.addr})
	// Go listeners set SO_REUSEADDR, so the address of a stopped broker binds
	// again at once.
	if err := srv.AddListener(tcp); err != nil {
		s.tb.Fatalf("mqtttest: listen on %s: %v", s.addr, err)
	}
	if err := srv.Serve(); err != nil {
		s.tb.Fatalf("mqtttest: serve: %v", err)
	}
	s.addr = tcp.Address()
	s.srv = srv
}

// MustReach fails the test, naming the broker and how to start it, unless a
// TCP connection to brokerURL succeeds.
func MustReach(tb testing.TB, brokerURL string) {
	tb.Helper()
	u, err := url.Parse(brokerURL)
	if err != nil || u.Host == "" {
		tb.Fatalf("mqtttest: broker URL %q: want tcp://host:port", brokerURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := new(net.Dialer).DialContext(ctx, "tcp", u.Host)
	if err != nil {
		tb.Fatalf("mqtttest: MQTT broker is not reachable at %s (TEST_MQTT_URL): %v\n"+
			"Start Mosquitto (for example `service mosquitto start`; it must allow anonymous clients on 127.0.0.1:1883) or point TEST_MQTT_URL at one.",
			brokerURL, err)
	}
	_ = conn.Close()
}

// MustConnect connects a client to brokerURL with a clean session and
// disconnects it when the test ends. configure, if given, adjusts the
// options before connecting.
func MustConnect(tb testing.TB, brokerURL, clientID string, configure ...func(*paho.ClientOptions)) paho.Client {
	tb.Helper()
	MustReach(tb, brokerURL)
	opts := paho.NewClientOptions().
		AddBroker(brokerURL).
		SetClientID(clientID).
		SetCleanSession(true).
		SetConnectTimeout(5 * time.Second).
		SetAutoReconnect(true)
	for _, f := range configure {
		f(opts)
	}
	c := paho.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		tb.Fatalf("mqtttest: connect %s to %s: timed out", clientID, brokerURL)
	}
	if err := tok.Error(); err != nil {
		tb.Fatalf("mqtttest: connect %s to %s: %v", clientID, brokerURL, err)
	}
	tb.Cleanup(func() { c.Disconnect(250) })
	return c
}

// ErrTimeout is what Wait reports for a token that did not complete in time.
var ErrTimeout = errors.New("mqtt operation timed out")

// Wait waits up to 10 s for tok and returns its error.
func Wait(tok paho.Token) error {
	if !tok.WaitTimeout(10 * time.Second) {
		return ErrTimeout
	}
	return tok.Error()
}

// MustPublish publishes payload to topic with QoS 1 and waits for the
// broker's PUBACK.
func MustPublish(tb testing.TB, c paho.Client, topic string, payload []byte, retained bool) {
	tb.Helper()
	if err := Wait(c.Publish(topic, 1, retained, payload)); err != nil {
		tb.Fatalf("mqtttest: publish to %s: %v", topic, err)
	}
}

// ForgetSession discards the persistent session a broker keeps for clientID
// (connecting with a clean session does that), so that a test's consumer
// does not leave a session queueing messages on the shared broker forever.
// It only logs when the broker cannot be reached: by then there is no
// session to forget.
func ForgetSession(tb testing.TB, brokerURL, clientID string) {
	tb.Helper()
	opts := paho.NewClientOptions().AddBroker(brokerURL).SetClientID(clientID).
		SetCleanSession(true).SetConnectTimeout(5 * time.Second)
	c := paho.NewClient(opts)
	if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		c.Disconnect(100)
		return
	}
	tb.Logf("mqtttest: could not clear the session of %s at %s", clientID, brokerURL)
}
