package uplink

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
)

// TestPushSessionsMarksOnlyConfirmed: the cloud stores one session, reports
// one as a duplicate, skips one and names a seq that was never sent. Only
// the stored and duplicate ones are marked synced, with the config version
// the cloud returned; the skipped one stays pending, is sent again, and is
// still pending after a restart, which then delivers it.
func TestPushSessionsMarksOnlyConfirmed(t *testing.T) {
	broker := startBroker(t, brokerOpts{})
	dir := t.TempDir()
	st := openStore(t, dir, true)
	// seqs: r1=1, heartbeat=2, r2=3, r3=4
	appendAll(t, st, sessionEnded("r1", 1000), heartbeat(1), sessionEnded("r2", 2000), sessionEnded("r3", 3000))

	c := newCloud()
	c.stored[3] = true // r2 arrived before: duplicate
	c.skip[4] = true   // r3: neither stored nor duplicate
	c.foreign = []uint64{99}
	c.version = 42
	url := c.serve(t, nil)
	l := &ledger{st: st}
	u := startUplink(t, testConfig(broker.url(), url), st, l, nil, discard())

	waitFor(t, "r3 sent again", func() bool {
		n := 0
		c.get(func(c *cloud) {
			for _, p := range c.pushes {
				if slices.Contains(p, 4) {
					n++
				}
			}
		})
		return n >= 2
	})
	marked, versions := l.snapshot()
	slices.Sort(marked)
	if diff := cmp.Diff([]uint64{1, 3}, marked); diff != "" {
		t.Errorf("marked synced (-want +got):\n%s", diff)
	}
	for _, v := range versions {
		if v != 42 {
			t.Errorf("marked with config version %d, want 42 from the cloud", v)
		}
	}
	pending, err := st.PendingSessions(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].GetSeq() != 4 {
		t.Fatalf("pending sessions = %v, want only seq 4", pending)
	}
	if got := u.Status().PendingSessions; got != 1 {
		t.Errorf("Status().PendingSessions = %d, want 1", got)
	}
	u.stop()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// The ledger is durable: after a restart only r3 is sent, and once the
	// cloud takes it, it is synced.
	st = openStore(t, dir, true)
	var before int
	c.set(func(c *cloud) { before = len(c.pushes); delete(c.skip, 4) })
	l = &ledger{st: st}
	startUplink(t, testConfig(broker.url(), url), st, l, nil, discard())
	waitFor(t, "r3 synced after restart", func() bool {
		marked, _ = l.snapshot()
		return len(marked) > 0 && st.PendingSessionCount() == 0
	})
	if diff := cmp.Diff([]uint64{4}, marked); diff != "" {
		t.Errorf("marked after restart (-want +got):\n%s", diff)
	}
	c.get(func(c *cloud) {
		for _, p := range c.pushes[before:] {
			if diff := cmp.Diff([]uint64{4}, p); diff != "" {
				t.Errorf("push after restart (-want +got):\n%s", diff)
			}
		}
	})
}

// TestPushSessionsRetriesUntilCloudRecovers: while the cloud answers
// Unavailable, every call is retried by the HTTP client and then again by the
// loop, nothing is marked and the uplink is not online; once the cloud
// recovers, the sessions are synced and it is online.
func TestPushSessionsRetriesUntilCloudRecovers(t *testing.T) {
	broker := startBroker(t, brokerOpts{})
	st := openStore(t, t.TempDir(), true)
	c := newCloud()
	down := connect.NewError(connect.CodeUnavailable, errors.New("database down"))
	c.pushErr = down
	c.handshakeErr = down
	url := c.serve(t, nil)
	l := &ledger{st: st}
	appendAll(t, st, sessionEnded("a", 1), sessionEnded("b", 2))
	u := startUplink(t, testConfig(broker.url(), url), st, l, nil, discard())

	failedPushes := func() float64 {
		return metricValue(t, u.reg, "chargeplane_uplink_cloud_call_failures_total", "method", "PushSessions")
	}
	waitFor(t, "two failed PushSessions calls", func() bool { return failedPushes() >= 2 })
	// Each failed call is 1+callAttempts requests: the HTTP client retried.
	failedPush := failedPushes()
	var attempts int
	c.get(func(c *cloud) { attempts = len(c.pushes) })
	if failedPush < 1 || float64(attempts) < failedPush*(callAttempts+1) {
		t.Errorf("%d push requests for %v failed calls: want %d requests per failed call", attempts, failedPush, callAttempts+1)
	}
	if u.Online() {
		t.Error("Online() = true while every cloud call fails")
	}
	if got := st.PendingSessionCount(); got != 2 {
		t.Errorf("pending sessions = %d while the cloud is down, want 2", got)
	}
	if marked, _ := l.snapshot(); len(marked) != 0 {
		t.Errorf("marked %v while the cloud is down", marked)
	}
	// The cloud's own error comes through the HTTP retries.
	if e := u.Status().LastError; !strings.Contains(e, "unavailable: database down") {
		t.Errorf("status error = %q, want the cloud's unavailable: database down", e)
	}

	c.set(func(c *cloud) { c.pushErr, c.handshakeErr = nil, nil })
	waitFor(t, "sessions synced", func() bool { return st.PendingSessionCount() == 0 })
	waitFor(t, "online", u.Online)
	if s := u.Status(); s.LastSessionPush.IsZero() || s.PendingSessions != 0 || !s.Online {
		t.Errorf("status after recovery = %+v", s)
	}
}
