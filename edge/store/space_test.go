package store

import (
	crand "crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// syncBuffer is a log sink safe for the store's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func meterReport(chargerID string) *chargeplanev1.Event {
	return &chargeplanev1.Event{
		ChargerId: chargerID,
		Connector: 1,
		Protocol:  "bkv",
		Kind:      &chargeplanev1.Event_MeterReport{MeterReport: &chargeplanev1.MeterReport{SessionRef: "m"}},
	}
}

func connectorStatus(chargerID string) *chargeplanev1.Event {
	return &chargeplanev1.Event{
		ChargerId: chargerID,
		Connector: 1,
		Protocol:  "bkv",
		Kind:      &chargeplanev1.Event_ConnectorStatus{ConnectorStatus: &chargeplanev1.ConnectorStatusChanged{}},
	}
}

// spaceAlarms returns the store's own alarm events in the outbox.
func spaceAlarms(tb testing.TB, s *Store) []*chargeplanev1.Event {
	tb.Helper()
	var out []*chargeplanev1.Event
	for _, ev := range MustPending(tb, s, 0) {
		if ev.GetChargerId() != "" || ev.GetConnector() != 0 || ev.GetProtocol() != "" {
			continue
		}
		if code := ev.GetAlarm().GetCode(); code == AlarmStoreNearlyFull || code == AlarmStoreSpaceOK {
			out = append(out, ev)
		}
	}
	return out
}

// wantAlarm is the alarm event the store writes for code at seq.
func wantAlarm(code string, seq uint64, at time.Time, used, limit int64) *chargeplanev1.Event {
	severity := "warning"
	if code == AlarmStoreSpaceOK {
		severity = "info"
	}
	return &chargeplanev1.Event{
		EdgeId:     testEdgeID,
		Seq:        seq,
		OccurredAt: timestamppb.New(at),
		Kind: &chargeplanev1.Event_Alarm{Alarm: &chargeplanev1.Alarm{
			Code:     code,
			Severity: severity,
			Message:  fmt.Sprintf("store uses %d of %d bytes", used, limit),
		}},
	}
}

// TestDiskBound drives the disk bound with real directory sizes: a store
// filled to a few MiB is reopened with limits below and above its size.
func TestDiskBound(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	clock := newFakeClock()
	var logs syncBuffer
	open := func(maxBytes int64, warnRatio float64) (*Store, *prometheus.Registry) {
		t.Helper()
		cfg := testConfig(dir, func(c *Config) {
			c.MaxBytes, c.WarnRatio = maxBytes, warnRatio
			c.SizeCheckEvery = time.Hour // the loop checks once at start; the test checks by hand
		})
		reg := prometheus.NewRegistry()
		s, err := Open(cfg, testEdgeID, slog.New(slog.NewTextHandler(&logs, nil)), reg, WithClock(clock.Now))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s, reg
	}
	check := func(s *Store) {
		t.Helper()
		if err := s.checkSpace(ctx); err != nil {
			t.Fatalf("checkSpace: %v", err)
		}
	}
	closeStore := func(s *Store) {
		t.Helper()
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}

	// Far from any limit: fill to ~3 MiB, no alarm.
	const huge = int64(1) << 40
	s, reg := open(huge, 0.9)
	// Random text: Badger compresses tables, and the filler must stay large
	// after the flush on Close.
	rnd := make([]byte, 750)
	for range 30 {
		var evs []*chargeplanev1.Event
		for range 100 {
			ev := heartbeat("filler")
			_, _ = crand.Read(rnd)
			ev.GetHeartbeat().Firmware = base64.StdEncoding.EncodeToString(rnd)
			evs = append(evs, ev)
		}
		if err := s.Append(ctx, evs...); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	check(s)
	if s.DiskBytes() < 3_000_000 {
		t.Fatalf("DiskBytes = %d after writing 3 MB", s.DiskBytes())
	}
	if got := gauge(t, reg, "chargeplane_store_disk_bytes"); got != float64(s.DiskBytes()) {
		t.Errorf("disk_bytes gauge = %v, DiskBytes %d", got, s.DiskBytes())
	}
	if got := spaceAlarms(t, s); len(got) != 0 {
		t.Fatalf("alarms far below the limit: %v", got)
	}
	// The filler stays in the outbox (acknowledged, Badger would drop it at
	// the flush on Close and the store would shrink).
	filler := s.LastSeq()
	closeStore(s)

	// max_bytes below the size: full from Open on.
	const small = 1 << 20
	s, reg = open(small, 0.9)
	check(s)
	check(s)
	alarms := spaceAlarms(t, s)
	if len(alarms) != 1 {
		t.Fatalf("nearly-full alarms after three checks: %d, want 1; log:\n%s", len(alarms), logs.String())
	}
	var used int64
	if _, err := fmt.Sscanf(alarms[0].GetAlarm().GetMessage(), "store uses %d of", &used); err != nil || used < small {
		t.Errorf("alarm message %q: used %d (%v), want at least %d", alarms[0].GetAlarm().GetMessage(), used, err, small)
	}
	if diff := cmp.Diff(wantAlarm(AlarmStoreNearlyFull, alarms[0].GetSeq(), clock.Now(), used, small), alarms[0], protocmp.Transform()); diff != "" {
		t.Errorf("nearly-full alarm (-want +got):\n%s", diff)
	}

	hb, mr, st, end := heartbeat("c1"), meterReport("c1"), connectorStatus("c1"), sessionEnded("c1", 1, "full")
	if err := s.Append(ctx, hb, mr, st, end); err != nil {
		t.Fatalf("Append while full: %v", err)
	}
	if hb.GetSeq() != 0 || mr.GetSeq() != 0 {
		t.Errorf("while full: heartbeat seq %d, meter report seq %d; want 0 0 (dropped)", hb.GetSeq(), mr.GetSeq())
	}
	if st.GetSeq() == 0 || end.GetSeq() != st.GetSeq()+1 {
		t.Errorf("while full: status seq %d, session seq %d; want stored, consecutive", st.GetSeq(), end.GetSeq())
	}
	if diff := cmp.Diff([]uint64{end.GetSeq()}, seqs(mustPendingSessions(t, s))); diff != "" {
		t.Errorf("ledger while full (-want +got):\n%s", diff)
	}
	// Only heartbeats: nothing to write but the control state.
	hb2 := heartbeat("c1")
	first, err := s.Write(ctx, Write{Events: []*chargeplanev1.Event{hb2}, Put: []KV{{Key: []byte("ctl/x"), Value: []byte("y")}}})
	if err != nil || first != 0 || hb2.GetSeq() != 0 {
		t.Errorf("Write of a heartbeat and ctl state while full: first %d seq %d err %v; want 0 0 nil", first, hb2.GetSeq(), err)
	}
	if v, ok := mustGet(t, s, "ctl/x"); !ok || v != "y" {
		t.Errorf("ctl/x while full = %q %v, want y true", v, ok)
	}
	wantSeqs := []uint64{alarms[0].GetSeq(), st.GetSeq(), end.GetSeq()}
	if diff := cmp.Diff(wantSeqs, seqs(MustPending(t, s, filler))); diff != "" {
		t.Errorf("outbox while full (-want +got):\n%s", diff)
	}
	if got := droppedCount(t, reg); got["heartbeat"] != 2 || got["meter_report"] != 1 {
		t.Errorf("dropped_events_total = %v, want heartbeat 2, meter_report 1", got)
	}
	// One warning for the three drops (rate limit), another after a minute.
	if n := strings.Count(logs.String(), "store full: dropping"); n != 1 {
		t.Errorf("%d drop warnings for drops within a minute, want 1", n)
	}
	clock.Set(clock.Now().Add(61 * time.Second))
	if err := s.Append(ctx, heartbeat("c1")); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if n := strings.Count(logs.String(), "store full: dropping"); n != 2 {
		t.Errorf("%d drop warnings after a minute, want 2", n)
	}
	closeStore(s)

	// The alarm state is stored: reopening still full repeats nothing.
	s, _ = open(small, 0.9)
	check(s)
	if got := spaceAlarms(t, s); len(got) != 1 {
		t.Errorf("alarms after reopening a full store: %d, want still 1", len(got))
	}
	closeStore(s)

	// Back under: one space-ok alarm, and heartbeats are stored again.
	s, _ = open(huge, 0.9)
	check(s)
	check(s)
	alarms = spaceAlarms(t, s)
	if len(alarms) != 2 || alarms[1].GetAlarm().GetCode() != AlarmStoreSpaceOK {
		t.Fatalf("alarms after the size fell under: %v, want nearly-full then space-ok", alarms)
	}
	if diff := cmp.Diff(wantAlarm(AlarmStoreSpaceOK, alarms[1].GetSeq(), clock.Now(), s.DiskBytes(), huge), alarms[1], protocmp.Transform(),
		protocmp.IgnoreFields(&chargeplanev1.Alarm{}, "message")); diff != "" {
		t.Errorf("space-ok alarm (-want +got):\n%s", diff)
	}
	hb = heartbeat("c1")
	if err := s.Append(ctx, hb); err != nil || hb.GetSeq() == 0 {
		t.Errorf("heartbeat below the limit: seq %d err %v, want stored", hb.GetSeq(), err)
	}
	size := s.DiskBytes()
	closeStore(s)

	// Nearly full but not full: the alarm, and heartbeats still stored.
	s, _ = open(2*size, 0.25)
	check(s)
	alarms = spaceAlarms(t, s)
	if len(alarms) != 3 || alarms[2].GetAlarm().GetCode() != AlarmStoreNearlyFull {
		t.Fatalf("alarms above warn_ratio: %v, want a third, nearly-full", alarms)
	}
	hb = heartbeat("c1")
	if err := s.Append(ctx, hb); err != nil || hb.GetSeq() == 0 {
		t.Errorf("heartbeat above warn_ratio but under max_bytes: seq %d err %v, want stored", hb.GetSeq(), err)
	}
	closeStore(s)
}

func droppedCount(tb testing.TB, reg *prometheus.Registry) map[string]float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatalf("Gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "chargeplane_edge_store_dropped_events_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			out[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	return out
}

func TestUnlimitedNeverAlarms(t *testing.T) {
	s := MustOpen(t, t.TempDir(), func(c *Config) { c.MaxBytes = 0 })
	if err := s.checkSpace(t.Context()); err != nil {
		t.Fatalf("checkSpace: %v", err)
	}
	if s.DiskBytes() <= 0 {
		t.Errorf("DiskBytes = %d, want the directory's size", s.DiskBytes())
	}
	hb := heartbeat("c")
	if err := s.Append(t.Context(), hb); err != nil || hb.GetSeq() != 1 {
		t.Fatalf("Append: seq %d err %v", hb.GetSeq(), err)
	}
	if got := spaceAlarms(t, s); len(got) != 0 {
		t.Errorf("alarms with max_bytes 0: %v", got)
	}
}

func TestDirSizeCountsAllocatedBlocks(t *testing.T) {
	s := MustOpen(t, t.TempDir())
	// Badger preallocates a 128 MiB value log sparse: the apparent sizes
	// are far above what a fresh store uses.
	if s.DiskBytes() >= 64<<20 {
		t.Errorf("DiskBytes of a fresh store = %d, want the allocated size, not the apparent one", s.DiskBytes())
	}
	before := s.DiskBytes()
	big := strings.Repeat("v", 100<<10) // value log
	for range 20 {
		ev := heartbeat("c")
		ev.GetHeartbeat().Firmware = big
		if err := s.Append(t.Context(), ev); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	if err := s.measure(); err != nil {
		t.Fatalf("measure: %v", err)
	}
	if grew := s.DiskBytes() - before; grew < 2_000_000 {
		t.Errorf("DiskBytes grew by %d after 2 MB of values, want at least 2,000,000", grew)
	}
}
