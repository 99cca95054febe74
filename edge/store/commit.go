package store

import (
	"errors"
	"fmt"
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
		n := len(req.vals)
	gather:
		for n < s.cfg.MaxBatch {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break gather
				}
				if n+len(r.vals) > s.cfg.MaxBatch {
					carry = r
					break gather
				}
				group = append(group, r)
				n += len(r.vals)
			default:
				break gather
			}
		}
		s.commitGroup(group)
		clear(group) // drop references to finished requests
	}
}

// commitGroup writes one group: acknowledgements first (they were queued
// before this group's events had seqs, so they must not remove them), then
// the events in as few transactions as Badger allows, each carrying meta/seq,
// then one sync. Every request gets the group's result.
func (s *Store) commitGroup(group []*request) {
	if s.failed != nil {
		reply(group, s.failed)
		return
	}
	start := time.Now()
	var (
		ackUpTo uint64
		events  int
	)
	for _, r := range group {
		if r.ack {
			ackUpTo = max(ackUpTo, r.upTo)
		}
		events += len(r.vals)
	}

	deleted, ackedTo, err := s.deleteUpTo(ackUpTo)
	if err == nil {
		err = s.writeEvents(group)
	}
	if err == nil && s.cfg.Durable {
		if serr := s.db.Sync(); serr != nil {
			err = fmt.Errorf("sync: %w", serr)
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
	s.m.appendEvents.Add(float64(events))
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

// writeEvents assigns seqs to the group's events in order and writes them,
// starting a new transaction whenever the next request would not fit in
// Badger's limits. Each transaction sets meta/seq to its last seq. lastSeq
// advances even if a commit fails: a seq that may have reached the disk is
// never handed out again.
func (s *Store) writeEvents(group []*request) error {
	next := s.lastSeq.Load() + 1
	var (
		txn         *badger.Txn
		size, count int64
	)
	commit := func() error {
		if txn == nil {
			return nil
		}
		defer txn.Discard()
		last := next - 1
		s.lastSeq.Store(last)
		if err := txn.Set([]byte(keySeq), encodeUint64(last)); err != nil {
			return fmt.Errorf("set %s: %w", keySeq, err)
		}
		if err := txn.Commit(); err != nil {
			return fmt.Errorf("commit events up to %d: %w", last, err)
		}
		txn = nil
		return nil
	}
	for _, r := range group {
		if len(r.vals) == 0 {
			continue
		}
		n := int64(len(r.vals))
		if txn != nil && (size+r.size+metaSeqEntrySize >= s.maxTxnSize || count+n+1 >= s.maxTxnCount) {
			if err := commit(); err != nil {
				return err
			}
		}
		if txn == nil {
			txn = s.db.NewTransaction(true)
			size, count = 0, 0
		}
		r.first = next
		for _, v := range r.vals {
			if err := txn.Set(outboxKey(next), appendSeq(v, next)); err != nil {
				txn.Discard()
				return fmt.Errorf("set event %d: %w", next, err)
			}
			next++
		}
		size += r.size
		count += n
	}
	return commit()
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

// recover checks the key-layout version (writing it into a new store) and
// loads lastSeq, the outbox size and the acknowledged watermark.
func (s *Store) recover() error {
	if err := s.checkVersion(); err != nil {
		return err
	}
	var (
		seq         uint64
		first, last uint64
		count       int64
	)
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keySeq))
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
		case err != nil:
			return fmt.Errorf("read %s: %w", keySeq, err)
		default:
			if err := item.Value(func(v []byte) error {
				var ok bool
				seq, ok = decodeUint64(v)
				if !ok {
					return fmt.Errorf("bad %s value %x", keySeq, v)
				}
				return nil
			}); err != nil {
				return err
			}
		}
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(outboxPrefix)
		opts.PrefetchValues = false
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k, ok := parseOutboxKey(it.Item().Key())
			if !ok {
				return fmt.Errorf("bad outbox key %x", it.Item().Key())
			}
			if count == 0 {
				first = k
			}
			last = k
			count++
		}
		return nil
	})
	if err != nil {
		return err
	}
	if last > seq {
		// Cannot happen with meta/seq written in the events' transaction;
		// if it does, never reuse a stored seq.
		s.logger.Warn("outbox holds seqs above meta/seq; continuing above the outbox", "seq", last)
		seq = last
	}
	s.lastSeq.Store(seq)
	s.visible.Store(seq)
	s.pending.Store(count)
	if count > 0 {
		s.ackedTo.Store(first - 1)
	} else {
		s.ackedTo.Store(seq)
	}
	return nil
}

// checkVersion refuses a store of a newer layout and writes the current
// version into a store that has no keys yet.
func (s *Store) checkVersion() error {
	var fresh bool
	err := s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keyVersion))
		if errors.Is(err, badger.ErrKeyNotFound) {
			it := txn.NewIterator(badger.IteratorOptions{})
			defer it.Close()
			it.Rewind()
			if it.Valid() {
				return fmt.Errorf("store has keys but no %s", keyVersion)
			}
			fresh = true
			return txn.Set([]byte(keyVersion), encodeUint64(layoutVersion))
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", keyVersion, err)
		}
		return item.Value(func(v []byte) error {
			version, ok := decodeUint64(v)
			switch {
			case !ok || version == 0:
				return fmt.Errorf("bad %s value %x", keyVersion, v)
			case version > layoutVersion:
				return fmt.Errorf("version %d, this build knows up to %d: %w", version, layoutVersion, ErrNewerVersion)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	if fresh {
		if err := s.db.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", keyVersion, err)
		}
	}
	return nil
}
