package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestMemWALsSyncsRotatedLogs: after a rotation every WAL between the
// previously active one and the newest is synced once, a WAL that is already
// gone (flushed) is skipped, and no rotation costs nothing.
func TestMemWALsSyncsRotatedLogs(t *testing.T) {
	dir := t.TempDir()
	touch := func(fid int) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%05d.mem", fid)), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	touch(3)
	touch(4)
	if err := os.WriteFile(filepath.Join(dir, "000007.vlog"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := newMemWALs(dir)
	if err != nil {
		t.Fatalf("newMemWALs: %v", err)
	}
	if w.active != 4 {
		t.Fatalf("active = %d, want 4", w.active)
	}
	if err := w.syncRotated(); err != nil || w.synced != 0 || w.active != 4 {
		t.Fatalf("no rotation: err=%v synced=%d active=%d, want nil 0 4", err, w.synced, w.active)
	}
	// Two rotations; the first rotated-out WAL was already flushed away.
	touch(5)
	touch(6)
	if err := os.Remove(filepath.Join(dir, "00004.mem")); err != nil {
		t.Fatal(err)
	}
	if err := w.syncRotated(); err != nil {
		t.Fatalf("syncRotated: %v", err)
	}
	if w.synced != 2 || w.active != 6 {
		t.Errorf("after two rotations: synced=%d active=%d, want 2 6", w.synced, w.active)
	}
	// Two more rotations, and the WAL between was flushed away before this
	// check: the newest is still found, and the one before it synced.
	touch(8)
	if err := os.Remove(filepath.Join(dir, "00006.mem")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "00005.mem")); err != nil {
		t.Fatal(err)
	}
	if err := w.syncRotated(); err != nil || w.synced != 4 || w.active != 8 {
		t.Errorf("rotation past a removed WAL: err=%v synced=%d active=%d, want nil 4 8", err, w.synced, w.active)
	}
	// Fids past 99999 have more digits, as Badger writes them.
	w.active = 99999
	touch(99999)
	touch(100000)
	if err := w.syncRotated(); err != nil || w.active != 100000 || w.synced != 5 {
		t.Errorf("six-digit fid: err=%v active=%d synced=%d, want nil 100000 5", err, w.active, w.synced)
	}
}

// TestRotationDuringGroupsIsSynced writes enough through the committer, in
// groups that span several transactions, to make Badger rotate its memtable
// several times, and checks the committer saw and synced every rotated-out
// WAL, and that everything written reads back after reopening.
func TestRotationDuringGroupsIsSynced(t *testing.T) {
	dir := t.TempDir()
	s := MustOpen(t, dir)
	first := s.wals.active
	// 32 KiB stays below Badger's value threshold, so it fills the memtable.
	firmware := strings.Repeat("f", 32<<10)
	const writers, rounds = 64, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			ev := heartbeat(fmt.Sprintf("w%d", w))
			ev.GetHeartbeat().Firmware = firmware
			for range rounds {
				if err := s.Append(t.Context(), ev); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	rotations := s.wals.active - first
	if rotations < 3 {
		t.Fatalf("memtable rotated %d times, want at least 3 (40 MiB through 8 MiB memtables)", rotations)
	}
	if s.wals.synced != rotations {
		t.Errorf("synced %d rotated-out WALs, want %d (one per rotation)", s.wals.synced, rotations)
	}
	r := MustOpen(t, dir)
	if got := len(MustPending(t, r, 0)); got != writers*rounds {
		t.Errorf("after reopen %d events pending, want %d", got, writers*rounds)
	}
}
