package uplink

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/chargeplane/chargeplane/edge/control"
)

// The session book is what the agent passes as both ends.
var (
	_ SessionSource = (*control.Book)(nil)
	_ ConfigSink    = (*control.Book)(nil)
)

// TestWithControlBook wires the uplink to a real control.Book, as the agent
// does: a session the Book records is pushed and marked synced in it, the
// cloud's config reaches it, and its Online view follows the uplink.
func TestWithControlBook(t *testing.T) {
	broker := startBroker(t, brokerOpts{})
	st := openStore(t, t.TempDir(), true)
	c := newCloud()
	c.version = 9
	c.config = siteConfig(9)
	url := c.serve(t, nil)

	var up atomic.Pointer[Uplink] // the Book exists before the uplink, as in the agent
	book, err := control.NewBook(context.Background(), control.DefaultBookConfig(), control.BookDeps{
		Store: st, Logger: discard(), Online: func() bool { u := up.Load(); return u != nil && u.Online() },
	})
	if err != nil {
		t.Fatalf("NewBook: %v", err)
	}
	if err := book.Append(context.Background(), sessionEnded("book-1", 1500)); err != nil {
		t.Fatalf("Book.Append: %v", err)
	}
	if got := book.PendingSessionCount(); got != 1 {
		t.Fatalf("Book holds %d pending sessions, want 1", got)
	}
	if d := book.Authorize("card-1"); !d.Offline {
		t.Errorf("decision before the uplink ran = %+v, want offline", d)
	}
	r := startUplink(t, testConfig(broker.url(), url), st, book, book, discard())
	up.Store(r.Uplink)

	waitFor(t, "session synced and config applied in the Book", func() bool {
		return book.PendingSessionCount() == 0 && book.ConfigVersion() == 9
	})
	waitFor(t, "online", r.Online)
	// The card comes from the pulled config (balance 900), decided online.
	if d := book.Authorize("card-1"); d.Offline || !d.Accepted || d.BalanceFen != 900 {
		t.Errorf("decision once online = %+v, want accepted online with balance 900", d)
	}
	var pushed []uint64
	c.get(func(c *cloud) {
		for _, p := range c.pushes {
			pushed = append(pushed, p...)
		}
	})
	if len(pushed) == 0 {
		t.Fatal("the cloud received no session")
	}
	if s := r.Status(); s.PendingSessions != 0 || s.ConfigVersion != 9 {
		t.Errorf("status = %+v, want no pending sessions and config version 9", s)
	}
	pending, err := book.PendingSessions(context.Background(), 10)
	if err != nil || len(pending) != 0 {
		t.Errorf("Book.PendingSessions = %v, %v; want none", pending, err)
	}
}
