package uplink

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	mqtt "github.com/eclipse/paho.mqtt.golang"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/topic"
)

// errNoConfig reports a PullConfig answer that says "changed" but carries no
// config.
var errNoConfig = errors.New("cloud reported a changed config without one")

// configLoop keeps the sink's site config current. It pulls at start; after
// every MQTT connect, once it has subscribed to the config-changed hint (so
// any change made after that pull is hinted); every config_poll; and on a
// hint newer than the held version. A failed pull is retried with backoff.
//
// The hint subscription lives on the uplink's own clean-session client: a
// hint missed while disconnected is covered by the pull after the
// reconnect, so the persistent session (the downlink's, for commands) is
// not needed, and the hint stays next to the pull it triggers.
func (u *Uplink) configLoop(ctx context.Context, client mqtt.Client) {
	hintTopic := u.space.Stream(u.tenantID, u.edgeID, topic.Down, topic.KindConfig)
	poll := time.NewTicker(u.cfg.ConfigPoll)
	defer poll.Stop()
	var seen uint64
	first := true
	for {
		gen, next := u.conn.state()
		switch {
		case gen != seen:
			seen = gen
			u.subscribeHints(ctx, client, hintTopic)
		case first:
		default:
			select {
			case <-ctx.Done():
				return
			case <-next:
				continue
			case <-u.hint:
			case <-poll.C:
			}
		}
		first = false
		if !u.pullUntilDone(ctx) {
			return
		}
	}
}

// subscribeHints subscribes to the hint topic on the current connection.
// A failure is only logged: the periodic pull still keeps the config
// current, and the next reconnect subscribes again.
func (u *Uplink) subscribeHints(ctx context.Context, client mqtt.Client, hintTopic string) {
	tok := client.Subscribe(hintTopic, 1, func(_ mqtt.Client, m mqtt.Message) { u.onHint(m.Payload()) })
	timer := time.NewTimer(u.cfg.PublishTimeout)
	defer timer.Stop()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			u.log.Warn("subscribe to config hints failed; relying on config_poll", "err", err, "topic", hintTopic)
			return
		}
		u.log.Info("listening for config hints", "topic", hintTopic)
	case <-timer.C:
		u.log.Warn("subscribe to config hints timed out; relying on config_poll", "topic", hintTopic)
	case <-ctx.Done():
	}
}

// onHint runs on paho's router goroutine: it must not block.
func (u *Uplink) onHint(payload []byte) {
	v, err := strconv.ParseUint(strings.TrimSpace(string(payload)), 10, 64)
	if err != nil {
		u.log.Warn("ignored a config hint that is not a version number", "err", err, "bytes", len(payload))
		return
	}
	if held := u.sink.ConfigVersion(); v <= held {
		u.log.Debug("ignored a config hint not newer than the held config", "version", v, "config_version", held)
		return
	}
	select {
	case u.hint <- struct{}{}:
	default: // a pull is already due
	}
}

// pullUntilDone pulls until a pull succeeds; false when ctx ended first.
func (u *Uplink) pullUntilDone(ctx context.Context) bool {
	bo := newBackoff(u.cfg)
	for {
		err := u.pullConfig(ctx)
		if ctx.Err() != nil {
			return false
		}
		if err == nil {
			return true
		}
		d := bo.wait()
		u.log.Warn("config pull failed; will retry", "err", err, "backoff", d)
		if !sleep(ctx, d) {
			return false
		}
	}
}

// pullConfig asks the cloud for a config newer than the held one and
// applies it.
func (u *Uplink) pullConfig(ctx context.Context) error {
	have := u.sink.ConfigVersion()
	cctx, cancel := context.WithTimeout(ctx, u.cfg.CallTimeout)
	defer cancel()
	resp, err := u.sync.PullConfig(cctx, connect.NewRequest(&chargeplanev1.PullConfigRequest{
		EdgeId: u.edgeID, HaveVersion: have,
	}))
	u.callDone("PullConfig", err)
	if err != nil {
		return fmt.Errorf("pull config (have version %d): %w", have, err)
	}
	u.setStatus(func(s *Status) { s.LastConfigPull = time.Now() })
	if !resp.Msg.GetChanged() {
		return nil
	}
	cfg := resp.Msg.GetConfig()
	if cfg == nil {
		return fmt.Errorf("pull config (have version %d): %w", have, errNoConfig)
	}
	if cfg.GetVersion() <= have {
		// Versions only increase; an older one (a lagging replica) must not
		// replace newer balances.
		u.log.Warn("ignored a pulled config not newer than the held one",
			"version", cfg.GetVersion(), "config_version", have)
		return nil
	}
	if err := u.sink.ApplyConfig(ctx, cfg); err != nil {
		return fmt.Errorf("apply config version %d: %w", cfg.GetVersion(), err)
	}
	u.m.configApplied.Inc()
	u.log.Info("site config pulled", "config_version", cfg.GetVersion(), "cards", len(cfg.GetCards()))
	return nil
}
