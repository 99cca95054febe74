// Package broker is the MQTT broker the cloud can embed for single-machine
// setups (ARCHITECTURE.md, "Scale"): a mochi-mqtt server on one TCP
// listener, started by cloud/server when broker.embedded_addr is set.
// Production installs use an external broker (EMQX, Mosquitto) instead.
//
// It does not authenticate: any client that reaches the listener may publish
// and subscribe to anything, which is why the default address is loopback.
// Client authentication and topic ACLs come with the authentication issue.
//
// Tests that need a broker they can stop use shared/mqtttest, not this
// package.
package broker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Config is the embedded broker's configuration.
type Config struct {
	// Addr is the TCP host:port to listen on; port 0 picks a free one.
	Addr string
}

// Broker is a running embedded broker.
type Broker struct {
	srv    *mqtt.Server
	addr   string
	logger *slog.Logger

	closeOnce sync.Once
}

// New creates the broker and binds its listener, so Addr is known before
// Run; clients are served once Run is called.
func New(cfg Config, logger *slog.Logger) (*Broker, error) {
	logger = logger.With("component", "broker")
	srv := mqtt.New(&mqtt.Options{Logger: logger})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, fmt.Errorf("broker: add auth hook: %w", err)
	}
	tcp := listeners.NewTCP(listeners.Config{Type: listeners.TypeTCP, ID: "tcp", Address: cfg.Addr})
	if err := srv.AddListener(tcp); err != nil {
		return nil, fmt.Errorf("broker: listen on %s: %w", cfg.Addr, err)
	}
	b := &Broker{srv: srv, addr: tcp.Address(), logger: logger}
	if host, _, err := net.SplitHostPort(b.addr); err == nil {
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			logger.Warn("embedded MQTT broker listens beyond loopback and does not authenticate clients", "remote", b.addr)
		}
	}
	return b, nil
}

// Addr returns the host:port the broker listens on.
func (b *Broker) Addr() string { return b.addr }

// URL returns the broker's address as an MQTT URL (tcp://host:port).
func (b *Broker) URL() string { return "tcp://" + b.addr }

// Run serves clients until ctx ends, then closes the broker.
func (b *Broker) Run(ctx context.Context) error {
	if err := b.srv.Serve(); err != nil {
		return fmt.Errorf("broker: serve: %w", err)
	}
	<-ctx.Done()
	return b.Close()
}

// Close disconnects every client and stops listening. It is safe to call
// more than once.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		_ = b.srv.Close() // always returns nil
	})
	return nil
}
