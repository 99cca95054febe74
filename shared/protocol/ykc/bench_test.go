package ykc

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func mustHex(b *testing.B, s string) []byte {
	b.Helper()
	out, err := hex.DecodeString(s)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

func benchDecode(b *testing.B, frame []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, err := Decode(frame); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeHeartbeat decodes vector ykc-03-up-1, the most frequent
// frame (every 10 s per gun).
func BenchmarkDecodeHeartbeat(b *testing.B) {
	benchDecode(b, mustHex(b, "680d00010003320102000000010100f11a"))
}

// BenchmarkDecodeRealtimeData decodes vector ykc-13-up-5, the 0x13
// real-time monitoring data upload (every 15 s per charging gun).
func BenchmarkDecodeRealtimeData(b *testing.B) {
	benchDecode(b, mustHex(b, "68402c010013320102000000010225060118050000073201020000000102030001b7083e014e000000000000000000005f000000d9b60100d9b601009e0e020000001c21"))
}

// BenchmarkSplit splits a buffer holding every valid vector back to back,
// as a coalesced TCP read would.
func BenchmarkSplit(b *testing.B) {
	stream := bytes.Join(validFrames(b), nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		buf := stream
		for len(buf) > 0 {
			n, err := Split(buf)
			if err != nil || n == 0 {
				b.Fatalf("Split = %d, %v", n, err)
			}
			buf = buf[n:]
		}
	}
}

// BenchmarkAppendHeartbeatReply encodes the reply to every heartbeat.
func BenchmarkAppendHeartbeatReply(b *testing.B) {
	f := &Frame{Seq: 256, Body: &HeartbeatReply{PileCode: "32010200000001", Gun: "01"}}
	buf := make([]byte, 0, MaxFrameSize)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = Append(buf[:0], f); err != nil {
			b.Fatal(err)
		}
	}
}
