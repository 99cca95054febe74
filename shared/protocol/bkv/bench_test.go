package bkv

import (
	"testing"
)

func mustAppend(tb testing.TB, f *Frame) []byte {
	tb.Helper()
	b, err := Append(nil, f)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func BenchmarkDecodeHeartbeat(b *testing.B) {
	frame := mustHex(b, "fcfe002e000000000000018224121800038238393836303835353130323444313938383139363230302e312e31371c5dfcee")
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, err := Decode(frame); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeStatusCluster decodes a 0x1000/0x1017 report with four
// sockets of two ports each.
func BenchmarkDecodeStatusCluster(b *testing.B) {
	report := &StatusReport{}
	for s := uint8(1); s <= 4; s++ {
		report.Sockets = append(report.Sockets, SocketReport{
			Socket: s, SocketFirmware: 0x5140, Temperature: 30, RSSI: 28,
			Ports: []PortReport{
				{Port: 0, Status: 0x90, BusinessNo: uint16(s), Voltage: 2295, Power: 1234, Current: 561, Energy: 37, Minutes: 12},
				{Port: 1, Status: 0x80, Voltage: 2295, Current: 1},
			},
		})
	}
	frame := mustAppend(b, &Frame{Direction: Up, Command: CommandBKV, GatewayID: testGateway, Body: report})
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, err := Decode(frame); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSplit splits a buffer of every valid vector, coalesced.
func BenchmarkSplit(b *testing.B) {
	var buf []byte
	frames := validFrames(b)
	for _, f := range frames {
		buf = append(buf, f...)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		rest := buf
		for len(rest) > 0 {
			n, err := Split(rest)
			if err != nil || n == 0 {
				b.Fatalf("Split = %d, %v", n, err)
			}
			rest = rest[n:]
		}
	}
}

func BenchmarkAppendStatusAck(b *testing.B) {
	f := &Frame{Direction: Down, Command: CommandBKV, GatewayID: testGateway, Body: &StatusReportAck{Result: ResultOK}}
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Append(dst[:0], f); err != nil {
			b.Fatal(err)
		}
	}
}
