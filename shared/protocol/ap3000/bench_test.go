package ap3000

import (
	"bytes"
	"testing"
)

func vectorFrame(tb testing.TB, id string) []byte {
	tb.Helper()
	for _, v := range loadVectors(tb) {
		if v.ID == id {
			return v.bytes(tb)
		}
	}
	tb.Fatalf("no vector %s", id)
	return nil
}

func benchmarkDecode(b *testing.B, frame []byte) {
	b.Helper()
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, err := Decode(frame); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeHeartbeat decodes the 0x21 heartbeat, the one the guide
// recommends and every device sends every 3 minutes.
func BenchmarkDecodeHeartbeat(b *testing.B) {
	benchmarkDecode(b, vectorFrame(b, "ap3000-21-up-1"))
}

// BenchmarkDecodeStatus decodes the 0x06 charging power heartbeat in its
// full v8.6 layout: one per charging port every 5 minutes, so on multi-port
// piles the most frequent report.
func BenchmarkDecodeStatus(b *testing.B) {
	benchmarkDecode(b, vectorFrame(b, "ap3000-06-up-3"))
}

// BenchmarkSplit splits a connection's worth of coalesced frames.
func BenchmarkSplit(b *testing.B) {
	stream, want := connectionStream(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		n := 0
		for buf := stream; len(buf) > 0; {
			k, err := Split(buf)
			if err != nil || k == 0 {
				b.Fatalf("Split: %d, %v", k, err)
			}
			buf = buf[k:]
			n++
		}
		if n != len(want) {
			b.Fatalf("split %d units, want %d", n, len(want))
		}
	}
}

// BenchmarkAppendHeartbeatReply encodes the reply sent for every heartbeat.
func BenchmarkAppendHeartbeatReply(b *testing.B) {
	f := &Frame{PhysicalID: testPhy, MessageID: 1, Body: &HeartbeatReply{}}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		out, err := Append(buf[:0], f)
		if err != nil || !bytes.HasPrefix(out, []byte(magic)) {
			b.Fatal(err)
		}
	}
}

// BenchmarkSplitCraftedGarbage resyncs through 2 KiB built to be expensive:
// every 5 bytes a "DNY" whose length reaches the end of the window.
func BenchmarkSplitCraftedGarbage(b *testing.B) {
	var garbage []byte
	for len(garbage)+5 < MaxFrameSize {
		p := len(garbage)
		garbage = append(garbage, 'D', 'N', 'Y', byte(MaxFrameSize-p-5), byte((MaxFrameSize-p-5)>>8))
	}
	garbage = append(garbage, garbage...)
	b.ReportAllocs()
	b.SetBytes(int64(len(garbage)))
	for b.Loop() {
		for buf := garbage; len(buf) > 0; {
			n, err := Split(buf)
			if n == 0 {
				break
			}
			if err == nil {
				b.Fatal("garbage accepted as a frame")
			}
			buf = buf[n:]
		}
	}
}
