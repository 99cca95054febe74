package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// commitLoop is the single committer: it takes every request already queued
// (up to MaxBatch events), writes them and syncs once, until Close closes the
// queue and the queue is empty.
func (s *Store) commitLoop() {
	defer s.wg.Done()
	var (
		group []*request
		carry *request // taken from the queue but did not fit in the last group
	)
	for {
		req := carry
		carry = nil
		if req == nil {
			var ok bool
			if req, ok = <-s.reqs; !ok {
				return
			}
		}
		group = append(group[:0], req)
		n := req.weight()
	gather:
		for n < s.cfg.MaxBatch {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break gather
				}
				if n+r.weight() > s.cfg.MaxBatch {
					carry = r
					break gather
				}
				group = append(group, r)
				n += r.weight()
			default:
				break gather
			}
		}
		s.commitGroup(group)
		clear(group) // drop references to finished requests
	}
}

// commitGroup writes one group: acknowledgements, synced marks and
// compactions first (they were queued before this group's events had seqs,
// so they must not touch them), then the writes, all in one Badger
// transaction unless Badger's limits need more, each write whole in one
// transaction and each transaction holding events carrying meta/seq. Each
// transaction's changes are in the journal, synced, before it is committed
// (splitTxn.commit). Every request gets the group's result.
func (s *Store) commitGroup(group []*request) {
	if s.failed != nil {
		reply(group, s.failed)
		return
	}
	start := time.Now()
	var (
		ackUpTo  uint64
		events   int
		marks    []uint64
		compacts bool
	)
	for _, r := range group {
		switch r.kind {
		case reqAck:
			ackUpTo = max(ackUpTo, r.upTo)
		case reqMark:
			marks = append(marks, r.ledger.seqs...)
		case reqCompact:
			compacts = true
		case reqWrite:
			events += len(r.vals)
		}
	}

	st := s.newSplitTxn("group")
	deleted, ackedTo, err := s.deleteUpTo(st, ackUpTo)
	var marked, sessions, removed int64
	if err == nil {
		marked, err = s.markSynced(st, marks)
	}
	if err == nil && compacts {
		removed, err = s.compactGroup(st, group)
	}
	if err == nil {
		sessions, err = s.writeGroup(st, group)
	}
	if err == nil {
		err = st.commit()
	}
	if err != nil {
		st.discard()
		s.jnl.reset()
		s.failed = fmt.Errorf("%w: %w", ErrFailed, err)
		s.logger.Error("store write failed; no more writes until restart", "err", err)
		reply(group, s.failed)
		return
	}

	s.visible.Store(s.lastSeq.Load())
	s.ackedTo.Store(ackedTo)
	s.pending.Add(int64(events) - deleted)
	s.pendingSessions.Add(sessions - marked)
	s.m.appendEvents.Add(float64(events))
	s.m.compactedSessions.Add(float64(removed))
	s.m.batchEvents.Observe(float64(events))
	s.m.commitDuration.Observe(time.Since(start).Seconds())
	if events > 0 {
		select {
		case s.appended <- struct{}{}:
		default:
		}
	}
	reply(group, nil)
}

func reply(group []*request, err error) {
	for _, r := range group {
		r.done <- err
	}
}

// writeGroup assigns seqs to the group's events in order and writes every
// write request into st, so that each request lands whole in one
// transaction. Each transaction that holds events sets meta/seq to its last
// seq when it is committed. lastSeq advances even if a commit fails: a seq
// that may have reached the disk is never handed out again. It returns how
// many sessions it entered in the ledger.
func (s *Store) writeGroup(st *splitTxn, group []*request) (sessions int64, err error) {
	next := s.lastSeq.Load() + 1
	seqs := false // the open transaction holds events: meta/seq must be set
	st.reserve(metaSeqEntrySize, 1)
	st.seal = func(txn *badger.Txn) error {
		if !seqs {
			return nil
		}
		seqs = false
		last := next - 1
		s.lastSeq.Store(last)
		if err := s.set(txn, []byte(keySeq), encodeUint64(last)); err != nil {
			return fmt.Errorf("set %s: %w", keySeq, err)
		}
		return nil
	}
	for _, r := range group {
		if r.kind != reqWrite {
			continue
		}
		txn, err := st.room(r.size, r.count)
		if err != nil {
			return sessions, err
		}
		if err := s.writeRequest(txn, r, next); err != nil {
			return sessions, err
		}
		if len(r.vals) > 0 {
			r.first = next
			next += uint64(len(r.vals))
			seqs = true
		}
		sessions += int64(len(r.sessions()))
	}
	return sessions, nil
}

// writeRequest adds one write request to txn, its first event at seq first:
// the events to the outbox, sessions also to the ledger and the ref index,
// then the puts and deletes.
func (s *Store) writeRequest(txn *badger.Txn, r *request, first uint64) error {
	// r.vals is the request's own: each value becomes the stored bytes in
	// place, so the ledger entry below shares them.
	for i, v := range r.vals {
		seq := first + uint64(i)
		r.vals[i] = appendSeq(v, seq)
		if err := s.set(txn, outboxKey(seq), r.vals[i]); err != nil {
			return fmt.Errorf("set event %d: %w", seq, err)
		}
	}
	for _, se := range r.sessions() {
		seq := first + uint64(se.index)
		if err := s.set(txn, ledgerKey(seq), r.vals[se.index]); err != nil {
			return fmt.Errorf("set ledger %d: %w", seq, err)
		}
		if se.ref == nil {
			continue
		}
		// The ref keeps pointing at the session recorded first: a second
		// SessionEnded for the same ref (a caller that did not check
		// SessionByRef) is still kept in the ledger, but dedupe by ref and
		// compaction refer to the first.
		prev, found, err := txnSeq(txn, se.ref)
		if err != nil {
			return err
		}
		if found {
			s.logger.Warn("session ref already recorded; new session kept in the ledger, ref index unchanged",
				"seq", seq, "recorded_seq", prev)
			continue
		}
		if err := s.set(txn, se.ref, encodeUint64(seq)); err != nil {
			return fmt.Errorf("set session ref of %d: %w", seq, err)
		}
	}
	for _, kv := range r.puts() {
		if err := s.set(txn, kv.Key, kv.Value); err != nil {
			return fmt.Errorf("set %q: %w", kv.Key, err)
		}
	}
	for _, k := range r.dels() {
		if err := s.del(txn, k); err != nil {
			return fmt.Errorf("delete %q: %w", k, err)
		}
	}
	return nil
}

// txnSeq reads a key holding a seq (an sref entry).
func txnSeq(txn *badger.Txn, key []byte) (seq uint64, found bool, err error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read %q: %w", key, err)
	}
	err = item.Value(func(v []byte) error {
		var ok bool
		if seq, ok = decodeUint64(v); !ok {
			return fmt.Errorf("bad value %x of %q", v, key)
		}
		return nil
	})
	return seq, err == nil, err
}

// markSynced moves every seq's ledger entry to synced/, stamped with the
// clock, skipping seqs that are not in the ledger (unknown or already
// synced). Each seq moves in one transaction; transactions are split to stay
// within Badger's limits.
func (s *Store) markSynced(st *splitTxn, seqs []uint64) (marked int64, err error) {
	if len(seqs) == 0 {
		return 0, nil
	}
	slices.Sort(seqs)
	seqs = slices.Compact(seqs)
	at := encodeUint64(uint64(s.now().UnixNano()))
	for _, seq := range seqs {
		item, err := st.txn().Get(ledgerKey(seq))
		if errors.Is(err, badger.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return marked, fmt.Errorf("read ledger %d: %w", seq, err)
		}
		ev, err := item.ValueCopy(nil)
		if err != nil {
			return marked, fmt.Errorf("read ledger %d: %w", seq, err)
		}
		val := append(append(make([]byte, 0, syncedAtLen+len(ev)), at...), ev...)
		txn, err := st.room(entrySize(syncedKeyLen, len(val))+entrySize(ledgerKeyLen, 0), 2)
		if err != nil {
			return marked, err
		}
		if err := s.set(txn, syncedKey(seq), val); err != nil {
			return marked, fmt.Errorf("set synced %d: %w", seq, err)
		}
		if err := s.del(txn, ledgerKey(seq)); err != nil {
			return marked, fmt.Errorf("delete ledger %d: %w", seq, err)
		}
		marked++
	}
	return marked, nil
}

// compactGroup deletes the synced/ entries the group's compaction requests
// name, with their ref index entries when those still point at them, and
// sets each request's removed count. Entries already gone are skipped, so a
// compaction racing another is harmless.
func (s *Store) compactGroup(st *splitTxn, group []*request) (removed int64, err error) {
	per := entrySize(syncedKeyLen, 0)
	for _, r := range group {
		if r.kind != reqCompact {
			continue
		}
		for _, c := range r.ledger.compact {
			if _, err := st.txn().Get(syncedKey(c.seq)); errors.Is(err, badger.ErrKeyNotFound) {
				continue
			} else if err != nil {
				return removed, fmt.Errorf("read synced %d: %w", c.seq, err)
			}
			txn, err := st.room(per+entrySize(len(c.ref), 0), 2)
			if err != nil {
				return removed, err
			}
			if err := s.del(txn, syncedKey(c.seq)); err != nil {
				return removed, fmt.Errorf("delete synced %d: %w", c.seq, err)
			}
			if c.ref != nil {
				ref, found, err := txnSeq(txn, c.ref)
				if err != nil {
					return removed, err
				}
				if found && ref == c.seq {
					if err := s.del(txn, c.ref); err != nil {
						return removed, fmt.Errorf("delete session ref of %d: %w", c.seq, err)
					}
				}
			}
			r.ledger.removed++
			removed++
		}
	}
	return removed, nil
}

// splitTxn is a write spread over as many Badger transactions as Badger's
// size and count limits need: a group usually fits in one, but marks,
// compactions and acknowledgements may touch more entries than one holds.
// Each entry's changes stay in one transaction.
//
// Committing a transaction first writes and syncs the journal record of its
// changes (journal.commit), then commits it to Badger: Badger never holds a
// change the journal lacks, so replaying the journal after a crash ends in
// the state after a whole transaction, never in a mix of a lost transaction
// and an older value (journal.go).
type splitTxn struct {
	s           *Store
	what        string // for errors: "commit <what>"
	t           *badger.Txn
	size, count int64
	// resSize and resCount are kept free in every transaction for seal.
	resSize, resCount int64
	// seal, if set, adds its last changes to a transaction before it is
	// committed.
	seal func(txn *badger.Txn) error
}

func (s *Store) newSplitTxn(what string) *splitTxn { return &splitTxn{s: s, what: what} }

// txn returns the open transaction, opening one if needed (for reads).
func (st *splitTxn) txn() *badger.Txn {
	if st.t == nil {
		st.t = st.s.db.NewTransaction(true)
		st.size, st.count = 0, 0
	}
	return st.t
}

// reserve keeps size bytes and n changes free in every transaction from now
// on, for seal.
func (st *splitTxn) reserve(size, n int64) { st.resSize, st.resCount = size, n }

// room makes space for an entry of size bytes and n changes, committing the
// current transaction and opening the next when it would not fit, and
// returns the transaction to write them in.
func (st *splitTxn) room(size, n int64) (*badger.Txn, error) {
	txn := st.txn()
	if st.count > 0 && (st.size+size+st.resSize >= st.s.maxTxnSize || st.count+n+st.resCount >= st.s.maxTxnCount) {
		if err := st.commit(); err != nil {
			return nil, err
		}
		txn = st.txn()
	}
	st.size += size
	st.count += n
	return txn, nil
}

// commit seals and commits what is open (nothing to do when nothing was
// opened): the journal record first, then Badger.
func (st *splitTxn) commit() error {
	if st.t == nil {
		return nil
	}
	defer st.discard()
	if st.seal != nil {
		if err := st.seal(st.t); err != nil {
			return fmt.Errorf("commit %s: %w", st.what, err)
		}
	}
	if err := st.s.jnl.commit(); err != nil { // nil journal: not durable
		return fmt.Errorf("commit %s: %w", st.what, err)
	}
	if err := st.t.Commit(); err != nil {
		return fmt.Errorf("commit %s: %w", st.what, err)
	}
	return nil
}

// discard drops an uncommitted transaction after an error (and after a
// commit, when it does nothing).
func (st *splitTxn) discard() {
	if st.t != nil {
		st.t.Discard()
		st.t = nil
	}
}

// deleteUpTo removes the outbox entries with seq <= upTo, never above the
// last seq assigned before this group. It returns how many it removed and the
// new acknowledged watermark. It walks from the watermark, not from the
// start, so it does not rescan what earlier acks deleted.
func (s *Store) deleteUpTo(st *splitTxn, upTo uint64) (deleted int64, ackedTo uint64, err error) {
	ackedTo = s.ackedTo.Load()
	upTo = min(upTo, s.lastSeq.Load())
	if upTo <= ackedTo {
		return 0, ackedTo, nil
	}
	from, to := outboxKey(ackedTo+1), outboxKey(upTo)
	// One range change in the journal instead of one per key, recorded
	// first so that a transaction committed part way through the range
	// has it in its record.
	s.jnl.delRange(from, to)
	deleted, err = s.deleteRange(st, from, to)
	if err != nil {
		return deleted, ackedTo, fmt.Errorf("ack up to %d: %w", upTo, err)
	}
	return deleted, upTo, nil
}

// deleteRange deletes every key from..to (both included) in st and returns
// how many it deleted. It records nothing in the journal: the caller records
// the range.
func (s *Store) deleteRange(st *splitTxn, from, to []byte) (deleted int64, err error) {
	per := entrySize(len(to), 0)
	chunk := int(min(s.maxTxnCount/2, s.maxTxnSize/(2*per)))
	for {
		keys := keysBetween(st.txn(), from, to, chunk)
		for _, k := range keys {
			txn, err := st.room(per, 1)
			if err != nil {
				return deleted, err
			}
			if err := txn.Delete(k); err != nil {
				return deleted, fmt.Errorf("delete %q: %w", k, err)
			}
			deleted++
		}
		if len(keys) < chunk {
			return deleted, nil
		}
		from = append(keys[len(keys)-1], 0) // the smallest key after the last one
	}
}

// keysBetween returns up to limit keys k with from <= k <= to in txn, in
// order. The iterator is closed before it returns, as Badger requires before
// txn is committed.
func keysBetween(txn *badger.Txn, from, to []byte, limit int) [][]byte {
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	it := txn.NewIterator(opts)
	defer it.Close()
	var keys [][]byte
	for it.Seek(from); it.Valid() && len(keys) < limit; it.Next() {
		k := it.Item().Key()
		if bytes.Compare(k, to) > 0 {
			break
		}
		keys = append(keys, it.Item().KeyCopy(nil))
	}
	return keys
}

// recover loads lastSeq, the outbox size, the acknowledged watermark, the
// ledger size and the last space alarm state (after checkVersion and the
// journal's replay, so from the whole acknowledged state).
func (s *Store) recover() error {
	var (
		seq         uint64
		first, last uint64
		count       int64
		sessions    int64
		alarm       uint64
	)
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		if seq, err = readUint64(txn, keySeq); err != nil {
			return err
		}
		if alarm, err = readUint64(txn, keySpaceAlarm); err != nil {
			return err
		}
		if err := scanKeys(txn, outboxPrefix, func(k []byte) error {
			n, ok := parseOutboxKey(k)
			if !ok {
				return fmt.Errorf("bad outbox key %x", k)
			}
			if count == 0 {
				first = n
			}
			last = n
			count++
			return nil
		}); err != nil {
			return err
		}
		return scanKeys(txn, ledgerPrefix, func(k []byte) error {
			n, ok := parseSeqKey(ledgerPrefix, k)
			if !ok {
				return fmt.Errorf("bad ledger key %x", k)
			}
			// A ledger entry is written with its outbox entry and
			// meta/seq, so it can never be above meta/seq; if it were,
			// seqs would continue above it below.
			last = max(last, n)
			sessions++
			return nil
		})
	})
	if err != nil {
		return err
	}
	if last > seq {
		// Cannot happen with meta/seq written in the events' transaction;
		// if it does, never reuse a stored seq.
		s.logger.Warn("outbox or ledger holds seqs above meta/seq; continuing above them", "seq", last)
		seq = last
	}
	s.lastSeq.Store(seq)
	s.visible.Store(seq)
	s.pending.Store(count)
	s.pendingSessions.Store(sessions)
	s.spaceAlarm = alarm != 0
	if count > 0 {
		s.ackedTo.Store(first - 1)
	} else {
		s.ackedTo.Store(seq)
	}
	return nil
}

// readUint64 reads a meta/ key holding a uint64; a missing key reads 0.
func readUint64(txn *badger.Txn, key string) (uint64, error) {
	item, err := txn.Get([]byte(key))
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("read %s: %w", key, err)
	}
	var v uint64
	err = item.Value(func(b []byte) error {
		var ok bool
		if v, ok = decodeUint64(b); !ok {
			return fmt.Errorf("bad %s value %x", key, b)
		}
		return nil
	})
	return v, err
}

// scanKeys calls fn with every key under prefix, in order, without reading
// values. The key is only valid during the call.
func scanKeys(txn *badger.Txn, prefix string, fn func(k []byte) error) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = []byte(prefix)
	opts.PrefetchValues = false
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if err := fn(it.Item().Key()); err != nil {
			return err
		}
	}
	return nil
}

// checkVersion refuses a store of a newer layout, writes the current version
// into a store that has no keys yet, and migrates an older layout in place.
//
// Version 1 had only meta/ and outbox/ keys; version 2 adds key spaces that
// start empty (ledger/, synced/, sref/, ctl/, meta/space_alarm), so the
// migration is writing the new version; version 3 adds the journal, which a
// version 2 store does not have, so that migration is writing the new version
// too. Sessions stored by version 1 are in the outbox only, not in the
// ledger: they still reach the cloud through the outbox as before.
func (s *Store) checkVersion() error {
	var (
		changed bool
		from    uint64
	)
	err := s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keyVersion))
		if errors.Is(err, badger.ErrKeyNotFound) {
			it := txn.NewIterator(badger.IteratorOptions{})
			defer it.Close()
			it.Rewind()
			if it.Valid() {
				return fmt.Errorf("store has keys but no %s", keyVersion)
			}
			changed = true
			return txn.Set([]byte(keyVersion), encodeUint64(layoutVersion))
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", keyVersion, err)
		}
		err = item.Value(func(v []byte) error {
			version, ok := decodeUint64(v)
			switch {
			case !ok || version == 0:
				return fmt.Errorf("bad %s value %x", keyVersion, v)
			case version > layoutVersion:
				return fmt.Errorf("version %d, this build knows up to %d: %w", version, layoutVersion, ErrNewerVersion)
			}
			from = version
			return nil
		})
		if err != nil || from == layoutVersion {
			return err
		}
		// from 1 or 2: see the doc comment.
		changed = true
		return txn.Set([]byte(keyVersion), encodeUint64(layoutVersion))
	})
	if err != nil {
		return err
	}
	if changed {
		if err := s.db.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", keyVersion, err)
		}
	}
	if from != 0 && from != layoutVersion {
		s.logger.Info("store key layout migrated", "from", from, "to", layoutVersion)
	}
	return nil
}

// set and del change a key in txn and record the change in the group's
// journal record.
func (s *Store) set(txn *badger.Txn, key, val []byte) error {
	if err := txn.Set(key, val); err != nil {
		return err
	}
	s.jnl.set(key, val)
	return nil
}

func (s *Store) del(txn *badger.Txn, key []byte) error {
	if err := txn.Delete(key); err != nil {
		return err
	}
	s.jnl.del(key)
	return nil
}

// openJournal replays what a durable run left in the journal (whatever this
// run's Config.Durable), checkpoints it into Badger and, when durable, starts
// the journal for this run; otherwise it removes it.
func (s *Store) openJournal() error {
	dir := filepath.Join(s.cfg.Dir, journalDir)
	n, err := replayJournal(dir, s.replay)
	if err != nil {
		return err
	}
	if n > 0 {
		if err := s.checkpoint(); err != nil {
			return fmt.Errorf("checkpoint after journal replay: %w", err)
		}
		s.logger.Info("journal replayed", "records", n)
	}
	if !s.cfg.Durable {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("remove journal: %w", err)
		}
		return nil
	}
	s.jnl, err = startJournal(dir, s.segSize, s.checkpoint, s.logger)
	return err
}

// checkpoint makes every write applied to Badger so far durable in Badger
// itself: db.Sync() syncs the active memtable's log, memWALs the logs of
// memtables rotated out since the last checkpoint.
func (s *Store) checkpoint() error {
	if err := s.db.Sync(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if err := s.wals.syncRotated(); err != nil {
		return fmt.Errorf("sync rotated memtable log: %w", err)
	}
	return nil
}

// replay applies one journal record's changes to Badger, in order, in as
// many transactions as Badger's limits need.
func (s *Store) replay(payload []byte) error {
	st := s.newSplitTxn("journal replay")
	defer st.discard()
	err := forEachOp(payload, func(kind byte, a, b []byte) error {
		switch kind {
		case opSet:
			txn, err := st.room(entrySize(len(a), len(b)), 1)
			if err != nil {
				return err
			}
			return txn.Set(a, b)
		case opDelete:
			txn, err := st.room(entrySize(len(a), 0), 1)
			if err != nil {
				return err
			}
			return txn.Delete(a)
		default: // opDeleteRange
			_, err := s.deleteRange(st, a, b)
			return err
		}
	})
	if err != nil {
		return err
	}
	return st.commit()
}
