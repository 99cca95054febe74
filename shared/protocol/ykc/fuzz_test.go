package ykc

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// addSeeds seeds a fuzz target with every vector (valid and invalid), cut
// in the middle, and with all valid frames back to back.
func addSeeds(f *testing.F) {
	vs := loadVectors(f)
	var all []byte
	for _, v := range vs {
		b := v.bytes(f)
		f.Add(b, uint(len(b)/2))
		if v.Valid {
			all = append(all, b...)
		}
	}
	f.Add(all, uint(len(all)/3))
}

// cutPoint maps the fuzzer's cut onto 0..len(data).
func cutPoint(data []byte, cut uint) int { return int(cut % uint(len(data)+1)) }

// FuzzSplit feeds the input to a stream reader in two parts, split at a
// fuzzer-chosen point, and requires the same frames, skips and leftover as
// when the input arrives at once. Every frame found must survive
// decode → encode → decode. Sniff is checked on the same two parts.
func FuzzSplit(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, cut uint) {
		c := cutPoint(data, cut)
		whole := splitter{buf: bytes.Clone(data)}
		wantFrames := whole.drain(t)

		var parts splitter
		parts.buf = append(parts.buf, data[:c]...)
		gotFrames := parts.drain(t)
		parts.buf = append(parts.buf, data[c:]...)
		gotFrames = append(gotFrames, parts.drain(t)...)

		// Compared by hand: cmp.Diff is quadratic on the thousands of frames
		// a large input can hold.
		if !slices.EqualFunc(wantFrames, gotFrames, bytes.Equal) {
			t.Fatalf("frames depend on the read boundary at %d:\nwhole %x\nparts %x", c, wantFrames, gotFrames)
		}
		if whole.skipped != parts.skipped || !bytes.Equal(whole.buf, parts.buf) {
			t.Fatalf("skipped %d/%d, left %x/%x", whole.skipped, parts.skipped, whole.buf, parts.buf)
		}
		// Sniff must not panic, and once it has decided on a prefix, more
		// bytes must not change its mind.
		if m1, more1 := Sniff(data[:c]); !more1 {
			if m2, more2 := Sniff(data); m2 != m1 || more2 {
				t.Fatalf("Sniff(prefix %d) = %v, %v but Sniff(all) = %v, %v", c, m1, more1, m2, more2)
			}
		}
		for _, fr := range gotFrames {
			if _, err := Split(fr); err != nil {
				t.Fatalf("Split(frame it returned) = %v", err)
			}
			checkRoundTrip(t, fr)
		}
	})
}

// FuzzDecode decodes the input as one frame, and also each frame a stream
// reader finds when the input arrives in two parts. Decode must never
// panic, must fail only with a *Error, and a decoded value must survive
// encode → decode unchanged. Frames are decoded straight from the reader's
// buffer, which is then overwritten, to catch values that alias it.
func FuzzDecode(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, cut uint) {
		checkRoundTrip(t, data)

		c := cutPoint(data, cut)
		var s splitter
		for _, part := range [][]byte{data[:c], data[c:]} {
			s.buf = append(s.buf, part...)
			for {
				n, err := Split(s.buf)
				if err != nil {
					s.buf = s.buf[n:]
					continue
				}
				if n == 0 {
					break
				}
				fr := s.buf[:n]
				want := bytes.Clone(fr)
				got, err := Decode(fr)
				for i := range fr {
					fr[i] = ^fr[i]
				}
				if err == nil {
					again, err := Decode(want)
					if err != nil {
						t.Fatalf("Decode of a copy failed: %v", err)
					}
					if diff := cmp.Diff(again, got); diff != "" {
						t.Fatalf("decoded value aliases the buffer (-want +got):\n%s", diff)
					}
				}
				s.buf = s.buf[n:]
			}
		}
	})
}

// checkRoundTrip decodes frame; if that succeeds, Inspect must succeed and
// Append(Decode(frame)) must decode to the same value; if it fails, the
// error must be a *Error and Inspect must fail too.
func checkRoundTrip(t *testing.T, frame []byte) {
	t.Helper()
	f, err := Decode(frame)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("Decode error %v (%T) is not a *Error", err, err)
		}
		if e.Offset < 0 || e.Offset > len(frame) {
			t.Fatalf("Decode error offset %d outside the frame (%d bytes)", e.Offset, len(frame))
		}
		if _, err := Inspect(frame, ""); err == nil {
			t.Fatalf("Inspect succeeded where Decode failed")
		}
		return
	}
	if _, err := Inspect(frame, ""); err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	out, err := Append(nil, f)
	if err != nil {
		t.Fatalf("Append(Decode(%x)): %v", frame, err)
	}
	f2, err := Decode(out)
	if err != nil {
		t.Fatalf("Decode(Append(Decode(%x))) = %x: %v", frame, out, err)
	}
	if diff := cmp.Diff(f, f2); diff != "" {
		t.Fatalf("decode → encode → decode changed the value (-first +second):\n%s", diff)
	}
}
