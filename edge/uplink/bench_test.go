package uplink

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/timestamppb"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/mqtttest"
	"github.com/chargeplane/chargeplane/shared/topic"
)

// BenchmarkBacklogDrain measures a backlog catch-up: a store holding
// UPLINK_BENCH_EVENTS events (default 1,000,000; filled with fsync off, which
// only speeds up the filling) is reopened durable, as the agent runs it,
// and drained by the uplink to the real broker (TEST_MQTT_URL, default
// Mosquitto on 127.0.0.1:1883) under a topic root of its own, while a
// subscriber on that broker counts the events. The clock starts once
// Badger has finished compacting what the filling wrote. It reports events/s from
// uplink start until the store is fully acknowledged and the subscriber
// has every event (max_inflight is UPLINK_BENCH_INFLIGHT, default 8; with
// UPLINK_BENCH_RTT, say 40ms, the uplink reaches the broker through a proxy
// that adds that round trip, as a WAN link would), and
// the process's peak RSS (VmHWM, reset just before
// the drain) against the RSS before it.
//
//	go test -run '^$' -bench BacklogDrain -benchtime 1x -count 3 ./edge/uplink
func BenchmarkBacklogDrain(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("UPLINK_BENCH_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("UPLINK_BENCH_EVENTS=%q: want a positive integer", v)
		}
	}
	broker := mqtttest.URL()
	mqtttest.MustReach(b, broker)
	uplinkBroker := broker // what the uplink dials: the broker, or a proxy that delays
	if v := os.Getenv("UPLINK_BENCH_RTT"); v != "" {
		rtt, err := time.ParseDuration(v)
		if err != nil || rtt <= 0 {
			b.Fatalf("UPLINK_BENCH_RTT=%q: want a positive duration", v)
		}
		uplinkBroker = "tcp://" + latencyProxy(b, strings.TrimPrefix(broker, "tcp://"), rtt/2)
	}
	var err error
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		fillStore(b, dir, n)
		st := openStore(b, dir, true)
		if got := st.PendingCount(); got != int64(n) {
			b.Fatalf("store holds %d pending events, want %d", got, n)
		}
		// A backlog built over hours meets a settled LSM; one filled in
		// seconds is still being compacted after the reopen (about 100 MB
		// of Badger heap here), which is not the drain's memory.
		waitCompacted(b, dir)
		cfg := testConfig(uplinkBroker, "http://127.0.0.1:1") // no cloud: only the outbox drains
		if v := os.Getenv("UPLINK_BENCH_INFLIGHT"); v != "" {
			if cfg.MaxInflight, err = strconv.Atoi(v); err != nil || cfg.Validate() != nil {
				b.Fatalf("UPLINK_BENCH_INFLIGHT=%q: want 1–%d", v, maxMaxInflight)
			}
		}
		count := countEvents(b, broker, mustSpace(b, cfg.TopicRoot))

		// Hand the filling's garbage back to the OS, so that the peak below
		// is the drain's own.
		debug.FreeOSMemory()
		resetPeakRSS(b)
		rssBefore := procStatusKB(b, "VmRSS")
		b.StartTimer()
		start := time.Now()
		u := startUplink(b, cfg, st, nil, nil, discard())
		deadline := start.Add(10 * time.Minute)
		var peakAnon, peakHeap int64
		for i := 0; st.PendingCount() > 0 || count.Load() < int64(n); i++ {
			if time.Now().After(deadline) {
				b.Fatalf("not drained after 10 min: %d pending in the store, %d events counted", st.PendingCount(), count.Load())
			}
			if i%20 == 0 { // every ~100 ms
				peakAnon = max(peakAnon, procStatusKB(b, "RssAnon"))
				peakHeap = max(peakHeap, heapBytes())
			}
			time.Sleep(5 * time.Millisecond)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		peak := procStatusKB(b, "VmHWM")
		u.stop()
		if got := count.Load(); got < int64(n) {
			b.Fatalf("subscriber counted %d events, want %d", got, n)
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
		b.ReportMetric(float64(peak)/1024, "peak-RSS-MB")
		b.ReportMetric(float64(peak-rssBefore)/1024, "RSS-growth-MB")
		b.ReportMetric(float64(peakAnon)/1024, "peak-anon-RSS-MB")
		b.ReportMetric(float64(peakHeap)/(1<<20), "peak-Go-heap-MB")
		b.Logf("%d events in %v: %.0f events/s; RSS before %d MB, peak during drain %d MB "+
			"(anonymous memory peak %d MB, the rest is Badger's memory-mapped files; Go heap peak %d MB); %d duplicates at the subscriber",
			n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), rssBefore/1024, peak/1024,
			peakAnon/1024, peakHeap>>20, count.Load()-int64(n))
		if err := st.Close(); err != nil {
			b.Fatalf("close store: %v", err)
		}
	}
}

// fillStore appends n events (a meter report and heartbeat mix of
// realistic size) to a new store in dir, without fsync, and closes it.
func fillStore(tb testing.TB, dir string, n int) {
	tb.Helper()
	st := openStore(tb, dir, false)
	const chunk = 1000
	evs := make([]*chargeplanev1.Event, 0, chunk)
	at := timestamppb.Now()
	for i := 0; i < n; i += chunk {
		evs = evs[:0]
		for j := i; j < min(i+chunk, n); j++ {
			ev := &chargeplanev1.Event{
				OccurredAt: at, ChargerId: fmt.Sprintf("bkv-%06d", j%1000), Connector: uint32(j%10) + 1, Protocol: "bkv",
			}
			if j%4 == 0 {
				ev.Kind = &chargeplanev1.Event_Heartbeat{Heartbeat: &chargeplanev1.Heartbeat{Iccid: "89860000000000000000", Signal: 21}}
			} else {
				ev.Kind = &chargeplanev1.Event_MeterReport{MeterReport: &chargeplanev1.MeterReport{
					SessionRef: fmt.Sprintf("s%08d", j/100),
					Meter:      &chargeplanev1.MeterValues{PowerMw: 3_500_000, VoltageMv: 220_000, CurrentMa: 16_000, EnergyMwh: int64(j), DurationS: int64(j % 3600)},
				}}
			}
			evs = append(evs, ev)
		}
		if err := st.Append(context.Background(), evs...); err != nil {
			tb.Fatalf("fill: %v", err)
		}
	}
	if err := st.Close(); err != nil {
		tb.Fatalf("fill: close: %v", err)
	}
}

// waitCompacted waits until Badger's table files in dir have not changed
// for two seconds (its compactions are done), at most a minute.
func waitCompacted(tb testing.TB, dir string) {
	tb.Helper()
	tables := func() string {
		names, err := filepath.Glob(filepath.Join(dir, "*.sst"))
		if err != nil {
			tb.Fatalf("list tables: %v", err)
		}
		return strings.Join(names, ",")
	}
	deadline := time.Now().Add(time.Minute)
	last, since := tables(), time.Now()
	for time.Since(since) < 2*time.Second {
		if time.Now().After(deadline) {
			tb.Fatalf("Badger still compacting after a minute")
		}
		time.Sleep(100 * time.Millisecond)
		if now := tables(); now != last {
			last, since = now, time.Now()
		}
	}
}

// latencyProxy forwards TCP connections to target, delaying every chunk by
// oneWay in each direction (order and bandwidth kept), and returns its
// address. It stops when the test ends.
func latencyProxy(tb testing.TB, target string, oneWay time.Duration) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("proxy: %v", err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	pipe := func(dst, src net.Conn) {
		type chunk struct {
			at   time.Time
			data []byte
		}
		q := make(chan chunk, 4096)
		wg.Add(1)
		go func() { // writer: each chunk leaves oneWay after it arrived
			defer wg.Done()
			for c := range q {
				time.Sleep(time.Until(c.at.Add(oneWay)))
				if _, err := dst.Write(c.data); err != nil {
					return
				}
			}
			_ = dst.Close()
		}()
		defer close(q)
		for {
			buf := make([]byte, 64<<10)
			n, err := src.Read(buf)
			if n > 0 {
				q <- chunk{at: time.Now(), data: buf[:n]}
			}
			if err != nil {
				return
			}
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			track(c)
			track(up)
			wg.Add(2)
			go func() { defer wg.Done(); pipe(up, c) }()
			go func() { defer wg.Done(); pipe(c, up) }()
		}
	}()
	tb.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// countEvents subscribes to the events topics under space and counts the
// events of every batch (reading only the repeated field's framing, so the
// counter costs little CPU next to the uplink).
func countEvents(tb testing.TB, brokerURL string, space topic.Space) *atomic.Int64 {
	tb.Helper()
	var n atomic.Int64
	c := mqtttest.MustConnect(tb, brokerURL, uniqueID("uplink-bench-sub"))
	filter := space.Root() + "/+/+/" + topic.Up + "/" + topic.KindEvents
	err := mqtttest.Wait(c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
		b := m.Payload()
		for len(b) > 0 {
			num, typ, tagLen := protowire.ConsumeTag(b)
			if tagLen < 0 {
				tb.Errorf("bad batch on %s", m.Topic())
				return
			}
			fieldLen := protowire.ConsumeFieldValue(num, typ, b[tagLen:])
			if fieldLen < 0 {
				tb.Errorf("bad batch on %s", m.Topic())
				return
			}
			if num == 1 { // EventBatch.events
				n.Add(1)
			}
			b = b[tagLen+fieldLen:]
		}
	}))
	if err != nil {
		tb.Fatalf("subscribe %s: %v", filter, err)
	}
	return &n
}

// heapBytes is the Go heap in use by objects (runtime/metrics, which reads
// it without stopping the world).
func heapBytes() int64 {
	sample := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	rtmetrics.Read(sample)
	return int64(sample[0].Value.Uint64())
}

// resetPeakRSS resets the kernel's VmHWM for this process
// (proc(5), /proc/pid/clear_refs: "5").
func resetPeakRSS(tb testing.TB) {
	tb.Helper()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		tb.Fatalf("reset VmHWM: %v", err)
	}
}

// procStatusKB reads a "kB" field of /proc/self/status.
func procStatusKB(tb testing.TB, field string) int64 {
	tb.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Fatalf("read /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), field+":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			tb.Fatalf("parse %s %q: %v", field, rest, err)
		}
		return kb
	}
	tb.Fatalf("/proc/self/status has no %s", field)
	return 0
}
