package store

import (
	"errors"
	"fmt"
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
// so they must not touch them), then the writes in as few transactions as
// Badger allows, each write whole in one transaction and each transaction
// carrying meta/seq, then one sync. Every request gets the group's result.
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

	deleted, ackedTo, err := s.deleteUpTo(ackUpTo)
	var marked, sessions, removed int64
	if err == nil {
		marked, err = s.markSynced(marks)
	}
	if err == nil && compacts {
		removed, err = s.compactGroup(group)
	}
	if err == nil {
		sessions, err = s.writeGroup(group)
	}
	if err == nil && s.cfg.Durable {
		if serr := s.db.Sync(); serr != nil {
			err = fmt.Errorf("sync: %w", serr)
		} else if serr := s.wals.syncRotated(); serr != nil {
			err = fmt.Errorf("sync rotated memtable log: %w", serr)
		}
	}
	if err != nil {
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
// write request, starting a new transaction whenever the next request would
// not fit in Badger's limits, so that each request lands whole in one
// transaction. Each transaction that holds events sets meta/seq to its last
// seq. lastSeq advances even if a commit fails: a seq that may have reached
// the disk is never handed out again. It returns how many sessions it entered
// in the ledger.
func (s *Store) writeGroup(group []*request) (sessions int64, err error) {
	next := s.lastSeq.Load() + 1
	var (
		txn         *badger.Txn
		size, count int64
		seqs        bool // txn holds events: meta/seq must be set
	)
	commit := func() error {
		if txn == nil {
			return nil
		}
		defer txn.Discard()
		last := next - 1
		if seqs {
			s.lastSeq.Store(last)
			if err := txn.Set([]byte(keySeq), encodeUint64(last)); err != nil {
				return fmt.Errorf("set %s: %w", keySeq, err)
			}
		}
		if err := txn.Commit(); err != nil {
			return fmt.Errorf("commit writes up to seq %d: %w", last, err)
		}
		txn = nil
		return nil
	}
	for _, r := range group {
		if r.kind != reqWrite {
			continue
		}
		if txn != nil && (size+r.size+metaSeqEntrySize >= s.maxTxnSize || count+r.count+1 >= s.maxTxnCount) {
			if err := commit(); err != nil {
				return sessions, err
			}
		}
		if txn == nil {
			txn = s.db.NewTransaction(true)
			size, count, seqs = 0, 0, false
		}
		if err := s.writeRequest(txn, r, next); err != nil {
			txn.Discard()
			return sessions, err
		}
		if len(r.vals) > 0 {
			r.first = next
			next += uint64(len(r.vals))
			seqs = true
		}
		sessions += int64(len(r.sessions()))
		size += r.size
		count += r.count
	}
	return sessions, commit()
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
		if err := txn.Set(outboxKey(seq), r.vals[i]); err != nil {
			return fmt.Errorf("set event %d: %w", seq, err)
		}
	}
	for _, se := range r.sessions() {
		seq := first + uint64(se.index)
		if err := txn.Set(ledgerKey(seq), r.vals[se.index]); err != nil {
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
		if err := txn.Set(se.ref, encodeUint64(seq)); err != nil {
			return fmt.Errorf("set session ref of %d: %w", seq, err)
		}
	}
	for _, kv := range r.puts() {
		if err := txn.Set(kv.Key, kv.Value); err != nil {
			return fmt.Errorf("set %q: %w", kv.Key, err)
		}
	}
	for _, k := range r.dels() {
		if err := txn.Delete(k); err != nil {
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
func (s *Store) markSynced(seqs []uint64) (marked int64, err error) {
	if len(seqs) == 0 {
		return 0, nil
	}
	slices.Sort(seqs)
	seqs = slices.Compact(seqs)
	at := encodeUint64(uint64(s.now().UnixNano()))
	st := s.newSplitTxn("synced marks")
	defer st.discard()
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
		if err := txn.Set(syncedKey(seq), val); err != nil {
			return marked, fmt.Errorf("set synced %d: %w", seq, err)
		}
		if err := txn.Delete(ledgerKey(seq)); err != nil {
			return marked, fmt.Errorf("delete ledger %d: %w", seq, err)
		}
		marked++
	}
	return marked, st.commit()
}

// compactGroup deletes the synced/ entries the group's compaction requests
// name, with their ref index entries when those still point at them, and
// sets each request's removed count. Entries already gone are skipped, so a
// compaction racing another is harmless.
func (s *Store) compactGroup(group []*request) (removed int64, err error) {
	st := s.newSplitTxn("compaction")
	defer st.discard()
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
			if err := txn.Delete(syncedKey(c.seq)); err != nil {
				return removed, fmt.Errorf("delete synced %d: %w", c.seq, err)
			}
			if c.ref != nil {
				ref, found, err := txnSeq(txn, c.ref)
				if err != nil {
					return removed, err
				}
				if found && ref == c.seq {
					if err := txn.Delete(c.ref); err != nil {
						return removed, fmt.Errorf("delete session ref of %d: %w", c.seq, err)
					}
				}
			}
			r.ledger.removed++
			removed++
		}
	}
	return removed, st.commit()
}

// splitTxn is a write spread over as many Badger transactions as Badger's
// size and count limits need: marks and compactions may touch more entries
// than one transaction holds. Each entry's changes stay in one transaction.
type splitTxn struct {
	s           *Store
	what        string // for errors: "commit <what>"
	t           *badger.Txn
	size, count int64
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

// room makes space for an entry of size bytes and n changes, committing the
// current transaction and opening the next when it would not fit, and
// returns the transaction to write them in.
func (st *splitTxn) room(size, n int64) (*badger.Txn, error) {
	txn := st.txn()
	if st.size+size >= st.s.maxTxnSize || st.count+n >= st.s.maxTxnCount {
		if err := txn.Commit(); err != nil {
			st.t = nil
			return nil, fmt.Errorf("commit %s: %w", st.what, err)
		}
		st.t = nil
		txn = st.txn()
	}
	st.size += size
	st.count += n
	return txn, nil
}

// commit commits what is open (nothing to do when nothing was opened).
func (st *splitTxn) commit() error {
	if st.t == nil {
		return nil
	}
	err := st.t.Commit()
	st.t = nil
	if err != nil {
		return fmt.Errorf("commit %s: %w", st.what, err)
	}
	return nil
}

// discard drops an uncommitted transaction after an error.
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
func (s *Store) deleteUpTo(upTo uint64) (deleted int64, ackedTo uint64, err error) {
	ackedTo = s.ackedTo.Load()
	upTo = min(upTo, s.lastSeq.Load())
	if upTo <= ackedTo {
		return 0, ackedTo, nil
	}
	chunk := int(min(s.maxTxnCount/2, s.maxTxnSize/(2*entrySize(outboxKeyLen, 0))))
	from := ackedTo + 1
	for from <= upTo {
		keys, err := s.outboxKeys(from, upTo, chunk)
		if err != nil {
			return deleted, ackedTo, err
		}
		if len(keys) == 0 {
			break
		}
		err = s.db.Update(func(txn *badger.Txn) error {
			for _, k := range keys {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return deleted, ackedTo, fmt.Errorf("ack up to %d: %w", upTo, err)
		}
		deleted += int64(len(keys))
		last, _ := parseOutboxKey(keys[len(keys)-1])
		from = last + 1
	}
	return deleted, upTo, nil
}

// outboxKeys returns up to limit outbox keys with from <= seq <= to.
func (s *Store) outboxKeys(from, to uint64, limit int) ([][]byte, error) {
	var keys [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(outboxPrefix)
		opts.PrefetchValues = false
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(outboxKey(from)); it.Valid() && len(keys) < limit; it.Next() {
			seq, ok := parseOutboxKey(it.Item().Key())
			if !ok {
				return fmt.Errorf("bad outbox key %x", it.Item().Key())
			}
			if seq > to {
				break
			}
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list outbox %d..%d: %w", from, to, err)
	}
	return keys, nil
}

// recover checks the key-layout version (writing it into a new store,
// migrating an older one) and loads lastSeq, the outbox size, the
// acknowledged watermark, the ledger size and the last space alarm state.
func (s *Store) recover() error {
	if err := s.checkVersion(); err != nil {
		return err
	}
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
// migration is writing the new version. Sessions stored by version 1 are in
// the outbox only, not in the ledger: they still reach the cloud through the
// outbox as before.
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
		// from == 1: see the doc comment.
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
