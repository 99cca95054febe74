package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// ErrClosed is returned by Append, Pending and Ack after Close.
var ErrClosed = errors.New("store closed")

// ErrNewerVersion is returned by Open for a store whose key layout is newer
// than this code knows: it was written by a later release and must not be
// read or changed by this one.
var ErrNewerVersion = errors.New("store key layout is newer than supported")

// ErrFailed is returned by Append and Ack once a Badger commit or sync has
// failed. The store accepts no more writes; close it and open it again to
// recover from what is on disk. The events of the call that saw the failure
// may or may not be stored; their seqs are never given to other events.
var ErrFailed = errors.New("store failed")

// ErrTooLarge is returned by Append for a set of events too large to be
// written as one Badger transaction (about 15% of the memtable size). Nothing
// is stored and no seq is used.
var ErrTooLarge = errors.New("events too large for one append")

// Config is the store's part of the edge configuration.
type Config struct {
	// Dir is the Badger directory. Required.
	Dir string `yaml:"dir"`
	// Durable: fsync before Append returns (production). false only for
	// benchmarks/comparison.
	Durable bool `yaml:"durable"`
	// MaxBatch caps events per group commit. A single Append larger than
	// MaxBatch is still committed whole, in a group of its own.
	MaxBatch int `yaml:"max_batch"`
}

// DefaultConfig returns the production defaults. Dir has no default and must
// be set.
func DefaultConfig() Config {
	return Config{Durable: true, MaxBatch: 1000}
}

// maxMaxBatch bounds MaxBatch: a group is one Badger write, and the
// committer's queue holds MaxBatch requests.
const maxMaxBatch = 100_000

// Validate reports every problem with c at once, each naming its key.
func (c Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("store.dir: required"))
	}
	if c.MaxBatch < 1 || c.MaxBatch > maxMaxBatch {
		errs = append(errs, fmt.Errorf("store.max_batch: %d out of range [1, %d]", c.MaxBatch, maxMaxBatch))
	}
	return errors.Join(errs...)
}

// Store is the edge's durable outbox and sequence. Its methods are safe for
// concurrent use.
type Store struct {
	cfg    Config
	edgeID string
	logger *slog.Logger
	db     *badger.DB
	m      *metrics

	// maxTxnSize and maxTxnCount are Badger's limits for one transaction.
	maxTxnSize  int64
	maxTxnCount int64

	// closeMu guards closed and the send side of reqs: Append and Ack send
	// while holding it for reading, Close closes reqs while holding it for
	// writing, so nothing is sent on a closed channel and every queued
	// request is taken by the committer before it exits. Pending holds it
	// for reading so Badger is not closed under a read.
	closeMu sync.RWMutex
	closed  bool
	reqs    chan *request

	appended chan struct{}

	// Written by the committer only; read by anyone.
	lastSeq atomic.Uint64 // last assigned seq
	visible atomic.Uint64 // highest seq whose group is synced: Pending stops here
	ackedTo atomic.Uint64 // every seq <= ackedTo has been acknowledged (or never existed)
	pending atomic.Int64  // events stored and not acknowledged

	// failed is the committer's sticky error (ErrFailed wrapped); committer only.
	failed error

	cancel context.CancelFunc // ends the lifetime ctx (value-log GC)
	wg     sync.WaitGroup     // committer and GC goroutines
}

// request is one Append or Ack waiting for its group commit.
type request struct {
	// Append: the marshalled events without their seq, and the estimated
	// transaction size of their entries.
	vals [][]byte
	size int64
	// Ack.
	ack  bool
	upTo uint64

	first uint64     // set by the committer: seq of vals[0]
	done  chan error // buffered(1), receives the group's result
}

// Open opens (creating) the Badger store in cfg.Dir for the edge edgeID,
// checks and sets the key-layout version (refusing a newer one with
// ErrNewerVersion), recovers the last assigned seq and the outbox size, and
// starts the committer. Close releases it.
func Open(cfg Config, edgeID string, logger *slog.Logger, reg prometheus.Registerer) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if edgeID == "" {
		return nil, errors.New("open store: edge id required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "store")

	db, err := badger.Open(badgerOptions(cfg.Dir, logger))
	if err != nil {
		return nil, fmt.Errorf("open store %q: %w", cfg.Dir, err)
	}
	s := &Store{
		cfg:         cfg,
		edgeID:      edgeID,
		logger:      logger,
		db:          db,
		maxTxnSize:  db.MaxBatchSize(),
		maxTxnCount: db.MaxBatchCount(),
		reqs:        make(chan *request, cfg.MaxBatch),
		appended:    make(chan struct{}, 1),
	}
	if err := s.recover(); err != nil {
		return nil, errors.Join(fmt.Errorf("open store %q: %w", cfg.Dir, err), closeDB(db))
	}
	s.m = newMetrics(s)
	if err := s.m.register(reg); err != nil {
		return nil, errors.Join(fmt.Errorf("open store %q: %w", cfg.Dir, err), closeDB(db))
	}

	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(2)
	go s.commitLoop()
	go s.gcLoop(ctx)

	logger.Info("store opened", "dir", cfg.Dir, "edge_id", edgeID, "seq", s.lastSeq.Load(), "pending", s.pending.Load())
	return s, nil
}

func closeDB(db *badger.DB) error {
	if err := db.Close(); err != nil {
		return fmt.Errorf("close badger: %w", err)
	}
	return nil
}

// Append stores evs durably as one unit. It sets each event's EdgeId and a
// fresh Seq (consecutive within the call, per-edge monotonic, starting at 1,
// never reused) and returns only after the group commit holding them is
// fsynced (when Config.Durable). Concurrent callers share one Badger write and
// one fsync.
//
// ctx bounds only the wait to enqueue: once queued, the write is in progress
// and Append waits for its result, so a nil error always means stored and a
// cancelled ctx always means not stored. The caller must not touch evs until
// Append returns. It returns ErrClosed after Close, ErrTooLarge for an
// oversized set and ErrFailed once a write has failed.
func (s *Store) Append(ctx context.Context, evs ...*chargeplanev1.Event) error {
	if len(evs) == 0 {
		return s.closedErr()
	}
	req := &request{vals: make([][]byte, len(evs)), done: make(chan error, 1)}
	for i, ev := range evs {
		if ev == nil {
			return fmt.Errorf("append: event %d is nil", i)
		}
		ev.EdgeId = s.edgeID
		ev.Seq = 0
		b, err := proto.Marshal(ev)
		if err != nil {
			return fmt.Errorf("append: marshal event %d: %w", i, err)
		}
		req.vals[i] = b
		req.size += entrySize(outboxKeyLen, len(b)+maxSeqFieldLen)
	}
	if req.size+metaSeqEntrySize >= s.maxTxnSize || int64(len(evs))+1 >= s.maxTxnCount {
		return fmt.Errorf("append %d events of %d bytes (limit %d): %w", len(evs), req.size, s.maxTxnSize, ErrTooLarge)
	}
	if err := s.enqueue(ctx, req); err != nil {
		return err
	}
	if err := <-req.done; err != nil {
		return err
	}
	for i, ev := range evs {
		ev.Seq = req.first + uint64(i)
	}
	return nil
}

// Ack marks every event with seq <= upTo as delivered, removing it from the
// outbox, and returns after that is synced (when Config.Durable). It is
// idempotent and never affects events above upTo, nor events appended after
// it returns, even when upTo is above LastSeq.
func (s *Store) Ack(ctx context.Context, upTo uint64) error {
	if upTo <= s.ackedTo.Load() {
		return s.closedErr()
	}
	req := &request{ack: true, upTo: upTo, done: make(chan error, 1)}
	if err := s.enqueue(ctx, req); err != nil {
		return err
	}
	return <-req.done
}

func (s *Store) closedErr() error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

// enqueue hands req to the committer, waiting for room while ctx allows.
func (s *Store) enqueue(ctx context.Context, req *request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	select {
	case s.reqs <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Pending returns up to limit unacknowledged events with seq > after, in seq
// order (after=0: from the start). It returns only events whose group commit
// has completed (synced, when Config.Durable).
func (s *Store) Pending(ctx context.Context, after uint64, limit int) ([]*chargeplanev1.Event, error) {
	if limit < 1 {
		return nil, fmt.Errorf("pending: limit %d must be positive", limit)
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	// Start past what is acknowledged: the deleted keys below it are
	// tombstones the iterator would otherwise walk over.
	from := max(after, s.ackedTo.Load()) + 1
	upTo := s.visible.Load()
	if from > upTo {
		return nil, nil
	}
	var out []*chargeplanev1.Event
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(outboxPrefix)
		opts.PrefetchSize = min(limit, 100)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(outboxKey(from)); it.Valid() && len(out) < limit; it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			seq, ok := parseOutboxKey(item.Key())
			if !ok {
				return fmt.Errorf("bad outbox key %x", item.Key())
			}
			if seq > upTo {
				break
			}
			ev := &chargeplanev1.Event{}
			if err := item.Value(func(v []byte) error { return proto.Unmarshal(v, ev) }); err != nil {
				return fmt.Errorf("read event %d: %w", seq, err)
			}
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pending after %d: %w", after, err)
	}
	return out, nil
}

// PendingCount returns the number of events appended and not acknowledged.
func (s *Store) PendingCount() int64 { return s.pending.Load() }

// LastSeq returns the last assigned seq (0 for a new store).
func (s *Store) LastSeq() uint64 { return s.lastSeq.Load() }

// Appended returns a channel that receives a signal after each group commit
// that stored events. Signals are coalesced: one receive may stand for many
// commits, so a reader drains with Pending until it returns nothing.
func (s *Store) Appended() <-chan struct{} { return s.appended }

// Close stops accepting writes, commits what is already queued, stops the
// committer and value-log GC, unregisters the metrics and closes Badger. It is
// safe to call twice; the second call returns nil.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.reqs)
	s.closeMu.Unlock()

	s.cancel()
	s.wg.Wait()
	s.m.unregister()
	if err := closeDB(s.db); err != nil {
		return fmt.Errorf("close store %q: %w", s.cfg.Dir, err)
	}
	s.logger.Info("store closed", "seq", s.lastSeq.Load(), "pending", s.pending.Load())
	return nil
}
