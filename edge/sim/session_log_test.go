package sim

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSessionLogConcurrentLinesReadBack(t *testing.T) {
	var buf bytes.Buffer
	l := NewSessionLog(&buf)
	base := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	want := map[string]Session{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				s := Session{ChargerID: fmt.Sprintf("8200000000000%d", g), Connector: uint32(i%8 + 1), SessionRef: fmt.Sprint(i),
					CardID: "0000000000a1", EnergyMWh: int64(i * 1000), StartedAt: base.Add(time.Duration(i) * time.Second), EndedAt: base.Add(time.Hour)}
				mu.Lock()
				want[s.ChargerID+"/"+s.SessionRef] = s
				mu.Unlock()
				l.Record(s)
			}
		})
	}
	wg.Wait()
	if l.Count() != 400 || l.Err() != nil {
		t.Fatalf("count %d err %v, want 400 lines and no error", l.Count(), l.Err())
	}
	got, err := ReadSessionLog(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 400 {
		t.Fatalf("read %d sessions, want 400", len(got))
	}
	for _, s := range got {
		if diff := cmp.Diff(want[s.ChargerID+"/"+s.SessionRef], s); diff != "" {
			t.Fatalf("session read back differs (-want +got):\n%s", diff)
		}
	}
}

func TestReadSessionLogPartialAndBadLines(t *testing.T) {
	good := `{"charger_id":"82000000000001","connector":3,"session_ref":"7","card_id":"","energy_mwh":5000,"started_at":"2026-03-01T08:00:00Z","ended_at":"2026-03-01T09:00:00Z"}` + "\n"
	got, err := ReadSessionLog(strings.NewReader(good + `{"charger_id":"8200`))
	if err != nil || len(got) != 1 || got[0].Connector != 3 || got[0].EnergyMWh != 5000 {
		t.Fatalf("with a torn last line: %+v, %v; want the one whole record", got, err)
	}
	if _, err := ReadSessionLog(strings.NewReader(good + "not json\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("bad line: err %v, want one naming line 2", err)
	}
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(p), nil
}

func TestSessionLogStopsAtFirstWriteError(t *testing.T) {
	w := &failingWriter{n: 1}
	l := NewSessionLog(w)
	l.Record(Session{SessionRef: "1"})
	l.Record(Session{SessionRef: "2"})
	w.n = 5 // the disk recovers: no line may follow the gap
	l.Record(Session{SessionRef: "3"})
	if l.Count() != 1 || l.Err() == nil || !strings.Contains(l.Err().Error(), "disk full") {
		t.Fatalf("count %d err %v, want 1 line then the write error kept", l.Count(), l.Err())
	}
}
