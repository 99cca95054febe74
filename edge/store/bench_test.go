package store

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// benchWriters is the number of concurrent writers: one per charger
// connection of a busy site.
const benchWriters = 1000

func BenchmarkAppendDurable(b *testing.B) { benchmarkAppend(b, true) }
func BenchmarkAppendNoSync(b *testing.B)  { benchmarkAppend(b, false) }

// benchmarkAppend has ~1000 goroutines each appending one event per call and
// reports events/s and the mean events per group commit.
func benchmarkAppend(b *testing.B, durable bool) {
	reg := prometheus.NewRegistry()
	s, err := Open(testConfig(b.TempDir(), func(c *Config) { c.Durable = durable }), testEdgeID, nil, reg)
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	b.Cleanup(func() { _ = s.Close() })
	ctx := b.Context()

	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((benchWriters + procs - 1) / procs)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ev := heartbeat("bench-charger-0001")
		for pb.Next() {
			if err := s.Append(ctx, ev); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if commits, events := histogram(b, reg, "chargeplane_store_commit_batch_events"); commits > 0 {
		b.ReportMetric(events/float64(commits), "events/commit")
	}
}

// BenchmarkWriteSession has ~1000 goroutines each writing one SessionEnded
// (a fresh ref each time) with one ctl/ put per call, as control does at the
// end of a session: outbox, ledger, ref index (read before it is written)
// and control state in one durable Write.
func BenchmarkWriteSession(b *testing.B) {
	reg := prometheus.NewRegistry()
	s, err := Open(testConfig(b.TempDir()), testEdgeID, nil, reg)
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	b.Cleanup(func() { _ = s.Close() })
	ctx := b.Context()
	var next atomic.Int64
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((benchWriters + procs - 1) / procs)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ref := strconv.FormatInt(next.Add(1), 10)
			w := Write{
				Events: []*chargeplanev1.Event{sessionEnded("bench-charger-0001", 1, ref)},
				Put:    []KV{{Key: []byte("ctl/debit/" + ref), Value: []byte("1234")}},
			}
			if _, err := s.Write(ctx, w); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
	if commits, events := histogram(b, reg, "chargeplane_store_commit_batch_events"); commits > 0 {
		b.ReportMetric(events/float64(commits), "events/commit")
	}
}

// BenchmarkPending reads pages of 100 from an outbox of 10,000 events, as
// uplink does when it catches up.
func BenchmarkPending(b *testing.B) {
	const total, page = 10_000, 100
	s := MustOpen(b, b.TempDir(), func(c *Config) { c.Durable = false })
	ctx := b.Context()
	evs := make([]*chargeplanev1.Event, 0, 100)
	for range total / 100 {
		evs = evs[:0]
		for range 100 {
			evs = append(evs, heartbeat("bench-charger-0001"))
		}
		if err := s.Append(ctx, evs...); err != nil {
			b.Fatalf("Append: %v", err)
		}
	}
	b.ReportAllocs()
	var after uint64
	for b.Loop() {
		got, err := s.Pending(ctx, after, page)
		if err != nil {
			b.Fatalf("Pending: %v", err)
		}
		if len(got) != page {
			b.Fatalf("Pending(%d, %d) returned %d events", after, page, len(got))
		}
		after = (after + page) % total
	}
	b.ReportMetric(float64(b.N*page)/b.Elapsed().Seconds(), "events/s")
}
