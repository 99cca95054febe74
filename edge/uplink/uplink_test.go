package uplink

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/chargeplane/chargeplane/shared/mqtttest"
	"github.com/chargeplane/chargeplane/shared/topic"
)

func mustSpace(tb testing.TB, root string) topic.Space {
	tb.Helper()
	s, err := topic.New(root)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func wantInOrder(t *testing.T, seqs []uint64, n int) {
	t.Helper()
	if len(seqs) != n {
		t.Fatalf("subscriber got %d events, want %d", len(seqs), n)
	}
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("event %d has seq %d: want every seq once, in order", i, s)
		}
	}
}

// TestDrainsOutboxInOrderAndAcks runs against the real broker (Mosquitto):
// a backlog and live events arrive once each, in seq order, with eight
// batches in flight; the store ends fully acknowledged; a restarted uplink
// on the same store carries on with what was stored meanwhile.
func TestDrainsOutboxInOrderAndAcks(t *testing.T) {
	broker := mqtttest.URL()
	mqtttest.MustReach(t, broker)
	st := openStore(t, t.TempDir(), true)
	// Nothing listens at the cloud URL: the handshake retries, publishing
	// must not wait for it.
	cfg := testConfig(broker, "http://127.0.0.1:1")
	cfg.BatchEvents = 100
	cfg.MaxInflight = 8
	sub := subscribe(t, broker, mustSpace(t, cfg.TopicRoot))

	// Events stored before the uplink starts are sent too (catch-up).
	const n = 5000
	appendHeartbeats(t, st, n)
	u := startUplink(t, cfg, st, nil, nil, discard())
	waitFor(t, "backlog published and acked", func() bool {
		seqs, _ := sub.snapshot()
		return len(seqs) >= n && st.PendingCount() == 0
	})
	// Events appended while running follow.
	appendAll(t, st, heartbeat(n))
	waitFor(t, "live event", func() bool { seqs, _ := sub.snapshot(); return len(seqs) >= n+1 && st.PendingCount() == 0 })
	if u.Status().LastPublish.IsZero() {
		t.Error("status shows no publish")
	}
	if got := metricValue(t, u.reg, "chargeplane_uplink_published_events_total"); got != n+1 {
		t.Errorf("published_events_total = %v, want %d", got, n+1)
	}
	u.stop()

	// Stored while the uplink is down; a new uplink on the same store sends
	// only these.
	const m = 777
	appendHeartbeats(t, st, m)
	startUplink(t, cfg, st, nil, nil, discard())
	waitFor(t, "events stored while stopped", func() bool {
		seqs, _ := sub.snapshot()
		return len(seqs) >= n+1+m && st.PendingCount() == 0
	})
	seqs, states := sub.snapshot()
	wantInOrder(t, seqs, n+1+m)
	if len(states) == 0 || states[0] != topic.StateOnline {
		t.Errorf("states = %v, want online first", states)
	}
}

// TestStopMidBacklogResumes stops the uplink while a backlog drains and
// starts another on the same store: every event reaches the broker, the
// store ends empty, and whatever was acknowledged before the stop is not
// sent again.
func TestStopMidBacklogResumes(t *testing.T) {
	broker := startBroker(t, brokerOpts{})
	st := openStore(t, t.TempDir(), true)
	cfg := testConfig(broker.url(), "http://127.0.0.1:1")
	cfg.BatchEvents = 20
	sub := subscribe(t, broker.url(), mustSpace(t, cfg.TopicRoot))
	const n = 6000 // 300 batches: far more than can drain between the first ack and the stop
	appendHeartbeats(t, st, n)
	u := startUplink(t, cfg, st, nil, nil, discard())
	waitFor(t, "part of the backlog acked", func() bool { return st.PendingCount() < n })
	u.stop()
	left := st.PendingCount()
	if left == 0 {
		t.Fatal("backlog fully drained before the stop: the test proves nothing; raise n")
	}
	ackedBefore := uint64(n - left)

	startUplink(t, cfg, st, nil, nil, discard())
	waitFor(t, "rest of the backlog", func() bool { return sub.covers(n) && st.PendingCount() == 0 })
	for seq := uint64(1); seq <= ackedBefore; seq++ {
		if c := sub.count(seq); c != 1 {
			t.Fatalf("seq %d (acked before the stop) arrived %d times, want once", seq, c)
		}
	}
}

// TestWindowHoldsMaxInflightUntilPuback holds the broker's PUBACKs: the
// uplink publishes exactly max_inflight batches and acknowledges nothing in
// the store; once the broker answers, everything drains in order.
func TestWindowHoldsMaxInflightUntilPuback(t *testing.T) {
	gate := newGateHook("/up/events")
	broker := startBroker(t, brokerOpts{hooks: []mochi.Hook{gate}})
	t.Cleanup(gate.open) // before the broker closes
	st := openStore(t, t.TempDir(), true)
	cfg := testConfig(broker.url(), "http://127.0.0.1:1")
	cfg.BatchEvents = 10
	cfg.MaxInflight = 8
	sub := subscribe(t, broker.url(), mustSpace(t, cfg.TopicRoot))
	const n = 300 // 30 batches
	appendHeartbeats(t, st, n)
	u := startUplink(t, cfg, st, nil, nil, discard())
	waitFor(t, "a full window", func() bool {
		return metricValue(t, u.reg, "chargeplane_uplink_inflight_batches") == 8
	})
	if got := st.PendingCount(); got != n {
		t.Fatalf("store pending = %d while no PUBACK arrived, want %d (nothing acked)", got, n)
	}
	if seqs, _ := sub.snapshot(); len(seqs) != 0 {
		t.Fatalf("subscriber got %d events before the broker accepted any", len(seqs))
	}
	gate.open()
	waitFor(t, "drained", func() bool { seqs, _ := sub.snapshot(); return len(seqs) >= n && st.PendingCount() == 0 })
	seqs, _ := sub.snapshot()
	wantInOrder(t, seqs, n)
	if got := metricValue(t, u.reg, "chargeplane_uplink_publish_failures_total"); got != 0 {
		t.Errorf("publish failures = %v, want 0", got)
	}
}

// TestPublishTimeoutResendsFromFirstUnacked lets PUBACKs time out: the
// uplink abandons the window and publishes again from the first
// unacknowledged seq; once the broker answers, every event is there (the
// first ones twice) and the store is fully acknowledged.
func TestPublishTimeoutResendsFromFirstUnacked(t *testing.T) {
	gate := newGateHook("/up/events")
	broker := startBroker(t, brokerOpts{hooks: []mochi.Hook{gate}})
	t.Cleanup(gate.open)
	st := openStore(t, t.TempDir(), true)
	cfg := testConfig(broker.url(), "http://127.0.0.1:1")
	cfg.BatchEvents = 10
	cfg.MaxInflight = 4
	cfg.PublishTimeout = 100 * time.Millisecond
	sub := subscribe(t, broker.url(), mustSpace(t, cfg.TopicRoot))
	const n = 100
	appendHeartbeats(t, st, n)
	u := startUplink(t, cfg, st, nil, nil, discard())
	waitFor(t, "a timed-out window", func() bool {
		return metricValue(t, u.reg, "chargeplane_uplink_publish_failures_total") >= 1
	})
	gate.open()
	waitFor(t, "drained", func() bool { return sub.covers(n) && st.PendingCount() == 0 })
	if c := sub.count(1); c < 2 {
		t.Errorf("seq 1 arrived %d times: want it resent after the timeout", c)
	}
}

// TestConnectionLostMidWindowResends drops the uplink's connection at the
// fifth batch, with a window of batches in flight: the uplink reconnects and
// publishes again from the first unacknowledged seq, so every event arrives
// and the store ends fully acknowledged.
func TestConnectionLostMidWindowResends(t *testing.T) {
	drop := &dropHook{suffix: "/up/events", at: 5}
	broker := startBroker(t, brokerOpts{hooks: []mochi.Hook{drop}})
	st := openStore(t, t.TempDir(), true)
	cfg := testConfig(broker.url(), "http://127.0.0.1:1")
	cfg.BatchEvents = 20
	sub := subscribe(t, broker.url(), mustSpace(t, cfg.TopicRoot))
	const n = 2000
	appendHeartbeats(t, st, n)
	u := startUplink(t, cfg, st, nil, nil, discard())
	waitFor(t, "drained after the reconnect", func() bool { return sub.covers(n) && st.PendingCount() == 0 })
	if !drop.dropped.Load() {
		t.Fatal("the broker never dropped the connection: the test proves nothing")
	}
	if got := metricValue(t, u.reg, "chargeplane_uplink_publish_failures_total"); got < 1 {
		t.Errorf("publish failures = %v, want the lost window counted", got)
	}
	// Batch 5 (seqs 81..100) was never accepted before the drop: it
	// arrived through the resend.
	if c := sub.count(81); c < 1 {
		t.Errorf("seq 81 arrived %d times", c)
	}
	waitFor(t, "connected again", func() bool { return u.Status().Connected })
}

// dropHook disconnects the publishing client at its at-th PUBLISH on a
// topic ending in suffix, without accepting that message.
type dropHook struct {
	mochi.HookBase
	suffix  string
	at      int64
	seen    atomic.Int64
	dropped atomic.Bool
}

func (h *dropHook) ID() string { return "drop" }

func (h *dropHook) Provides(b byte) bool { return b == mochi.OnPublish }

func (h *dropHook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if strings.HasSuffix(pk.TopicName, h.suffix) && h.seen.Add(1) == h.at {
		h.dropped.Store(true)
		cl.Stop(errors.New("test: connection dropped"))
		return pk, packets.ErrRejectPacket
	}
	return pk, nil
}
