package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// memWALs makes the write-ahead logs of memtables that Badger rotated out
// durable at a checkpoint (journal.go).
//
// Why: the store writes with SyncWrites=false, and db.Sync() syncs only the
// active memtable's WAL. When writes fill the memtable, Badger rotates it: the
// earlier writes sit in the now-immutable memtable's WAL, which Badger does
// not sync (its data becomes durable only when the flush to an L0 table, which
// syncs the table, has finished). A checkpoint that synced only the active WAL
// would let the journal be recycled while some of what it covers could still
// be lost to a power cut. A kill -9 loses nothing either way (the page cache
// outlives the process).
//
// Badger names each memtable WAL <fid>.mem (at least five digits) with fids
// counting up, and the newest file is the active memtable, so a rotation shows
// as a file for a newer fid.
type memWALs struct {
	dir    string
	active int // newest memtable WAL fid seen after the last sync
	synced int // rotated WALs synced here; read by tests
}

const memWALExt = ".mem"

// newMemWALs finds the newest memtable WAL in dir (Badger opens a fresh
// active memtable on Open, so after Open that is the active one).
func newMemWALs(dir string) (*memWALs, error) {
	w := &memWALs{dir: dir}
	fids, err := w.fids()
	if err != nil {
		return nil, err
	}
	if len(fids) > 0 {
		w.active = slices.Max(fids)
	}
	return w, nil
}

// fids lists the fids of the memtable WALs in the directory.
func (w *memWALs) fids() ([]int, error) {
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return nil, fmt.Errorf("list memtable logs: %w", err)
	}
	var fids []int
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), memWALExt)
		if !ok {
			continue
		}
		if fid, err := strconv.Atoi(name); err == nil {
			fids = append(fids, fid)
		}
	}
	return fids, nil
}

func (w *memWALs) path(fid int) string {
	return filepath.Join(w.dir, fmt.Sprintf("%05d%s", fid, memWALExt))
}

// syncRotated is called after db.Sync(). If memtables were rotated since the
// last call, it fsyncs every WAL from the previously active one up to (not
// including) the newest: the newest was synced by db.Sync() or holds none of
// the writes before it. A WAL already removed was flushed to a synced table;
// it is counted but there is nothing to sync. The newest is found by listing
// the directory, not by probing fids in turn, because between two calls
// Badger may have flushed and removed a WAL with newer ones after it.
func (w *memWALs) syncRotated() error {
	fids, err := w.fids()
	if err != nil {
		return err
	}
	newest := w.active
	for _, fid := range fids {
		newest = max(newest, fid)
	}
	for _, fid := range fids {
		if fid >= w.active && fid < newest {
			if err := syncFile(w.path(fid)); err != nil {
				return err
			}
		}
	}
	w.synced += newest - w.active
	w.active = newest
	return nil
}

// syncFile fsyncs path; a file that is gone is not an error (see syncRotated).
func syncFile(path string) error {
	if err := fsyncPath(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// fsyncPath opens a file or directory and fsyncs it.
func fsyncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	serr := f.Sync()
	cerr := f.Close()
	if serr != nil {
		return fmt.Errorf("sync %s: %w", path, serr)
	}
	if cerr != nil {
		return fmt.Errorf("close %s: %w", path, cerr)
	}
	return nil
}
