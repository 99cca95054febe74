package framelog

import (
	"bytes"
	"fmt"
	"math/rand/v2"
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

// TestRingMatchesModel drives the packed ring with random frame sizes,
// directions and settings and checks it against the obvious model (a
// slice of the last PerCharger entries): records wrap around the buffer's
// end, are dropped oldest first and the buffer grows, in every combination.
func TestRingMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, cfg := range []Config{
		{PerCharger: 1, MaxFrameBytes: 16, MaxChargers: 1},
		{PerCharger: 3, MaxFrameBytes: 40, MaxChargers: 1},
		{PerCharger: 32, MaxFrameBytes: 512, MaxChargers: 1},
		{PerCharger: 7, MaxFrameBytes: 600, MaxChargers: 1},
	} {
		l := New(cfg)
		var model []Entry
		t0 := time.Unix(1000, 0)
		for i := range 2000 {
			size := rng.IntN(cfg.MaxFrameBytes + 40)
			if rng.IntN(4) > 0 {
				size = rng.IntN(60) // mostly small frames, as on a real site
			}
			frame := make([]byte, size)
			for j := range frame {
				frame[j] = byte(rng.Uint32())
			}
			dir, proto := Up, "bkv"
			if rng.IntN(2) == 0 {
				dir, proto = Down, "ap3000"
			}
			at := t0.Add(time.Duration(i) * time.Millisecond)
			l.Record("c", proto, dir, at, frame)
			kept := min(size, cfg.MaxFrameBytes)
			model = append(model, Entry{At: at, Direction: dir, Protocol: proto,
				Frame: append([]byte{}, frame[:kept]...), Truncated: kept < size})
			if len(model) > cfg.PerCharger {
				model = model[1:]
			}
			got := l.Frames("c")
			if len(got) != len(model) {
				t.Fatalf("%+v record %d: %d entries, want %d", cfg, i, len(got), len(model))
			}
			for k := range got {
				g, w := got[k], model[k]
				if !g.At.Equal(w.At) || g.Direction != w.Direction || g.Protocol != w.Protocol ||
					!bytes.Equal(g.Frame, w.Frame) || g.Truncated != w.Truncated {
					t.Fatalf("%+v record %d entry %d:\n got %+v\nwant %+v", cfg, i, k, g, w)
				}
			}
		}
	}
}

// TestSteadyStateIsCompact: a charger that sent 32 heartbeats and got 32
// replies (the default ring, full) costs little more than the frames'
// bytes. Every connected charger has such a ring, so this is memory per
// connection.
func TestSteadyStateIsCompact(t *testing.T) {
	l := New(DefaultConfig())
	t0 := time.Unix(1000, 0)
	heartbeat, reply := make([]byte, 50), make([]byte, 30)
	for i := range 200 {
		l.Record("c", "bkv", Up, t0.Add(time.Duration(2*i)*time.Second), heartbeat)
		l.Record("c", "bkv", Down, t0.Add(time.Duration(2*i+1)*time.Second), reply)
	}
	r := l.chargers["c"]
	frameBytes := 16*len(heartbeat) + 16*len(reply)
	if r.count != 32 || r.used != frameBytes+32*headerSize {
		t.Fatalf("ring holds %d records in %d bytes, want 32 in %d", r.count, r.used, frameBytes+32*headerSize)
	}
	if c := cap(r.data); c > 2*1024 {
		t.Fatalf("ring buffer is %d bytes for %d bytes of frames, want ≤ 2 KiB", c, frameBytes)
	}
}

func TestProtocolNamesInterned(t *testing.T) {
	l := New(Config{PerCharger: 300, MaxFrameBytes: 16, MaxChargers: 1})
	t0 := time.Unix(1000, 0)
	for i := range 300 {
		l.Record("c", fmt.Sprintf("p%d", i), Up, t0.Add(time.Duration(i)*time.Second), []byte{byte(i)})
	}
	got := l.Frames("c")
	if len(got) != 300 || got[0].Protocol != "p0" || got[254].Protocol != "p254" {
		t.Fatalf("first names: %q %q, want p0 p254", got[0].Protocol, got[254].Protocol)
	}
	// Past 256 names the last slot is shared: the entry still has a name.
	if got[299].Protocol != "p255" {
		t.Fatalf("name past the table = %q, want the shared slot's p255", got[299].Protocol)
	}
	if len(l.protocols) != 256 {
		t.Fatalf("%d names interned, want the table's 256", len(l.protocols))
	}
}
