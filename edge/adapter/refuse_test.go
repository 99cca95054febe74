package adapter

import (
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// refuseSet is an Admission refusing the ids in it.
type refuseSet struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (r *refuseSet) Refused(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ids[id]
}

func (r *refuseSet) set(id string, refused bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids[id] = refused
}

// TestBKVRefusedGateway: a refused gateway's first frame is neither stored
// nor answered and its connection is closed; once no longer refused it is
// served; refused again while connected (Registry.Refuse, as a new site
// config does), its connection is closed and the disconnect stored as
// "refused".
func TestBKVRefusedGateway(t *testing.T) {
	const id = "82200520004869"
	admission := &refuseSet{ids: map[string]bool{id: true}}
	var registry *Registry
	h := startBKV(t, func(d *Deps) {
		d.Admission = admission
		registry = NewRegistry(*d)
		d.Registry = registry
	})

	c := h.dial(t)
	if _, err := c.Write(unhex(t, hbUp)); err != nil {
		t.Fatal(err)
	}
	if n, err := io.ReadFull(c, make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("refused gateway read %d bytes, %v; want the connection closed (EOF) unanswered", n, err)
	}
	if evs := h.events(t); len(evs) != 0 {
		t.Errorf("stored %d events for a refused gateway, want none: %v", len(evs), evs)
	}
	if !strings.Contains(h.logs.String(), "charger refused") {
		t.Errorf("log does not say why the connection was closed:\n%s", h.logs.String())
	}

	admission.set(id, false)
	c = h.dial(t)
	if _, err := c.Write(unhex(t, hbUp)); err != nil {
		t.Fatal(err)
	}
	readFrame(t, c, len(unhex(t, hbDown)))
	if got := registry.Refuse([]string{"someone-else"}); got != 0 {
		t.Errorf("Refuse(someone-else) closed %d sessions, want 0", got)
	}
	if got := registry.Refuse([]string{id}); got != 1 {
		t.Fatalf("Refuse(%s) closed %d sessions, want 1", id, got)
	}
	if n, err := io.ReadFull(c, make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("after Refuse read %d bytes, %v; want EOF", n, err)
	}
	// The disconnect is stored when the session ends, just after the close.
	deadline := time.Now().Add(5 * time.Second)
	for {
		evs := h.events(t)
		if len(evs) == 3 {
			if d := evs[2].GetChargerDisconnected(); d.GetReason() != "refused" {
				t.Errorf("last event = %v, want ChargerDisconnected reason refused", evs[2])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events = %v, want connected, heartbeat, disconnected", evs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
