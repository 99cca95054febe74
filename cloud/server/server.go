package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sort"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/chargeplane/chargeplane/cloud/api"
	"github.com/chargeplane/chargeplane/cloud/broker"
	"github.com/chargeplane/chargeplane/cloud/command"
	"github.com/chargeplane/chargeplane/cloud/devicelog"
	"github.com/chargeplane/chargeplane/cloud/fleet"
	"github.com/chargeplane/chargeplane/cloud/hint"
	"github.com/chargeplane/chargeplane/cloud/identity"
	"github.com/chargeplane/chargeplane/cloud/ingest"
	"github.com/chargeplane/chargeplane/cloud/ledger"
	"github.com/chargeplane/chargeplane/cloud/live"
	"github.com/chargeplane/chargeplane/cloud/postgres"
	"github.com/chargeplane/chargeplane/cloud/presence"
	"github.com/chargeplane/chargeplane/cloud/retention"
	"github.com/chargeplane/chargeplane/cloud/site"
	"github.com/chargeplane/chargeplane/migrations"
)

// HTTP server limits, sized for unary calls. The streams (LiveService.Watch
// and the SSE endpoint) set their own deadlines per write.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	// checkTimeout bounds each readiness check, and the queries of the
	// online-chargers metric at each scrape.
	checkTimeout = 2 * time.Second
	// maxDrain bounds the final ingest batch within ShutdownTimeout.
	maxDrain = 10 * time.Second
	// hintTimeout bounds connecting to the broker and each wait for a
	// hint's PUBACK.
	hintTimeout = 5 * time.Second
)

// HintConfig returns how the cloud publishes config-changed hints: with its
// own clean-session client ("<mqtt.client_id>-hints") on mqttURL, the
// configured broker or the embedded one.
func HintConfig(cfg Config, mqttURL string) hint.Config {
	return hint.Config{
		URL:       mqttURL,
		ClientID:  cfg.MQTT.ClientID + "-hints",
		Username:  cfg.MQTT.Username,
		Password:  cfg.MQTT.Password,
		TopicRoot: cfg.MQTT.TopicRoot,
		Timeout:   hintTimeout,
	}
}

// MQTTURL returns the broker the cloud talks to: mqtt.url, or the embedded
// broker's address when only broker.embedded_addr is set.
func MQTTURL(cfg Config) string {
	if cfg.MQTT.URL == "" && cfg.Broker.EmbeddedAddr != "" {
		return "tcp://" + cfg.Broker.EmbeddedAddr
	}
	return cfg.MQTT.URL
}

// Run runs the cloud until ctx ends, then stops it gracefully: readiness
// turns false, the HTTP server finishes its requests (up to
// cfg.ShutdownTimeout), the ingest consumer applies its last batch and
// disconnects, the embedded broker stops, and Postgres and Redis close.
//
// ready, if not nil, is called once with the HTTP listen address when
// requests are being served. Run returns nil after a clean stop on ctx, or the error that
// stopped it.
func Run(ctx context.Context, cfg Config, logger *slog.Logger, reg *prometheus.Registry, ready func(addr string)) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid config: %w", err)
	}
	version := Version()
	logger.Info("starting chargeplane-cloud", "version", version)

	pool, err := postgres.Open(ctx, postgres.Config{URL: cfg.Postgres.URL, MaxConns: cfg.Postgres.MaxConns})
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := postgres.Migrate(ctx, pool, migrations.FS)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range applied {
		logger.Info("applied migration", "version", m.Version, "name", m.Name)
	}

	ropts, err := redis.ParseURL(cfg.Redis.URL)
	if err != nil {
		return errors.New("redis.url: not a valid redis:// URL")
	}
	rdb := redis.NewClient(ropts)
	defer func() { _ = rdb.Close() }()
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = rdb.Ping(pingCtx).Err()
	cancel()
	if err != nil {
		return fmt.Errorf("ping redis %s: %w", ropts.Addr, err)
	}

	mqttURL := cfg.MQTT.URL
	var brk *broker.Broker
	if cfg.Broker.EmbeddedAddr != "" {
		brk, err = broker.New(broker.Config{Addr: cfg.Broker.EmbeddedAddr}, logger)
		if err != nil {
			return err
		}
		defer func() { _ = brk.Close() }()
		if mqttURL == "" {
			mqttURL = brk.URL()
		}
		logger.Info("embedded MQTT broker listening", "addr", brk.Addr())
	}

	fleetStore := fleet.New(pool)
	pres := presence.New(rdb, presence.Config{Prefix: cfg.Redis.Prefix, Timeout: cfg.Presence.Timeout}, time.Now)
	hub, err := live.NewHub(rdb, live.Config{Prefix: cfg.Redis.Prefix, Buffer: cfg.Live.Buffer}, logger, reg)
	if err != nil {
		return err
	}
	statuses := live.NewStatuses(pool)
	sender, err := command.NewSender(command.SenderConfig{
		URL: mqttURL, ClientID: cfg.MQTT.ClientID + "-commands", Username: cfg.MQTT.Username, Password: cfg.MQTT.Password,
		TopicRoot: cfg.MQTT.TopicRoot, Timeout: hintTimeout,
	}, logger)
	if err != nil {
		return err
	}
	commands, err := command.NewService(command.Config{Expiry: cfg.Commands.Expiry, ResultWait: cfg.Commands.ResultWait},
		command.NewStore(pool), sender, hub, time.Now, logger, reg)
	if err != nil {
		return err
	}
	consumer, err := ingest.New(ingest.Config{
		URL:           mqttURL,
		ClientID:      cfg.MQTT.ClientID,
		Username:      cfg.MQTT.Username,
		Password:      cfg.MQTT.Password,
		Group:         cfg.MQTT.Group,
		TopicRoot:     cfg.MQTT.TopicRoot,
		BatchEvents:   cfg.Ingest.BatchEvents,
		BatchWait:     cfg.Ingest.BatchWait,
		QueueMessages: cfg.Ingest.QueueMessages,
		DrainTimeout:  min(cfg.ShutdownTimeout, maxDrain),
	}, ingest.Deps{Fleet: fleetStore, Presence: pres, Logger: logger, Registerer: reg, Now: time.Now, Observers: []ingest.Observer{
		{Name: "live", Observe: live.NewFeed(statuses, hub).Observe},
		{Name: "commands", Observe: commands.Observe},
	}})
	if err != nil {
		return err
	}
	hints, err := hint.New(HintConfig(cfg, mqttURL), logger, reg)
	if err != nil {
		return err
	}
	ident := identity.New(pool, rdb, IdentityConfig(cfg), identity.LogMailer{Logger: logger.With("component", "mail")}, time.Now)
	if err := bootstrapAdmin(ctx, ident, cfg.Auth.BootstrapAdmin, logger); err != nil {
		return err
	}
	siteStore := site.New(pool, time.Now)
	a, err := api.New(api.Deps{
		Fleet: fleetStore, Presence: pres, Site: siteStore, Ledger: ledger.New(pool), Hints: hints,
		Identity: ident, RateLimits: RateLimits(cfg),
		Sites: fleet.NewSiteStore(pool, time.Now), Registry: fleet.NewRegistry(pool, time.Now, hints),
		Commands: commands, Live: hub, Statuses: statuses, LiveHeartbeat: cfg.Live.Heartbeat,
		DeviceLog: devicelog.New(pool),
		Logger:    logger, Registerer: reg, Now: time.Now, Version: version,
	})
	if err != nil {
		return err
	}
	pruner, err := retention.New(pool, retention.Config{
		Events: cfg.Retention.Events, Commands: cfg.Retention.Commands, Interval: cfg.Retention.Interval,
	}, time.Now, logger, reg)
	if err != nil {
		return err
	}
	if err := reg.Register(presence.NewOnlineCollector(pool, pres, checkTimeout, logger)); err != nil {
		return fmt.Errorf("online chargers metric: %w", err)
	}

	var serving atomic.Bool
	mux := http.NewServeMux()
	a.Mount(mux)
	// The REST face calls the Connect services on mux in-process, so
	// authz, rate limits and error mapping apply to it unchanged.
	mux.Handle(api.RESTPrefix, api.NewREST(mux, logger))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET /readyz", readiness(logger, &serving, []check{
		{"postgres", pool.Ping},
		{"redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() }},
		{"mqtt", func(context.Context) error {
			if !consumer.Connected() {
				return errors.New("not connected and subscribed")
			}
			return nil
		}},
		{"mqtt_commands", func(context.Context) error {
			if !sender.Connected() {
				return errors.New("command sender not connected")
			}
			return nil
		}},
	}))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))

	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true) // h2c: Connect and gRPC clients without TLS
	srv := &http.Server{
		Handler:           api.WithRequestLog(logger.With("component", "http"), mux),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		Protocols:         protocols,
		ErrorLog:          slog.NewLogLogger(logger.With("component", "http").Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTP.Addr, err)
	}

	// Components stop in order, each after the one before has finished, so
	// they run on contexts of their own rather than on ctx.
	ingestCtx, stopIngest := context.WithCancel(context.WithoutCancel(ctx))
	defer stopIngest()
	brokerCtx, stopBroker := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBroker()
	hintsCtx, stopHints := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHints()
	liveCtx, stopLive := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLive()
	commandsCtx, stopCommands := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCommands()
	ingestDone := make(chan struct{})
	hintsDone := make(chan struct{})
	commandsDone := make(chan struct{})

	g, gctx := errgroup.WithContext(ctx)
	if brk != nil {
		g.Go(func() error { return brk.Run(brokerCtx) })
	}
	g.Go(func() error {
		defer close(ingestDone)
		return consumer.Run(ingestCtx)
	})
	g.Go(func() error {
		defer close(hintsDone)
		return hints.Run(hintsCtx)
	})
	g.Go(func() error { return hub.Run(liveCtx) })
	// Pruning stops as soon as the cloud does: a batch cut short is rolled
	// back and its rows expire again at the next start.
	g.Go(func() error { return pruner.Run(gctx) })
	g.Go(func() error {
		defer close(commandsDone)
		cg, cctx := errgroup.WithContext(commandsCtx)
		cg.Go(func() error { return sender.Run(cctx) })
		cg.Go(func() error { return command.NewSweeper(commands, cfg.Commands.SweepInterval, logger).Run(cctx) })
		return cg.Wait()
	})
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		logger.Info("shutting down")
		serving.Store(false)
		// Live streams end first (ErrClosed): they would otherwise hold
		// the HTTP shutdown until its timeout.
		stopLive()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		err := srv.Shutdown(sctx)
		if err != nil {
			err = fmt.Errorf("http shutdown: %w", err)
			_ = srv.Close()
		}
		// Hints of the last requests go out before the broker stops.
		stopHints()
		stopIngest()
		<-hintsDone
		<-ingestDone
		// Commands stop after ingest, whose last batch may carry results.
		stopCommands()
		<-commandsDone
		stopBroker()
		return err
	})

	serving.Store(true)
	logger.Info("serving", "addr", ln.Addr().String())
	if ready != nil {
		ready(ln.Addr().String())
	}
	err = g.Wait()
	logger.Info("stopped", "err", err)
	return err
}

// IdentityConfig returns the identity store's configuration: cfg's auth
// settings over identity's defaults, keys under redis.prefix.
func IdentityConfig(cfg Config) identity.Config {
	ic := identity.DefaultConfig()
	ic.Prefix = cfg.Redis.Prefix
	ic.SessionTTL = cfg.Auth.SessionTTL
	ic.LockoutAfter = cfg.Auth.LockoutAfter
	ic.LockoutFor = cfg.Auth.LockoutFor
	return ic
}

// RateLimits returns the API's per-minute limits.
func RateLimits(cfg Config) api.RateLimits {
	r := cfg.Auth.RateLimit
	return api.RateLimits{UserPerMinute: r.UserPerMinute, KeyPerMinute: r.KeyPerMinute, PublicPerMinute: r.PublicPerMinute}
}

// bootstrapAdmin creates the configured first platform admin unless a user
// with that email exists (every replica tries; one wins).
func bootstrapAdmin(ctx context.Context, ident *identity.Store, b BootstrapAdminConfig, logger *slog.Logger) error {
	if b.Email == "" {
		return nil
	}
	u, err := ident.BootstrapAdmin(ctx, b.Email, b.Password, "")
	switch {
	case errors.Is(err, identity.ErrAlreadyExists):
		return nil
	case err != nil:
		return fmt.Errorf("auth.bootstrap_admin: %w", err)
	}
	logger.Info("created platform admin", "user_id", u.ID, "email", u.Email)
	return nil
}

// Version returns the module version the binary was built from, or "devel".
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

type check struct {
	name string
	fn   func(context.Context) error
}

// readiness answers 200 when every check passes and the server is not
// shutting down, else 503 naming what failed.
func readiness(logger *slog.Logger, serving *atomic.Bool, checks []check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var failing []string
		if !serving.Load() {
			failing = append(failing, "shutting_down")
		}
		for _, c := range checks {
			ctx, cancel := context.WithTimeout(r.Context(), checkTimeout)
			err := c.fn(ctx)
			cancel()
			if err != nil {
				failing = append(failing, c.name)
				logger.Warn("readiness check failed", "check", c.name, "err", err)
			}
		}
		if len(failing) > 0 {
			sort.Strings(failing)
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "failing": failing})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}
