package command

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"google.golang.org/protobuf/proto"

	"github.com/chargeplane/chargeplane/shared/topic"
)

// ErrBrokerUnavailable reports a command the broker did not take: not
// connected, or no PUBACK in time.
var ErrBrokerUnavailable = errors.New("MQTT broker unavailable")

// SenderConfig says how to reach the broker.
type SenderConfig struct {
	// URL of the broker (tcp://host:port, ssl://…).
	URL string
	// ClientID must be unique per process; the session is clean.
	ClientID  string
	Username  string
	Password  string
	TopicRoot string
	// Timeout bounds connecting and each publish's wait for its PUBACK.
	Timeout time.Duration
}

// Sender publishes commands to edges over its own MQTT connection: the
// ingest consumer's reader blocks while its queue is full, and a command
// waiting for its PUBACK behind it would stall the API call that sent it.
// Build it with NewSender; it is connected while Run runs.
type Sender struct {
	cfg    SenderConfig
	space  topic.Space
	log    *slog.Logger
	client paho.Client
	lost   chan struct{} // cap 1: the connection dropped
}

// NewSender checks cfg and builds a Sender; nothing connects until Run.
func NewSender(cfg SenderConfig, logger *slog.Logger) (*Sender, error) {
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
		return nil, fmt.Errorf("command sender config: %w", errors.Join(errs...))
	}
	s := &Sender{cfg: cfg, space: space, log: logger.With("component", "command_sender"), lost: make(chan struct{}, 1)}
	// paho's own reconnect resends stored publishes while new ones go out
	// (the race cloud/hint describes); a command is never resent anyway
	// (it fails instead), so Run reconnects by hand with a clean session.
	s.client = paho.NewClient(paho.NewClientOptions().
		AddBroker(cfg.URL).
		SetClientID(cfg.ClientID).
		SetUsername(cfg.Username).
		SetPassword(cfg.Password).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectTimeout(cfg.Timeout).
		SetWriteTimeout(cfg.Timeout).
		SetKeepAlive(30 * time.Second).
		SetOnConnectHandler(func(paho.Client) {
			s.log.Info("connected to broker", "broker", cfg.URL, "client_id", cfg.ClientID)
		}).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			s.log.Warn("lost connection to broker; reconnecting", "err", err)
			select {
			case s.lost <- struct{}{}:
			default:
			}
		}))
	return s, nil
}

// Connected reports whether the sender can publish now, for readiness.
func (s *Sender) Connected() bool { return s.client.IsConnectionOpen() }

// Run connects to the broker, reconnecting after every loss with a growing
// wait, until ctx ends; then it disconnects. It returns nil.
func (s *Sender) Run(ctx context.Context) error {
	defer s.client.Disconnect(250)
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		tok := s.client.Connect()
		if !tok.WaitTimeout(s.cfg.Timeout) || tok.Error() != nil {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
			wait = min(2*wait, 10*time.Second)
			continue
		}
		wait = 100 * time.Millisecond
		select {
		case <-ctx.Done():
			return nil
		case <-s.lost:
		}
	}
	return nil
}

// Publish sends c to its edge with QoS 1 and returns once the broker
// acknowledged it. An error wraps ErrBrokerUnavailable when the broker did
// not take it.
func (s *Sender) Publish(ctx context.Context, c Command) error {
	payload, err := proto.Marshal(c.message())
	if err != nil {
		return fmt.Errorf("encode command: %w", err)
	}
	if !s.client.IsConnectionOpen() {
		return fmt.Errorf("not connected: %w", ErrBrokerUnavailable)
	}
	tok := s.client.Publish(s.space.Stream(c.TenantID, c.EdgeID, topic.Down, topic.KindCommands), 1, false, payload)
	timer := time.NewTimer(s.cfg.Timeout)
	defer timer.Stop()
	select {
	case <-tok.Done():
	case <-timer.C:
		return fmt.Errorf("no PUBACK within %s: %w", s.cfg.Timeout, ErrBrokerUnavailable)
	case <-ctx.Done():
		return fmt.Errorf("publish command: %w", ctx.Err())
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("%w: %w", ErrBrokerUnavailable, err)
	}
	return nil
}
