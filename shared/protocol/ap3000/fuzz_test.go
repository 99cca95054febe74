package ap3000

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func addVectorSeeds(f *testing.F) {
	f.Helper()
	for _, v := range loadVectors(f) {
		b := v.bytes(f)
		f.Add(b, uint(len(b)/2))
	}
	stream, _ := connectionStream(f)
	f.Add(stream, uint(7))
}

// FuzzSplit feeds the input in two reads split at a fuzzer-chosen point and
// requires the same units, skipped bytes and leftover as one read.
func FuzzSplit(f *testing.F) {
	addVectorSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, cut uint) {
		k := int(cut % uint(len(data)+1))
		units1, skipped1, pending1 := feed(t, data)
		units2, skipped2, pending2 := feed(t, data[:k], data[k:])
		if diff := cmp.Diff(units1, units2); diff != "" {
			t.Fatalf("units differ when split at %d (-one read +two reads):\n%s", k, diff)
		}
		if skipped1 != skipped2 || !bytes.Equal(pending1, pending2) {
			t.Fatalf("split at %d: skipped %d vs %d, pending %x vs %x", k, skipped1, skipped2, pending1, pending2)
		}
		Sniff(data)
	})
}

// FuzzDecode splits the input fed in two reads, then decodes every unit in
// both directions and requires decode → encode → decode to give the same
// value (and the same bytes). To reach the message decoders past the
// checksum, it also decodes the input with its header, length and checksum
// repaired.
func FuzzDecode(f *testing.F) {
	addVectorSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, cut uint) {
		k := int(cut % uint(len(data)+1))
		units, _, _ := feed(t, data[:k], data[k:])
		units = append(units, data, repair(data))
		for _, u := range units {
			for _, dir := range []Direction{Up, Down} {
				checkDecodeRoundTrip(t, u, dir)
			}
			_, _ = Inspect(u, "")
		}
	})
}

// repair turns arbitrary bytes into a well-framed DNY frame: the input
// supplies physical id, message id, command and data.
func repair(data []byte) []byte {
	if len(data) < HeaderSize {
		return nil
	}
	if len(data)+2 > MaxFrameSize {
		data = data[:MaxFrameSize-2]
	}
	out := append([]byte(magic), data[3:]...)
	binary.LittleEndian.PutUint16(out[offLength:], uint16(len(out)+2-5))
	return binary.LittleEndian.AppendUint16(out, checksum(out))
}

func checkDecodeRoundTrip(t *testing.T, frame []byte, dir Direction) {
	t.Helper()
	f1, err := DecodeDir(frame, dir)
	if err != nil {
		return
	}
	enc, err := Append(nil, f1)
	if err != nil {
		t.Fatalf("Append(DecodeDir(%x, %v)) failed: %v\nframe: %#v", frame, dir, err, f1.Body)
	}
	f2, err := DecodeDir(enc, dir)
	if err != nil {
		t.Fatalf("re-decode of %x (%v) failed: %v", enc, dir, err)
	}
	if diff := cmp.Diff(f1, f2); diff != "" {
		t.Fatalf("decode → encode → decode differs for %x (%v) (-first +second):\n%s", frame, dir, diff)
	}
	if !bytes.Equal(enc, frame) {
		t.Fatalf("Append(DecodeDir(frame)) = %x, want %x", enc, frame)
	}
}
