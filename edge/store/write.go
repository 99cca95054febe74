package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// ErrInvalidKey is returned by Write, Get and Scan for a key outside control's
// key space (it must start with CtlPrefix, have at least one byte after it and
// be at most 65,000 bytes, Badger's limit), and by Write for a key both put
// and deleted. Nothing is written.
var ErrInvalidKey = errors.New("invalid control key")

// Write is one atomic unit: everything in it lands in the same Badger
// transaction (or nothing does), through the same group commit as Append.
type Write struct {
	// Events are assigned consecutive seqs, like Append. A SessionEnded
	// event is also recorded in the session ledger.
	Events []*chargeplanev1.Event
	// Put is control's own state: keys must start with CtlPrefix. A key put
	// twice takes the later value.
	Put []KV
	// Delete removes control state: keys must start with CtlPrefix and must
	// not also be in Put. Deleting a missing key is not an error.
	Delete [][]byte
}

// KV is one key and its value.
type KV struct{ Key, Value []byte }

// reqKind says which work a request asks the committer for.
type reqKind uint8

const (
	reqWrite   reqKind = iota // events, ledger entries, ctl/ and meta/ keys
	reqAck                    // delete outbox entries up to upTo
	reqMark                   // move ledger entries to synced/
	reqCompact                // delete synced/ entries and their refs
)

// request is one unit waiting for its group commit. It is allocated per
// Append, so what only some requests need hangs off pointers: the request of
// a plain Append stays as small as before the ledger existed.
type request struct {
	kind reqKind

	// reqWrite: the marshalled events without their seq, and the estimated
	// transaction size and entry count of the whole unit.
	vals  [][]byte
	size  int64
	count int64
	extra *writeExtra // nil for events that are not sessions, without keys

	// reqAck.
	upTo uint64
	// reqMark, reqCompact.
	ledger *ledgerOp

	first uint64     // set by the committer: seq of vals[0]
	done  chan error // buffered(1), receives the group's result
}

// writeExtra is what a write holds besides events.
type writeExtra struct {
	sessions []sessionEntry // the SessionEnded events among vals
	puts     []KV           // ctl/ keys, and meta/ keys of the store's own writes
	dels     [][]byte
}

// ledgerOp is a MarkSessionsSynced or Compact request's work.
type ledgerOp struct {
	seqs    []uint64      // reqMark
	compact []compactItem // reqCompact
	removed int           // set by the committer for reqCompact
}

// ext returns r.extra, creating it.
func (r *request) ext() *writeExtra {
	if r.extra == nil {
		r.extra = &writeExtra{}
	}
	return r.extra
}

// sessions, puts and dels read r.extra, which may be nil.
func (r *request) sessions() []sessionEntry {
	if r.extra == nil {
		return nil
	}
	return r.extra.sessions
}

func (r *request) puts() []KV {
	if r.extra == nil {
		return nil
	}
	return r.extra.puts
}

func (r *request) dels() [][]byte {
	if r.extra == nil {
		return nil
	}
	return r.extra.dels
}

// sessionEntry is a SessionEnded among a write's events.
type sessionEntry struct {
	index int    // into request.vals
	ref   []byte // sref key; nil when the event has no session ref
}

// weight is the request's share of Config.MaxBatch: its events, and at least
// one so that a stream of event-less requests still closes a group.
func (r *request) weight() int { return max(1, len(r.vals)) }

// Write stores w as one atomic unit through the group commit and returns the
// seq of its first stored event (0 when it stores none). Events get EdgeId
// and consecutive Seqs as with Append; a SessionEnded is also entered in the
// session ledger and its ref index in the same transaction. Puts and deletes
// are applied in that same transaction, after the events.
//
// A key outside CtlPrefix fails the whole Write with ErrInvalidKey: nothing
// is written and no seq is used. ErrTooLarge, ErrClosed, ErrFailed and ctx
// behave as for Append, and as there the caller must not touch w (events,
// keys, values) until Write returns. ErrTooLarge also refuses a session whose
// charger id and ref exceed Badger's key size. While the store is full
// (Config.MaxBytes) heartbeats and meter reports in w are dropped (Seq stays
// 0); the rest is written.
func (s *Store) Write(ctx context.Context, w Write) (firstSeq uint64, err error) {
	req, evs, err := s.newWriteRequest(w)
	if err != nil {
		return 0, err
	}
	return s.submitWrite(ctx, req, evs)
}

// newWriteRequest validates w and marshals it into a request; events the
// disk bound drops are left out (and counted). evs are the events stored, in
// order: w.Events unless some were dropped. They are not kept in the
// request, so that the caller's slice need not escape to the heap.
func (s *Store) newWriteRequest(w Write) (req *request, evs []*chargeplanev1.Event, err error) {
	var deleted map[string]bool
	if len(w.Delete) > 0 {
		deleted = make(map[string]bool, len(w.Delete))
	}
	for _, k := range w.Delete {
		if !isCtlKey(k) {
			return nil, nil, fmt.Errorf("write: delete %q: %w", k, ErrInvalidKey)
		}
		deleted[string(k)] = true
	}
	for _, kv := range w.Put {
		if !isCtlKey(kv.Key) {
			return nil, nil, fmt.Errorf("write: put %q: %w", kv.Key, ErrInvalidKey)
		}
		if deleted[string(kv.Key)] {
			return nil, nil, fmt.Errorf("write: key %q both put and deleted: %w", kv.Key, ErrInvalidKey)
		}
	}
	for i, ev := range w.Events {
		if ev == nil {
			return nil, nil, fmt.Errorf("write: event %d is nil", i)
		}
	}

	req = &request{kind: reqWrite, done: make(chan error, 1)}
	evs = w.Events
	if len(w.Events) > 0 {
		req.vals = make([][]byte, 0, len(w.Events))
	}
	// evs is w.Events until an event is dropped, then a copy of the stored
	// ones: no allocation on the usual path.
	full, dropping := s.full.Load(), false
	for i, ev := range w.Events {
		ev.EdgeId = s.edgeID
		ev.Seq = 0
		if full && droppable(ev) {
			s.dropped(ev)
			if !dropping {
				dropping = true
				evs = slices.Clip(w.Events[:len(req.vals)])
			}
			continue
		}
		b, err := proto.Marshal(ev)
		if err != nil {
			return nil, nil, fmt.Errorf("write: marshal event %d: %w", i, err)
		}
		valLen := len(b) + maxSeqFieldLen
		req.size += entrySize(outboxKeyLen, valLen)
		req.count++
		if end := ev.GetSessionEnded(); end != nil {
			se := sessionEntry{index: len(req.vals)}
			req.size += entrySize(ledgerKeyLen, valLen)
			req.count++
			if end.GetSessionRef() != "" {
				se.ref = srefKey(ev.GetChargerId(), ev.GetConnector(), end.GetSessionRef())
				if len(se.ref) > maxKeyLen {
					return nil, nil, fmt.Errorf("write: event %d: charger id and session ref of %d bytes: %w",
						i, len(se.ref), ErrTooLarge)
				}
				req.size += entrySize(len(se.ref), 8)
				req.count++
			}
			req.ext().sessions = append(req.ext().sessions, se)
		}
		req.vals = append(req.vals, b)
		if dropping {
			evs = append(evs, ev)
		}
	}
	for _, kv := range w.Put {
		req.size += entrySize(len(kv.Key), len(kv.Value))
	}
	for _, k := range w.Delete {
		req.size += entrySize(len(k), 0)
	}
	req.count += int64(len(w.Put) + len(w.Delete))
	// Copies, not w's slices: keeping w's slices would make every caller's
	// Write (and Append's variadic slice) escape to the heap.
	if len(w.Put) > 0 || len(w.Delete) > 0 {
		req.ext().puts = slices.Clone(w.Put)
		req.ext().dels = slices.Clone(w.Delete)
	}
	return req, evs, nil
}

// submitWrite checks req against Badger's transaction limits, hands it to
// the committer and, once stored, sets the seqs of evs, the events behind
// req.vals.
func (s *Store) submitWrite(ctx context.Context, req *request, evs []*chargeplanev1.Event) (uint64, error) {
	if len(req.vals) == 0 && len(req.puts()) == 0 && len(req.dels()) == 0 {
		// Nothing left to store (empty, or every event dropped).
		return 0, s.closedErr()
	}
	if req.size+metaSeqEntrySize >= s.maxTxnSize || req.count+1 >= s.maxTxnCount {
		return 0, fmt.Errorf("write %d events, %d entries of %d bytes (limit %d): %w",
			len(req.vals), req.count, req.size, s.maxTxnSize, ErrTooLarge)
	}
	if err := s.enqueue(ctx, req); err != nil {
		return 0, err
	}
	if err := <-req.done; err != nil {
		return 0, err
	}
	if len(req.vals) == 0 {
		return 0, nil
	}
	for i, ev := range evs {
		ev.Seq = req.first + uint64(i)
	}
	return req.first, nil
}

// Get returns the value of control-state key (which must start with
// CtlPrefix) as last committed by Write. The value is the caller's to keep.
func (s *Store) Get(ctx context.Context, key []byte) (val []byte, found bool, err error) {
	if !isCtlKey(key) {
		return nil, false, fmt.Errorf("get %q: %w", key, ErrInvalidKey)
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return nil, false, ErrClosed
	}
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		val, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("get %q: %w", key, err)
	}
	return val, found, nil
}

// Scan calls fn for every control-state key starting with prefix (which must
// start with CtlPrefix; CtlPrefix itself scans all of it), in key order, with
// the state as last committed by Write. It reads everything first and calls
// fn after releasing Badger, so fn may keep key and val and may call the
// Store. An error from fn stops the scan and is returned as is.
func (s *Store) Scan(ctx context.Context, prefix []byte, fn func(key, val []byte) error) error {
	if !bytes.HasPrefix(prefix, []byte(CtlPrefix)) {
		return fmt.Errorf("scan %q: %w", prefix, ErrInvalidKey)
	}
	kvs, err := s.scanCtl(ctx, prefix)
	if err != nil {
		return fmt.Errorf("scan %q: %w", prefix, err)
	}
	for _, kv := range kvs {
		if err := fn(kv.Key, kv.Value); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) scanCtl(ctx context.Context, prefix []byte) ([]KV, error) {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	var kvs []KV
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = prefix
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			v, err := item.ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("read %q: %w", item.Key(), err)
			}
			kvs = append(kvs, KV{Key: item.KeyCopy(nil), Value: v})
		}
		return nil
	})
	return kvs, err
}
