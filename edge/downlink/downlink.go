// Package downlink receives commands for the site's chargers from the cloud
// over MQTT ({root}/{tenant}/{edge}/down/commands, QoS 1) and executes each
// through the charger's live session (adapter.Registry), which stores the
// outcome as a CommandResult event that the uplink carries back. A message
// is acknowledged to the broker only after its result is stored, and the
// subscription uses a persistent session, so commands sent while the edge
// was offline are delivered when it reconnects (unless they expired).
//
// It uses its own MQTT client, separate from the uplink's publisher: paho
// races when it resumes a persistent session while publishes are queued.
package downlink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/chargeplane/chargeplane/edge/adapter"
	"github.com/chargeplane/chargeplane/edge/command"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/topic"
)

// Config holds the downlink's broker settings. The integrator fills the
// login and TLS fields from the uplink's (uplink.Config.MQTTCredentials and
// uplink.Config.TLSConfig), so both clients present the same identity.
type Config struct {
	MQTTURL  string
	ClientID string
	Username string
	Password string
	// TLSConfig verifies the broker for ssl://, tls:// and mqtts:// URLs;
	// nil means paho's default (the system roots).
	TLSConfig *tls.Config
	// TopicRoot is shared with the cloud.
	TopicRoot string
	// Concurrency bounds commands executed at once (each waits for its charger).
	Concurrency int
	// RetryMin and RetryMax bound the reconnect backoff.
	RetryMin, RetryMax time.Duration
}

// Downlink executes the cloud's commands.
type Downlink struct {
	cfg      Config
	tenantID string
	edgeID   string
	registry *adapter.Registry
	exec     Executor
	now      func() time.Time
	log      *slog.Logger

	received *prometheus.CounterVec
}

// Executor carries a command out through the edge's control (control.Book):
// starts are authorized and linked to the session they open, amount limits
// are enforced, and other kinds go straight to the charger.
type Executor interface {
	Execute(ctx context.Context, chargerID, protocol string, cmd command.Command) (command.Result, error)
}

// New builds a downlink for one edge. Commands run through exec; registry names the
// charger's protocol and records commands that expired unexecuted.
func New(cfg Config, tenantID, edgeID string, registry *adapter.Registry, exec Executor, now func() time.Time,
	logger *slog.Logger, reg prometheus.Registerer,
) *Downlink {
	d := &Downlink{
		cfg: cfg, tenantID: tenantID, edgeID: edgeID, registry: registry, exec: exec, now: now,
		log: logger.With("component", "downlink"),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chargeplane_downlink_commands_total",
			Help: "Commands received from the cloud, by outcome.",
		}, []string{"outcome"}),
	}
	reg.MustRegister(d.received)
	return d
}

// Run subscribes and executes commands until ctx ends.
func (d *Downlink) Run(ctx context.Context) error {
	space, err := topic.New(d.cfg.TopicRoot)
	if err != nil {
		return fmt.Errorf("downlink: %w", err)
	}
	sub := space.Stream(d.tenantID, d.edgeID, topic.Down, topic.KindCommands)
	// The handler only enqueues (backpressure on the broker when full);
	// workers execute, and each message is acked after its result is stored.
	queue := make(chan mqtt.Message, d.cfg.Concurrency)
	opts := mqtt.NewClientOptions().
		AddBroker(d.cfg.MQTTURL).
		SetClientID(d.cfg.ClientID).
		SetUsername(d.cfg.Username).
		SetPassword(d.cfg.Password).
		SetCleanSession(false).
		SetKeepAlive(30 * time.Second).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(d.cfg.RetryMin).
		SetMaxReconnectInterval(d.cfg.RetryMax).
		SetAutoAckDisabled(true).
		SetOrderMatters(true).
		SetOnConnectHandler(func(c mqtt.Client) {
			// Subscribing again on every connect is harmless and covers a
			// broker that lost the session.
			c.Subscribe(sub, 1, func(_ mqtt.Client, m mqtt.Message) {
				select {
				case queue <- m:
				case <-ctx.Done():
				}
			})
			d.log.Info("listening for commands", "topic", sub)
		})
	if d.cfg.TLSConfig != nil {
		opts.SetTLSConfig(d.cfg.TLSConfig)
	}
	client := mqtt.NewClient(opts)
	client.Connect()

	var wg sync.WaitGroup
	for range d.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case m := <-queue:
					d.handle(ctx, m.Payload())
					// A command cut short by shutdown is left unacked: the
					// broker delivers it again after the restart.
					if ctx.Err() == nil {
						m.Ack()
					}
				}
			}
		}()
	}
	<-ctx.Done()
	// Unacked commands stay with the broker's session and come back.
	client.Disconnect(250)
	wg.Wait()
	return nil
}

// errExpired marks a command that waited too long to be run.
var errExpired = errors.New("expired")

// handle decodes and executes one command; its outcome is stored by the
// registry as a CommandResult event.
func (d *Downlink) handle(ctx context.Context, payload []byte) {
	var c chargeplanev1.ChargerCommand
	if err := proto.Unmarshal(payload, &c); err != nil {
		d.received.WithLabelValues("undecodable").Inc()
		d.log.Warn("dropped a command that does not decode", "err", err, "bytes", len(payload))
		return
	}
	log := d.log.With("command_id", c.GetCommandId(), "charger_id", c.GetChargerId(), "kind", c.GetKind())
	if c.GetCommandId() == "" || c.GetChargerId() == "" {
		d.received.WithLabelValues("invalid").Inc()
		log.Warn("dropped a command without command_id or charger_id")
		return
	}
	cmd := command.Command{
		ID: c.GetCommandId(), Kind: c.GetKind(), Connector: c.GetConnector(),
		Limit: c.GetLimit(), Params: c.GetParams(),
	}
	protocol, _ := d.registry.Protocol(c.GetChargerId())
	if exp := c.GetExpiresAt(); exp != nil && d.now().After(exp.AsTime()) {
		d.received.WithLabelValues("expired").Inc()
		if err := d.registry.Reject(ctx, c.GetChargerId(), protocol, cmd, errExpired); err != nil {
			log.Error("store expired command result", "err", err)
		}
		return
	}
	res, err := d.exec.Execute(ctx, c.GetChargerId(), protocol, cmd)
	d.received.WithLabelValues(res.Status).Inc()
	if err != nil {
		log.Warn("command failed", "status", res.Status, "err", err)
		return
	}
	log.Info("command done", "status", res.Status, "detail", res.Detail)
}
