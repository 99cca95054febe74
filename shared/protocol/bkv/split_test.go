package bkv

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// stream feeds bytes to Split the way the gateway does: append what was
// read, then take frames and skip garbage until Split needs more.
type stream struct {
	buf     []byte
	frames  [][]byte
	skipped int
}

func (s *stream) write(tb testing.TB, p []byte) {
	tb.Helper()
	s.buf = append(s.buf, p...)
	for {
		n, err := Split(s.buf)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				tb.Fatalf("Split error %v is not a *bkv.Error", err)
			}
			if n < 1 || n > len(s.buf) {
				tb.Fatalf("Split(%x) = %d, %v: skip must be in [1, %d]", s.buf, n, err, len(s.buf))
			}
			s.skipped += n
			s.buf = s.buf[n:]
			continue
		}
		if n == 0 {
			return
		}
		if n > len(s.buf) {
			tb.Fatalf("Split(%x) = %d beyond the buffer", s.buf, n)
		}
		s.frames = append(s.frames, bytes.Clone(s.buf[:n]))
		s.buf = s.buf[n:]
	}
}

// validFrames returns the bytes of every valid vector.
func validFrames(tb testing.TB) [][]byte {
	tb.Helper()
	var frames [][]byte
	for _, v := range loadVectors(tb) {
		if v.Valid {
			b, err := hex.DecodeString(v.Hex)
			if err != nil {
				tb.Fatal(err)
			}
			frames = append(frames, b)
		}
	}
	return frames
}

func TestSplitByteAtATime(t *testing.T) {
	frames := validFrames(t)
	var s stream
	for _, b := range bytes.Join(frames, nil) {
		s.write(t, []byte{b})
	}
	if diff := cmp.Diff(frames, s.frames); diff != "" {
		t.Errorf("frames (-want +got):\n%s", diff)
	}
	if s.skipped != 0 || len(s.buf) != 0 {
		t.Errorf("skipped %d, left %d bytes; want 0, 0", s.skipped, len(s.buf))
	}
}

func TestSplitCoalesced(t *testing.T) {
	frames := validFrames(t)
	buf := bytes.Join(frames, nil)
	for i, want := range frames {
		n, err := Split(buf)
		if err != nil || n != len(want) || !bytes.Equal(buf[:n], want) {
			t.Fatalf("frame %d: Split = %d, %v; want %d, nil", i, n, err, len(want))
		}
		buf = buf[n:]
	}
	if n, err := Split(buf); n != 0 || err != nil {
		t.Errorf("empty buffer: Split = %d, %v; want 0, nil", n, err)
	}
}

func TestSplitNeedMore(t *testing.T) {
	for _, frame := range validFrames(t) {
		for i := 0; i < len(frame); i++ {
			if n, err := Split(frame[:i]); n != 0 || err != nil {
				t.Fatalf("Split(%x) = %d, %v; want 0, nil (need more)", frame[:i], n, err)
			}
		}
	}
}

// TestSplitResync puts garbage before, between and after frames: a stray
// byte, the guide's stray "41fcee" and "7cfcee" lines (§12 items 1, 5), a
// header with a bad length, a frame with a bad checksum and one with a bad
// packet type. Every good frame must come out, whatever the read sizes.
func TestSplitResync(t *testing.T) {
	frames := validFrames(t)
	a, b, c := frames[0], frames[6], frames[len(frames)-1]
	badSum := bytes.Clone(a)
	badSum[len(badSum)-3]++
	badType := bytes.Clone(b)
	badType[10] ^= 1
	garbage := [][]byte{
		{0x00, 0x41, 0xfc, 0xee}, // stray tail
		{0x7c, 0xfc, 0xee, 0xfc}, // stray "7cfcee" line, then a lone 0xfc
		{0xfc, 0xfe, 0x00, 0x05}, // length below the minimum
		{0xfc, 0xff, 0xff, 0xff}, // length above MaxFrameSize
		{0xfc, 0xfd, 0x00, 0x2e}, // bad header
	}
	var in []byte
	in = append(in, garbage[0]...)
	in = append(in, a...)
	in = append(in, garbage[1]...)
	in = append(in, garbage[2]...)
	in = append(in, b...)
	in = append(in, garbage[3]...)
	in = append(in, badSum...)
	in = append(in, garbage[4]...)
	in = append(in, badType...)
	in = append(in, c...)
	in = append(in, 0xfc) // an incomplete start stays buffered
	want := [][]byte{a, b, c}
	wantSkipped := len(in) - len(a) - len(b) - len(c) - 1

	check := func(name string, s *stream) {
		t.Helper()
		if diff := cmp.Diff(want, s.frames); diff != "" {
			t.Errorf("%s: frames (-want +got):\n%s", name, diff)
		}
		if s.skipped != wantSkipped || !bytes.Equal(s.buf, []byte{0xfc}) {
			t.Errorf("%s: skipped %d, left %x; want %d, fc", name, s.skipped, s.buf, wantSkipped)
		}
	}
	var whole stream
	whole.write(t, in)
	check("whole", &whole)
	var bytewise stream
	for _, x := range in {
		bytewise.write(t, []byte{x})
	}
	check("byte at a time", &bytewise)
	for cut := 0; cut <= len(in); cut++ {
		var s stream
		s.write(t, in[:cut])
		s.write(t, in[cut:])
		check("two reads", &s)
	}
}

func TestSplitErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		skip int
		want error
	}{
		{"not a header byte", "00 11 fc fe", 2, ErrBadHeader},
		{"no 0xfc at all", "00 11 22", 3, ErrBadHeader},
		{"bad second header byte", "fc fc fe", 1, ErrBadHeader},
		{"length too small", "fc fe 00 10", 4, ErrBadLength},
		{"length too large", "fc fe 07 fd 00 fc", 5, ErrTooLarge},
		{"packet type before the frame is complete", "fc fe 00 2e 0000 00000000 00", 11, ErrPacketType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Split(mustHex(t, tc.in))
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, tc.want) {
				t.Fatalf("Split = %d, %v; want cause %v", n, err, tc.want)
			}
			if n != tc.skip {
				t.Errorf("skip %d, want %d", n, tc.skip)
			}
		})
	}
}

func TestSniff(t *testing.T) {
	heartbeat := mustHex(t, "fcfe002e0000000000000182200520004869383938363034363331313230373033313934313763562e31723436001fcafcee")
	tests := []struct {
		name        string
		in          []byte
		match, more bool
	}{
		{"empty", nil, false, true},
		{"fc", heartbeat[:1], false, true},
		{"fc fe", heartbeat[:2], false, true},
		{"header and length", heartbeat[:4], false, true},
		{"ten bytes", heartbeat[:10], false, true},
		{"eleven bytes", heartbeat[:11], true, false},
		{"whole heartbeat", heartbeat, true, false},
		{"down header", mustHex(t, "fcff0018"), false, false},
		{"YKC", []byte{0x68, 0x22}, false, false},
		{"OCPP upgrade", []byte("GET /ocpp"), false, false},
		{"AP3000", []byte("DNY"), false, false},
		{"bad length", mustHex(t, "fcfe0001"), false, false},
		{"too large", mustHex(t, "fcfeffff"), false, false},
		{"platform packet type", mustHex(t, "fcfe002e 0000 00000000 00"), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			match, more := Sniff(tc.in)
			if match != tc.match || more != tc.more {
				t.Errorf("Sniff(%x) = %v, %v; want %v, %v", tc.in, match, more, tc.match, tc.more)
			}
		})
	}
}
