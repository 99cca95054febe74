package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// memWALs makes the write-ahead logs of memtables that Badger rotated out
// durable before a group is acknowledged.
//
// Why: the store writes with SyncWrites=false and calls db.Sync() once per
// group, and db.Sync() syncs only the active memtable's WAL. When a group's
// writes fill the memtable, Badger rotates it: the group's earlier
// transactions sit in the now-immutable memtable's WAL, which Badger does not
// sync (its data becomes durable only when the flush to an L0 table, which
// syncs the table, has finished). A power cut in that window would lose
// acknowledged writes while later ones survive. A kill -9 loses nothing either
// way (the page cache outlives the process); this closes the power-loss case.
//
// Badger names each memtable WAL <fid>.mem (at least five digits) with fids
// counting up, and the newest file is the active memtable, so a rotation shows
// as a file for the next fid. Only the committer and value-log GC write, so
// checking after db.Sync() sees every rotation that happened before it.
type memWALs struct {
	dir    string
	active int // newest memtable WAL fid seen after the last sync
	synced int // rotated WALs synced here; read by tests
}

const memWALExt = ".mem"

// newMemWALs finds the newest memtable WAL in dir (Badger opens a fresh
// active memtable on Open, so after Open that is the active one).
func newMemWALs(dir string) (*memWALs, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list memtable logs: %w", err)
	}
	w := &memWALs{dir: dir}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), memWALExt)
		if !ok {
			continue
		}
		if fid, err := strconv.Atoi(name); err == nil && fid > w.active {
			w.active = fid
		}
	}
	return w, nil
}

func (w *memWALs) path(fid int) string {
	return filepath.Join(w.dir, fmt.Sprintf("%05d%s", fid, memWALExt))
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("stat %s: %w", path, err)
	}
}

// syncRotated is called after db.Sync(). If memtables were rotated since the
// last call, it fsyncs every WAL from the previously active one up to (not
// including) the newest: the newest was synced by db.Sync() or holds none of
// this group's writes. A WAL already removed was flushed to a synced table.
// The common case, no rotation, costs one stat.
func (w *memWALs) syncRotated() error {
	newest := w.active
	for {
		ok, err := exists(w.path(newest + 1))
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		newest++
	}
	for fid := w.active; fid < newest; fid++ {
		if err := syncFile(w.path(fid)); err != nil {
			return err
		}
		w.synced++
	}
	w.active = newest
	return nil
}

// syncFile fsyncs path; a file that is gone is not an error (see syncRotated).
func syncFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
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
