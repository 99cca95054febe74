package api

import (
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

	"github.com/chargeplane/chargeplane/cloud/fleet"
	"github.com/chargeplane/chargeplane/cloud/hint"
	"github.com/chargeplane/chargeplane/cloud/ledger"
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
	edgeAuth   *edgeAuth
	opts       []connect.HandlerOption
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
	observe := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			start := time.Now()
			procedure := req.Spec().Procedure
			res, err := next(ctx, req)
			code := "ok"
			if err != nil {
				cerr := connectError(ctx, logger, procedure, err)
				code = cerr.Code().String()
				err = cerr
			}
			requests.WithLabelValues(procedure, code).Inc()
			duration.WithLabelValues(procedure).Observe(time.Since(start).Seconds())
			return res, err
		}
	})
	recoverPanic := func(ctx context.Context, spec connect.Spec, _ http.Header, p any) error {
		logger.ErrorContext(ctx, "panic serving request", "procedure", spec.Procedure, "request_id", RequestID(ctx),
			"err", fmt.Errorf("panic: %v", p), "stack", string(debug.Stack()))
		return connect.NewError(connect.CodeInternal, errors.New("internal error"))
	}
	return &API{
		charger: &ChargerService{fleet: d.Fleet, presence: d.Presence},
		sync: &SyncService{fleet: d.Fleet, site: d.Site, ledger: d.Ledger, hints: d.Hints,
			now: d.Now, version: d.Version, logger: logger},
		edges:      &EdgeService{site: d.Site, logger: logger},
		siteConfig: &SiteConfigService{site: d.Site, hints: d.Hints, logger: logger},
		sessions:   &SessionService{ledger: d.Ledger},
		edgeAuth:   &edgeAuth{site: d.Site},
		// Interceptors run in the order given: observe sees what recover returns.
		opts: []connect.HandlerOption{
			connect.WithInterceptors(observe),
			connect.WithRecover(recoverPanic),
			connect.WithReadMaxBytes(1 << 20),
		},
	}, nil
}

// Mount registers every service on mux. SyncService, the edges' API, is
// mounted behind edge authentication (inside panic recovery, so a panic
// there is recovered too); the operator services are not authenticated yet
// (see the package doc).
func (a *API) Mount(mux *http.ServeMux) {
	mux.Handle(chargeplanev1connect.NewChargerServiceHandler(a.charger, a.opts...))
	mux.Handle(chargeplanev1connect.NewSyncServiceHandler(a.sync, slices.Concat(a.opts, []connect.HandlerOption{
		connect.WithInterceptors(a.edgeAuth),
		connect.WithReadMaxBytes(syncReadMaxBytes),
	})...))
	mux.Handle(chargeplanev1connect.NewEdgeServiceHandler(a.edges, a.opts...))
	mux.Handle(chargeplanev1connect.NewSiteConfigServiceHandler(a.siteConfig, a.opts...))
	mux.Handle(chargeplanev1connect.NewSessionServiceHandler(a.sessions, a.opts...))
}
