package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// compactChunk bounds the synced entries one compaction request carries, so
// that the committer is never held up long by a compaction.
const compactChunk = 1000

// compactItem is one synced session Compact removes.
type compactItem struct {
	seq uint64
	ref []byte // its sref key, nil if it has no session ref
}

// SessionByRef returns the seq of the SessionEnded recorded for (chargerID,
// connector, sessionRef), synced or not, as long as compaction has not
// removed it. When several were written for one ref, it is the first.
func (s *Store) SessionByRef(ctx context.Context, chargerID string, connector uint32, sessionRef string) (seq uint64, found bool, err error) {
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return 0, false, ErrClosed
	}
	err = s.db.View(func(txn *badger.Txn) error {
		var err error
		seq, found, err = txnSeq(txn, srefKey(chargerID, connector, sessionRef))
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("session by ref %s/%d/%s: %w", chargerID, connector, sessionRef, err)
	}
	return seq, found, nil
}

// PendingSessions returns up to limit SessionEnded events the cloud has not
// confirmed (MarkSessionsSynced), in seq order, whether or not the outbox
// still holds them. Like Pending it returns only events whose group commit
// has completed (synced, when Config.Durable).
func (s *Store) PendingSessions(ctx context.Context, limit int) ([]*chargeplanev1.Event, error) {
	if limit < 1 {
		return nil, fmt.Errorf("pending sessions: limit %d must be positive", limit)
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	upTo := s.visible.Load()
	var out []*chargeplanev1.Event
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(ledgerPrefix)
		opts.PrefetchSize = min(limit, 100)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid() && len(out) < limit; it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			seq, ok := parseSeqKey(ledgerPrefix, item.Key())
			if !ok {
				return fmt.Errorf("bad ledger key %x", item.Key())
			}
			if seq > upTo {
				break
			}
			ev := &chargeplanev1.Event{}
			if err := item.Value(func(v []byte) error { return proto.Unmarshal(v, ev) }); err != nil {
				return fmt.Errorf("read session %d: %w", seq, err)
			}
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pending sessions: %w", err)
	}
	return out, nil
}

// PendingSessionCount returns the number of sessions in the ledger that the
// cloud has not confirmed.
func (s *Store) PendingSessionCount() int64 { return s.pendingSessions.Load() }

// MarkSessionsSynced records that the cloud confirmed these sessions: each
// moves from the pending ledger to the synced ledger, stamped with the
// store's clock, through the committer (fsynced when Config.Durable). Unknown
// or already-synced seqs are ignored. Synced sessions stay (SessionByRef still
// finds them) until Compact removes them.
func (s *Store) MarkSessionsSynced(ctx context.Context, seqs []uint64) error {
	if len(seqs) == 0 {
		return s.closedErr()
	}
	req := &request{kind: reqMark, ledger: &ledgerOp{seqs: slices.Clone(seqs)}, done: make(chan error, 1)}
	if err := s.enqueue(ctx, req); err != nil {
		return err
	}
	if err := <-req.done; err != nil {
		return fmt.Errorf("mark %d sessions synced: %w", len(seqs), err)
	}
	return nil
}

// Compact deletes the synced sessions (and their ref index entries) that
// were synced before cutoff, and returns how many. It never touches sessions
// the cloud has not confirmed. It reads the synced ledger outside the
// committer and deletes through it in chunks, so writers wait at most one
// chunk. ctx stops it between chunks; removed counts what was deleted.
func (s *Store) Compact(ctx context.Context, cutoff time.Time) (removed int, err error) {
	s.compactMu.Lock()
	defer s.compactMu.Unlock()
	items, err := s.compactable(ctx, cutoff)
	if err != nil {
		return 0, fmt.Errorf("compact: %w", err)
	}
	for len(items) > 0 {
		n := min(len(items), compactChunk)
		req := &request{kind: reqCompact, ledger: &ledgerOp{compact: items[:n]}, done: make(chan error, 1)}
		items = items[n:]
		if err := s.enqueue(ctx, req); err != nil {
			return removed, fmt.Errorf("compact: %w", err)
		}
		if err := <-req.done; err != nil {
			return removed, fmt.Errorf("compact: %w", err)
		}
		removed += req.ledger.removed
	}
	return removed, nil
}

// compactable lists the synced sessions stamped before cutoff. Every synced
// entry is read: they are keyed by seq, not by time, and a week of sessions
// at a busy site is some ten thousand small entries.
func (s *Store) compactable(ctx context.Context, cutoff time.Time) ([]compactItem, error) {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	before := cutoff.UnixNano()
	var items []compactItem
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(syncedPrefix)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			seq, ok := parseSeqKey(syncedPrefix, item.Key())
			if !ok {
				return fmt.Errorf("bad synced key %x", item.Key())
			}
			err := item.Value(func(v []byte) error {
				if len(v) < syncedAtLen {
					return fmt.Errorf("synced %d: value of %d bytes", seq, len(v))
				}
				// Unix nanos fit in int64 until 2262.
				if at := int64(binary.BigEndian.Uint64(v)); at >= before {
					return nil
				}
				c := compactItem{seq: seq}
				ev := &chargeplanev1.Event{}
				if err := proto.Unmarshal(v[syncedAtLen:], ev); err != nil {
					return fmt.Errorf("synced %d: %w", seq, err)
				}
				if ref := ev.GetSessionEnded().GetSessionRef(); ref != "" {
					c.ref = srefKey(ev.GetChargerId(), ev.GetConnector(), ref)
				}
				items = append(items, c)
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return items, err
}

// compactLoop runs Compact every Config.CompactEvery with the cutoff
// now − Config.Retention, until ctx ends.
func (s *Store) compactLoop(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.CompactEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := s.Compact(ctx, s.now().Add(-s.cfg.Retention))
			switch {
			case err != nil && ctx.Err() == nil && !errors.Is(err, ErrClosed):
				s.logger.Warn("ledger compaction failed", "err", err, "removed", n)
			case n > 0:
				s.logger.Info("ledger compacted", "removed", n)
			}
		}
	}
}
