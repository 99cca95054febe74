package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// ErrClosed is returned by every method but Close (and the counters) after
// Close.
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

// ErrTooLarge is returned by Append and Write for a unit too large to be
// written as one Badger transaction (about 15% of the memtable size). Nothing
// is stored and no seq is used.
var ErrTooLarge = errors.New("events too large for one append")

// Config is the store's part of the edge configuration.
type Config struct {
	// Dir is the Badger directory. Required.
	Dir string `yaml:"dir"`
	// Durable: the journal is synced before Append returns (production), and
	// Badger at checkpoints (doc.go). false only for
	// benchmarks/comparison.
	Durable bool `yaml:"durable"`
	// MaxBatch caps events per group commit. A single Append larger than
	// MaxBatch is still committed whole, in a group of its own.
	MaxBatch int `yaml:"max_batch"`
	// Retention is how long a session the cloud confirmed stays in the
	// ledger (for dedupe by session ref) before compaction removes it.
	Retention time.Duration `yaml:"retention"`
	// CompactEvery is how often the store compacts the ledger itself.
	CompactEvery time.Duration `yaml:"compact_every"`
	// MaxBytes bounds the Badger directory's size on disk; 0 = unlimited.
	// At or above it, heartbeats and meter reports are no longer stored
	// (see doc.go, "Disk bound").
	MaxBytes int64 `yaml:"max_bytes"`
	// WarnRatio: above WarnRatio × MaxBytes the store writes a
	// store_nearly_full alarm event.
	WarnRatio float64 `yaml:"warn_ratio"`
	// SizeCheckEvery is how often the directory size is measured.
	SizeCheckEvery time.Duration `yaml:"size_check_every"`
}

// DefaultConfig returns the production defaults. Dir has no default and must
// be set.
func DefaultConfig() Config {
	return Config{
		Durable:        true,
		MaxBatch:       1000,
		Retention:      168 * time.Hour,
		CompactEvery:   time.Hour,
		MaxBytes:       2 << 30,
		WarnRatio:      0.9,
		SizeCheckEvery: 10 * time.Second,
	}
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
	if c.Retention <= 0 {
		errs = append(errs, fmt.Errorf("store.retention: %s must be positive", c.Retention))
	}
	if c.CompactEvery <= 0 {
		errs = append(errs, fmt.Errorf("store.compact_every: %s must be positive", c.CompactEvery))
	}
	if c.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("store.max_bytes: %d must be 0 (unlimited) or positive", c.MaxBytes))
	}
	// Written as the valid range so that NaN is rejected too.
	if !(c.WarnRatio > 0 && c.WarnRatio <= 1) {
		errs = append(errs, fmt.Errorf("store.warn_ratio: %v out of range (0, 1]", c.WarnRatio))
	}
	if c.SizeCheckEvery <= 0 {
		errs = append(errs, fmt.Errorf("store.size_check_every: %s must be positive", c.SizeCheckEvery))
	}
	return errors.Join(errs...)
}

// Option changes how Open builds a Store, for what is not configuration.
type Option func(*Store)

// WithClock sets the clock the store reads for synced-at times, the
// compaction cutoff, the store's own alarm events and the rate limit of its
// warnings (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

// Store is the edge's durable outbox, sequence, session ledger and control
// state. Its methods are safe for concurrent use.
type Store struct {
	cfg    Config
	edgeID string
	logger *slog.Logger
	db     *badger.DB
	m      *metrics
	now    func() time.Time

	// maxTxnSize and maxTxnCount are Badger's limits for one transaction.
	maxTxnSize  int64
	maxTxnCount int64

	// closeMu guards closed and the send side of reqs: writers send while
	// holding it for reading, Close closes reqs while holding it for
	// writing, so nothing is sent on a closed channel and every queued
	// request is taken by the committer before it exits. Readers hold it
	// for reading so Badger is not closed under a read. No method holds it
	// while calling another that takes it (RWMutex read locks do not nest
	// safely once a writer waits).
	closeMu sync.RWMutex
	closed  bool
	reqs    chan *request

	appended chan struct{}

	// Written by the committer only; read by anyone.
	lastSeq         atomic.Uint64 // last assigned seq
	visible         atomic.Uint64 // highest seq whose group is synced: Pending stops here
	ackedTo         atomic.Uint64 // every seq <= ackedTo has been acknowledged (or never existed)
	pending         atomic.Int64  // events stored and not acknowledged
	pendingSessions atomic.Int64  // ledger entries not yet confirmed by the cloud

	// jnl makes each group durable before it is acknowledged (journal.go);
	// nil when Config.Durable is false. Committer only, after Open.
	jnl *journal
	// segSize is the journal's segment size (journalSegment; tests shrink it).
	segSize int64
	// wals syncs memtable logs Badger rotated out since the last
	// checkpoint; used by one checkpoint at a time.
	wals *memWALs

	// failed is the committer's sticky error (ErrFailed wrapped); committer only.
	failed error

	// Disk bound (space.go). full and diskBytes are written by checkSpace
	// and read by Write and DiskBytes. spaceMu serializes checkSpace and
	// guards spaceAlarm, the last alarm state written (persisted as
	// meta/space_alarm so that a restart does not repeat it).
	full       atomic.Bool
	diskBytes  atomic.Int64
	spaceMu    sync.Mutex
	spaceAlarm bool
	dropLogMu  sync.Mutex
	dropLogAt  time.Time        // last Warn about dropped events
	dropSince  map[string]int64 // dropped per kind since dropLogAt
	compactMu  sync.Mutex       // one Compact at a time

	cancel context.CancelFunc // ends the lifetime ctx (GC, compaction, size checks)
	wg     sync.WaitGroup     // committer and background goroutines
}

// Open opens (creating) the Badger store in cfg.Dir for the edge edgeID,
// checks the key-layout version (migrating an older one, refusing a newer one
// with ErrNewerVersion), recovers the last assigned seq, the outbox and ledger
// sizes, measures the directory, and starts the committer and the background
// work (value-log GC, ledger compaction, size checks). Close releases it.
func Open(cfg Config, edgeID string, logger *slog.Logger, reg prometheus.Registerer, opts ...Option) (*Store, error) {
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
	wals, err := newMemWALs(cfg.Dir)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open store %q: %w", cfg.Dir, err), closeDB(db))
	}
	s := &Store{
		wals:        wals,
		segSize:     journalSegment,
		cfg:         cfg,
		edgeID:      edgeID,
		logger:      logger,
		db:          db,
		now:         time.Now,
		maxTxnSize:  db.MaxBatchSize(),
		maxTxnCount: db.MaxBatchCount(),
		reqs:        make(chan *request, cfg.MaxBatch),
		appended:    make(chan struct{}, 1),
		dropSince:   map[string]int64{},
	}
	for _, o := range opts {
		o(s)
	}
	// On failure the journal is left for the next Open to replay.
	fail := func(err error) (*Store, error) {
		return nil, errors.Join(fmt.Errorf("open store %q: %w", cfg.Dir, err), s.closeJournal(false), closeDB(db))
	}
	if err := s.checkVersion(); err != nil {
		return fail(err)
	}
	if err := s.openJournal(); err != nil {
		return fail(err)
	}
	if err := s.recover(); err != nil {
		return fail(err)
	}
	if err := s.measure(); err != nil {
		return fail(err)
	}
	s.m = newMetrics(s)
	if err := s.m.register(reg); err != nil {
		return fail(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(4)
	go s.commitLoop()
	go s.gcLoop(ctx)
	go s.compactLoop(ctx)
	go s.spaceLoop(ctx)

	logger.Info("store opened", "dir", cfg.Dir, "edge_id", edgeID, "seq", s.lastSeq.Load(),
		"pending", s.pending.Load(), "pending_sessions", s.pendingSessions.Load(), "disk_bytes", s.diskBytes.Load())
	return s, nil
}

// closeJournal closes the journal, if the store has one (see journal.close).
func (s *Store) closeJournal(healthy bool) error {
	if s.jnl == nil {
		return nil
	}
	return s.jnl.close(healthy)
}

func closeDB(db *badger.DB) error {
	if err := db.Close(); err != nil {
		return fmt.Errorf("close badger: %w", err)
	}
	return nil
}

// Append stores evs durably as one unit; it is Write with events only. It
// sets each event's EdgeId and a fresh Seq (consecutive within the call,
// per-edge monotonic, starting at 1, never reused) and returns only after the
// group commit holding them is fsynced (when Config.Durable). Concurrent
// callers share one Badger write and one fsync.
//
// ctx bounds only the wait to enqueue: once queued, the write is in progress
// and Append waits for its result, so a nil error always means stored and a
// cancelled ctx always means not stored. The caller must not touch evs until
// Append returns. It returns ErrClosed after Close, ErrTooLarge for an
// oversized set and ErrFailed once a write has failed. While the store is
// full (Config.MaxBytes) heartbeats and meter reports are dropped: they keep
// Seq 0 and Append still returns nil.
func (s *Store) Append(ctx context.Context, evs ...*chargeplanev1.Event) error {
	if len(evs) == 0 {
		return s.closedErr()
	}
	_, err := s.Write(ctx, Write{Events: evs})
	return err
}

// Ack marks every event with seq <= upTo as delivered, removing it from the
// outbox, and returns after that is synced (when Config.Durable). It is
// idempotent and never affects events above upTo, nor events appended after
// it returns, even when upTo is above LastSeq.
func (s *Store) Ack(ctx context.Context, upTo uint64) error {
	if upTo <= s.ackedTo.Load() {
		return s.closedErr()
	}
	req := &request{kind: reqAck, upTo: upTo, done: make(chan error, 1)}
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
	jerr := s.closeJournal(s.failed == nil)
	if err := errors.Join(jerr, closeDB(s.db)); err != nil {
		return fmt.Errorf("close store %q: %w", s.cfg.Dir, err)
	}
	s.logger.Info("store closed", "seq", s.lastSeq.Load(), "pending", s.pending.Load())
	return nil
}
