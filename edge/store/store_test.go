package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/testing/protocmp"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

const testEdgeID = "edge-test"

// testConfig is the default config for dir, changed by opts.
func testConfig(dir string, opts ...func(*Config)) Config {
	cfg := DefaultConfig()
	cfg.Dir = dir
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// MustOpen opens a store in dir with the default config (changed by opts) and
// a fresh registry, and closes it when the test ends.
func MustOpen(tb testing.TB, dir string, opts ...func(*Config)) *Store {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.Dir = dir
	for _, o := range opts {
		o(&cfg)
	}
	s, err := Open(cfg, testEdgeID, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// MustPending returns every pending event after after.
func MustPending(tb testing.TB, s *Store, after uint64) []*chargeplanev1.Event {
	tb.Helper()
	evs, err := s.Pending(tb.Context(), after, 1<<30)
	if err != nil {
		tb.Fatalf("Pending(%d): %v", after, err)
	}
	return evs
}

func heartbeat(chargerID string) *chargeplanev1.Event {
	return &chargeplanev1.Event{
		ChargerId: chargerID,
		Protocol:  "bkv",
		Kind:      &chargeplanev1.Event_Heartbeat{Heartbeat: &chargeplanev1.Heartbeat{Iccid: "8986", Signal: 21}},
	}
}

// stored is what the store must hand back for heartbeat(chargerID) at seq.
func stored(chargerID string, seq uint64) *chargeplanev1.Event {
	ev := heartbeat(chargerID)
	ev.EdgeId = testEdgeID
	ev.Seq = seq
	return ev
}

func seqs(evs []*chargeplanev1.Event) []uint64 {
	out := make([]uint64, 0, len(evs))
	for _, ev := range evs {
		out = append(out, ev.GetSeq())
	}
	return out
}

func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func TestSeqFieldMatchesDescriptor(t *testing.T) {
	fd := (&chargeplanev1.Event{}).ProtoReflect().Descriptor().Fields().ByName("seq")
	if fd == nil || fd.Number() != seqField {
		t.Fatalf("Event.seq field = %v, store appends field %d", fd, seqField)
	}
}

func TestAppendPendingAck(t *testing.T) {
	ctx := t.Context()
	s := MustOpen(t, t.TempDir())

	if got := s.LastSeq(); got != 0 {
		t.Fatalf("LastSeq of a new store = %d, want 0", got)
	}
	var want []*chargeplanev1.Event
	// One event per call, then several per call: seqs are consecutive either way.
	for i := range 5 {
		ev := heartbeat(fmt.Sprintf("c%d", i))
		if err := s.Append(ctx, ev); err != nil {
			t.Fatalf("Append: %v", err)
		}
		if ev.GetSeq() != uint64(i+1) || ev.GetEdgeId() != testEdgeID {
			t.Fatalf("Append set seq %d edge %q, want %d %q", ev.GetSeq(), ev.GetEdgeId(), i+1, testEdgeID)
		}
		want = append(want, stored(ev.GetChargerId(), ev.GetSeq()))
	}
	for batch := range 4 {
		var evs []*chargeplanev1.Event
		for i := range 5 {
			evs = append(evs, heartbeat(fmt.Sprintf("b%d-%d", batch, i)))
		}
		if err := s.Append(ctx, evs...); err != nil {
			t.Fatalf("Append batch: %v", err)
		}
		for _, ev := range evs {
			want = append(want, stored(ev.GetChargerId(), ev.GetSeq()))
		}
	}
	if diff := cmp.Diff(seqRange(1, 25), seqs(want)); diff != "" {
		t.Fatalf("assigned seqs (-want +got):\n%s", diff)
	}
	if got := s.LastSeq(); got != 25 {
		t.Errorf("LastSeq = %d, want 25", got)
	}
	if got := s.PendingCount(); got != 25 {
		t.Errorf("PendingCount = %d, want 25", got)
	}
	select {
	case <-s.Appended():
	default:
		t.Error("no Appended signal after Append")
	}

	t.Run("paging", func(t *testing.T) {
		for _, tc := range []struct {
			after    uint64
			limit    int
			from, to uint64 // want seqs from..to; to < from: none
		}{
			{after: 0, limit: 10, from: 1, to: 10},
			{after: 10, limit: 10, from: 11, to: 20},
			{after: 20, limit: 10, from: 21, to: 25},
			{after: 25, limit: 10, from: 1, to: 0},
			{after: 99, limit: 10, from: 1, to: 0},
			{after: 3, limit: 1, from: 4, to: 4},
		} {
			got, err := s.Pending(ctx, tc.after, tc.limit)
			if err != nil {
				t.Fatalf("Pending(%d, %d): %v", tc.after, tc.limit, err)
			}
			var wantPage []*chargeplanev1.Event
			if tc.to >= tc.from {
				wantPage = want[tc.from-1 : tc.to]
			}
			if diff := cmp.Diff(wantPage, got, protocmp.Transform()); diff != "" {
				t.Errorf("Pending(%d, %d) (-want +got):\n%s", tc.after, tc.limit, diff)
			}
		}
		if _, err := s.Pending(ctx, 0, 0); err == nil {
			t.Error("Pending with limit 0: no error")
		}
	})

	t.Run("ack", func(t *testing.T) {
		steps := []struct {
			name        string
			upTo        uint64
			wantFirst   uint64
			wantPending int64
		}{
			{name: "prefix", upTo: 10, wantFirst: 11, wantPending: 15},
			{name: "again is a no-op", upTo: 10, wantFirst: 11, wantPending: 15},
			{name: "lower is a no-op", upTo: 4, wantFirst: 11, wantPending: 15},
			{name: "one more", upTo: 11, wantFirst: 12, wantPending: 14},
			{name: "zero is a no-op", upTo: 0, wantFirst: 12, wantPending: 14},
		}
		for _, st := range steps {
			if err := s.Ack(ctx, st.upTo); err != nil {
				t.Fatalf("%s: Ack(%d): %v", st.name, st.upTo, err)
			}
			if diff := cmp.Diff(seqRange(st.wantFirst, 25), seqs(MustPending(t, s, 0))); diff != "" {
				t.Errorf("%s: pending seqs after Ack(%d) (-want +got):\n%s", st.name, st.upTo, diff)
			}
			if got := s.PendingCount(); got != st.wantPending {
				t.Errorf("%s: PendingCount = %d, want %d", st.name, got, st.wantPending)
			}
		}
	})

	t.Run("ack above last seq spares later events", func(t *testing.T) {
		if err := s.Ack(ctx, 1000); err != nil {
			t.Fatalf("Ack(1000): %v", err)
		}
		if got := MustPending(t, s, 0); len(got) != 0 || s.PendingCount() != 0 {
			t.Fatalf("after Ack(1000): pending %v, count %d; want none", seqs(got), s.PendingCount())
		}
		ev := heartbeat("late")
		if err := s.Append(ctx, ev); err != nil {
			t.Fatalf("Append: %v", err)
		}
		if diff := cmp.Diff([]*chargeplanev1.Event{stored("late", 26)}, MustPending(t, s, 0), protocmp.Transform()); diff != "" {
			t.Errorf("pending after Ack(1000) then Append (-want +got):\n%s", diff)
		}
		if got := s.PendingCount(); got != 1 {
			t.Errorf("PendingCount = %d, want 1", got)
		}
	})
}

func TestConcurrentAppendSeqs(t *testing.T) {
	const writers, perWriter = 100, 100
	ctx := t.Context()
	s := MustOpen(t, t.TempDir())

	got := make([][]uint64, writers) // got[w][i]: seq of writer w's event i
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				ev := heartbeat(fmt.Sprintf("w%03d-%03d", w, i))
				if err := s.Append(ctx, ev); err != nil {
					t.Errorf("writer %d: Append: %v", w, err)
					return
				}
				got[w] = append(got[w], ev.GetSeq())
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	owner := make(map[uint64]string, writers*perWriter)
	for w, ws := range got {
		for i, seq := range ws {
			if i > 0 && seq <= ws[i-1] {
				t.Errorf("writer %d: event %d got seq %d after %d", w, i, seq, ws[i-1])
			}
			id := fmt.Sprintf("w%03d-%03d", w, i)
			if prev, dup := owner[seq]; dup {
				t.Errorf("seq %d given to %s and %s", seq, prev, id)
			}
			owner[seq] = id
		}
	}
	for seq := uint64(1); seq <= writers*perWriter; seq++ {
		if _, ok := owner[seq]; !ok {
			t.Errorf("seq %d not assigned", seq)
		}
	}
	if got := s.LastSeq(); got != writers*perWriter {
		t.Errorf("LastSeq = %d, want %d", got, writers*perWriter)
	}

	// The stored event at each seq is the one its writer was told.
	evs := MustPending(t, s, 0)
	if len(evs) != writers*perWriter {
		t.Fatalf("Pending returned %d events, want %d", len(evs), writers*perWriter)
	}
	for i, ev := range evs {
		if ev.GetSeq() != uint64(i+1) || ev.GetChargerId() != owner[ev.GetSeq()] {
			t.Fatalf("pending[%d] = seq %d charger %q, want seq %d charger %q",
				i, ev.GetSeq(), ev.GetChargerId(), i+1, owner[uint64(i+1)])
		}
	}
}

func TestGroupCommitRespectsMaxBatch(t *testing.T) {
	const writers, perWriter, maxBatch = 50, 20, 10
	ctx := t.Context()
	reg := prometheus.NewRegistry()
	s, err := Open(testConfig(t.TempDir(), func(c *Config) { c.MaxBatch = maxBatch }), testEdgeID, nil, reg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })

	// Writers append 1 to 4 events per call, so a request often does not fit
	// in the group being gathered and opens the next one.
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := 0; i < perWriter; {
				n := min(1+(w+i)%4, perWriter-i)
				evs := make([]*chargeplanev1.Event, n)
				for j := range evs {
					evs[j] = heartbeat("c")
				}
				if err := s.Append(ctx, evs...); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				i += n
			}
		})
	}
	wg.Wait()

	commits, sum := histogram(t, reg, "chargeplane_store_commit_batch_events")
	if sum != writers*perWriter {
		t.Errorf("events over all commits = %v, want %d", sum, writers*perWriter)
	}
	if minCommits := uint64(writers * perWriter / maxBatch); commits < minCommits {
		t.Errorf("%d commits for %d events with MaxBatch %d: a group exceeded MaxBatch", commits, writers*perWriter, maxBatch)
	}
	if got := counter(t, reg, "chargeplane_store_append_events_total"); got != writers*perWriter {
		t.Errorf("append_events_total = %v, want %d", got, writers*perWriter)
	}
	if got := gauge(t, reg, "chargeplane_store_outbox_events"); got != writers*perWriter {
		t.Errorf("outbox_events = %v, want %d", got, writers*perWriter)
	}
	if c, _ := histogram(t, reg, "chargeplane_store_commit_duration_seconds"); c != commits {
		t.Errorf("commit_duration_seconds count = %d, want %d (one per commit)", c, commits)
	}
	if err := s.Ack(ctx, 100); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if got := gauge(t, reg, "chargeplane_store_outbox_events"); got != writers*perWriter-100 {
		t.Errorf("outbox_events after Ack(100) = %v, want %d", got, writers*perWriter-100)
	}
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Dir = dir
	s, err := Open(cfg, testEdgeID, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	for i := range 10 {
		if err := s.Append(ctx, heartbeat(fmt.Sprintf("c%d", i))); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	if err := s.Ack(ctx, 4); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = MustOpen(t, dir)
	if got := s.LastSeq(); got != 10 {
		t.Errorf("LastSeq after reopen = %d, want 10", got)
	}
	if got := s.PendingCount(); got != 6 {
		t.Errorf("PendingCount after reopen = %d, want 6", got)
	}
	var want []*chargeplanev1.Event
	for seq := uint64(5); seq <= 10; seq++ {
		want = append(want, stored(fmt.Sprintf("c%d", seq-1), seq))
	}
	if diff := cmp.Diff(want, MustPending(t, s, 0), protocmp.Transform()); diff != "" {
		t.Errorf("pending after reopen (-want +got):\n%s", diff)
	}
	ev := heartbeat("after")
	if err := s.Append(ctx, ev); err != nil {
		t.Fatalf("Append after reopen: %v", err)
	}
	if ev.GetSeq() != 11 {
		t.Errorf("first seq after reopen = %d, want 11", ev.GetSeq())
	}
	if err := s.Ack(ctx, 10); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if diff := cmp.Diff([]uint64{11}, seqs(MustPending(t, s, 0))); diff != "" {
		t.Errorf("pending after Ack(10) (-want +got):\n%s", diff)
	}
}

func TestNewerVersionRefused(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Dir = dir
	s, err := Open(cfg, testEdgeID, nil, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatalf("badger.Open: %v", err)
	}
	err = db.Update(func(txn *badger.Txn) error {
		return txn.Set([]byte(keyVersion), encodeUint64(layoutVersion+1))
	})
	if cerr := db.Close(); err != nil || cerr != nil {
		t.Fatalf("set newer version: %v, close: %v", err, cerr)
	}

	s, err = Open(cfg, testEdgeID, nil, nil)
	if !errors.Is(err, ErrNewerVersion) {
		if err == nil {
			_ = s.Close()
		}
		t.Fatalf("Open of a version %d store: err = %v, want ErrNewerVersion", layoutVersion+1, err)
	}
	// Refusing must not have changed the store or left it locked.
	db, err = badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatalf("badger.Open after refusal: %v", err)
	}
	defer db.Close()
	err = db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keyVersion))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if got, _ := decodeUint64(v); got != layoutVersion+1 {
				return fmt.Errorf("version = %d, want %d", got, layoutVersion+1)
			}
			return nil
		})
	})
	if err != nil {
		t.Error(err)
	}
}

func TestOpenUnversionedStoreRefused(t *testing.T) {
	dir := t.TempDir()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatalf("badger.Open: %v", err)
	}
	err = db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("other/key"), []byte("x")) })
	if cerr := db.Close(); err != nil || cerr != nil {
		t.Fatalf("write foreign key: %v, close: %v", err, cerr)
	}
	s, err := Open(testConfig(dir), testEdgeID, nil, nil)
	if err == nil {
		_ = s.Close()
		t.Fatal("Open of a store with keys but no version: no error")
	}
	if !strings.Contains(err.Error(), keyVersion) {
		t.Errorf("error %q does not name %s", err, keyVersion)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(*Config)
		want []string // substrings of the error; none: valid
	}{
		{name: "default with dir", cfg: func(c *Config) { c.Dir = "/var/lib/chargeplane" }},
		{name: "default without dir", cfg: func(*Config) {}, want: []string{"store.dir: required"}},
		{name: "zero max batch", cfg: func(c *Config) { c.Dir = "d"; c.MaxBatch = 0 }, want: []string{"store.max_batch: 0 out of range"}},
		{name: "huge max batch", cfg: func(c *Config) { c.Dir = "d"; c.MaxBatch = 1 << 20 }, want: []string{"store.max_batch: 1048576 out of range"}},
		{
			name: "every problem at once",
			cfg:  func(c *Config) { c.Dir = ""; c.MaxBatch = -1 },
			want: []string{"store.dir: required", "store.max_batch: -1 out of range"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.cfg(&cfg)
			err := cfg.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: nil, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate: %q does not contain %q", err, w)
				}
			}
		})
	}

	if d := DefaultConfig(); !d.Durable || d.MaxBatch != 1000 || d.Dir != "" {
		t.Errorf("DefaultConfig() = %+v, want Durable, MaxBatch 1000, no Dir", d)
	}
	if _, err := Open(DefaultConfig(), testEdgeID, nil, nil); err == nil || !strings.Contains(err.Error(), "store.dir: required") {
		t.Errorf("Open with an invalid config: %v, want the Validate error", err)
	}
	if _, err := Open(testConfig(t.TempDir()), "", nil, nil); err == nil {
		t.Error("Open without an edge id: no error")
	}
}

func TestClosed(t *testing.T) {
	ctx := t.Context()
	cfg := DefaultConfig()
	cfg.Dir = t.TempDir()
	s, err := Open(cfg, testEdgeID, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Append(ctx, heartbeat("c")); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	if err := s.Append(ctx, heartbeat("c")); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v, want ErrClosed", err)
	}
	if err := s.Append(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("empty Append after Close: %v, want ErrClosed", err)
	}
	if err := s.Ack(ctx, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Ack after Close: %v, want ErrClosed", err)
	}
	if _, err := s.Pending(ctx, 0, 10); !errors.Is(err, ErrClosed) {
		t.Errorf("Pending after Close: %v, want ErrClosed", err)
	}
}

// TestCloseWhileAppending checks that Close racing with writers loses nothing:
// every Append either fails with ErrClosed or is in the store after reopen.
func TestCloseWhileAppending(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Dir = dir
	s, err := Open(cfg, testEdgeID, nil, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	const writers = 50
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		acked   = map[uint64]string{}
		started = make(chan struct{}, writers)
	)
	for w := range writers {
		wg.Go(func() {
			for i := 0; ; i++ {
				ev := heartbeat(fmt.Sprintf("w%d-%d", w, i))
				err := s.Append(ctx, ev)
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				mu.Lock()
				acked[ev.GetSeq()] = ev.GetChargerId()
				mu.Unlock()
				if i == 0 {
					started <- struct{}{}
				}
			}
		})
	}
	for range writers {
		<-started
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()

	s = MustOpen(t, dir)
	got := map[uint64]string{}
	for _, ev := range MustPending(t, s, 0) {
		got[ev.GetSeq()] = ev.GetChargerId()
	}
	if diff := cmp.Diff(acked, got); diff != "" {
		t.Errorf("stored events vs acknowledged appends (-acked +stored):\n%s", diff)
	}
}

func TestAppendCancelledContext(t *testing.T) {
	s := MustOpen(t, t.TempDir())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ev := heartbeat("c")
	if err := s.Append(ctx, ev); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a cancelled ctx: %v, want context.Canceled", err)
	}
	if err := s.Append(t.Context(), ev); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if ev.GetSeq() != 1 {
		t.Errorf("seq after a cancelled Append = %d, want 1 (nothing stored, no seq used)", ev.GetSeq())
	}
}

func TestAppendTooLarge(t *testing.T) {
	s := MustOpen(t, t.TempDir())
	big := heartbeat("big")
	big.GetHeartbeat().Firmware = strings.Repeat("x", int(s.maxTxnSize))
	if err := s.Append(t.Context(), heartbeat("ok"), big); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Append of %d bytes: %v, want ErrTooLarge", s.maxTxnSize, err)
	}
	ev := heartbeat("next")
	if err := s.Append(t.Context(), ev); err != nil {
		t.Fatalf("Append after ErrTooLarge: %v", err)
	}
	if ev.GetSeq() != 1 || s.PendingCount() != 1 {
		t.Errorf("after ErrTooLarge: seq %d, pending %d; want 1, 1", ev.GetSeq(), s.PendingCount())
	}
}

// TestLargeGroupSplitsTransactions appends more data than one Badger
// transaction holds in a single group: the committer must split it and still
// store every event once, in order.
func TestLargeGroupSplitsTransactions(t *testing.T) {
	s := MustOpen(t, t.TempDir(), func(c *Config) { c.MaxBatch = 100_000 })
	// Each Append is ~1/8 of a transaction, so a group of 64 needs ~8.
	firmware := strings.Repeat("f", int(s.maxTxnSize/8))
	const writers = 64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			ev := heartbeat(fmt.Sprintf("w%d", w))
			ev.GetHeartbeat().Firmware = firmware
			if err := s.Append(t.Context(), ev); err != nil {
				t.Errorf("Append: %v", err)
			}
		})
	}
	wg.Wait()
	if diff := cmp.Diff(seqRange(1, writers), seqs(MustPending(t, s, 0))); diff != "" {
		t.Errorf("pending seqs (-want +got):\n%s", diff)
	}
}

// TestWriteFailureIsSticky breaks Badger under the store: the failed group and
// everything after it get ErrFailed, and nothing is reported as stored.
func TestWriteFailureIsSticky(t *testing.T) {
	s := MustOpen(t, t.TempDir())
	if err := s.Append(t.Context(), heartbeat("ok")); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if err := s.db.Close(); err != nil {
		t.Fatalf("close badger: %v", err)
	}
	if err := s.Append(t.Context(), heartbeat("lost")); !errors.Is(err, ErrFailed) {
		t.Fatalf("Append on broken Badger: %v, want ErrFailed", err)
	}
	if err := s.Append(t.Context(), heartbeat("after")); !errors.Is(err, ErrFailed) {
		t.Errorf("Append after a failure: %v, want ErrFailed", err)
	}
	if err := s.Ack(t.Context(), 1); !errors.Is(err, ErrFailed) {
		t.Errorf("Ack after a failure: %v, want ErrFailed", err)
	}
	if got := s.PendingCount(); got != 1 {
		t.Errorf("PendingCount = %d, want 1 (failed appends not counted)", got)
	}
}

func TestAppendedSignalCoalesces(t *testing.T) {
	s := MustOpen(t, t.TempDir())
	for range 3 {
		if err := s.Append(t.Context(), heartbeat("c")); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	select {
	case <-s.Appended():
	default:
		t.Fatal("no Appended signal")
	}
	select {
	case <-s.Appended():
		t.Fatal("second Appended signal for commits already signalled")
	default:
	}
	if err := s.Ack(t.Context(), 3); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	select {
	case <-s.Appended():
		t.Fatal("Appended signal after an Ack")
	default:
	}
}

func TestValueLogGC(t *testing.T) {
	s := MustOpen(t, t.TempDir())
	big := strings.Repeat("v", 100<<10) // above the value threshold: goes to the value log
	for i := range 20 {
		ev := heartbeat(fmt.Sprintf("c%d", i))
		ev.GetHeartbeat().Firmware = big
		if err := s.Append(t.Context(), ev); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	if err := s.Ack(t.Context(), 20); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	s.runGC(t.Context()) // must return and leave the store usable
	if err := s.Append(t.Context(), heartbeat("after")); err != nil {
		t.Fatalf("Append after GC: %v", err)
	}
}

func TestBadgerLoggerLevels(t *testing.T) {
	var buf strings.Builder
	l := badgerLogger{logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	l.Debugf("debug %d", 1)
	l.Infof("info %d", 2)
	l.Warningf("warn %d\n", 3)
	l.Errorf("error %d", 4)
	out := buf.String()
	for _, w := range []string{"level=WARN msg=\"badger: warn 3\"", "level=ERROR msg=\"badger: error 4\""} {
		if !strings.Contains(out, w) {
			t.Errorf("log %q lacks %q", out, w)
		}
	}
	if strings.Contains(out, "debug") || strings.Contains(out, "info") {
		t.Errorf("log %q has Badger Debug/Info lines", out)
	}
}

func TestRegisterConflict(t *testing.T) {
	reg := prometheus.NewRegistry()
	s1, err := Open(testConfig(t.TempDir()), testEdgeID, nil, reg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	_, err = Open(testConfig(t.TempDir()), testEdgeID, nil, reg)
	if are := (prometheus.AlreadyRegisteredError{}); !errors.As(err, &are) {
		t.Errorf("second Open on one registry: %v, want AlreadyRegisteredError", err)
	}
	if err := s1.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Close unregisters, so the registry can take a new store.
	s2, err := Open(testConfig(t.TempDir()), testEdgeID, nil, reg)
	if err != nil {
		t.Fatalf("Open after Close on the same registry: %v", err)
	}
	if err := s2.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// gatherOne reads the single metric of family name in reg.
func gatherOne(tb testing.TB, reg *prometheus.Registry, name string) (counter, gauge float64, count uint64, sum float64) {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		if len(mf.GetMetric()) != 1 {
			tb.Fatalf("%s has %d metrics, want 1", name, len(mf.GetMetric()))
		}
		m := mf.GetMetric()[0]
		return m.GetCounter().GetValue(), m.GetGauge().GetValue(),
			m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
	}
	tb.Fatalf("metric %s not registered", name)
	return 0, 0, 0, 0
}

func counter(tb testing.TB, reg *prometheus.Registry, name string) float64 {
	tb.Helper()
	c, _, _, _ := gatherOne(tb, reg, name)
	return c
}

func gauge(tb testing.TB, reg *prometheus.Registry, name string) float64 {
	tb.Helper()
	_, g, _, _ := gatherOne(tb, reg, name)
	return g
}

func histogram(tb testing.TB, reg *prometheus.Registry, name string) (count uint64, sum float64) {
	tb.Helper()
	_, _, c, s := gatherOne(tb, reg, name)
	return c, s
}
