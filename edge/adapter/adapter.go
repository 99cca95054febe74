package adapter

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chargeplane/chargeplane/edge/control"
	"github.com/chargeplane/chargeplane/edge/framelog"
	"github.com/chargeplane/chargeplane/edge/gateway"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Recorder stores events durably: the adapters acknowledge a charger only
// after Append returns. A *store.Store is one; in the agent it is the
// control.Book, which observes sessions on their way to the store.
type Recorder interface {
	Append(ctx context.Context, evs ...*chargeplanev1.Event) error
}

// Authorizer decides card swipes and answers balance queries
// (control.Book, or the static control.Authorizer).
type Authorizer interface {
	Authorize(cardID string) control.Decision
	Balance(cardID string) int64
}

// Admission says which chargers the site refuses (control.Book).
type Admission interface {
	Refused(chargerID string) bool
}

// refused reports whether deps refuse chargerID, logging and counting it.
func refused(deps Deps, m sessionMetrics, protocol, chargerID string, log *slog.Logger) bool {
	if deps.Admission == nil || !deps.Admission.Refused(chargerID) {
		return false
	}
	m.frames.WithLabelValues(protocol, "refused").Inc()
	log.Warn("charger refused: rejected by an operator; closing the connection", "charger_id", chargerID)
	return true
}

// Deps are what every adapter needs.
type Deps struct {
	// Store records every event before the charger is acknowledged.
	Store Recorder
	// Now is the clock; Location is the site's zone for the wall-clock time
	// chargers are given.
	Now        func() time.Time
	Location   *time.Location
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// MaxGarbage is how many unparseable bytes in a row a session tolerates
	// before closing the connection (0 means 4096).
	MaxGarbage int
	// StoreTimeout bounds writing the final disconnect event when a session
	// ends (0 means 5 s).
	StoreTimeout time.Duration
	// Authorizer decides card swipes and answers balance queries.
	Authorizer Authorizer
	// Admission, when set, refuses chargers an operator rejected: their
	// connection is closed as soon as they identify themselves.
	Admission Admission
	// Registry receives every identified session, so commands reach it.
	Registry *Registry
	// FrameLog keeps each charger's recent raw frames (nil: none kept).
	FrameLog *framelog.Log
	// CommandTimeout is how long to wait for a charger's reply before
	// resending (0 means 10 s); CommandRetries how many times to resend.
	CommandTimeout time.Duration
	CommandRetries int
}

func (d Deps) withDefaults() Deps {
	if d.MaxGarbage == 0 {
		d.MaxGarbage = 4096
	}
	if d.StoreTimeout == 0 {
		d.StoreTimeout = 5 * time.Second
	}
	if d.CommandTimeout == 0 {
		d.CommandTimeout = 10 * time.Second
	}
	return d
}

// sessionMetrics are shared by all adapters, labelled by protocol.
type sessionMetrics struct {
	frames  *prometheus.CounterVec
	skipped *prometheus.CounterVec
	ackLat  *prometheus.HistogramVec
}

func newSessionMetrics(reg prometheus.Registerer) sessionMetrics {
	return sessionMetrics{
		frames: registerShared(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chargeplane_adapter_frames_total",
			Help: "Frames received from chargers, by protocol and outcome.",
		}, []string{"protocol", "outcome"})),
		skipped: registerShared(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chargeplane_adapter_skipped_bytes_total",
			Help: "Bytes dropped while resynchronising a charger byte stream.",
		}, []string{"protocol"})),
		ackLat: registerShared(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "chargeplane_adapter_ack_latency_seconds",
			Help:    "Time from a frame's arrival to its durable store and reply.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"protocol"})),
	}
}

// registerShared registers c, or returns the identical collector another
// adapter already registered: every adapter labels the same metrics with its
// protocol.
func registerShared[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(fmt.Sprintf("register adapter metrics: %v", err)) // programmer error at startup
	}
	return c
}

// event builds the common envelope of an event about one charger.
func event(now time.Time, protocol, chargerID string, connector uint32) *chargeplanev1.Event {
	return &chargeplanev1.Event{
		OccurredAt: timestamppb.New(now),
		ChargerId:  chargerID,
		Connector:  connector,
		Protocol:   protocol,
	}
}

// storeFinal stores the event that ends a session even though the session's
// context may be cancelled (shutdown): it is a fact the cloud must see.
func storeFinal(ctx context.Context, st Recorder, timeout time.Duration, evs ...*chargeplanev1.Event) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	return st.Append(ctx, evs...) //nolint:wrapcheck // callers log with context
}

// recordEnd detaches an identified session from the registry and stores
// the ChargerDisconnected event saying why it ended. Sessions that never
// identified a charger leave nothing to record.
func recordEnd(ctx context.Context, deps Deps, protocol, chargerID string, s commander, err error, log *slog.Logger) {
	if chargerID == "" {
		return
	}
	if deps.Registry != nil {
		deps.Registry.detach(chargerID, s)
	}
	ev := event(deps.Now(), protocol, chargerID, 0)
	ev.Kind = &chargeplanev1.Event_ChargerDisconnected{ChargerDisconnected: disconnectOf(ctx, err)}
	if serr := storeFinal(ctx, deps.Store, deps.StoreTimeout, ev); serr != nil {
		log.Error("store disconnect event", "err", serr) // log already names the charger
	}
}

// hexFrame logs a raw frame as hex, formatted only if the record is
// written (frames are logged at Debug, usually disabled).
type hexFrame []byte

// LogValue implements slog.LogValuer.
func (h hexFrame) LogValue() slog.Value { return slog.StringValue(hex.EncodeToString(h)) }

// wallClock returns now's wall-clock fields in loc, labelled UTC: the codecs
// write a charger's local time field by field and never convert zones.
func wallClock(now time.Time, loc *time.Location) time.Time {
	t := now.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

// disconnectOf describes why a session ended, for the cloud.
func disconnectOf(ctx context.Context, err error) *chargeplanev1.ChargerDisconnected {
	d := &chargeplanev1.ChargerDisconnected{Reason: "eof"}
	switch {
	case ctx.Err() != nil:
		d.Reason = "shutdown"
	case err == nil:
	case errors.Is(err, gateway.ErrProtocol):
		d.Reason = "protocol_error"
	case errors.Is(err, gateway.ErrWrite):
		d.Reason = "write_error"
	case errors.Is(err, gateway.ErrReplaced):
		d.Reason = "replaced"
	case errors.Is(err, gateway.ErrRefused):
		d.Reason = "refused"
	case errors.Is(err, os.ErrDeadlineExceeded):
		d.Reason = "idle_timeout"
	default:
		d.Reason = "error"
	}
	if err != nil {
		d.Detail = err.Error()
	}
	return d
}
