// Package agent assembles the edge agent from its parts — store, gateway,
// protocol adapters, uplink and admin endpoint — and runs them together.
// It is the body of the chargeplane-edge binary, kept out of package main so
// tests can run a whole agent in-process (edge/edgetest).
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/chargeplane/chargeplane/edge/adapter"
	"github.com/chargeplane/chargeplane/edge/admin"
	"github.com/chargeplane/chargeplane/edge/control"
	"github.com/chargeplane/chargeplane/edge/downlink"
	"github.com/chargeplane/chargeplane/edge/framelog"
	"github.com/chargeplane/chargeplane/edge/gateway"
	"github.com/chargeplane/chargeplane/edge/station"
	"github.com/chargeplane/chargeplane/edge/store"
	"github.com/chargeplane/chargeplane/edge/uplink"
	"github.com/chargeplane/chargeplane/shared/logging"
	"github.com/chargeplane/chargeplane/shared/topic"
)

// Config is the whole edge agent configuration (deploy/chargeplane-edge.yaml
// documents every key).
type Config struct {
	// TenantID and EdgeID identify this edge; they name its MQTT topics and
	// prefix nothing else. Both are issued by the cloud when the edge is created.
	TenantID string `yaml:"tenant_id"`
	EdgeID   string `yaml:"edge_id"`
	// Timezone is the site's IANA zone: chargers keep local wall-clock time
	// (BKV's heartbeat reply sets the gateway clock).
	Timezone string         `yaml:"timezone"`
	Gateway  gateway.Config `yaml:"gateway"`
	Store    store.Config   `yaml:"store"`
	Uplink   uplink.Config  `yaml:"uplink"`
	Admin    admin.Config   `yaml:"admin"`
	// Authorization is the site's card policy used until the cloud's card
	// cache arrives (and on an edge without a cloud).
	Authorization control.AuthConfig `yaml:"authorization"`
	// Tariff prices sessions until the cloud's site config sets one.
	Tariff control.TariffConfig `yaml:"tariff"`
	// FrameLog bounds the per-charger raw frame log shown on the admin page.
	FrameLog framelog.Config `yaml:"framelog"`
	// Commands bounds how long a charger may take to answer a command.
	Commands CommandsConfig `yaml:"commands"`
	Log      logging.Config `yaml:"log"`
}

// CommandsConfig bounds commands to chargers.
type CommandsConfig struct {
	// Timeout is how long to wait for a reply before resending.
	Timeout time.Duration `yaml:"timeout"`
	// Retries is how many times an unanswered command is resent (same id).
	Retries int `yaml:"retries"`
	// Concurrency bounds commands from the cloud executed at once.
	Concurrency int `yaml:"concurrency"`
}

// DefaultConfig returns safe loopback defaults; tenant_id, edge_id and
// store.dir must still be set.
func DefaultConfig() Config {
	return Config{
		Timezone: "Asia/Shanghai",
		Gateway:  gateway.DefaultConfig(),
		Store:    store.DefaultConfig(),
		Uplink:   uplink.DefaultConfig(),
		Admin:    admin.DefaultConfig(),
		// bkv.md §4 recommends resending after 10 s, at most twice.
		Authorization: control.DefaultAuthConfig(),
		Tariff:        control.DefaultTariffConfig(),
		FrameLog:      framelog.DefaultConfig(),
		Commands:      CommandsConfig{Timeout: 10 * time.Second, Retries: 2, Concurrency: 16},
		Log:           logging.DefaultConfig(),
	}
}

// Validate reports every problem at once, each naming its key.
func (c Config) Validate() error {
	var errs []error
	if !topic.ValidSegment(c.TenantID) {
		errs = append(errs, errors.New("tenant_id: required, without '/', '+' or '#'"))
	}
	if !topic.ValidSegment(c.EdgeID) {
		errs = append(errs, errors.New("edge_id: required, without '/', '+' or '#'"))
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil || c.Timezone == "" {
		errs = append(errs, fmt.Errorf("timezone: %q is not an IANA time zone", c.Timezone))
	}
	if c.Commands.Timeout <= 0 {
		errs = append(errs, errors.New("commands.timeout: must be positive"))
	}
	if c.Commands.Retries < 0 || c.Commands.Retries > 10 {
		errs = append(errs, errors.New("commands.retries: must be 0–10"))
	}
	if c.Commands.Concurrency < 1 || c.Commands.Concurrency > 1000 {
		errs = append(errs, errors.New("commands.concurrency: must be 1–1000"))
	}
	errs = append(errs, c.Authorization.Validate(), c.Tariff.Validate(), c.FrameLog.Validate(), c.Gateway.Validate(), c.Store.Validate(), c.Uplink.Validate(), c.Admin.Validate(), c.Log.Validate())
	return errors.Join(errs...)
}

// Addrs are the addresses the agent listens on, reported once it is serving.
type Addrs struct {
	Chargers net.Addr
	Admin    net.Addr
}

// Hooks let tests observe the running agent; all fields are optional.
type Hooks struct {
	// Ready is called once the agent serves, with its addresses.
	Ready func(Addrs)
	// Registry is called with the command registry before chargers connect.
	Registry func(*adapter.Registry)
}

// Run runs the agent until ctx ends. Shutdown order: stop accepting and let
// sessions finish their frame, let the uplink stop, then close the store last
// so nothing acknowledged is lost.
func Run(ctx context.Context, cfg Config, version string, logger *slog.Logger, reg *prometheus.Registry, hooks Hooks) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid config: %w", err)
	}
	loc, _ := time.LoadLocation(cfg.Timezone)
	log := logger.With("edge_id", cfg.EdgeID)

	st, err := store.Open(cfg.Store, cfg.EdgeID, log, reg)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("close store", "err", err)
		}
	}()

	// The uplink tells the book whether the cloud is reachable; it is built
	// after the book (it uploads the book's sessions), hence the pointer.
	var up atomic.Pointer[uplink.Uplink]
	book, err := control.NewBook(ctx, control.BookConfig{Fallback: cfg.Authorization, Tariff: cfg.Tariff},
		control.BookDeps{
			Store: st, Now: time.Now, Location: loc, Logger: log, Registerer: reg,
			Online: func() bool { u := up.Load(); return u != nil && u.Online() },
		})
	if err != nil {
		return fmt.Errorf("open session book: %w", err)
	}
	// Runs before the store's deferred Close: stops the book sent itself
	// finish (and store their results) while the store is still open.
	defer func() {
		if err := book.Close(); err != nil {
			log.Error("close session book", "err", err)
		}
	}()
	// Adapters record through the station (live state, only for what was
	// stored) into the book (sessions, billing) into the store.
	state := station.New(book, time.Now, reg)
	deps := adapter.Deps{
		Store: state, Authorizer: book, Admission: book,
		Now: time.Now, Location: loc, Logger: log, Registerer: reg,
		CommandTimeout: cfg.Commands.Timeout,
		CommandRetries: cfg.Commands.Retries,
		FrameLog:       framelog.New(cfg.FrameLog),
	}
	deps.Registry = adapter.NewRegistry(deps)
	book.SetExecutor(deps.Registry)
	if hooks.Registry != nil {
		hooks.Registry(deps.Registry)
	}
	protocols := []gateway.Protocol{adapter.NewBKV(deps).Protocol(), adapter.NewAP3000(deps).Protocol()}
	gw := gateway.New(cfg.Gateway, protocols, log, reg)
	chargerAddr, err := gw.Listen()
	if err != nil {
		return err
	}
	u, err := uplink.New(cfg.Uplink, cfg.TenantID, cfg.EdgeID, version, st, book, book, log, reg)
	if err != nil {
		return err
	}
	up.Store(u)
	tlsCfg, err := cfg.Uplink.TLSConfig()
	if err != nil {
		return fmt.Errorf("uplink TLS: %w", err)
	}
	mqttUser, mqttPass := cfg.Uplink.MQTTCredentials(cfg.EdgeID)
	clientID := cfg.Uplink.ClientID
	if clientID == "" {
		clientID = "chargeplane-edge-" + cfg.EdgeID
	}
	down := downlink.New(downlink.Config{
		MQTTURL: cfg.Uplink.MQTTURL, ClientID: clientID + "-commands",
		Username: mqttUser, Password: mqttPass, TLSConfig: tlsCfg, TopicRoot: cfg.Uplink.TopicRoot,
		Concurrency: cfg.Commands.Concurrency, RetryMin: cfg.Uplink.RetryMin, RetryMax: cfg.Uplink.RetryMax,
	}, cfg.TenantID, cfg.EdgeID, deps.Registry, book, time.Now, log, reg)
	adm := admin.New(cfg.Admin,
		[]admin.Check{{Name: "store", Fn: func(ctx context.Context) error {
			_, err := st.Pending(ctx, st.LastSeq(), 1)
			return err
		}}},
		func() any { return status(cfg, version, gw, st, book, u) }, reg, log,
		append(admin.ChargerRoutes(state, deps.Registry, book, time.Now),
			admin.FramesRoute(deps.FrameLog), admin.PageRoute())...)
	adminAddr, err := adm.Listen()
	if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return gw.Run(gctx) })
	g.Go(func() error { return u.Run(gctx) })
	g.Go(func() error { return down.Run(gctx) })
	g.Go(func() error { return adm.Run(gctx) })
	log.Info("edge agent started", "version", version, "chargers", chargerAddr.String(), "admin", adminAddr.String(),
		"tenant_id", cfg.TenantID, "store", cfg.Store.Dir)
	if hooks.Ready != nil {
		hooks.Ready(Addrs{Chargers: chargerAddr, Admin: adminAddr})
	}
	err = g.Wait()
	log.Info("edge agent stopped", "pending_events", st.PendingCount())
	return err
}

func status(cfg Config, version string, gw *gateway.Gateway, st *store.Store, book *control.Book, up *uplink.Uplink) any {
	us := up.Status()
	lastSync := us.LastPublish
	if us.LastSessionPush.After(lastSync) {
		lastSync = us.LastSessionPush
	}
	return map[string]any{
		"tenant_id":         cfg.TenantID,
		"edge_id":           cfg.EdgeID,
		"version":           version,
		"connections":       gw.OpenConns(),
		"last_seq":          st.LastSeq(),
		"pending_events":    st.PendingCount(),
		"pending_sessions":  book.PendingSessionCount(),
		"open_sessions":     len(book.OpenSessions()),
		"config_version":    book.ConfigVersion(),
		"store_bytes":       st.DiskBytes(),
		"mqtt_connected":    us.Connected,
		"cloud_online":      us.Online,
		"last_publish":      us.LastPublish,
		"last_session_push": us.LastSessionPush,
		"last_sync":         lastSync,
		"last_config_pull":  us.LastConfigPull,
		"last_error":        us.LastError,
		"cloud_last_seq":    us.CloudLastSeq,
		"last_handshake":    us.LastHandshake,
	}
}
