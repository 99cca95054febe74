package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

const (
	// gcInterval is how often value-log GC runs; gcDiscardRatio is the
	// share of a value-log file that must be garbage before GC rewrites it.
	gcInterval     = 5 * time.Minute
	gcDiscardRatio = 0.5
)

// badgerOptions sizes Badger for a small gateway (see doc.go, "Memory").
// SyncWrites is off: the journal is synced once per group instead. Tables
// are small and the same size on every level (multiplier 1) because a
// compaction holds a builder of about twice the table size for each of up
// to a dozen tables in flight: with the default doubling per level the
// builders grew with the backlog (over 600 MiB of heap draining 2,000,000
// events), with 512 KiB tables they stay near 50 MiB.
func badgerOptions(dir string, logger *slog.Logger) badger.Options {
	opts := badger.DefaultOptions(dir).
		WithSyncWrites(false).
		WithLogger(badgerLogger{logger: logger}).
		WithMemTableSize(8 << 20).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithBaseTableSize(512 << 10).
		WithBlockCacheSize(8 << 20).
		WithIndexCacheSize(4 << 20).
		WithValueLogFileSize(64 << 20).
		WithValueThreshold(64 << 10).
		WithNumCompactors(2).
		WithNumGoroutines(2).
		// The committer is the only writer: there is nothing to conflict with.
		WithDetectConflicts(false).
		// Badger's metrics are process-global expvars; ours go to the
		// injected registerer.
		WithMetricsEnabled(false)
	opts.TableSizeMultiplier = 1
	return opts
}

// badgerLogger routes Badger's logging to slog, keeping Warn and Error only:
// Badger's Info is chatty about routine compactions.
type badgerLogger struct {
	logger *slog.Logger
}

func (l badgerLogger) Errorf(format string, args ...any) {
	l.logger.Error("badger: " + strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (l badgerLogger) Warningf(format string, args ...any) {
	l.logger.Warn("badger: " + strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}

// gcLoop runs value-log GC every gcInterval until ctx ends.
func (s *Store) gcLoop(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(gcInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.runGC(ctx)
		}
	}
}

// runGC rewrites value-log files while Badger finds one worth rewriting.
func (s *Store) runGC(ctx context.Context) {
	for ctx.Err() == nil {
		err := s.db.RunValueLogGC(gcDiscardRatio)
		switch {
		case err == nil:
			continue
		case errors.Is(err, badger.ErrNoRewrite), errors.Is(err, badger.ErrRejected):
		default:
			s.logger.Warn("value-log gc failed", "err", err)
		}
		return
	}
}
