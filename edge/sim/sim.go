package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes a simulated fleet.
type Config struct {
	// Protocol is the charger protocol; "bkv" today.
	Protocol string
	// Chargers is how many chargers (connections) to simulate.
	Chargers int
	// Addr is the edge's charger address.
	Addr string
	// Heartbeat is each charger's heartbeat interval (BKV default 1 min).
	Heartbeat time.Duration
	// Ramp spreads the connects over this long, so a large fleet does not
	// arrive in one burst.
	Ramp time.Duration
	// IDBase offsets generated charger ids so several fleets never collide.
	IDBase uint64
	// ReplyTimeout marks a frame unanswered after this long.
	ReplyTimeout time.Duration
	// AP3000 shapes "ap3000" devices; the zero value is heartbeat-only dual
	// sockets (see AP3000Options).
	AP3000 AP3000Options
	// BKV shapes "bkv" gateways; the zero value is heartbeat-only (see
	// BKVOptions).
	BKV BKVOptions
	// OnSession, when set, hears every session whose end report (BKV) or
	// settlement (AP3000) the edge acknowledged, once per session, from the
	// charger's goroutine: it must be safe for concurrent use and quick.
	OnSession func(Session)
}

// Validate reports every problem.
func (c Config) Validate() error {
	var errs []error
	if c.Protocol != "bkv" && c.Protocol != "ap3000" {
		errs = append(errs, fmt.Errorf("protocol %q: supported: bkv, ap3000", c.Protocol))
	}
	if c.Chargers < 1 {
		errs = append(errs, errors.New("chargers: must be at least 1"))
	}
	if c.Addr == "" {
		errs = append(errs, errors.New("addr: required"))
	}
	if c.Heartbeat <= 0 {
		errs = append(errs, errors.New("heartbeat: must be positive"))
	}
	if c.ReplyTimeout <= 0 {
		errs = append(errs, errors.New("reply timeout: must be positive"))
	}
	if c.Protocol == "bkv" && c.BKV.Sessions {
		// Every gateway would fail the same way, each reconnect: say it once.
		if err := (&Fleet{cfg: c}).gatewayConfig(0).withDefaults().validate(); err != nil {
			errs = append(errs, fmt.Errorf("bkv: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Summary is what a run measured.
type Summary struct {
	Chargers   int
	Connected  int64
	Sent       int64
	Answered   int64
	Errors     int64
	LatencyP50 time.Duration
	LatencyP99 time.Duration
	// Rate is frames answered per second once every charger had started
	// (after the ramp), over the rest of the run; 0 until the run ends.
	Rate float64
}

// String prints the summary on one line.
func (s Summary) String() string {
	return fmt.Sprintf("chargers=%d connected=%d sent=%d answered=%d errors=%d p50=%s p99=%s rate=%.0f/s",
		s.Chargers, s.Connected, s.Sent, s.Answered, s.Errors, s.LatencyP50, s.LatencyP99, s.Rate)
}

// Fleet is a running set of simulated chargers.
type Fleet struct {
	cfg       Config
	log       *slog.Logger
	lat       latencies
	sent      atomic.Int64
	answered  atomic.Int64
	errs      atomic.Int64
	connected atomic.Int64
	ap3k      ap3000Settled
}

// New builds a fleet.
func New(cfg Config, logger *slog.Logger) (*Fleet, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sim config: %w", err)
	}
	return &Fleet{cfg: cfg, log: logger.With("component", "sim")}, nil
}

// ChargerID returns the id of charger i (0-based) as the edge will report it.
func (f *Fleet) ChargerID(i int) string { return ChargerID(f.cfg.Protocol, f.cfg.IDBase, i) }

// ChargerID returns the id the edge gives charger i (0-based) of a fleet of
// protocol with idBase, so a harness can tell fleets apart in the edge's
// and the cloud's records without running them.
func ChargerID(protocol string, idBase uint64, i int) string {
	if protocol == "ap3000" {
		return ap3000ID(idBase, i).String()
	}
	return gatewayID(idBase, i).String()
}

// runCharger is one connection's life in the fleet's protocol.
func (f *Fleet) runCharger(ctx context.Context, i int) error {
	switch f.cfg.Protocol {
	case "ap3000":
		return f.runAP3000(ctx, i)
	case "bkv":
		return f.runBKV(ctx, i)
	default:
		return f.runBKV(ctx, i)
	}
}

// Connected returns how many chargers are connected now.
func (f *Fleet) Connected() int64 { return f.connected.Load() }

// Summary returns the counters so far.
func (f *Fleet) Summary() Summary {
	return Summary{
		Chargers: f.cfg.Chargers, Connected: f.connected.Load(), Sent: f.sent.Load(),
		Answered: f.answered.Load(), Errors: f.errs.Load(),
		LatencyP50: f.lat.quantile(0.50), LatencyP99: f.lat.quantile(0.99),
	}
}

// Run runs every charger until ctx ends, then closes their connections.
// A charger whose connection fails reconnects after a pause, as real ones do.
func (f *Fleet) Run(ctx context.Context) Summary {
	// The steady-state rate is measured from the end of the ramp to the
	// moment ctx ends (not counting replies awaited after it).
	rampEnd := time.Now().Add(f.cfg.Ramp)
	var answeredAtRamp, answeredAtStop, stoppedAt atomic.Int64
	answeredAtRamp.Store(-1)
	rampTimer := time.AfterFunc(f.cfg.Ramp, func() { answeredAtRamp.Store(f.answered.Load()) })
	defer rampTimer.Stop()
	stopped := make(chan struct{})
	atStop := context.AfterFunc(ctx, func() {
		answeredAtStop.Store(f.answered.Load())
		stoppedAt.Store(time.Now().UnixNano())
		close(stopped)
	})
	defer atStop()
	var wg sync.WaitGroup
	for i := range f.cfg.Chargers {
		delay := time.Duration(0)
		if f.cfg.Chargers > 1 {
			delay = f.cfg.Ramp * time.Duration(i) / time.Duration(f.cfg.Chargers)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !sleep(ctx, delay) {
				return
			}
			for ctx.Err() == nil {
				if err := f.runCharger(ctx, i); err != nil && ctx.Err() == nil {
					f.errs.Add(1)
					f.log.Debug("charger connection ended", "charger", i, "err", err)
					sleep(ctx, time.Second)
				}
			}
		}()
	}
	wg.Wait()
	<-stopped // the chargers only return once ctx has ended
	s := f.Summary()
	if at, end := answeredAtRamp.Load(), stoppedAt.Load(); at >= 0 && end > 0 {
		if secs := time.Unix(0, end).Sub(rampEnd).Seconds(); secs > 0 {
			s.Rate = float64(answeredAtStop.Load()-at) / secs
		}
	}
	return s
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
