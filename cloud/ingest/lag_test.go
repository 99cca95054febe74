package ingest_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/cloud/fleet"
	"github.com/chargeplane/chargeplane/cloud/ingest"
	"github.com/chargeplane/chargeplane/cloud/postgres/pgtest"
	"github.com/chargeplane/chargeplane/cloud/presence"
	"github.com/chargeplane/chargeplane/cloud/presence/presencetest"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/mqtttest"
	"github.com/chargeplane/chargeplane/shared/topic"
)

// TestLagIsObservedOncePerStoredEvent runs a consumer on a fixed clock and
// checks chargeplane_ingest_lag_seconds after each message: every stored
// event is observed once, at commit time minus occurred_at (0 for an edge
// clock ahead), and a duplicate never is.
func TestLagIsObservedOncePerStoredEvent(t *testing.T) {
	t.Parallel()
	pool := pgtest.MustPool(t, pgtest.MustDB(t))
	rdb, prefix := presencetest.MustRedis(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	root := "cptest/" + hex.EncodeToString(b)
	space, err := topic.New(root)
	if err != nil {
		t.Fatal(err)
	}
	commit := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	reg := prometheus.NewRegistry()
	id := "lagtest-" + hex.EncodeToString(b)
	c, err := ingest.New(ingest.Config{
		URL: mqtttest.URL(), ClientID: id, Group: "cloud", TopicRoot: root,
		BatchEvents: 1000, BatchWait: 10 * time.Millisecond, QueueMessages: 10, DrainTimeout: time.Second,
	}, ingest.Deps{
		Fleet:      fleet.New(pool),
		Presence:   presence.New(rdb, presence.Config{Prefix: prefix, Timeout: time.Minute}, time.Now),
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registerer: reg,
		Now:        func() time.Time { return commit },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mqtttest.ForgetSession(t, mqtttest.URL(), id) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the consumer to subscribe", c.Connected)

	pub := mqtttest.MustConnect(t, mqtttest.URL(), "lagpub-"+hex.EncodeToString(b))
	name := space.Stream("t1", "e1", topic.Up, topic.KindEvents)
	type ev struct {
		seq uint64
		ago time.Duration
	}
	// publish sends one message and waits until its batch is acknowledged
	// (the flush histogram counts it last), so each message is one batch.
	publish := func(events ...ev) {
		t.Helper()
		flushes := histogram(t, reg, "chargeplane_ingest_flush_duration_seconds").count
		batch := &chargeplanev1.EventBatch{}
		for _, e := range events {
			batch.Events = append(batch.Events, &chargeplanev1.Event{
				Seq: e.seq, ChargerId: "c1", Protocol: "bkv", OccurredAt: timestamppb.New(commit.Add(-e.ago)),
				Kind: &chargeplanev1.Event_Heartbeat{Heartbeat: &chargeplanev1.Heartbeat{}},
			})
		}
		p, err := proto.Marshal(batch)
		if err != nil {
			t.Fatal(err)
		}
		mqtttest.MustPublish(t, pub, name, p, false)
		waitFor(t, "the message to be applied", func() bool {
			return histogram(t, reg, "chargeplane_ingest_flush_duration_seconds").count > flushes
		})
	}
	type want struct {
		Count   uint64
		Sum     float64
		Buckets map[float64]uint64 // cumulative, by upper bound
	}
	check := func(step string, w want) {
		t.Helper()
		h := histogram(t, reg, "chargeplane_ingest_lag_seconds")
		got := want{Count: h.count, Sum: h.sum, Buckets: map[float64]uint64{}}
		for le := range w.Buckets {
			got.Buckets[le] = h.buckets[le]
		}
		if diff := cmp.Diff(w, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
			t.Errorf("%s: lag histogram (-want +got):\n%s", step, diff)
		}
	}

	// Live, a backlog from two hours ago, and an edge clock a minute ahead.
	publish(ev{1, 30 * time.Second}, ev{2, 2 * time.Hour}, ev{3, -time.Minute})
	check("first message", want{Count: 3, Sum: 30 + 7200, Buckets: map[float64]uint64{0.01: 1, 30: 2, 3600: 2}})
	// Repeated within one message: stored once, observed once.
	publish(ev{4, 20 * time.Millisecond}, ev{4, 20 * time.Millisecond})
	check("an event repeated in a message", want{Count: 4, Sum: 7230.02, Buckets: map[float64]uint64{0.01: 1, 0.025: 2, 30: 3, 3600: 3}})
	// A redelivered event with a new one: only the new one is lag (the
	// old one's age is not).
	publish(ev{2, 2 * time.Hour}, ev{5, time.Second})
	check("a redelivery batched with a new event", want{Count: 5, Sum: 7231.02, Buckets: map[float64]uint64{0.01: 1, 0.025: 2, 30: 4, 3600: 4}})
	// The same message again: all duplicates, nothing observed.
	publish(ev{1, 30 * time.Second}, ev{2, 2 * time.Hour}, ev{3, -time.Minute})
	check("a message delivered twice", want{Count: 5, Sum: 7231.02, Buckets: map[float64]uint64{0.01: 1, 0.025: 2, 30: 4, 3600: 4}})
}

// hist is a gathered histogram: cumulative counts by upper bound.
type hist struct {
	count   uint64
	sum     float64
	buckets map[float64]uint64
}

// histogram returns the one histogram named metric of reg.
func histogram(t *testing.T, reg *prometheus.Registry, metric string) hist {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == metric && len(mf.GetMetric()) == 1 {
			h := mf.GetMetric()[0].GetHistogram()
			out := hist{count: h.GetSampleCount(), sum: h.GetSampleSum(), buckets: map[float64]uint64{}}
			for _, b := range h.GetBucket() {
				out.buckets[b.GetUpperBound()] = b.GetCumulativeCount()
			}
			return out
		}
	}
	t.Fatalf("histogram %s not found", metric)
	return hist{}
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
