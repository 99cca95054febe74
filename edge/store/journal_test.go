package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"google.golang.org/protobuf/testing/protocmp"
)

// withSegmentSize shrinks the journal's segments so tests cycle through them.
func withSegmentSize(n int64) Option { return func(s *Store) { s.segSize = n } }

// copyJournal replaces dst's journal with a copy of a's segments as they are
// on disk now (every record there was fdatasynced before its write returned),
// after a's background segment work has finished. a must be idle: its last
// write returned before this is called.
func copyJournal(t *testing.T, a *Store, dst string) {
	t.Helper()
	if err := a.jnl.wait(); err != nil {
		t.Fatalf("journal background work: %v", err)
	}
	from, to := filepath.Join(a.cfg.Dir, journalDir), filepath.Join(dst, journalDir)
	if err := os.RemoveAll(to); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(to, 0o700); err != nil {
		t.Fatal(err)
	}
	gens, err := segments(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, gen := range gens {
		b, err := os.ReadFile(segmentPath(from, gen))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(segmentPath(to, gen), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// emptyStore makes dir a store that holds nothing but its layout version.
func emptyStore(t *testing.T, dir string) {
	t.Helper()
	s, err := Open(testConfig(dir), testEdgeID, nil, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// TestJournalAloneRestoresAcknowledgedWrites is the power-cut case: Badger
// lost everything it had not synced itself (here: all of it), and the journal
// holds every acknowledged group. Opening replays it into an equal store:
// events, acks, sessions, marks and control state.
func TestJournalAloneRestoresAcknowledgedWrites(t *testing.T) {
	ctx := t.Context()
	src := t.TempDir()
	a := MustOpen(t, src)
	for i := range 50 {
		if err := a.Append(ctx, heartbeat(fmt.Sprintf("c%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Write(ctx, Write{
		Events: []*chargeplanev1.Event{sessionEnded("c1", 1, "s1"), sessionEnded("c2", 1, "s2")},
		Put:    []KV{{Key: []byte("ctl/x"), Value: []byte("1")}, {Key: []byte("ctl/y"), Value: []byte("2")}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write(ctx, Write{Delete: [][]byte{[]byte("ctl/y")}}); err != nil {
		t.Fatal(err)
	}
	if err := a.Ack(ctx, 20); err != nil {
		t.Fatal(err)
	}
	if err := a.MarkSessionsSynced(ctx, []uint64{51}); err != nil {
		t.Fatal(err)
	}

	dst := t.TempDir()
	emptyStore(t, dst)
	copyJournal(t, a, dst)
	b := MustOpen(t, dst)

	if b.LastSeq() != a.LastSeq() || b.PendingCount() != a.PendingCount() || b.PendingSessionCount() != a.PendingSessionCount() {
		t.Errorf("replayed: LastSeq %d PendingCount %d PendingSessionCount %d, want %d %d %d",
			b.LastSeq(), b.PendingCount(), b.PendingSessionCount(), a.LastSeq(), a.PendingCount(), a.PendingSessionCount())
	}
	if diff := cmp.Diff(MustPending(t, a, 0), MustPending(t, b, 0), protocmp.Transform()); diff != "" {
		t.Errorf("outbox after replay (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(seqs(mustPendingSessions(t, a)), seqs(mustPendingSessions(t, b))); diff != "" {
		t.Errorf("pending sessions after replay (-want +got):\n%s", diff)
	}
	if seq, found, err := b.SessionByRef(ctx, "c1", 1, "s1"); err != nil || !found || seq != 51 {
		t.Errorf("SessionByRef(s1) after replay = %d %v %v, want 51 true nil", seq, found, err)
	}
	for key, want := range map[string]bool{"ctl/x": true, "ctl/y": false} {
		if _, found, err := b.Get(ctx, []byte(key)); err != nil || found != want {
			t.Errorf("Get(%s) after replay: found %v err %v, want found %v", key, found, err, want)
		}
	}
	// Seqs continue after the replayed ones.
	ev := heartbeat("next")
	if err := b.Append(ctx, ev); err != nil || ev.GetSeq() != a.LastSeq()+1 {
		t.Errorf("Append after replay: seq %d err %v, want %d", ev.GetSeq(), err, a.LastSeq()+1)
	}
}

// TestJournalTornRecordIsTheEnd: a record whose last byte did not reach the
// disk (its CRC fails) ends replay; the records before it are applied, and
// the torn one, never acknowledged, is not.
func TestJournalTornRecordIsTheEnd(t *testing.T) {
	ctx := t.Context()
	src := t.TempDir()
	a := MustOpen(t, src)
	for i := range 10 { // one Append at a time: one record each
		if err := a.Append(ctx, heartbeat(fmt.Sprintf("c%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	dst := t.TempDir()
	emptyStore(t, dst)
	copyJournal(t, a, dst)

	gens, err := segments(filepath.Join(dst, journalDir))
	if err != nil || len(gens) == 0 {
		t.Fatalf("segments: %v %v", gens, err)
	}
	path := segmentPath(filepath.Join(dst, journalDir), gens[0])
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ends []int
	if n, err := scanRecords(b, gens[0], func(p []byte) error {
		end := recHeaderLen + len(p)
		if len(ends) > 0 {
			end += ends[len(ends)-1]
		}
		ends = append(ends, end)
		return nil
	}); err != nil || n != 10 {
		t.Fatalf("segment holds %d records (%v), want 10", n, err)
	}
	b[ends[9]-1] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}

	r := MustOpen(t, dst)
	if got := seqs(MustPending(t, r, 0)); len(got) != 9 || got[8] != 9 {
		t.Errorf("after a torn 10th record the outbox holds seqs %v, want 1..9", got)
	}
}

// TestJournalSegmentsAreRecycled: writing many segments' worth keeps two
// segment files (the current one and the next), each written in place, and a
// reopened store has every event.
func TestJournalSegmentsAreRecycled(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, _ := MustOpenConfig(t, testConfig(dir), withSegmentSize(16<<10))
	const events = 2000 // ~100 bytes each: a dozen segments
	for i := range events {
		if err := s.Append(ctx, heartbeat(fmt.Sprintf("c%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if s.jnl.gen < 8 {
		t.Errorf("journal at generation %d after %d events, want several segment switches", s.jnl.gen, events)
	}
	if err := s.jnl.wait(); err != nil {
		t.Fatalf("background checkpoint: %v", err)
	}
	gens, err := segments(filepath.Join(dir, journalDir))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint64{s.jnl.gen, s.jnl.gen + 1}, gens); diff != "" {
		t.Errorf("segment files (-want +got):\n%s", diff)
	}
	for _, gen := range gens {
		info, err := os.Stat(segmentPath(filepath.Join(dir, journalDir), gen))
		if err != nil || info.Size() != 16<<10 {
			t.Errorf("segment %x: size %v err %v, want %d", gen, info.Size(), err, 16<<10)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r, _ := MustOpenConfig(t, testConfig(dir), withSegmentSize(16<<10))
	if got := len(MustPending(t, r, 0)); got != events {
		t.Errorf("after reopen %d events pending, want %d", got, events)
	}
}

// TestJournalRecordLargerThanASegment: a group bigger than a segment is
// written whole at the start of one (the file grows) and replays.
func TestJournalRecordLargerThanASegment(t *testing.T) {
	ctx := t.Context()
	src := t.TempDir()
	a, _ := MustOpenConfig(t, testConfig(src), withSegmentSize(4<<10))
	big := make([]byte, 20<<10)
	for i := range big {
		big[i] = byte(i)
	}
	if err := a.Append(ctx, heartbeat("small")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write(ctx, Write{Put: []KV{{Key: []byte("ctl/big"), Value: big}}}); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	emptyStore(t, dst)
	copyJournal(t, a, dst)
	b := MustOpen(t, dst)
	got, found, err := b.Get(ctx, []byte("ctl/big"))
	if err != nil || !found || !cmp.Equal(got, big) {
		t.Errorf("Get(ctl/big) after replay: %d bytes found %v err %v, want the 20 KiB written", len(got), found, err)
	}
	// The heartbeat's segment was checkpointed into a's Badger when the
	// big record moved on to the next one, so only the big record is in
	// the copied journal, in a segment grown to hold it.
	gens, err := segments(filepath.Join(src, journalDir))
	if err != nil {
		t.Fatal(err)
	}
	grown := false
	for _, gen := range gens {
		if info, err := os.Stat(segmentPath(filepath.Join(src, journalDir), gen)); err == nil && info.Size() > 20<<10 {
			grown = true
		}
	}
	if !grown {
		t.Errorf("no segment of %v grew past the 20 KiB record", gens)
	}
}

// TestJournalRejectsUnknownChange: a record that passes its CRC but holds a
// change this build does not know stops Open with an error rather than being
// half applied silently.
func TestJournalRejectsUnknownChange(t *testing.T) {
	payload := []byte{9, 1, 'k', 0}
	if err := forEachOp(payload, func(byte, []byte, []byte) error { return nil }); err == nil {
		t.Error("forEachOp accepted change kind 9")
	}
	if err := forEachOp([]byte{opSet, 5, 'k'}, func(byte, []byte, []byte) error { return nil }); err == nil {
		t.Error("forEachOp accepted a truncated key")
	}
	var rec []byte
	rec = binary.BigEndian.AppendUint64(rec, 7)
	if n, err := scanRecords(append(rec, make([]byte, 8)...), 7, func([]byte) error { return nil }); n != 0 || err != nil {
		t.Errorf("zero-length record with a zero CRC: %d records, %v; want 0 nil", n, err)
	}
}

// TestJournalOnlyWhenDurable: a store opened with Durable false keeps no
// journal, but first replays and removes one a durable run left.
func TestJournalOnlyWhenDurable(t *testing.T) {
	ctx := t.Context()
	src := t.TempDir()
	a := MustOpen(t, src)
	if err := a.Append(ctx, heartbeat("durable")); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	emptyStore(t, dst)
	copyJournal(t, a, dst)

	noSync := func(c *Config) { c.Durable = false }
	b := MustOpen(t, dst, noSync)
	if _, err := os.Stat(filepath.Join(dst, journalDir)); !os.IsNotExist(err) {
		t.Errorf("journal dir of a non-durable store: stat err %v, want not exist", err)
	}
	ev := heartbeat("not durable")
	if err := b.Append(ctx, ev); err != nil || ev.GetSeq() != 2 {
		t.Errorf("Append without a journal: seq %d err %v, want 2 nil (after the replayed 1)", ev.GetSeq(), err)
	}
	if got := seqs(MustPending(t, b, 0)); !cmp.Equal(got, []uint64{1, 2}) {
		t.Errorf("outbox = %v, want [1 2]", got)
	}
}

// TestJournalFailureLeavesBadgerUntouched: a group whose journal write fails
// is never committed to Badger, so the reopened store is the state after the
// last acknowledged group. Committing to Badger first would leave that
// group's new keys in Badger while replay puts back the older value of the
// keys an earlier record also set: here, the event stored with ctl/k
// still at v1.
func TestJournalFailureLeavesBadgerUntouched(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	a, err := Open(testConfig(dir), testEdgeID, nil, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := a.Write(ctx, Write{Put: []KV{{Key: []byte("ctl/k"), Value: []byte("v1")}}}); err != nil {
		t.Fatal(err)
	}
	// A disk that fails the next journal write: the committer is idle.
	if err := a.jnl.f.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = a.Write(ctx, Write{
		Events: []*chargeplanev1.Event{sessionEnded("c1", 1, "s1")},
		Put:    []KV{{Key: []byte("ctl/k"), Value: []byte("v2")}},
	})
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("Write with a failing journal: %v, want ErrFailed", err)
	}
	_ = a.Close() // reports the journal file closed under it

	b := MustOpen(t, dir)
	val, found, err := b.Get(ctx, []byte("ctl/k"))
	if err != nil || !found || string(val) != "v1" {
		t.Errorf("ctl/k after reopen = %q %v %v, want v1", val, found, err)
	}
	if got := MustPending(t, b, 0); len(got) != 0 {
		t.Errorf("the failed group's event is in the outbox: %v", seqs(got))
	}
	if _, found, err := b.SessionByRef(ctx, "c1", 1, "s1"); err != nil || found {
		t.Errorf("the failed group's session is in the ledger: found %v err %v", found, err)
	}
	if b.LastSeq() != 0 {
		t.Errorf("LastSeq after reopen = %d, want 0", b.LastSeq())
	}
}

// FuzzJournalRecords: whatever bytes a segment holds (a torn write, a disk
// handing back garbage), reading it never panics and every change it
// accepts is of a known kind; and a record written from arbitrary keys and
// values reads back as written, whatever bytes follow it.
func FuzzJournalRecords(f *testing.F) {
	j := &journal{rec: make([]byte, recHeaderLen)}
	j.set([]byte("outbox/00000001"), []byte("event"))
	j.del([]byte("ctl/x"))
	j.delRange([]byte("outbox/00000001"), []byte("outbox/00000009"))
	sealRecord(j.rec, 7)
	f.Add(j.rec, uint64(7))
	f.Add(append(j.rec[:len(j.rec)-1:len(j.rec)-1], 0xff), uint64(7)) // torn
	f.Add([]byte{}, uint64(0))
	f.Add(make([]byte, 64), uint64(0)) // a zero-filled segment
	f.Fuzz(func(t *testing.T, b []byte, gen uint64) {
		_, _ = scanRecords(b, gen, func(p []byte) error {
			return forEachOp(p, func(kind byte, _, _ []byte) error {
				if kind < opSet || kind > opDeleteRange {
					t.Fatalf("accepted change kind %d", kind)
				}
				return nil
			})
		})

		w := &journal{rec: make([]byte, recHeaderLen)}
		half := len(b) / 2
		w.set(b[:half], b[half:])
		w.delRange(b[half:], b[:half])
		sealRecord(w.rec, gen)
		type change struct {
			Kind byte
			A, B string
		}
		var got []change
		n, err := scanRecords(append(w.rec, b...), gen, func(p []byte) error {
			if got != nil {
				return nil // the bytes after the record may happen to parse too
			}
			got = []change{}
			return forEachOp(p, func(kind byte, x, y []byte) error {
				got = append(got, change{kind, string(x), string(y)})
				return nil
			})
		})
		want := []change{{opSet, string(b[:half]), string(b[half:])}, {opDeleteRange, string(b[half:]), string(b[:half])}}
		if err != nil || n < 1 {
			t.Fatalf("record read back: %d records, %v", n, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("record read back (-want +got):\n%s", diff)
		}
	})
}
