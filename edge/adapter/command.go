package adapter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chargeplane/chargeplane/edge/command"
	"github.com/chargeplane/chargeplane/edge/gateway"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// commander is a live session that can carry commands to its charger.
type commander interface {
	do(ctx context.Context, cmd command.Command) (command.Result, error)
	// end closes the session from outside for why (gateway.ErrReplaced,
	// gateway.ErrRefused), which its Serve then returns.
	end(why error)
}

// ending is why a session was closed from outside; the first reason wins.
type ending struct {
	why atomic.Pointer[error]
}

// end records why and closes c.
func (e *ending) end(c *gateway.Conn, why error) {
	e.why.CompareAndSwap(nil, &why)
	_ = c.Close()
}

// or returns the recorded reason, or err (the read loop's) when there is none.
func (e *ending) or(err error) error {
	if why := e.why.Load(); why != nil {
		return *why
	}
	return err
}

// Registry knows the live session of every connected charger, so commands
// from the cloud or the installer reach the right connection. Every command
// outcome is stored as a CommandResult event before Do returns.
type Registry struct {
	deps Deps

	mu       sync.Mutex
	sessions map[string]liveSession
}

type liveSession struct {
	c        commander
	protocol string
}

// Connected is a charger with a live session.
type Connected struct {
	ChargerID string `json:"charger_id"`
	Protocol  string `json:"protocol"`
}

// NewRegistry builds an empty registry storing results through deps.Store.
func NewRegistry(deps Deps) *Registry {
	return &Registry{deps: deps.withDefaults(), sessions: make(map[string]liveSession)}
}

// attach records s as chargerID's live session, closing any older one.
func (r *Registry) attach(chargerID, protocol string, s commander) {
	r.mu.Lock()
	old := r.sessions[chargerID].c
	r.sessions[chargerID] = liveSession{c: s, protocol: protocol}
	r.mu.Unlock()
	if old != nil && old != s {
		old.end(gateway.ErrReplaced)
	}
}

// Refuse closes the live sessions of chargerIDs (control.Refuser) and
// returns how many it closed.
func (r *Registry) Refuse(chargerIDs []string) int {
	var closing []commander
	r.mu.Lock()
	for _, id := range chargerIDs {
		if ls, ok := r.sessions[id]; ok {
			closing = append(closing, ls.c)
		}
	}
	r.mu.Unlock()
	for _, c := range closing {
		c.end(gateway.ErrRefused)
	}
	return len(closing)
}

// detach forgets s if it is still chargerID's live session.
func (r *Registry) detach(chargerID string, s commander) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sessions[chargerID].c == s {
		delete(r.sessions, chargerID)
	}
}

// Connected lists the chargers with a live session, by charger id.
func (r *Registry) Connected() []Connected {
	r.mu.Lock()
	out := make([]Connected, 0, len(r.sessions))
	for id, ls := range r.sessions {
		out = append(out, Connected{ChargerID: id, Protocol: ls.protocol})
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b Connected) int { return strings.Compare(a.ChargerID, b.ChargerID) })
	return out
}

// Protocol returns the protocol of chargerID's live session.
func (r *Registry) Protocol(chargerID string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ls, ok := r.sessions[chargerID]
	return ls.protocol, ok
}

// Do sends cmd to chargerID and waits for the outcome (bounded by the
// protocol's timeout and retries), then stores it as a CommandResult event.
// A charger that is not connected gets a failed result, stored too.
func (r *Registry) Do(ctx context.Context, chargerID, protocol string, cmd command.Command) (command.Result, error) {
	r.mu.Lock()
	s := r.sessions[chargerID].c
	r.mu.Unlock()
	var (
		res command.Result
		err error
	)
	if s == nil {
		err = command.ErrNotConnected
	} else {
		res, err = s.do(ctx, cmd)
	}
	if err != nil {
		res = command.Result{Status: command.ResultFailed, Detail: err.Error()}
		switch {
		case errors.Is(err, command.ErrUnsupported), errors.Is(err, command.ErrInvalidCommand):
			res.Status = command.ResultRejected
		case errors.Is(err, errTimedOut):
			res.Status = command.ResultTimedOut
		}
	}
	ev := event(r.deps.Now(), protocol, chargerID, cmd.Connector)
	ev.Kind = &chargeplanev1.Event_CommandResult{CommandResult: &chargeplanev1.CommandResult{
		CommandId: cmd.ID, Command: cmd.Kind, Status: res.Status, Detail: res.Detail, Values: res.Values,
	}}
	if serr := storeFinal(ctx, r.deps.Store, r.deps.StoreTimeout, ev); serr != nil {
		return res, fmt.Errorf("store command result: %w", serr)
	}
	return res, err
}

// Reject stores a rejected CommandResult for a command that will not be
// executed (for example one that expired while queued), with reason as detail.
func (r *Registry) Reject(ctx context.Context, chargerID, protocol string, cmd command.Command, reason error) error {
	ev := event(r.deps.Now(), protocol, chargerID, cmd.Connector)
	ev.Kind = &chargeplanev1.Event_CommandResult{CommandResult: &chargeplanev1.CommandResult{
		CommandId: cmd.ID, Command: cmd.Kind, Status: command.ResultRejected, Detail: reason.Error(),
	}}
	if err := storeFinal(ctx, r.deps.Store, r.deps.StoreTimeout, ev); err != nil {
		return fmt.Errorf("store command result: %w", err)
	}
	return nil
}

// correlator matches replies to outstanding commands by key (for example
// the frame's message id). Keys must be unique among outstanding commands.
type correlator[K comparable, R any] struct {
	mu      sync.Mutex
	waiting map[K]chan R
}

func newCorrelator[K comparable, R any]() *correlator[K, R] {
	return &correlator[K, R]{waiting: make(map[K]chan R)}
}

// expect registers k and returns the channel its reply arrives on and a
// function that forgets k.
func (c *correlator[K, R]) expect(k K) (<-chan R, func()) {
	ch := make(chan R, 1)
	c.mu.Lock()
	c.waiting[k] = ch
	c.mu.Unlock()
	return ch, func() {
		c.mu.Lock()
		if c.waiting[k] == ch {
			delete(c.waiting, k)
		}
		c.mu.Unlock()
	}
}

// deliver hands r to whoever waits for k; false if nobody does (a late or
// unsolicited reply).
func (c *correlator[K, R]) deliver(k K, r R) bool {
	c.mu.Lock()
	ch, ok := c.waiting[k]
	delete(c.waiting, k)
	c.mu.Unlock()
	if ok {
		ch <- r
	}
	return ok
}

// errTimedOut reports a command the charger never answered.
var errTimedOut = errors.New("no reply from charger")

// sendAndWait writes a command frame, waits up to timeout for its reply and
// resends the same frame (same message id, as the protocols ask) up to
// retries more times. A timeout after the last try is errTimedOut.
func sendAndWait[R any](ctx context.Context, send func() error, reply <-chan R, timeout time.Duration, retries int) (R, error) {
	var zero R
	for attempt := 0; ; attempt++ {
		if err := send(); err != nil {
			return zero, err
		}
		t := time.NewTimer(timeout)
		select {
		case r := <-reply:
			t.Stop()
			return r, nil
		case <-ctx.Done():
			t.Stop()
			return zero, fmt.Errorf("waiting for reply: %w", ctx.Err())
		case <-t.C:
		}
		if attempt >= retries {
			return zero, fmt.Errorf("%w after %d tries of %s", errTimedOut, attempt+1, timeout)
		}
	}
}
