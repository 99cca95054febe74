package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// MustOpenConfig opens a store with cfg, a fresh registry and opts, and
// closes it when the test ends.
func MustOpenConfig(tb testing.TB, cfg Config, opts ...Option) (*Store, *prometheus.Registry) {
	tb.Helper()
	reg := prometheus.NewRegistry()
	s, err := Open(cfg, testEdgeID, slog.New(slog.DiscardHandler), reg, opts...)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s, reg
}

func sessionEnded(chargerID string, connector uint32, ref string) *chargeplanev1.Event {
	return &chargeplanev1.Event{
		ChargerId: chargerID,
		Connector: connector,
		Protocol:  "bkv",
		Kind: &chargeplanev1.Event_SessionEnded{SessionEnded: &chargeplanev1.SessionEnded{
			SessionRef: ref,
			EnergyMwh:  12_345,
			AmountFen:  987,
			CardId:     "card-1",
		}},
	}
}

func mustGet(tb testing.TB, s *Store, key string) (string, bool) {
	tb.Helper()
	v, found, err := s.Get(tb.Context(), []byte(key))
	if err != nil {
		tb.Fatalf("Get(%q): %v", key, err)
	}
	return string(v), found
}

func mustScan(tb testing.TB, s *Store, prefix string) map[string]string {
	tb.Helper()
	got := map[string]string{}
	if err := s.Scan(tb.Context(), []byte(prefix), func(k, v []byte) error {
		got[string(k)] = string(v)
		return nil
	}); err != nil {
		tb.Fatalf("Scan(%q): %v", prefix, err)
	}
	return got
}

func mustPendingSessions(tb testing.TB, s *Store) []*chargeplanev1.Event {
	tb.Helper()
	evs, err := s.PendingSessions(tb.Context(), 1<<30)
	if err != nil {
		tb.Fatalf("PendingSessions: %v", err)
	}
	return evs
}

func mustSessionByRef(tb testing.TB, s *Store, ev *chargeplanev1.Event) (uint64, bool) {
	tb.Helper()
	seq, found, err := s.SessionByRef(tb.Context(), ev.GetChargerId(), ev.GetConnector(), ev.GetSessionEnded().GetSessionRef())
	if err != nil {
		tb.Fatalf("SessionByRef: %v", err)
	}
	return seq, found
}

func TestWriteEventsAndControlState(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, _ := MustOpenConfig(t, testConfig(dir))

	evs := []*chargeplanev1.Event{heartbeat("a"), heartbeat("b")}
	first, err := s.Write(ctx, Write{
		Events: evs,
		Put:    []KV{{Key: []byte("ctl/open/x"), Value: []byte("1")}, {Key: []byte("ctl/debit/y"), Value: []byte("2")}},
	})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if first != 1 || evs[0].GetSeq() != 1 || evs[1].GetSeq() != 2 || evs[1].GetEdgeId() != testEdgeID {
		t.Fatalf("Write: first %d, seqs %d %d edge %q; want 1, 1 2 %q", first, evs[0].GetSeq(), evs[1].GetSeq(), evs[1].GetEdgeId(), testEdgeID)
	}
	want := map[string]string{"ctl/open/x": "1", "ctl/debit/y": "2"}
	if diff := cmp.Diff(want, mustScan(t, s, "ctl/")); diff != "" {
		t.Errorf("ctl/ after first Write (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"ctl/open/x": "1"}, mustScan(t, s, "ctl/open/")); diff != "" {
		t.Errorf("Scan ctl/open/ (-want +got):\n%s", diff)
	}

	// Put, overwrite and delete together with an event.
	ev := heartbeat("c")
	first, err = s.Write(ctx, Write{
		Events: []*chargeplanev1.Event{ev},
		Put:    []KV{{Key: []byte("ctl/open/x"), Value: []byte("3")}},
		Delete: [][]byte{[]byte("ctl/debit/y"), []byte("ctl/never/was")},
	})
	if err != nil || first != 3 || ev.GetSeq() != 3 {
		t.Fatalf("second Write: first %d seq %d err %v; want 3 3 nil", first, ev.GetSeq(), err)
	}
	if v, ok := mustGet(t, s, "ctl/open/x"); !ok || v != "3" {
		t.Errorf("Get ctl/open/x = %q %v, want 3 true", v, ok)
	}
	if _, ok := mustGet(t, s, "ctl/debit/y"); ok {
		t.Error("ctl/debit/y still there after Delete")
	}

	// Control state alone: no seq, no Appended signal.
	<-s.Appended()
	first, err = s.Write(ctx, Write{Put: []KV{{Key: []byte("ctl/config"), Value: []byte("v7")}}})
	if err != nil || first != 0 {
		t.Fatalf("ctl-only Write: first %d err %v; want 0 nil", first, err)
	}
	if s.LastSeq() != 3 || s.PendingCount() != 3 {
		t.Errorf("after ctl-only Write: LastSeq %d PendingCount %d, want 3 3", s.LastSeq(), s.PendingCount())
	}
	select {
	case <-s.Appended():
		t.Error("Appended signal after a Write without events")
	default:
	}
	if diff := cmp.Diff([]uint64{1, 2, 3}, seqs(MustPending(t, s, 0))); diff != "" {
		t.Errorf("outbox (-want +got):\n%s", diff)
	}

	// An empty Write is a no-op.
	if first, err := s.Write(ctx, Write{}); err != nil || first != 0 {
		t.Errorf("empty Write: %d %v", first, err)
	}

	// Control state survives a reopen.
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s, _ = MustOpenConfig(t, testConfig(dir))
	want = map[string]string{"ctl/open/x": "3", "ctl/config": "v7"}
	if diff := cmp.Diff(want, mustScan(t, s, "ctl/")); diff != "" {
		t.Errorf("ctl/ after reopen (-want +got):\n%s", diff)
	}
}

func TestWriteInvalidKeyWritesNothing(t *testing.T) {
	ctx := t.Context()
	s := MustOpen(t, t.TempDir())
	if err := s.Append(ctx, heartbeat("before")); err != nil {
		t.Fatalf("Append: %v", err)
	}
	ok := KV{Key: []byte("ctl/ok"), Value: []byte("x")}
	for _, tc := range []struct {
		name string
		w    Write
	}{
		{name: "put into meta", w: Write{Put: []KV{ok, {Key: []byte(keySeq), Value: encodeUint64(99)}}}},
		{name: "put into outbox", w: Write{Put: []KV{{Key: outboxKey(1), Value: []byte("x")}, ok}}},
		{name: "delete outside ctl", w: Write{Put: []KV{ok}, Delete: [][]byte{outboxKey(1)}}},
		{name: "bare prefix", w: Write{Put: []KV{ok, {Key: []byte("ctl/"), Value: []byte("x")}}}},
		{name: "empty key", w: Write{Put: []KV{ok}, Delete: [][]byte{nil}}},
		{name: "put and delete one key", w: Write{Put: []KV{ok}, Delete: [][]byte{ok.Key}}},
		{name: "key above Badger's limit", w: Write{Put: []KV{ok, {Key: []byte("ctl/" + strings.Repeat("k", maxKeyLen))}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := heartbeat("with-bad-key")
			tc.w.Events = []*chargeplanev1.Event{ev}
			first, err := s.Write(ctx, tc.w)
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("Write: %v, want ErrInvalidKey", err)
			}
			if first != 0 || ev.GetSeq() != 0 {
				t.Errorf("failed Write: first %d, event seq %d; want 0 0", first, ev.GetSeq())
			}
			if _, found := mustGet(t, s, "ctl/ok"); found {
				t.Error("valid put of a failed Write was stored")
			}
			if s.LastSeq() != 1 || s.PendingCount() != 1 {
				t.Errorf("after failed Write: LastSeq %d PendingCount %d, want 1 1", s.LastSeq(), s.PendingCount())
			}
		})
	}
	after := heartbeat("after")
	if err := s.Append(ctx, after); err != nil || after.GetSeq() != 2 {
		t.Fatalf("Append after failed Writes: seq %d err %v, want 2 nil (no seq used)", after.GetSeq(), err)
	}
	if seq, ok := parseOutboxKey(outboxKey(1)); !ok || seq != 1 {
		t.Fatal("outbox key round trip")
	}
	if diff := cmp.Diff([]*chargeplanev1.Event{stored("before", 1), stored("after", 2)}, MustPending(t, s, 0), protocmp.Transform()); diff != "" {
		t.Errorf("outbox (-want +got):\n%s", diff)
	}

	// Reads are confined to ctl/ too.
	if _, _, err := s.Get(ctx, []byte(keySeq)); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Get(meta/seq): %v, want ErrInvalidKey", err)
	}
	if err := s.Scan(ctx, []byte("outbox/"), func(_, _ []byte) error { return nil }); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Scan(outbox/): %v, want ErrInvalidKey", err)
	}
}

func TestWriteTooLargeUsesNoSeq(t *testing.T) {
	s := MustOpen(t, t.TempDir())
	ev := heartbeat("c")
	big := KV{Key: []byte("ctl/big"), Value: make([]byte, s.maxTxnSize)}
	if _, err := s.Write(t.Context(), Write{Events: []*chargeplanev1.Event{ev}, Put: []KV{big}}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Write of a %d-byte value: %v, want ErrTooLarge", len(big.Value), err)
	}
	if ev.GetSeq() != 0 || s.LastSeq() != 0 {
		t.Errorf("after ErrTooLarge: event seq %d, LastSeq %d; want 0 0", ev.GetSeq(), s.LastSeq())
	}
	// A session ref too long for a Badger key is refused up front instead of
	// failing the committer (which would stop the store).
	long := sessionEnded("c", 1, strings.Repeat("r", maxKeyLen))
	if err := s.Append(t.Context(), long); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Append of a %d-byte session ref: %v, want ErrTooLarge", maxKeyLen, err)
	}
	if err := s.Append(t.Context(), ev); err != nil || ev.GetSeq() != 1 {
		t.Errorf("Append after the refusals: seq %d err %v, want 1 nil (store still writable)", ev.GetSeq(), err)
	}
}

func TestScanCallbackMayUseStoreAndStop(t *testing.T) {
	ctx := t.Context()
	s := MustOpen(t, t.TempDir())
	var puts []KV
	for i := range 5 {
		puts = append(puts, KV{Key: fmt.Appendf(nil, "ctl/k/%d", i), Value: fmt.Appendf(nil, "v%d", i)})
	}
	if _, err := s.Write(ctx, Write{Put: puts}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	stop := errors.New("stop")
	var seen []string
	err := s.Scan(ctx, []byte("ctl/k/"), func(k, _ []byte) error {
		seen = append(seen, string(k))
		// Writing from inside fn must not deadlock.
		if _, err := s.Write(ctx, Write{Delete: [][]byte{k}}); err != nil {
			return err
		}
		if len(seen) == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("Scan: %v, want the callback's error", err)
	}
	if diff := cmp.Diff([]string{"ctl/k/0", "ctl/k/1", "ctl/k/2"}, seen); diff != "" {
		t.Errorf("keys seen (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"ctl/k/3": "v3", "ctl/k/4": "v4"}, mustScan(t, s, "ctl/")); diff != "" {
		t.Errorf("ctl/ after deleting from the callback (-want +got):\n%s", diff)
	}
}

func TestSessionLedger(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	clock := newFakeClock()
	t0 := clock.Now()
	cfg := testConfig(dir)
	s, reg := MustOpenConfig(t, cfg, WithClock(clock.Now))

	a := sessionEnded("c1", 1, "A")
	b := sessionEnded("c1", 2, "A") // same ref, other connector: another session
	c := sessionEnded("c2", 1, "C")
	if err := s.Append(ctx, heartbeat("c1"), a, heartbeat("c1")); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if err := s.Append(ctx, b); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if _, err := s.Write(ctx, Write{Events: []*chargeplanev1.Event{c}, Delete: [][]byte{[]byte("ctl/open/c2")}}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if a.GetSeq() != 2 || b.GetSeq() != 4 || c.GetSeq() != 5 {
		t.Fatalf("session seqs %d %d %d, want 2 4 5", a.GetSeq(), b.GetSeq(), c.GetSeq())
	}
	for _, ev := range []*chargeplanev1.Event{a, b, c} {
		if seq, found := mustSessionByRef(t, s, ev); !found || seq != ev.GetSeq() {
			t.Errorf("SessionByRef(%s/%d/%s) = %d %v, want %d true", ev.GetChargerId(), ev.GetConnector(),
				ev.GetSessionEnded().GetSessionRef(), seq, found, ev.GetSeq())
		}
	}
	for _, miss := range []*chargeplanev1.Event{sessionEnded("c1", 3, "A"), sessionEnded("c2", 1, "A"), sessionEnded("c1", 1, "B")} {
		if _, found := mustSessionByRef(t, s, miss); found {
			t.Errorf("SessionByRef(%s/%d/%s) found a session never written", miss.GetChargerId(), miss.GetConnector(), miss.GetSessionEnded().GetSessionRef())
		}
	}
	if diff := cmp.Diff([]*chargeplanev1.Event{a, b, c}, mustPendingSessions(t, s), protocmp.Transform()); diff != "" {
		t.Errorf("PendingSessions (-want +got):\n%s", diff)
	}
	if got, err := s.PendingSessions(ctx, 2); err != nil || len(got) != 2 || got[1].GetSeq() != 4 {
		t.Errorf("PendingSessions(2) = %v %v, want seqs 2 4", seqs(got), err)
	}
	if _, err := s.PendingSessions(ctx, 0); err == nil {
		t.Error("PendingSessions with limit 0: no error")
	}
	if s.PendingSessionCount() != 3 || gauge(t, reg, "chargeplane_store_pending_sessions") != 3 {
		t.Errorf("PendingSessionCount %d, gauge %v; want 3", s.PendingSessionCount(), gauge(t, reg, "chargeplane_store_pending_sessions"))
	}

	// Outbox and ledger are independent: acknowledging the MQTT stream
	// leaves the sessions pending for the sync API.
	if err := s.Ack(ctx, s.LastSeq()); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if diff := cmp.Diff([]uint64{2, 4, 5}, seqs(mustPendingSessions(t, s))); diff != "" {
		t.Errorf("PendingSessions after Ack (-want +got):\n%s", diff)
	}

	// Confirm a, plus seqs that are unknown (99) or not sessions (1).
	if err := s.MarkSessionsSynced(ctx, []uint64{a.GetSeq(), 99, 1}); err != nil {
		t.Fatalf("MarkSessionsSynced: %v", err)
	}
	clock.Set(t0.Add(2 * time.Hour))
	if err := s.MarkSessionsSynced(ctx, []uint64{a.GetSeq(), b.GetSeq()}); err != nil { // a again: ignored
		t.Fatalf("MarkSessionsSynced: %v", err)
	}
	if diff := cmp.Diff([]*chargeplanev1.Event{c}, mustPendingSessions(t, s), protocmp.Transform()); diff != "" {
		t.Errorf("PendingSessions after marks (-want +got):\n%s", diff)
	}
	if s.PendingSessionCount() != 1 {
		t.Errorf("PendingSessionCount = %d, want 1", s.PendingSessionCount())
	}
	if seq, found := mustSessionByRef(t, s, a); !found || seq != a.GetSeq() {
		t.Errorf("SessionByRef of a synced session = %d %v, want %d true", seq, found, a.GetSeq())
	}

	// Marks survive a reopen; the count is recovered.
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s, reg = MustOpenConfig(t, cfg, WithClock(clock.Now))
	if s.PendingSessionCount() != 1 {
		t.Errorf("PendingSessionCount after reopen = %d, want 1", s.PendingSessionCount())
	}
	if diff := cmp.Diff([]uint64{5}, seqs(mustPendingSessions(t, s))); diff != "" {
		t.Errorf("PendingSessions after reopen (-want +got):\n%s", diff)
	}
	assertSynced(t, s, map[uint64]time.Time{a.GetSeq(): t0, b.GetSeq(): t0.Add(2 * time.Hour)})

	// Compact: a was synced at t0, b at t0+2h, c never.
	removed, err := s.Compact(ctx, t0.Add(time.Hour))
	if err != nil || removed != 1 {
		t.Fatalf("Compact(t0+1h) = %d %v, want 1 nil", removed, err)
	}
	if _, found := mustSessionByRef(t, s, a); found {
		t.Error("a still found by ref after compaction")
	}
	if _, found := mustSessionByRef(t, s, b); !found {
		t.Error("b (synced after the cutoff) compacted")
	}
	if removed, err := s.Compact(ctx, t0.Add(time.Hour)); err != nil || removed != 0 {
		t.Errorf("Compact again = %d %v, want 0 nil", removed, err)
	}
	removed, err = s.Compact(ctx, t0.Add(1000*time.Hour))
	if err != nil || removed != 1 {
		t.Fatalf("Compact(far future) = %d %v, want 1 nil (only b; c is unsynced)", removed, err)
	}
	if _, found := mustSessionByRef(t, s, b); found {
		t.Error("b still found by ref after compaction")
	}
	if seq, found := mustSessionByRef(t, s, c); !found || seq != c.GetSeq() {
		t.Errorf("unsynced c by ref = %d %v after compaction, want %d true", seq, found, c.GetSeq())
	}
	if diff := cmp.Diff([]uint64{5}, seqs(mustPendingSessions(t, s))); diff != "" {
		t.Errorf("PendingSessions after compaction (-want +got):\n%s", diff)
	}
	assertSynced(t, s, map[uint64]time.Time{})
	if got := counter(t, reg, "chargeplane_store_compacted_sessions_total"); got != 2 {
		t.Errorf("compacted_sessions_total = %v, want 2", got)
	}
	// No sref entry is left behind for a compacted session.
	if refs := rawKeys(t, s, srefPrefix); len(refs) != 1 {
		t.Errorf("sref entries after compaction: %d, want 1 (c)", len(refs))
	}
}

// assertSynced checks the synced ledger holds exactly want (seq → synced-at),
// each value followed by the session's event bytes.
func assertSynced(tb testing.TB, s *Store, want map[uint64]time.Time) {
	tb.Helper()
	got := map[uint64]time.Time{}
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(syncedPrefix)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			seq, _ := parseSeqKey(syncedPrefix, it.Item().Key())
			err := it.Item().Value(func(v []byte) error {
				at, _ := decodeUint64(v[:syncedAtLen])
				got[seq] = time.Unix(0, int64(at)).UTC()
				ev := &chargeplanev1.Event{}
				if err := proto.Unmarshal(v[syncedAtLen:], ev); err != nil {
					return err
				}
				if ev.GetSeq() != seq || ev.GetSessionEnded() == nil {
					return fmt.Errorf("synced %d holds event seq %d kind %T", seq, ev.GetSeq(), ev.GetKind())
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("read synced: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		tb.Errorf("synced ledger (-want +got):\n%s", diff)
	}
}

// rawKeys lists the store's keys under prefix.
func rawKeys(tb testing.TB, s *Store, prefix string) []string {
	tb.Helper()
	var keys []string
	err := s.db.View(func(txn *badger.Txn) error {
		return scanKeys(txn, prefix, func(k []byte) error {
			keys = append(keys, string(k))
			return nil
		})
	})
	if err != nil {
		tb.Fatalf("list %s: %v", prefix, err)
	}
	return keys
}

func TestDuplicateRefKeepsFirst(t *testing.T) {
	ctx := t.Context()
	clock := newFakeClock()
	s, _ := MustOpenConfig(t, testConfig(t.TempDir()), WithClock(clock.Now))
	first := sessionEnded("c1", 1, "R")
	second := sessionEnded("c1", 1, "R")
	if err := s.Append(ctx, first); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if err := s.Append(ctx, second); err != nil {
		t.Fatalf("Append: %v", err)
	}
	// Both are kept for upload; the ref points at the first.
	if diff := cmp.Diff([]uint64{1, 2}, seqs(mustPendingSessions(t, s))); diff != "" {
		t.Errorf("PendingSessions (-want +got):\n%s", diff)
	}
	if seq, found := mustSessionByRef(t, s, first); !found || seq != 1 {
		t.Errorf("SessionByRef = %d %v, want 1 true", seq, found)
	}
	// Compacting the second must not drop the ref of the first.
	if err := s.MarkSessionsSynced(ctx, []uint64{2}); err != nil {
		t.Fatalf("MarkSessionsSynced: %v", err)
	}
	if n, err := s.Compact(ctx, clock.Now().Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("Compact = %d %v, want 1 nil", n, err)
	}
	if seq, found := mustSessionByRef(t, s, first); !found || seq != 1 {
		t.Errorf("SessionByRef after compacting the duplicate = %d %v, want 1 true", seq, found)
	}
}

func TestSessionWithoutRef(t *testing.T) {
	ctx := t.Context()
	s := MustOpen(t, t.TempDir())
	ev := sessionEnded("c1", 1, "")
	if err := s.Append(ctx, ev); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if diff := cmp.Diff([]uint64{1}, seqs(mustPendingSessions(t, s))); diff != "" {
		t.Errorf("PendingSessions (-want +got):\n%s", diff)
	}
	if refs := rawKeys(t, s, srefPrefix); len(refs) != 0 {
		t.Errorf("a session without ref made %d sref entries", len(refs))
	}
	if err := s.MarkSessionsSynced(ctx, []uint64{1}); err != nil {
		t.Fatalf("MarkSessionsSynced: %v", err)
	}
	if n, err := s.Compact(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Errorf("Compact = %d %v, want 1 nil", n, err)
	}
}

// TestPendingSessionsOnlyAfterSync runs the committer's write step by hand, as
// the committer does before it acknowledges the group: the session is in
// Badger but its group is not finished, so neither PendingSessions nor
// Pending may return it.
func TestPendingSessionsOnlyAfterSync(t *testing.T) {
	ctx := t.Context()
	s := MustOpen(t, t.TempDir())
	req, _, err := s.newWriteRequest(Write{Events: []*chargeplanev1.Event{sessionEnded("c1", 1, "X")}})
	if err != nil {
		t.Fatalf("newWriteRequest: %v", err)
	}
	// The committer is idle (nothing queued), so this is the only writer.
	st := s.newSplitTxn("test")
	if _, err := s.writeGroup(st, []*request{req}); err != nil {
		t.Fatalf("writeGroup: %v", err)
	}
	if err := st.commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
	if got := rawKeys(t, s, ledgerPrefix); len(got) != 1 {
		t.Fatalf("ledger keys after the write step: %d, want 1", len(got))
	}
	if got := mustPendingSessions(t, s); len(got) != 0 {
		t.Errorf("PendingSessions before the sync returned %v", seqs(got))
	}
	if got := MustPending(t, s, 0); len(got) != 0 {
		t.Errorf("Pending before the sync returned %v", seqs(got))
	}
	// The next group commit syncs and makes both visible.
	if err := s.Append(ctx, heartbeat("c1")); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if diff := cmp.Diff([]uint64{1}, seqs(mustPendingSessions(t, s))); diff != "" {
		t.Errorf("PendingSessions after the next commit (-want +got):\n%s", diff)
	}
}

func TestCompactLoop(t *testing.T) {
	ctx := t.Context()
	clock := newFakeClock()
	t0 := clock.Now()
	s, _ := MustOpenConfig(t, testConfig(t.TempDir(), func(c *Config) {
		c.Retention = 3 * time.Hour
		c.CompactEvery = 5 * time.Millisecond
	}), WithClock(clock.Now))
	old, recent := sessionEnded("c1", 1, "old"), sessionEnded("c1", 1, "recent")
	if err := s.Append(ctx, old, recent); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if err := s.MarkSessionsSynced(ctx, []uint64{old.GetSeq()}); err != nil {
		t.Fatalf("MarkSessionsSynced: %v", err)
	}
	clock.Set(t0.Add(2 * time.Hour))
	if err := s.MarkSessionsSynced(ctx, []uint64{recent.GetSeq()}); err != nil {
		t.Fatalf("MarkSessionsSynced: %v", err)
	}
	// Cutoff now − retention = t0 + 1h: old goes, recent stays.
	clock.Set(t0.Add(4 * time.Hour))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, found := mustSessionByRef(t, s, old); !found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the store did not compact a session synced beyond retention within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, found := mustSessionByRef(t, s, recent); !found {
		t.Error("the compaction loop removed a session synced within retention")
	}
}

// TestMigrateV1 builds a version-1 store by hand (meta/ and outbox/ only) and
// opens it: Open must migrate it to version 2 in place and keep its events
// and seqs.
func TestMigrateV1(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatalf("badger.Open: %v", err)
	}
	var want []*chargeplanev1.Event
	err = db.Update(func(txn *badger.Txn) error {
		if err := txn.Set([]byte(keyVersion), encodeUint64(1)); err != nil {
			return err
		}
		if err := txn.Set([]byte(keySeq), encodeUint64(3)); err != nil {
			return err
		}
		for seq := uint64(2); seq <= 3; seq++ { // seq 1 was acknowledged
			ev := stored(fmt.Sprintf("v1-%d", seq), seq)
			if seq == 3 {
				ev = sessionEnded("c1", 1, "v1-session")
				ev.EdgeId, ev.Seq = testEdgeID, seq
			}
			b, err := proto.Marshal(ev)
			if err != nil {
				return err
			}
			if err := txn.Set(outboxKey(seq), b); err != nil {
				return err
			}
			want = append(want, ev)
		}
		return nil
	})
	if cerr := db.Close(); err != nil || cerr != nil {
		t.Fatalf("write v1 store: %v, close: %v", err, cerr)
	}

	s, _ := MustOpenConfig(t, testConfig(dir))
	if s.LastSeq() != 3 || s.PendingCount() != 2 || s.PendingSessionCount() != 0 {
		t.Errorf("migrated store: LastSeq %d PendingCount %d PendingSessionCount %d, want 3 2 0",
			s.LastSeq(), s.PendingCount(), s.PendingSessionCount())
	}
	if diff := cmp.Diff(want, MustPending(t, s, 0), protocmp.Transform()); diff != "" {
		t.Errorf("outbox of the migrated store (-want +got):\n%s", diff)
	}
	ev := sessionEnded("c1", 1, "v2-session")
	if err := s.Append(ctx, ev); err != nil || ev.GetSeq() != 4 {
		t.Fatalf("Append after migration: seq %d err %v, want 4 nil", ev.GetSeq(), err)
	}
	if diff := cmp.Diff([]uint64{4}, seqs(mustPendingSessions(t, s))); diff != "" {
		t.Errorf("ledger after migration (-want +got):\n%s", diff)
	}
	if version, err := storedVersion(s); err != nil || version != 3 || layoutVersion != 3 {
		t.Errorf("meta/version after migration = %d (%v), want 3", version, err)
	}
}

func TestMarkAndCompactAfterClose(t *testing.T) {
	cfg := testConfig(t.TempDir())
	s, err := Open(cfg, testEdgeID, nil, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := t.Context()
	for name, err := range map[string]error{
		"MarkSessionsSynced": s.MarkSessionsSynced(ctx, []uint64{1}),
		"Write":              func() error { _, err := s.Write(ctx, Write{Put: []KV{{Key: []byte("ctl/x")}}}); return err }(),
		"Get":                func() error { _, _, err := s.Get(ctx, []byte("ctl/x")); return err }(),
		"Scan":               s.Scan(ctx, []byte("ctl/"), func(_, _ []byte) error { return nil }),
		"SessionByRef":       func() error { _, _, err := s.SessionByRef(ctx, "c", 1, "r"); return err }(),
		"PendingSessions":    func() error { _, err := s.PendingSessions(ctx, 10); return err }(),
		"Compact":            func() error { _, err := s.Compact(ctx, time.Now()); return err }(),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

func TestValidateRetentionAndSpace(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(*Config)
		want string
	}{
		{name: "retention", cfg: func(c *Config) { c.Retention = 0 }, want: "store.retention: 0s must be positive"},
		{name: "compact_every", cfg: func(c *Config) { c.CompactEvery = -time.Second }, want: "store.compact_every: -1s must be positive"},
		{name: "max_bytes", cfg: func(c *Config) { c.MaxBytes = -1 }, want: "store.max_bytes: -1"},
		{name: "warn_ratio zero", cfg: func(c *Config) { c.WarnRatio = 0 }, want: "store.warn_ratio: 0 out of range"},
		{name: "warn_ratio above one", cfg: func(c *Config) { c.WarnRatio = 1.5 }, want: "store.warn_ratio: 1.5 out of range"},
		{name: "size_check_every", cfg: func(c *Config) { c.SizeCheckEvery = 0 }, want: "store.size_check_every: 0s must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("d", tc.cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate: %v, want %q", err, tc.want)
			}
		})
	}
	d := DefaultConfig()
	if d.Retention != 168*time.Hour || d.CompactEvery != time.Hour || d.MaxBytes != 2<<30 || d.WarnRatio != 0.9 || d.SizeCheckEvery != 10*time.Second {
		t.Errorf("DefaultConfig() = %+v", d)
	}
	if err := testConfig("d", func(c *Config) { c.MaxBytes = 0; c.WarnRatio = 1 }).Validate(); err != nil {
		t.Errorf("max_bytes 0 (unlimited), warn_ratio 1: %v", err)
	}
}

// TestConcurrentWritesKeepLedgerAndCtlTogether has many writers each record a
// session with a ctl/ key naming it, racing marks and compactions: in the end
// every session is either pending or synced, each ctl/ key names a stored
// session, and the ref index points at the right seq.
func TestConcurrentWritesKeepLedgerAndCtlTogether(t *testing.T) {
	ctx := t.Context()
	s := MustOpen(t, t.TempDir(), func(c *Config) { c.MaxBatch = 50 })
	const writers, perWriter = 20, 30
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				ref := fmt.Sprintf("w%d-%d", w, i)
				ev := sessionEnded(fmt.Sprintf("c%d", w), 1, ref)
				first, err := s.Write(ctx, Write{
					Events: []*chargeplanev1.Event{heartbeat("hb"), ev},
					Put:    []KV{{Key: []byte("ctl/s/" + ref), Value: encodeUint64(0)}},
				})
				if err != nil {
					t.Errorf("Write: %v", err)
					return
				}
				if ev.GetSeq() != first+1 {
					t.Errorf("session seq %d, first %d", ev.GetSeq(), first)
				}
				if i%3 == 0 {
					if err := s.MarkSessionsSynced(ctx, []uint64{ev.GetSeq()}); err != nil {
						t.Errorf("MarkSessionsSynced: %v", err)
					}
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, err := s.Compact(ctx, time.Unix(0, 0)); err != nil { // removes nothing: all synced after 1970
				t.Errorf("Compact: %v", err)
			}
		}
	})
	wg.Wait()
	pending := mustPendingSessions(t, s)
	synced := rawKeys(t, s, syncedPrefix)
	if len(pending)+len(synced) != writers*perWriter {
		t.Errorf("pending %d + synced %d sessions, want %d", len(pending), len(synced), writers*perWriter)
	}
	if want := writers * perWriter * 2 / 3; len(pending) != want || s.PendingSessionCount() != int64(want) {
		t.Errorf("pending sessions %d (count %d), want %d", len(pending), s.PendingSessionCount(), want)
	}
	ctl := mustScan(t, s, "ctl/s/")
	if len(ctl) != writers*perWriter {
		t.Errorf("ctl/s/ keys: %d, want %d", len(ctl), writers*perWriter)
	}
	for w := range writers {
		for i := range perWriter {
			ref := fmt.Sprintf("w%d-%d", w, i)
			seq, found, err := s.SessionByRef(ctx, fmt.Sprintf("c%d", w), 1, ref)
			if err != nil || !found {
				t.Fatalf("SessionByRef(%s): %d %v %v", ref, seq, found, err)
			}
			if seq%2 != 0 {
				t.Errorf("session %s at odd seq %d: its heartbeat was not right before it", ref, seq)
			}
		}
	}
}

// The store's own write path must never be reachable with meta/ keys from
// outside; this guards the one place that adds one.
func TestWriteCannotSetSpaceAlarm(t *testing.T) {
	s := MustOpen(t, t.TempDir())
	_, err := s.Write(context.Background(), Write{Put: []KV{{Key: []byte(keySpaceAlarm), Value: encodeUint64(1)}}})
	if !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("Write of %s: %v, want ErrInvalidKey", keySpaceAlarm, err)
	}
}

// TestMigrateV2: a version-2 store (no journal) opens as version 3 with its
// events, and gets a journal.
func TestMigrateV2(t *testing.T) {
	dir := t.TempDir()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatalf("badger.Open: %v", err)
	}
	want := stored("v2", 1)
	b, err := proto.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(txn *badger.Txn) error {
		for k, v := range map[string][]byte{keyVersion: encodeUint64(2), keySeq: encodeUint64(1), string(outboxKey(1)): b} {
			if err := txn.Set([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err != nil || cerr != nil {
		t.Fatalf("write v2 store: %v, close: %v", err, cerr)
	}

	s, _ := MustOpenConfig(t, testConfig(dir))
	if diff := cmp.Diff([]*chargeplanev1.Event{want}, MustPending(t, s, 0), protocmp.Transform()); diff != "" {
		t.Errorf("outbox of the migrated store (-want +got):\n%s", diff)
	}
	if version, err := storedVersion(s); err != nil || version != 3 || layoutVersion != 3 {
		t.Errorf("meta/version after migration = %d (%v), want 3", version, err)
	}
	if err := s.jnl.wait(); err != nil {
		t.Fatalf("journal background work: %v", err)
	}
	if gens, err := segments(filepath.Join(dir, journalDir)); err != nil || len(gens) != 2 {
		t.Errorf("journal segments after migration: %v %v, want two", gens, err)
	}
}

// storedVersion reads the key-layout version the store holds.
func storedVersion(s *Store) (version uint64, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		version, err = readUint64(txn, keyVersion)
		return err
	})
	return version, err
}
