// Package framelog keeps the last frames exchanged with each charger, raw,
// so an installer can see exactly what a device sent and what the edge
// answered. Memory is bounded: a fixed number of frames per charger, a cap
// on the bytes kept per frame and on the number of chargers tracked.
// Frames are decoded for display only when read, never on the hot path.
package framelog

import (
	"encoding/binary"
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

// maxFrameBytesLimit is the largest MaxFrameBytes: a record stores the
// kept length in two bytes.
const maxFrameBytesLimit = 1<<16 - 1

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
// (at most ~330 MiB in the worst case; typically ~2 KiB per charger, as BKV
// heartbeats are 50 bytes and their replies fewer).
func DefaultConfig() Config { return Config{PerCharger: 32, MaxFrameBytes: 512, MaxChargers: 20000} }

// Validate names the bad key.
func (c Config) Validate() error {
	var errs []error
	if c.PerCharger < 0 || c.PerCharger > 1000 {
		errs = append(errs, errors.New("framelog.per_charger: must be 0–1000"))
	}
	if c.MaxFrameBytes < 16 || c.MaxFrameBytes > maxFrameBytesLimit {
		errs = append(errs, errors.New("framelog.max_frame_bytes: must be 16–65535"))
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

// A ring stores a charger's frames as records packed one after another in
// one circular byte buffer: a record is a header (when, as Unix
// nanoseconds; the kept length; direction and truncation flags; the
// protocol's index in Log.protocols) followed by the frame bytes, and may
// wrap around the buffer's end. Thirty-two 50-byte heartbeats and their
// replies then take ~2 KiB, where an Entry and a separate copy per frame
// took ~4.5 KiB, and the log is kept for every connected charger.
type ring struct {
	data    []byte
	head    int   // offset of the oldest record
	used    int   // bytes of data holding records
	count   int   // records held
	touched int64 // Unix nanoseconds of the newest record, for eviction
}

const (
	headerSize = 12 // at (8), length (2), flags (1), protocol index (1)

	flagDown      = 1 << 0
	flagTruncated = 1 << 1

	// minRingBytes is the first buffer of a ring: a heartbeat and its reply.
	minRingBytes = 128
)

// Log is the per-charger frame log. It is safe for concurrent use.
type Log struct {
	cfg Config

	mu       sync.Mutex
	chargers map[string]*ring
	// protocols interns protocol names; records hold an index. Protocol
	// names are the adapters' constants, a handful.
	protocols []string
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
	n := min(len(frame), l.cfg.MaxFrameBytes, maxFrameBytesLimit)
	var hdr [headerSize]byte
	binary.LittleEndian.PutUint64(hdr[0:], uint64(at.UnixNano())) //nolint:gosec // restored with the same conversion
	binary.LittleEndian.PutUint16(hdr[8:], uint16(n))             //nolint:gosec // n ≤ maxFrameBytesLimit
	if dir == Down {
		hdr[10] |= flagDown
	}
	if n < len(frame) {
		hdr[10] |= flagTruncated
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	hdr[11] = l.protocolIndex(protocol)
	r := l.chargers[chargerID]
	if r == nil {
		if len(l.chargers) >= l.cfg.MaxChargers {
			l.evictOldest()
		}
		r = &ring{}
		l.chargers[chargerID] = r
	}
	r.touched = at.UnixNano()
	r.push(hdr[:], frame[:n], l.cfg.PerCharger)
}

// protocolIndex interns name; l.mu must be held. Past 256 distinct names
// (adapters use a handful) the last slot is shared and shows the first
// name given to it.
func (l *Log) protocolIndex(name string) byte {
	if i := slices.Index(l.protocols, name); i >= 0 {
		return byte(i) //nolint:gosec // at most 256 names are kept
	}
	if len(l.protocols) == 256 {
		return 255
	}
	l.protocols = append(l.protocols, name)
	return byte(len(l.protocols) - 1) //nolint:gosec // at most 256 names are kept
}

// push appends a record, first dropping the oldest ones while the ring is
// full (perCharger records) and, when that is not enough room, growing
// the buffer: a charger that sent little costs little.
func (r *ring) push(hdr, frame []byte, perCharger int) {
	need := len(hdr) + len(frame)
	for r.count >= perCharger {
		r.dropOldest()
	}
	if len(r.data)-r.used < need {
		r.grow(r.used + need)
	}
	end := (r.head + r.used) % len(r.data)
	end = r.put(end, hdr)
	r.put(end, frame)
	r.used += need
	r.count++
}

func (r *ring) dropOldest() {
	var hdr [headerSize]byte
	r.get(hdr[:], r.head)
	size := headerSize + int(binary.LittleEndian.Uint16(hdr[8:]))
	r.head = (r.head + size) % len(r.data)
	r.used -= size
	r.count--
}

// grow moves the records to the start of a buffer of at least size bytes,
// with a quarter more room so a ring filling up grows a few times only.
func (r *ring) grow(size int) {
	data := make([]byte, max(size+size/4, minRingBytes))
	if r.used > 0 {
		r.get(data[:r.used], r.head)
	}
	r.data, r.head = data, 0
}

// put copies b into the buffer at off, wrapping at the end, and returns
// the offset after it.
func (r *ring) put(off int, b []byte) int {
	n := copy(r.data[off:], b)
	copy(r.data, b[n:])
	return (off + len(b)) % len(r.data)
}

// get fills b from the buffer at off, wrapping at the end, and returns the
// offset after it.
func (r *ring) get(b []byte, off int) int {
	n := copy(b, r.data[off:])
	copy(b[n:], r.data)
	return (off + len(b)) % len(r.data)
}

// entries decodes the records, oldest first.
func (r *ring) entries(protocols []string) []Entry {
	out := make([]Entry, 0, r.count)
	off := r.head
	for range r.count {
		var hdr [headerSize]byte
		off = r.get(hdr[:], off)
		frame := make([]byte, binary.LittleEndian.Uint16(hdr[8:]))
		off = r.get(frame, off)
		e := Entry{
			At:        time.Unix(0, int64(binary.LittleEndian.Uint64(hdr[0:]))), //nolint:gosec // stored from UnixNano
			Direction: Up,
			Protocol:  protocols[hdr[11]],
			Frame:     frame,
			Truncated: hdr[10]&flagTruncated != 0,
		}
		if hdr[10]&flagDown != 0 {
			e.Direction = Down
		}
		out = append(out, e)
	}
	return out
}

func (l *Log) evictOldest() {
	var oldest string
	var when int64
	for id, r := range l.chargers {
		if oldest == "" || r.touched < when {
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
	out := r.entries(l.protocols)
	slices.SortStableFunc(out, func(a, b Entry) int { return a.At.Compare(b.At) })
	return out
}

// Chargers returns how many chargers have frames logged.
func (l *Log) Chargers() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.chargers)
}
