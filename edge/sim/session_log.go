package sim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Session is a session a simulated charger ended and the edge acknowledged,
// named as the edge names it: ChargerID and Connector as in the edge's events
// (BKV socket s port A/B is connector 2s−1/2s; AP3000 port p is p+1),
// SessionRef as the adapter derives it (BKV business number in decimal,
// AP3000 order number in hex), CardID as the adapter prints it. The times
// are the simulator's wall clock when the charger started and ended it.
//
// An acknowledged end report is the hand-over: from then on the edge owns
// the session, so a harness counts exactly these and expects each in the
// cloud once.
type Session struct {
	ChargerID  string    `json:"charger_id"`
	Connector  uint32    `json:"connector"`
	SessionRef string    `json:"session_ref"`
	CardID     string    `json:"card_id"`
	EnergyMWh  int64     `json:"energy_mwh"`
	StartedAt  time.Time `json:"started_at"`
	EndedAt    time.Time `json:"ended_at"`
}

// SessionLog writes sessions as JSON lines, one Write per line, so a reader
// (or a crash of this process) never sees a partial record once Record has
// returned. It is safe for concurrent use.
type SessionLog struct {
	mu  sync.Mutex
	w   io.Writer
	n   int
	err error
}

// NewSessionLog writes to w; pass an unbuffered *os.File so that every line
// reaches the file as it is recorded.
func NewSessionLog(w io.Writer) *SessionLog { return &SessionLog{w: w} }

// Record appends one line. A failed write is kept (see Err) and stops
// further writes, so the log never holds lines after a gap.
func (l *SessionLog) Record(s Session) {
	b, err := json.Marshal(s)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return
	}
	if err != nil {
		l.err = fmt.Errorf("encode session: %w", err)
		return
	}
	if _, err := l.w.Write(append(b, '\n')); err != nil {
		l.err = fmt.Errorf("write session log: %w", err)
		return
	}
	l.n++
}

// Count returns how many lines were written.
func (l *SessionLog) Count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// Err returns the first write error, if any.
func (l *SessionLog) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// ReadSessionLog reads a log written by SessionLog. A final line without its
// newline (the writer died mid-write) is ignored; any other bad line is an
// error naming its number.
func ReadSessionLog(r io.Reader) ([]Session, error) {
	br := bufio.NewReader(r)
	var out []Session
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return out, nil // a partial last line was never a record
		}
		if err != nil {
			return out, fmt.Errorf("read session log: %w", err)
		}
		var s Session
		if err := json.Unmarshal(line, &s); err != nil {
			return out, fmt.Errorf("session log line %d: %w", n, err)
		}
		out = append(out, s)
	}
}
