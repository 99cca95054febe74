package ap3000

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// feed runs Split over a stream delivered in chunks, the way the gateway
// does: append each read to a buffer, take units off its front, skip
// garbage. It checks Split's contract on every call.
func feed(tb testing.TB, chunks ...[]byte) (units [][]byte, skipped int, pending []byte) {
	tb.Helper()
	var buf []byte
	for _, c := range chunks {
		buf = append(buf, c...)
		for len(buf) > 0 {
			n, err := Split(buf)
			if n < 0 || n > len(buf) {
				tb.Fatalf("Split(%x) = %d, out of range", buf, n)
			}
			if err != nil {
				var e *Error
				if n < 1 || !errors.As(err, &e) {
					tb.Fatalf("Split(%x) = %d, %v: want n >= 1 and an *Error", buf, n, err)
				}
				skipped += n
				buf = buf[n:]
				continue
			}
			if n == 0 {
				break
			}
			if decodePreamble(buf[:n]) == nil {
				if err := checkFrame(buf[:n]); err != nil {
					tb.Fatalf("Split returned a frame that fails the frame check: %x: %v", buf[:n], err)
				}
			}
			units = append(units, bytes.Clone(buf[:n]))
			buf = buf[n:]
		}
	}
	return units, skipped, buf
}

// validFrames returns every valid vector's frame.
func validFrames(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, v := range loadVectors(tb) {
		if v.Valid {
			out = append(out, v.bytes(tb))
		}
	}
	return out
}

func fromHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

const (
	iccidHex = "3839383630343438313631383730303634383135" // 89860448161870064815
	linkHex  = "6c696e6b"                                 // link
)

// connectionStream is what a device sends: ICCID, then frames, with a
// "link" keep-alive in the middle.
func connectionStream(tb testing.TB) (stream []byte, want [][]byte) {
	tb.Helper()
	want = append(want, fromHex(tb, iccidHex))
	frames := validFrames(tb)
	for i, f := range frames {
		if i == len(frames)/2 {
			want = append(want, fromHex(tb, linkHex))
		}
		want = append(want, f)
	}
	return bytes.Join(want, nil), want
}

func TestSplitByteAtATime(t *testing.T) {
	stream, want := connectionStream(t)
	chunks := make([][]byte, len(stream))
	for i := range stream {
		chunks[i] = stream[i : i+1]
	}
	got, skipped, pending := feed(t, chunks...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("units (-want +got):\n%s", diff)
	}
	if skipped != 0 || len(pending) != 0 {
		t.Errorf("skipped %d bytes, %d pending; want none", skipped, len(pending))
	}
}

func TestSplitCoalesced(t *testing.T) {
	stream, want := connectionStream(t)
	got, skipped, pending := feed(t, stream)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("units (-want +got):\n%s", diff)
	}
	if skipped != 0 || len(pending) != 0 {
		t.Errorf("skipped %d bytes, %d pending; want none", skipped, len(pending))
	}
}

func TestSplitResync(t *testing.T) {
	frames := validFrames(t)
	garbage := [][]byte{
		{0x00, 0xff, 'x', 'y'},
		[]byte("DN"),             // broken header
		[]byte("DNX"),            // wrong third byte
		[]byte("123456789z"),     // digits, too few for an ICCID
		[]byte("lin"),            // broken keep-alive
		fromHex(t, "444e59ffff"), // length above MaxFrameSize
		fromHex(t, "444e590500"), // length below the minimum
		fromHex(t, "444e5910003b37ab0401002198080200000905ef02"), // bad checksum
		fromHex(t, "444e5900013b37ab04"),                         // plausible length (261 bytes), never completed
		[]byte("\r\nGET / HTTP/1.1\r\n"),
	}
	var stream []byte
	var want [][]byte
	for i, f := range frames {
		stream = append(stream, garbage[i%len(garbage)]...)
		stream = append(stream, f...)
		want = append(want, f)
	}
	stream = append(stream, fromHex(t, linkHex)...)
	want = append(want, fromHex(t, linkHex))
	var garbageLen int
	for i := range frames {
		garbageLen += len(garbage[i%len(garbage)])
	}
	for _, size := range []int{1, 7, 64, len(stream)} {
		var chunks [][]byte
		for s := stream; len(s) > 0; s = s[min(size, len(s)):] {
			chunks = append(chunks, s[:min(size, len(s))])
		}
		got, skipped, pending := feed(t, chunks...)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("reads of %d: units (-want +got):\n%s", size, diff)
		}
		if skipped != garbageLen || len(pending) != 0 {
			t.Errorf("reads of %d: skipped %d, pending %d; want %d, 0", size, skipped, len(pending), garbageLen)
		}
	}
}

func TestSplitErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    []byte
		n     int
		cause error
	}{
		{"empty", nil, 0, nil},
		{"partial header", []byte("DN"), 0, nil},
		{"partial length", []byte("DNY\x10"), 0, nil},
		{"partial frame", fromHex(t, "444e5910003b37ab04"), 0, nil},
		{"partial ICCID", []byte("8986044816"), 0, nil},
		{"partial link", []byte("lin"), 0, nil},
		{"garbage run", []byte("\x00\x01\x02DNY"), 3, ErrBadHeader},
		{"wrong header byte", []byte("DNX"), 1, ErrBadHeader},
		{"short digit run", []byte("12345x"), 5, ErrBadHeader},
		{"not link", []byte("lx"), 1, ErrBadHeader},
		{"length too small", fromHex(t, "444e590800"), 1, ErrBadLength},
		{"length too large", fromHex(t, "444e59fc03"), 1, ErrTooLarge},
		{"bad checksum", fromHex(t, "444e5910003b37ab0401002198080200000905ef02"), 1, ErrChecksum},
		{"corrupt length with a whole frame inside", append(fromHex(t, "444e59f003"),
			fromHex(t, "444e5910003b37ab0401002198080200000905ee02")...), 1, ErrBadLength},
		{"ICCID then more digits", []byte("8986044816187006481512"), ICCIDSize, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Split(tc.in)
			if n != tc.n || !errors.Is(err, tc.cause) || (err == nil) != (tc.cause == nil) {
				t.Fatalf("Split = %d, %v; want %d, %v", n, err, tc.n, tc.cause)
			}
			var e *Error
			if err != nil && !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
		})
	}
}

func TestSniff(t *testing.T) {
	heartbeat := fromHex(t, "444e5910003b37ab0401002198080200000905ee02")
	cat := func(parts ...string) []byte { return []byte(joinStrings(parts)) }
	for _, tc := range []struct {
		name        string
		in          []byte
		match, more bool
	}{
		{"empty", nil, false, true},
		{"frame", heartbeat, true, false},
		{"D", []byte("D"), false, true},
		{"DN", []byte("DN"), false, true},
		{"ICCID then frame", cat("89860448161870064815", string(heartbeat)), true, false},
		{"ICCID, link, link, frame", cat("89860448161870064815", "link", "link", "DNY"), true, false},
		{"ICCID and three links push DNY past 32 bytes", cat("89860448161870064815", "link", "link", "link", "DNY"), false, false},
		{"partial ICCID", []byte("898604"), false, true},
		{"ICCID only", []byte("89860448161870064815"), false, true},
		{"link only", []byte("link"), false, true},
		{"partial link", []byte("li"), false, true},
		{"HTTP", []byte("GET / HTTP/1.1\r\n"), false, false},
		{"TLS", []byte{0x16, 0x03, 0x01}, false, false},
		{"short digit run", []byte("1234\x00"), false, false},
		{"bkv-like binary", []byte{0xfc, 0xfe, 0x00}, false, false},
		{"D then garbage", []byte("DX"), false, false},
		{"link then garbage", []byte("linkZ"), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			match, more := Sniff(tc.in)
			if match != tc.match || more != tc.more {
				t.Fatalf("Sniff(%q) = %v, %v; want %v, %v", tc.in, match, more, tc.match, tc.more)
			}
		})
	}
}

func joinStrings(parts []string) string {
	var b bytes.Buffer
	for _, p := range parts {
		b.WriteString(p)
	}
	return b.String()
}
