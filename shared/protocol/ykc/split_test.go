package ykc

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// validFrames returns the frames of all valid vectors, in file order.
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

// splitter is a stream reader as the gateway has one: bytes are appended
// to buf and drain returns every complete frame Split finds.
type splitter struct {
	buf     []byte
	skipped int
}

func (s *splitter) drain(tb testing.TB) [][]byte {
	tb.Helper()
	var frames [][]byte
	for {
		n, err := Split(s.buf)
		if n < 0 || n > len(s.buf) {
			tb.Fatalf("Split returned n = %d for %d bytes", n, len(s.buf))
		}
		if err != nil {
			var e *Error
			if n < 1 || !errors.As(err, &e) {
				tb.Fatalf("Split error %v with n = %d; want a *Error and n >= 1", err, n)
			}
			s.skipped += n
			s.buf = s.buf[n:]
			continue
		}
		if n == 0 {
			return frames
		}
		frames = append(frames, bytes.Clone(s.buf[:n]))
		s.buf = s.buf[n:]
	}
}

func TestSplitByteAtATime(t *testing.T) {
	want := validFrames(t)
	stream := bytes.Join(want, nil)
	var s splitter
	var got [][]byte
	for _, c := range stream {
		s.buf = append(s.buf, c)
		got = append(got, s.drain(t)...)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("frames (-want +got):\n%s", diff)
	}
	if s.skipped != 0 || len(s.buf) != 0 {
		t.Errorf("skipped %d bytes, %d left over; want 0, 0", s.skipped, len(s.buf))
	}
}

func TestSplitCoalesced(t *testing.T) {
	want := validFrames(t)
	s := splitter{buf: bytes.Join(want, nil)}
	got := s.drain(t)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("frames (-want +got):\n%s", diff)
	}
	if s.skipped != 0 || len(s.buf) != 0 {
		t.Errorf("skipped %d bytes, %d left over; want 0, 0", s.skipped, len(s.buf))
	}
}

// TestSplitRandomChunks feeds the stream in random chunk sizes: the frames
// must not depend on where reads break.
func TestSplitRandomChunks(t *testing.T) {
	want := validFrames(t)
	stream := bytes.Join(want, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		var s splitter
		var got [][]byte
		for rest := stream; len(rest) > 0; {
			k := min(len(rest), 1+rng.IntN(300))
			s.buf = append(s.buf, rest[:k]...)
			rest = rest[k:]
			got = append(got, s.drain(t)...)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("frames (-want +got):\n%s", diff)
		}
	}
}

// TestSplitResync puts garbage before and between frames: zero bytes, a
// stray start byte with a bad length, the spec's broken examples (bad CRC,
// bad length, wrong type), an unknown encryption flag and a frame with a
// swapped CRC. Split must skip them all and find every good frame, whole
// input at once or byte by byte.
func TestSplitResync(t *testing.T) {
	var bad [][]byte
	for _, v := range loadVectors(t) {
		if !v.Valid {
			bad = append(bad, v.bytes(t))
		}
	}
	good := validFrames(t)
	var stream []byte
	stream = append(stream, 0x00, 0xFF, 0x68, 0x02, 0x68) // garbage, start with L < 4
	var want [][]byte
	for i, g := range good {
		stream = append(stream, g...)
		want = append(want, g)
		stream = append(stream, bad[i%len(bad)]...)
		if i%3 == 0 {
			stream = append(stream, 0x68, 0x0d, 0x11, 0x00, 0x07) // bad flag
		}
	}
	stream = append(stream, good[0]...)
	want = append(want, good[0])

	s := splitter{buf: bytes.Clone(stream)}
	got := s.drain(t)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("all at once: frames (-want +got):\n%s", diff)
	}
	if len(s.buf) != 0 {
		t.Errorf("%d bytes left over", len(s.buf))
	}

	var s2 splitter
	var got2 [][]byte
	for _, c := range stream {
		s2.buf = append(s2.buf, c)
		got2 = append(got2, s2.drain(t)...)
	}
	if diff := cmp.Diff(want, got2); diff != "" {
		t.Errorf("byte at a time: frames (-want +got):\n%s", diff)
	}
}

func TestSplitErrors(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		n    int
		want error
	}{
		{"empty", "", 0, nil},
		{"start only", "68", 0, nil},
		{"header so far", "680d1100", 0, nil},
		{"incomplete", "680d11000003320102000000010201f1", 0, nil},
		{"garbage to next start", "00010268", 3, ErrBadHeader},
		{"garbage without start", "000102", 3, ErrBadHeader},
		{"length below 4", "6803", 1, ErrBadLength},
		{"bad flag", "680d110002", 1, ErrEncryptionFlag},
		{"length wrong for type", "680e11000003", 1, ErrBadLength},
		{"bad crc", "680d11000003320102000000010201f8f1", 1, ErrChecksum},
		{"frame", "680d11000003320102000000010201f1f8", 17, nil},
		{"frame and more", "680d11000003320102000000010201f1f868", 17, nil},
		{"unknown type any length", "680a110000f0010203040506f1f8", 1, ErrChecksum},
		{"encrypted any length", "680a11000103010203040506", 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := hexDecode(tc.hex)
			n, err := Split(b)
			if n != tc.n || !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("Split = %d, %v; want %d, %v", n, err, tc.n, tc.want)
			}
		})
	}
}

func TestSniff(t *testing.T) {
	login, _ := hexDecode("6822000000015503141278230500020f56342e312e3530000101010101010101010101040f32")
	tests := []struct {
		name        string
		prefix      []byte
		match, more bool
	}{
		{"empty", nil, false, true},
		{"start byte", login[:1], false, true},
		{"header", login[:6], false, true},
		{"login less one byte", login[:len(login)-1], false, true},
		{"login", login, true, false},
		{"login and more", append(bytes.Clone(login), 0x68, 0x0d), true, false},
		{"bad crc", append(bytes.Clone(login[:len(login)-1]), login[len(login)-1]^1), false, false},
		{"platform frame first", []byte{0x68, 0x0c, 0, 0, 0, 0x02}, false, false},
		{"HTTP", []byte("GET / HTTP/1.1\r\n"), false, false},
		{"AP3000", []byte("DNY"), false, false},
		{"bad length for login", []byte{0x68, 0x23, 0, 0, 0, 0x01}, false, false},
		{"bad flag", []byte{0x68, 0x22, 0, 0, 9}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			match, more := Sniff(tc.prefix)
			if match != tc.match || more != tc.more {
				t.Errorf("Sniff = %v, %v; want %v, %v", match, more, tc.match, tc.more)
			}
		})
	}
}
