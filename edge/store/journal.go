package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// journal is the store's own write-ahead log: what makes a group durable
// before it is acknowledged (doc.go, "Durability and group commit").
//
// Why not db.Sync() per group: Badger's memtable log is a sparse file that it
// maps and msyncs, so every sync allocates blocks and has to wait for an ext4
// journal commit, and that commit also waits for whatever Badger's flushes and
// compactions have written meanwhile. That made a handful of commits per
// minute take 25–70 ms, which set the edge's p99 acknowledgement latency. The
// journal writes into segment files whose blocks are already allocated and
// written (zero-filled when created, recycled after use), so an fdatasync
// writes only the new data and flushes the disk cache.
//
// The committer builds each group in a Badger transaction (two or more only
// when Badger's limits need them). Before a transaction is committed to
// Badger, without syncing, one record holding every change it made (sets,
// deletes, deleted key ranges) is appended to the current segment and
// fdatasynced; the group is acknowledged after its last transaction. When a
// segment is full the committer moves on to the next one
// and a checkpoint runs in the background: db.Sync() and the rotated memtable
// logs (memwal.go) make everything applied so far durable in Badger itself,
// and the full segment is renamed to become the one after next. Open replays
// every valid record of the segments still there, in order, then checkpoints.
//
// Replaying is correct whatever part of the journal Badger already holds:
// records are changes to whole keys in the order they were made, Badger on
// disk always holds at least everything up to the last checkpoint, and it
// never holds a change made after it that the journal lacks (the record is
// synced before the transaction is committed). So applying every record since
// the checkpoint again ends in the state after the last record, and replaying
// a record twice (a crash during replay) changes nothing. Committing to
// Badger first would break this: after a crash between the two, Badger could
// hold a transaction the journal lacks, and replay would put back older
// values of the keys it shares with earlier records while keeping its other
// keys.
//
// Segment files are journal/<generation, 16 hex digits>.seg. Every record
// carries its segment's generation, and generations only grow (Open numbers
// the files it reuses above every generation it found), so the stale records
// of a recycled segment never read as current. A record is
//
//	generation uint64 | payload length uint32 | CRC-32C of the previous 12 bytes and the payload | payload
//
// (big-endian), and the payload is a list of changes, each
//
//	kind byte | uvarint length | bytes | uvarint length | bytes
//
// with kind 1 set (key, value), 2 delete (key, empty) or 3 delete every key
// from the first to the second, both included. Replay of a segment stops at
// the first record whose generation, length or CRC does not match: a torn
// last write, or the end of what was written.
type journal struct {
	dir     string
	segSize int64
	logger  *slog.Logger
	// checkpoint makes every write already applied to Badger durable in
	// Badger (db.Sync and rotated memtable logs).
	checkpoint func() error

	gen uint64 // current segment's generation
	f   *os.File
	off int64  // where the next record goes
	rec []byte // the record being built: header space, then changes
	n   int    // changes in rec

	// retired delivers the result of the background work on the previous
	// segment (its checkpoint and recycling, or, after open, creating the
	// next segment); nil when nothing is in flight. The next segment exists
	// once it has delivered nil.
	retired chan error
}

const (
	journalDir   = "journal"
	segmentExt   = ".seg"
	recHeaderLen = 16

	opSet         = 1
	opDelete      = 2
	opDeleteRange = 3

	// journalSegment is the size of a segment: at 15,000 events/s a
	// segment lasts several seconds, so checkpoints are infrequent, and
	// creating one (zero-filling it) takes milliseconds.
	journalSegment = 16 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func segmentPath(dir string, gen uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%016x%s", gen, segmentExt))
}

// segments lists the segment files in dir by generation, removing leftover
// temporary files of an interrupted creation. A missing dir has none.
func segments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list journal: %w", err)
	}
	var gens []uint64
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return nil, fmt.Errorf("remove %s: %w", e.Name(), err)
			}
			continue
		}
		name, ok := strings.CutSuffix(e.Name(), segmentExt)
		if !ok {
			continue
		}
		gen, err := strconv.ParseUint(name, 16, 64)
		if err != nil || len(name) != 16 {
			return nil, fmt.Errorf("journal: unexpected file %s", e.Name())
		}
		gens = append(gens, gen)
	}
	slices.Sort(gens)
	return gens, nil
}

// replayJournal calls apply with the payload of every valid record in dir,
// segment by segment in generation order, and returns how many it applied.
func replayJournal(dir string, apply func(payload []byte) error) (int, error) {
	gens, err := segments(dir)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, gen := range gens {
		b, err := os.ReadFile(segmentPath(dir, gen))
		if err != nil {
			return total, fmt.Errorf("read journal segment %x: %w", gen, err)
		}
		n, err := scanRecords(b, gen, apply)
		total += n
		if err != nil {
			return total, fmt.Errorf("replay journal segment %x record %d: %w", gen, n+1, err)
		}
	}
	return total, nil
}

// scanRecords calls fn with each valid record's payload from the start of b
// until the first record that is not valid for gen.
func scanRecords(b []byte, gen uint64, fn func(payload []byte) error) (int, error) {
	n := 0
	for off := 0; len(b)-off >= recHeaderLen; n++ {
		h := b[off:]
		if binary.BigEndian.Uint64(h) != gen {
			break
		}
		size := binary.BigEndian.Uint32(h[8:])
		if uint64(size) > uint64(len(h)-recHeaderLen) {
			break
		}
		payload := h[recHeaderLen : recHeaderLen+int(size)]
		if crc32.Update(crc32.Checksum(h[:12], castagnoli), castagnoli, payload) != binary.BigEndian.Uint32(h[12:]) {
			break
		}
		if err := fn(payload); err != nil {
			return n, err
		}
		off += recHeaderLen + int(size)
	}
	return n, nil
}

// forEachOp decodes a record's changes in order.
func forEachOp(payload []byte, fn func(kind byte, a, b []byte) error) error {
	for len(payload) > 0 {
		kind := payload[0]
		if kind < opSet || kind > opDeleteRange {
			return fmt.Errorf("unknown change kind %d", kind)
		}
		a, rest, err := cutBytes(payload[1:])
		if err != nil {
			return err
		}
		b, rest, err := cutBytes(rest)
		if err != nil {
			return err
		}
		if err := fn(kind, a, b); err != nil {
			return err
		}
		payload = rest
	}
	return nil
}

func cutBytes(b []byte) (v, rest []byte, err error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return nil, nil, errors.New("truncated change")
	}
	return b[w : w+int(n)], b[w+int(n):], nil
}

// startJournal prepares dir for writing after replay: it reuses up to two
// existing segments at least segSize long (renamed above every generation
// found, so their records read as stale), creates the first segment if there
// was none and the second in the background.
func startJournal(dir string, segSize int64, checkpoint func() error, logger *slog.Logger) (*journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create journal: %w", err)
	}
	gens, err := segments(dir)
	if err != nil {
		return nil, err
	}
	var top uint64
	if len(gens) > 0 {
		top = gens[len(gens)-1]
	}
	next := top + 1
	for _, gen := range gens {
		path := segmentPath(dir, gen)
		info, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		if next > top+2 || info.Size() < segSize {
			if err := os.Remove(path); err != nil {
				return nil, fmt.Errorf("journal: %w", err)
			}
			continue
		}
		if err := os.Rename(path, segmentPath(dir, next)); err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		next++
	}
	if next == top+1 {
		if err := createSegment(segmentPath(dir, next), segSize); err != nil {
			return nil, err
		}
		next++
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(segmentPath(dir, top+1), os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open journal segment: %w", err)
	}
	j := &journal{
		dir:        dir,
		segSize:    segSize,
		logger:     logger,
		checkpoint: checkpoint,
		gen:        top + 1,
		f:          f,
		rec:        newRecord(),
	}
	if next == top+2 {
		// Only one segment so far: make the next one while the first fills.
		j.background(func() error {
			if err := createSegment(segmentPath(dir, top+2), segSize); err != nil {
				return err
			}
			return syncDir(dir)
		})
	}
	logger.Debug("journal ready", "generation", j.gen)
	return j, nil
}

// createSegment writes a zero-filled segment under a temporary name, syncs it
// and renames it into place (the caller syncs the directory), so a segment
// name never stands for a partly written file.
func createSegment(path string, size int64) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("create journal segment: %w", err)
	}
	zeros := make([]byte, min(size, 1<<20))
	for left := size; left > 0 && err == nil; left -= int64(len(zeros)) {
		_, err = f.Write(zeros[:min(left, int64(len(zeros)))])
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("create journal segment %s: %w", filepath.Base(path), err)
	}
	return nil
}

// syncDir fsyncs a directory so that names created or renamed in it survive
// a power cut.
func syncDir(dir string) error { return fsyncPath(dir) }

// set, del and delRange add a change to the group's record. A nil journal
// (a store that does not sync) records nothing.
func (j *journal) set(key, val []byte) { j.add(opSet, key, val) }
func (j *journal) del(key []byte)      { j.add(opDelete, key, nil) }

// delRange records that every key from..to (both included) was deleted.
func (j *journal) delRange(from, to []byte) { j.add(opDeleteRange, from, to) }

func (j *journal) add(kind byte, a, b []byte) {
	if j == nil {
		return
	}
	j.rec = append(j.rec, kind)
	j.rec = binary.AppendUvarint(j.rec, uint64(len(a)))
	j.rec = append(j.rec, a...)
	j.rec = binary.AppendUvarint(j.rec, uint64(len(b)))
	j.rec = append(j.rec, b...)
	j.n++
}

// commit appends the group's record to the journal and fdatasyncs it, moving
// to the next segment first when the record does not fit in this one (a
// record larger than a whole segment is written at the start of one,
// growing the file). A group that changed nothing writes nothing.
func (j *journal) commit() error {
	if j == nil || j.n == 0 {
		return nil
	}
	size := int64(len(j.rec))
	if j.off > 0 && j.off+size > j.segSize {
		if err := j.next(); err != nil {
			return err
		}
	}
	sealRecord(j.rec, j.gen)
	if _, err := j.f.WriteAt(j.rec, j.off); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	if err := datasync(j.f); err != nil {
		return fmt.Errorf("sync journal: %w", err)
	}
	j.off += size
	j.reset()
	return nil
}

// newRecord is an empty record: header space, room for a usual group.
func newRecord() []byte { return make([]byte, recHeaderLen, 64<<10) }

// sealRecord fills in the header of rec (header space, then the payload)
// for a record of segment gen.
func sealRecord(rec []byte, gen uint64) {
	binary.BigEndian.PutUint64(rec, gen)
	binary.BigEndian.PutUint32(rec[8:], uint32(len(rec)-recHeaderLen))
	crc := crc32.Update(crc32.Checksum(rec[:12], castagnoli), castagnoli, rec[recHeaderLen:])
	binary.BigEndian.PutUint32(rec[12:], crc)
}

// reset drops the changes recorded so far; a record that grew far beyond the
// usual group is not kept around.
func (j *journal) reset() {
	if j == nil {
		return
	}
	if cap(j.rec) > 4<<20 {
		j.rec = newRecord()
	}
	j.rec, j.n = j.rec[:recHeaderLen], 0
}

// next moves to the next segment (which exists once the previous background
// work has succeeded) and hands the full one to a background checkpoint.
func (j *journal) next() error {
	if err := j.wait(); err != nil {
		return err
	}
	f, err := os.OpenFile(segmentPath(j.dir, j.gen+1), os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open journal segment: %w", err)
	}
	full, gen := j.f, j.gen
	j.f, j.gen, j.off = f, gen+1, 0
	j.background(func() error {
		start := time.Now()
		err := j.retire(full, gen)
		if err != nil {
			// The committer fails the store when it next needs a segment.
			j.logger.Error("journal checkpoint failed", "generation", gen, "err", err)
		} else {
			j.logger.Debug("journal checkpoint", "generation", gen, "took", time.Since(start))
		}
		return err
	})
	return nil
}

// background runs work on a goroutine of its own; wait returns its result.
// At most one runs at a time: callers wait for the previous one first.
func (j *journal) background(work func() error) {
	done := make(chan error, 1)
	j.retired = done
	go func() { done <- work() }()
}

// retire checkpoints Badger, after which no record of segment gen is needed,
// and renames the segment to become the one after next.
func (j *journal) retire(f *os.File, gen uint64) error {
	err := j.checkpoint()
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close journal segment: %w", cerr)
	}
	if err != nil {
		return fmt.Errorf("checkpoint of journal segment %x: %w", gen, err)
	}
	if err := os.Rename(segmentPath(j.dir, gen), segmentPath(j.dir, gen+2)); err != nil {
		return fmt.Errorf("recycle journal segment: %w", err)
	}
	return syncDir(j.dir)
}

// wait waits for the background work on the previous segment.
func (j *journal) wait() error {
	if j.retired == nil {
		return nil
	}
	err := <-j.retired
	j.retired = nil
	return err
}

// close waits for the background work and, when the store is healthy,
// checkpoints and invalidates the current segment's first record, so the next
// Open has nothing to replay. After a failure it leaves everything for replay.
func (j *journal) close(healthy bool) error {
	err := j.wait()
	if err == nil && healthy {
		err = j.checkpoint()
		if err == nil && j.off > 0 {
			if _, err = j.f.WriteAt(make([]byte, recHeaderLen), 0); err == nil {
				err = datasync(j.f)
			}
		}
	}
	if cerr := j.f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("close journal: %w", err)
	}
	return nil
}
