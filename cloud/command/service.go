package command

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/chargeplane/chargeplane/cloud/fleet"
	"github.com/chargeplane/chargeplane/cloud/live"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// Config sets a command's time limits.
type Config struct {
	// Expiry is how long after it was requested the edge may still run a
	// command (ChargerCommand.expires_at): an edge offline longer rejects
	// it as expired rather than, say, start a session nobody waits for.
	Expiry time.Duration
	// ResultWait is how long after expires_at the cloud waits for the
	// result before the sweeper marks the command timed_out: time for the
	// charger to answer and the result to come up through the uplink.
	ResultWait time.Duration
}

// DefaultConfig returns the time limits used unless configured otherwise.
func DefaultConfig() Config {
	return Config{Expiry: 2 * time.Minute, ResultWait: 3 * time.Minute}
}

// publishTimeout bounds publishing a command and recording the outcome
// once the caller's request is gone (the work goes on without it).
const publishTimeout = 30 * time.Second

// Service sends commands and follows them to their outcome. Build it with
// NewService.
type Service struct {
	cfg    Config
	store  *Store
	sender *Sender
	hub    *live.Hub
	now    func() time.Time
	log    *slog.Logger

	transitions *prometheus.CounterVec
	unknown     prometheus.Counter
}

// NewService builds a Service and registers its metrics.
func NewService(cfg Config, store *Store, sender *Sender, hub *live.Hub, now func() time.Time,
	logger *slog.Logger, reg prometheus.Registerer,
) (*Service, error) {
	if cfg.Expiry <= 0 || cfg.ResultWait <= 0 {
		return nil, errors.New("command config: expiry and result wait must be positive")
	}
	s := &Service{
		cfg: cfg, store: store, sender: sender, hub: hub, now: now,
		log: logger.With("component", "command"),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chargeplane_command_transitions_total",
			Help: "Commands that entered a state, by state (queued, sent, accepted, rejected, timed_out, failed).",
		}, []string{"state"}),
		unknown: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chargeplane_command_unknown_results_total",
			Help: "Command results dropped because no command of their edge has their id.",
		}),
	}
	for _, c := range []prometheus.Collector{s.transitions, s.unknown} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("command metrics: %w", err)
		}
	}
	for _, st := range []State{StateQueued, StateSent, StateAccepted, StateRejected, StateTimedOut, StateFailed} {
		s.transitions.WithLabelValues(string(st))
	}
	return s, nil
}

// Send stores req as a new command, publishes it to the edge and returns it
// as stored: sent when the broker took it, failed (with the reason in
// Detail) when it could not. The request's tenant, edge and kind must have
// been checked by the caller.
func (s *Service) Send(ctx context.Context, req Request) (Command, error) {
	if req.TenantID == "" || req.EdgeID == "" || req.ChargerID == "" || req.Kind == "" || req.RequestedBy == "" {
		return Command{}, fmt.Errorf("send command: tenant, edge, charger, kind and requester are required: %w", ErrInvalid)
	}
	// Postgres keeps microseconds; so does the command we return.
	now := s.now().UTC().Truncate(time.Microsecond)
	c := Command{
		ID: newID(), TenantID: req.TenantID, EdgeID: req.EdgeID, ChargerID: req.ChargerID, Connector: req.Connector,
		Kind: req.Kind, Params: req.Params, Limit: req.Limit, State: StateQueued, RequestedBy: req.RequestedBy,
		RequestedAt: now, ExpiresAt: now.Add(s.cfg.Expiry), Deadline: now.Add(s.cfg.Expiry + s.cfg.ResultWait),
	}
	if err := s.store.Insert(ctx, c); err != nil {
		return Command{}, err
	}
	s.transitions.WithLabelValues(string(StateQueued)).Inc()
	log := s.log.With("command_id", c.ID, "tenant_id", c.TenantID, "edge_id", c.EdgeID, "charger_id", c.ChargerID, "kind", c.Kind)
	log.Info("command queued", "requested_by", c.RequestedBy)

	// Stored: from here the command is carried to its outcome even if the
	// caller goes away, so it is never left queued by a dropped request.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	var (
		moved Command
		ok    bool
		err   error
	)
	if perr := s.sender.Publish(ctx, c); perr != nil {
		log.Warn("command not published", "err", perr)
		moved, ok, err = s.store.MarkFailed(ctx, c.ID, "not sent: "+perr.Error(), s.now())
	} else {
		moved, ok, err = s.store.MarkSent(ctx, c.ID, s.now())
	}
	if err != nil {
		return Command{}, err
	}
	if !ok {
		// Its result (or the sweeper) was faster: return what is stored.
		return s.store.Get(ctx, c.TenantID, c.ID)
	}
	s.transitions.WithLabelValues(string(moved.State)).Inc()
	s.publish(ctx, moved)
	return moved, nil
}

// Get returns one command of tenant.
func (s *Service) Get(ctx context.Context, tenant, id string) (Command, error) {
	return s.store.Get(ctx, tenant, id)
}

// List returns a page of commands (see Store.List).
func (s *Service) List(ctx context.Context, f Filter, after *Cursor, limit int) ([]Command, error) {
	return s.store.List(ctx, f, after, limit)
}

// publish announces changed commands to watchers. Best effort: the
// command's state is stored whatever happens to the announcement.
func (s *Service) publish(ctx context.Context, cs ...Command) {
	if len(cs) == 0 {
		return
	}
	now := s.now()
	updates := make([]*chargeplanev1.LiveUpdate, len(cs))
	for i, c := range cs {
		updates[i] = c.Update(now)
	}
	if err := s.hub.Publish(ctx, updates...); err != nil {
		s.log.Warn("command updates not published to watchers", "commands", len(cs), "err", err)
	}
}

// Observe records the CommandResult events among events (an ingest
// observer): one statement for the whole batch, then one live publish.
// Results for unknown commands are logged and dropped; results for
// commands already final change nothing.
func (s *Service) Observe(ctx context.Context, events []fleet.Event) error {
	var (
		results []Result
		errs    []error
	)
	for _, e := range events {
		if e.Kind != fleet.KindCommandResult {
			continue
		}
		var ev chargeplanev1.Event
		if err := proto.Unmarshal(e.Payload, &ev); err != nil {
			errs = append(errs, fmt.Errorf("decode event %q seq %d: %w", e.EdgeID, e.Seq, err))
			continue
		}
		r := ev.GetCommandResult()
		if r.GetCommandId() == "" {
			s.log.Warn("dropping command result without command id", "edge_id", e.EdgeID, "seq", e.Seq)
			continue
		}
		results = append(results, Result{
			TenantID: e.TenantID, EdgeID: e.EdgeID, CommandID: r.GetCommandId(),
			Status: r.GetStatus(), Detail: r.GetDetail(), Values: r.GetValues(), At: e.OccurredAt,
		})
	}
	if len(results) == 0 {
		return errors.Join(errs...)
	}
	finished, unknown, err := s.store.ApplyResults(ctx, results, s.now())
	if err != nil {
		errs = append(errs, err)
	}
	for _, id := range unknown {
		s.unknown.Inc()
		s.log.Warn("dropping result for an unknown command", "command_id", id)
	}
	for _, c := range finished {
		s.transitions.WithLabelValues(string(c.State)).Inc()
		s.log.Info("command finished", "command_id", c.ID, "edge_id", c.EdgeID, "charger_id", c.ChargerID, "state", c.State, "detail", c.Detail)
	}
	s.publish(ctx, finished...)
	return errors.Join(errs...)
}

// sweep times out what is past its deadline, a page at a time.
func (s *Service) sweep(ctx context.Context, page int) (int, error) {
	total := 0
	for {
		cs, err := s.store.Sweep(ctx, s.now(), page)
		if err != nil {
			return total, err
		}
		total += len(cs)
		s.transitions.WithLabelValues(string(StateTimedOut)).Add(float64(len(cs)))
		s.publish(ctx, cs...)
		if len(cs) < page {
			return total, nil
		}
	}
}

// Sweeper marks commands with no result by their deadline timed_out, on
// every replica at once without harm (see Store.Sweep).
type Sweeper struct {
	svc      *Service
	interval time.Duration
	log      *slog.Logger
}

// sweepPage bounds the commands one sweep statement ends.
const sweepPage = 500

// NewSweeper returns a Sweeper that looks every interval.
func NewSweeper(svc *Service, interval time.Duration, logger *slog.Logger) *Sweeper {
	return &Sweeper{svc: svc, interval: interval, log: logger.With("component", "command_sweeper")}
}

// Run sweeps every interval until ctx ends. Failures are logged and the
// next tick tries again. It returns nil.
func (w *Sweeper) Run(ctx context.Context) error {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		n, err := w.svc.sweep(ctx, sweepPage)
		if err != nil && ctx.Err() == nil {
			w.log.Warn("sweeping timed-out commands failed; retrying at the next tick", "err", err)
		}
		if n > 0 {
			w.log.Info("commands timed out", "commands", n)
		}
	}
}
