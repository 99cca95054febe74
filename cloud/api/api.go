package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chargeplane/chargeplane/cloud/command"
	"github.com/chargeplane/chargeplane/cloud/devicelog"
	"github.com/chargeplane/chargeplane/cloud/fleet"
	"github.com/chargeplane/chargeplane/cloud/hint"
	"github.com/chargeplane/chargeplane/cloud/identity"
	"github.com/chargeplane/chargeplane/cloud/ledger"
	"github.com/chargeplane/chargeplane/cloud/live"
	"github.com/chargeplane/chargeplane/cloud/presence"
	"github.com/chargeplane/chargeplane/cloud/site"
	"github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1/chargeplanev1connect"
)

// Deps are what the services need.
type Deps struct {
	Fleet    *fleet.Store
	Presence *presence.Store
	Site     *site.Store
	Ledger   *ledger.Store
	// Identity authenticates operator API callers and holds tenants,
	// users and API keys.
	Identity *identity.Store
	// RateLimits bound each caller's calls per minute.
	RateLimits RateLimits
	// Sites and Registry are the tenant's sites and registered chargers.
	Sites    *fleet.SiteStore
	Registry *fleet.Registry
	// Commands sends remote-control commands to edges and tracks them.
	Commands *command.Service
	// Live fans status and command updates out to watchers on every
	// replica; Statuses is the current connector status table.
	Live     *live.Hub
	Statuses *live.Statuses
	// DeviceLog reads a charger's operation log (the events table).
	DeviceLog *devicelog.Store
	// LiveHeartbeat is how often the SSE endpoint writes a keep-alive
	// comment (0: 15 s).
	LiveHeartbeat time.Duration
	// Hints nudges edges after a change to their config.
	Hints      *hint.Publisher
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Now is the clock (server time in Handshake).
	Now func() time.Time
	// Version is the cloud's version, reported to edges.
	Version string
}

// syncReadMaxBytes bounds a SyncService request: a PushSessions batch of
// ledger.MaxPush sessions, each with its tariff copy, can pass 1 MiB.
const syncReadMaxBytes = 8 << 20

// API holds the services and the options they are mounted with.
type API struct {
	charger    *ChargerService
	sync       *SyncService
	edges      *EdgeService
	siteConfig *SiteConfigService
	sessions   *SessionService
	auth       *AuthService
	tenants    *TenantService
	users      *UserService
	apiKeys    *APIKeyService
	sites      *SiteService
	fleet      *FleetService
	commands   *CommandService
	live       *LiveService
	liveEvents http.Handler
	edgeAuth   *edgeAuth
	// opts are for every service; operatorOpts add the authz interceptor.
	opts         []connect.HandlerOption
	operatorOpts []connect.HandlerOption
}

// New builds the services and registers the API metrics.
func New(d Deps) (*API, error) {
	logger := d.Logger.With("component", "api")
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chargeplane_api_requests_total",
		Help: "Connect RPCs served, by procedure and Connect code (ok for success).",
	}, []string{"procedure", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "chargeplane_api_request_duration_seconds",
		Help:    "Time to serve a Connect RPC, by procedure.",
		Buckets: prometheus.DefBuckets,
	}, []string{"procedure"})
	for _, c := range []prometheus.Collector{requests, duration} {
		if err := d.Registerer.Register(c); err != nil {
			return nil, fmt.Errorf("api metrics: %w", err)
		}
	}
	observe := &observer{logger: logger, requests: requests, duration: duration}
	recoverPanic := func(ctx context.Context, spec connect.Spec, _ http.Header, p any) error {
		logger.ErrorContext(ctx, "panic serving request", "procedure", spec.Procedure, "request_id", RequestID(ctx),
			"err", fmt.Errorf("panic: %v", p), "stack", string(debug.Stack()))
		return connect.NewError(connect.CodeInternal, errors.New("internal error"))
	}
	policy, err := Policy()
	if err != nil {
		return nil, err
	}
	az := &authz{ident: d.Identity, policy: policy, limits: d.RateLimits, logger: logger}
	opts := []connect.HandlerOption{
		connect.WithInterceptors(observe),
		connect.WithRecover(recoverPanic),
		connect.WithReadMaxBytes(1 << 20),
	}
	return &API{
		charger: &ChargerService{fleet: d.Fleet, presence: d.Presence, log: d.DeviceLog},
		sync: &SyncService{fleet: d.Fleet, site: d.Site, ledger: d.Ledger, hints: d.Hints,
			now: d.Now, version: d.Version, logger: logger},
		edges:      &EdgeService{site: d.Site, logger: logger},
		siteConfig: &SiteConfigService{site: d.Site, hints: d.Hints, logger: logger},
		sessions:   &SessionService{ledger: d.Ledger},
		auth:       &AuthService{ident: d.Identity, logger: logger},
		tenants:    &TenantService{ident: d.Identity, logger: logger},
		users:      &UserService{ident: d.Identity, logger: logger},
		apiKeys:    &APIKeyService{ident: d.Identity, logger: logger},
		sites:      NewSiteService(d.Sites, logger),
		fleet:      NewFleetService(d.Registry, logger),
		commands:   NewCommandService(d.Commands, d.Site),
		live:       NewLiveService(d.Live, d.Statuses),
		liveEvents: NewLiveEvents(d.Live, d.Identity.Authenticate, cmp.Or(d.LiveHeartbeat, 15*time.Second), logger),
		edgeAuth:   &edgeAuth{site: d.Site},
		// Interceptors run in the order given: observe sees what recover
		// returns, and what authz refuses.
		opts:         opts,
		operatorOpts: slices.Concat(opts, []connect.HandlerOption{connect.WithInterceptors(az)}),
	}, nil
}

// OperatorOptions are the handler options every operator service is
// mounted with: metrics, panic recovery, and authentication, authorization
// and rate limits (authz, with the policy of policy.go). A service added
// outside this package is mounted with them too.
func (a *API) OperatorOptions() []connect.HandlerOption {
	return slices.Clone(a.operatorOpts)
}

// Mount registers every service on mux. SyncService, the edges' API, is
// mounted behind edge authentication (inside panic recovery, so a panic
// there is recovered too); every other service behind authz.
func (a *API) Mount(mux *http.ServeMux) {
	mux.Handle(chargeplanev1connect.NewChargerServiceHandler(a.charger, a.operatorOpts...))
	mux.Handle(chargeplanev1connect.NewSyncServiceHandler(a.sync, slices.Concat(a.opts, []connect.HandlerOption{
		connect.WithInterceptors(a.edgeAuth),
		connect.WithReadMaxBytes(syncReadMaxBytes),
	})...))
	mux.Handle(chargeplanev1connect.NewEdgeServiceHandler(a.edges, a.operatorOpts...))
	mux.Handle(chargeplanev1connect.NewSiteConfigServiceHandler(a.siteConfig, a.operatorOpts...))
	mux.Handle(chargeplanev1connect.NewSessionServiceHandler(a.sessions, a.operatorOpts...))
	mux.Handle(chargeplanev1connect.NewAuthServiceHandler(a.auth, a.operatorOpts...))
	mux.Handle(chargeplanev1connect.NewTenantServiceHandler(a.tenants, a.operatorOpts...))
	mux.Handle(chargeplanev1connect.NewUserServiceHandler(a.users, a.operatorOpts...))
	mux.Handle(chargeplanev1connect.NewAPIKeyServiceHandler(a.apiKeys, a.operatorOpts...))
	mux.Handle(chargeplanev1connect.NewSiteServiceHandler(a.sites, a.operatorOpts...))
	// An import file may be larger than the default request bound.
	mux.Handle(chargeplanev1connect.NewFleetServiceHandler(a.fleet, slices.Concat(a.operatorOpts,
		[]connect.HandlerOption{connect.WithReadMaxBytes(FleetReadMaxBytes)})...))
	mux.Handle(chargeplanev1connect.NewCommandServiceHandler(a.commands, a.operatorOpts...))
	livePath, liveHandler := chargeplanev1connect.NewLiveServiceHandler(a.live, a.operatorOpts...)
	mux.Handle(livePath, streamDeadlines(liveHandler))
	// Browsers' EventSource: plain HTTP, authenticated by the handler itself.
	mux.Handle("GET "+LiveEventsPath, a.liveEvents)
}

// observer counts and times every call and turns its error into the
// Connect error the client sees (connectError), for unary and streaming
// handlers alike.
type observer struct {
	logger   *slog.Logger
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func (o *observer) finish(ctx context.Context, procedure string, start time.Time, err error) error {
	code := "ok"
	if err != nil {
		cerr := connectError(ctx, o.logger, procedure, err)
		code = cerr.Code().String()
		err = cerr
	}
	o.requests.WithLabelValues(procedure, code).Inc()
	o.duration.WithLabelValues(procedure).Observe(time.Since(start).Seconds())
	return err
}

func (o *observer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		start := time.Now()
		res, err := next(ctx, req)
		return res, o.finish(ctx, req.Spec().Procedure, start, err)
	}
}

func (o *observer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (o *observer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		start := time.Now()
		err := next(ctx, conn)
		if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			// The client went away: the stream's normal end.
			err = nil
		}
		return o.finish(ctx, conn.Spec().Procedure, start, err)
	}
}
