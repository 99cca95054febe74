package framelog

import (
	"bytes"
	"testing"
	"time"
)

func TestRingKeepsNewestInOrder(t *testing.T) {
	l := New(Config{PerCharger: 3, MaxFrameBytes: 4, MaxChargers: 10})
	t0 := time.Unix(1000, 0)
	for i := range 5 {
		l.Record("c1", "bkv", Up, t0.Add(time.Duration(i)*time.Second), []byte{byte(i), 1, 2, 3, 4, 5})
	}
	got := l.Frames("c1")
	if len(got) != 3 {
		t.Fatalf("kept %d frames, want 3", len(got))
	}
	for i, e := range got {
		if e.Frame[0] != byte(i+2) || len(e.Frame) != 4 || !e.Truncated {
			t.Errorf("entry %d = %+v, want frame %d truncated to 4 bytes", i, e, i+2)
		}
	}
}

func TestRecordCopies(t *testing.T) {
	l := New(DefaultConfig())
	buf := []byte{1, 2, 3}
	l.Record("c", "bkv", Down, time.Now(), buf)
	buf[0] = 9
	if got := l.Frames("c")[0].Frame; !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Fatalf("entry aliases the caller's buffer: %v", got)
	}
}

func TestEvictsLeastRecentlyActiveCharger(t *testing.T) {
	l := New(Config{PerCharger: 2, MaxFrameBytes: 16, MaxChargers: 2})
	t0 := time.Unix(1000, 0)
	l.Record("a", "bkv", Up, t0, []byte{1})
	l.Record("b", "bkv", Up, t0.Add(time.Second), []byte{2})
	l.Record("a", "bkv", Up, t0.Add(2*time.Second), []byte{3})
	l.Record("c", "bkv", Up, t0.Add(3*time.Second), []byte{4})
	if l.Chargers() != 2 || l.Frames("b") != nil || l.Frames("a") == nil || l.Frames("c") == nil {
		t.Fatalf("after eviction: chargers=%d a=%v b=%v c=%v", l.Chargers(), l.Frames("a"), l.Frames("b"), l.Frames("c"))
	}
}

func TestDisabledAndNil(t *testing.T) {
	var nilLog *Log
	nilLog.Record("a", "bkv", Up, time.Now(), []byte{1}) // must not panic
	l := New(Config{PerCharger: 0, MaxFrameBytes: 16, MaxChargers: 1})
	l.Record("a", "bkv", Up, time.Now(), []byte{1})
	if l.Chargers() != 0 {
		t.Fatal("disabled log recorded a frame")
	}
}

func TestFramesOrderedByTime(t *testing.T) {
	l := New(DefaultConfig())
	t0 := time.Unix(1000, 0)
	l.Record("c", "bkv", Down, t0.Add(time.Millisecond), []byte{2})
	l.Record("c", "bkv", Up, t0, []byte{1})
	got := l.Frames("c")
	if len(got) != 2 || got[0].Frame[0] != 1 || got[1].Frame[0] != 2 {
		t.Fatalf("frames = %+v, want the earlier frame first", got)
	}
}
