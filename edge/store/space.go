package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// Alarm codes the store writes about its own disk use.
const (
	AlarmStoreNearlyFull = "store_nearly_full"
	AlarmStoreSpaceOK    = "store_space_ok"
)

// Kinds dropped while the store is full, as the Event oneof names them (the
// dropped-events metric's kind label).
const (
	kindHeartbeat   = "heartbeat"
	kindMeterReport = "meter_report"
)

// dropLogEvery rate-limits the warning about dropped events.
const dropLogEvery = time.Minute

// DiskBytes returns the Badger directory's size on disk as last measured
// (every Config.SizeCheckEvery, and at Open).
func (s *Store) DiskBytes() int64 { return s.diskBytes.Load() }

// droppable reports whether ev is of a kind the store drops while full:
// periodic reports that the next one supersedes. Sessions, status changes,
// cards, commands and alarms are always stored.
func droppable(ev *chargeplanev1.Event) bool {
	switch ev.GetKind().(type) {
	case *chargeplanev1.Event_Heartbeat, *chargeplanev1.Event_MeterReport:
		return true
	}
	return false
}

// dropped counts an event dropped because the store is full and warns at
// most once per dropLogEvery, with what was dropped since the last warning.
func (s *Store) dropped(ev *chargeplanev1.Event) {
	kind := kindHeartbeat
	if ev.GetMeterReport() != nil {
		kind = kindMeterReport
	}
	s.m.droppedEvents.WithLabelValues(kind).Inc()

	s.dropLogMu.Lock()
	defer s.dropLogMu.Unlock()
	s.dropSince[kind]++
	now := s.now()
	if !s.dropLogAt.IsZero() && now.Sub(s.dropLogAt) < dropLogEvery {
		return
	}
	s.logger.Warn("store full: dropping heartbeats and meter reports",
		"disk_bytes", s.diskBytes.Load(), "max_bytes", s.cfg.MaxBytes,
		"heartbeats", s.dropSince[kindHeartbeat], "meter_reports", s.dropSince[kindMeterReport])
	s.dropLogAt = now
	clear(s.dropSince)
}

// measure takes the directory's size and sets DiskBytes and the full state.
func (s *Store) measure() error {
	size, err := dirSize(s.cfg.Dir)
	if err != nil {
		return err
	}
	s.diskBytes.Store(size)
	full := s.cfg.MaxBytes > 0 && size >= s.cfg.MaxBytes
	if was := s.full.Swap(full); was != full {
		if full {
			s.logger.Warn("store full: heartbeats and meter reports are no longer stored",
				"disk_bytes", size, "max_bytes", s.cfg.MaxBytes)
		} else {
			s.logger.Info("store below max_bytes: storing every event again",
				"disk_bytes", size, "max_bytes", s.cfg.MaxBytes)
		}
	}
	return nil
}

// spaceLoop checks the disk bound at start and every Config.SizeCheckEvery
// until ctx ends.
func (s *Store) spaceLoop(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.SizeCheckEvery)
	defer t.Stop()
	for {
		if err := s.checkSpace(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, ErrClosed) {
			s.logger.Warn("store size check failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// checkSpace measures the directory and, when the size crossed
// WarnRatio × MaxBytes since the last alarm, writes one alarm event together
// with the new alarm state (meta/space_alarm), so that each crossing is
// reported once, across restarts too. A failed write is retried at the next
// check.
func (s *Store) checkSpace(ctx context.Context) error {
	s.spaceMu.Lock()
	defer s.spaceMu.Unlock()
	if err := s.measure(); err != nil {
		return err
	}
	size, limit := s.diskBytes.Load(), s.cfg.MaxBytes
	nearly := limit > 0 && float64(size) >= s.cfg.WarnRatio*float64(limit)
	if nearly == s.spaceAlarm {
		return nil
	}
	alarm := &chargeplanev1.Alarm{
		Code:     AlarmStoreSpaceOK,
		Severity: "info",
		Message:  fmt.Sprintf("store uses %d of %d bytes", size, limit),
	}
	state := uint64(0)
	if nearly {
		alarm.Code, alarm.Severity, state = AlarmStoreNearlyFull, "warning", 1
	}
	if limit == 0 {
		alarm.Message = fmt.Sprintf("store uses %d bytes, no limit", size)
	}
	ev := &chargeplanev1.Event{
		OccurredAt: timestamppb.New(s.now()),
		Kind:       &chargeplanev1.Event_Alarm{Alarm: alarm},
	}
	req, evs, err := s.newWriteRequest(Write{Events: []*chargeplanev1.Event{ev}})
	if err != nil {
		return fmt.Errorf("space alarm: %w", err)
	}
	// meta/ keys are the store's own: only this path writes one through the
	// committer; Write refuses them.
	put := KV{Key: []byte(keySpaceAlarm), Value: encodeUint64(state)}
	req.ext().puts = append(req.ext().puts, put)
	req.size += entrySize(len(put.Key), len(put.Value))
	req.count++
	if _, err := s.submitWrite(ctx, req, evs); err != nil {
		return fmt.Errorf("space alarm: %w", err)
	}
	s.spaceAlarm = nearly
	level := slog.LevelInfo
	if nearly {
		level = slog.LevelWarn
	}
	s.logger.Log(ctx, level, "store disk use crossed warn_ratio × max_bytes", "alarm", alarm.Code,
		"disk_bytes", size, "max_bytes", limit, "seq", ev.GetSeq())
	return nil
}

// dirSize is the space the files under dir take on disk. It counts allocated
// blocks, not apparent sizes: Badger preallocates its value-log files (twice
// the 64 MiB file size) and memtable WAL files (twice the memtable size) as
// sparse files, so their apparent size says nothing about the disk they use.
// Files Badger deletes during the walk (compaction) are skipped.
func dirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		total += diskUsage(info)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("measure %s: %w", dir, err)
	}
	return total, nil
}
