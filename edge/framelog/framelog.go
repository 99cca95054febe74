// Package framelog keeps the last frames exchanged with each charger, raw,
// so an installer can see exactly what a device sent and what the edge
// answered. Memory is bounded: a fixed number of frames per charger, a cap
// on the bytes kept per frame and on the number of chargers tracked.
// Frames are decoded for display only when read, never on the hot path.
package framelog

import (
	"errors"
	"slices"
	"sync"
	"time"
)

// Directions of a logged frame.
const (
	Up   = "up"   // charger → edge
	Down = "down" // edge → charger
)

// Config bounds the log.
type Config struct {
	// PerCharger is how many recent frames are kept per charger (0 disables the log).
	PerCharger int `yaml:"per_charger"`
	// MaxFrameBytes truncates longer frames (the entry says so).
	MaxFrameBytes int `yaml:"max_frame_bytes"`
	// MaxChargers caps how many chargers are tracked; the least recently
	// active is forgotten first.
	MaxChargers int `yaml:"max_chargers"`
}

// DefaultConfig keeps 32 frames of up to 512 bytes for up to 20,000 chargers
// (at most ~330 MiB in the worst case, typically a few MiB: BKV heartbeats
// are 50 bytes).
func DefaultConfig() Config { return Config{PerCharger: 32, MaxFrameBytes: 512, MaxChargers: 20000} }

// Validate names the bad key.
func (c Config) Validate() error {
	var errs []error
	if c.PerCharger < 0 || c.PerCharger > 1000 {
		errs = append(errs, errors.New("framelog.per_charger: must be 0–1000"))
	}
	if c.MaxFrameBytes < 16 {
		errs = append(errs, errors.New("framelog.max_frame_bytes: must be at least 16"))
	}
	if c.MaxChargers < 1 {
		errs = append(errs, errors.New("framelog.max_chargers: must be at least 1"))
	}
	return errors.Join(errs...)
}

// Entry is one logged frame.
type Entry struct {
	At        time.Time
	Direction string
	Protocol  string
	// Frame holds the bytes (a copy), at most MaxFrameBytes of them.
	Frame     []byte
	Truncated bool
}

type ring struct {
	entries []Entry
	next    int // oldest entry once the ring is full
	touched time.Time
}

// Log is the per-charger frame log. It is safe for concurrent use.
type Log struct {
	cfg Config

	mu       sync.Mutex
	chargers map[string]*ring
}

// New builds an empty log.
func New(cfg Config) *Log {
	return &Log{cfg: cfg, chargers: make(map[string]*ring)}
}

// Record keeps a copy of frame for chargerID.
func (l *Log) Record(chargerID, protocol, dir string, at time.Time, frame []byte) {
	if l == nil || l.cfg.PerCharger == 0 || chargerID == "" {
		return
	}
	n := min(len(frame), l.cfg.MaxFrameBytes)
	e := Entry{At: at, Direction: dir, Protocol: protocol, Frame: append([]byte(nil), frame[:n]...), Truncated: n < len(frame)}
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.chargers[chargerID]
	if r == nil {
		if len(l.chargers) >= l.cfg.MaxChargers {
			l.evictOldest()
		}
		r = &ring{}
		l.chargers[chargerID] = r
	}
	r.touched = at
	// The ring grows to PerCharger entries, then wraps: a charger that
	// sent little costs little.
	if len(r.entries) < l.cfg.PerCharger {
		r.entries = append(r.entries, e)
		return
	}
	r.entries[r.next] = e
	r.next = (r.next + 1) % len(r.entries)
}

func (l *Log) evictOldest() {
	var oldest string
	var when time.Time
	for id, r := range l.chargers {
		if oldest == "" || r.touched.Before(when) {
			oldest, when = id, r.touched
		}
	}
	delete(l.chargers, oldest)
}

// Frames returns chargerID's logged frames, oldest first (by time: a frame
// may be recorded after the reply it caused).
func (l *Log) Frames(chargerID string) []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.chargers[chargerID]
	if r == nil {
		return nil
	}
	// Until the ring is full next stays 0 and entries are in order.
	out := make([]Entry, 0, len(r.entries))
	out = append(out, r.entries[r.next:]...)
	out = append(out, r.entries[:r.next]...)
	slices.SortStableFunc(out, func(a, b Entry) int { return a.At.Compare(b.At) })
	return out
}

// Chargers returns how many chargers have frames logged.
func (l *Log) Chargers() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.chargers)
}
