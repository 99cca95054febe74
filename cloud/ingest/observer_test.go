package ingest_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
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

// recorder is an observer that records the seqs it was given and fails
// while fail is set.
type recorder struct {
	mu   sync.Mutex
	seqs [][]uint64
	fail bool
}

func (r *recorder) observe(_ context.Context, events []fleet.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s []uint64
	for _, e := range events {
		s = append(s, e.Seq)
	}
	r.seqs = append(r.seqs, s)
	if r.fail {
		return errors.New("observer down")
	}
	return nil
}

func (r *recorder) calls() [][]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seqs)
}

// TestObserversSeeStoredEventsOnce: observers get the events a batch
// stored, each once, after the commit; a failing observer is counted and
// does not stop the stream.
func TestObserversSeeStoredEventsOnce(t *testing.T) {
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
	rec := &recorder{}
	var (
		mu     sync.Mutex
		stored []int // events in Postgres when the observer ran
	)
	countStored := func(ctx context.Context, _ []fleet.Event) error {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
			return err
		}
		mu.Lock()
		stored = append(stored, n)
		mu.Unlock()
		return nil
	}
	reg := prometheus.NewRegistry()
	id := "obstest-" + hex.EncodeToString(b)
	c, err := ingest.New(ingest.Config{
		URL: mqtttest.URL(), ClientID: id, Group: "cloud", TopicRoot: root,
		BatchEvents: 1000, BatchWait: 10 * time.Millisecond, QueueMessages: 10, DrainTimeout: time.Second,
	}, ingest.Deps{
		Fleet:    fleet.New(pool),
		Presence: presence.New(rdb, presence.Config{Prefix: prefix, Timeout: time.Minute}, time.Now),
		Observers: []ingest.Observer{
			{Name: "recorder", Observe: rec.observe},
			{Name: "count", Observe: countStored},
		},
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registerer: reg,
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
	deadline := time.Now().Add(10 * time.Second)
	for !c.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("consumer did not subscribe")
		}
		time.Sleep(5 * time.Millisecond)
	}

	pub := mqtttest.MustConnect(t, mqtttest.URL(), "obspub-"+hex.EncodeToString(b))
	name := space.Stream("t1", "e1", topic.Up, topic.KindEvents)
	publish := func(seqs ...uint64) {
		t.Helper()
		batch := &chargeplanev1.EventBatch{}
		for _, s := range seqs {
			batch.Events = append(batch.Events, &chargeplanev1.Event{
				Seq: s, ChargerId: "c1", Protocol: "bkv", OccurredAt: timestamppb.Now(),
				Kind: &chargeplanev1.Event_Heartbeat{Heartbeat: &chargeplanev1.Heartbeat{}},
			})
		}
		p, err := proto.Marshal(batch)
		if err != nil {
			t.Fatal(err)
		}
		mqtttest.MustPublish(t, pub, name, p, false)
	}
	// waitSeqs waits until the observer was given n events in all.
	waitSeqs := func(n int) [][]uint64 {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := rec.calls()
			if len(slices.Concat(got...)) >= n {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("observer got %v, want %d events", got, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	publish(1, 2, 3)
	// Repeated within one message: each event once.
	publish(4, 4, 5)
	got := waitSeqs(5)
	if flat := slices.Concat(got...); fmt.Sprint(flat) != "[1 2 3 4 5]" {
		t.Errorf("observed seqs %v, want [1 2 3 4 5] each once", got)
	}
	// The counting observer runs after the recorder: wait for its first run.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		n := len(stored)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
	}
	mu.Lock()
	if len(stored) == 0 || stored[0] < len(got[0]) {
		t.Errorf("events stored when the observer first ran = %v, want its %d events committed first", stored, len(got[0]))
	}
	mu.Unlock()

	rec.mu.Lock()
	rec.fail = true
	rec.mu.Unlock()
	publish(6)
	waitSeqs(6)
	rec.mu.Lock()
	rec.fail = false
	rec.mu.Unlock()
	publish(7)
	got = waitSeqs(7)
	if last := got[len(got)-1]; fmt.Sprint(last) != "[7]" {
		t.Errorf("after a failure the observer got %v, want [7]", last)
	}
	if n := testutil.ToFloat64(counter(t, reg, "chargeplane_ingest_observer_errors_total", "recorder")); n != 1 {
		t.Errorf("observer errors counted = %v, want 1", n)
	}
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM events`).Scan(&n); err != nil || n != 7 {
		t.Errorf("events stored = %d (%v), want 7: an observer error loses nothing", n, err)
	}
}

// counter returns the value of a counter with label observer=name as a
// collector testutil can read.
func counter(t *testing.T, reg *prometheus.Registry, metric, observer string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != metric {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "observer" && l.GetValue() == observer {
					c := prometheus.NewCounter(prometheus.CounterOpts{Name: "copy"})
					c.Add(m.GetCounter().GetValue())
					return c
				}
			}
		}
	}
	t.Fatalf("metric %s{observer=%q} not found", metric, observer)
	return nil
}
