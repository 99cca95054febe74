package ykc

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// vector is one entry of testdata/vectors.json (shared/protocols/README.md).
type vector struct {
	ID        string         `json:"id"`
	Source    string         `json:"source"`
	Direction string         `json:"direction"`
	Hex       string         `json:"hex"`
	Valid     bool           `json:"valid"`
	Expect    map[string]any `json:"expect"`
	Note      string         `json:"note"`
}

const (
	vectorsCopy      = "testdata/vectors.json"
	vectorsReference = "../../../../shared/protocols/vectors/ykc.json"
)

func loadVectors(tb testing.TB) []vector {
	tb.Helper()
	data, err := os.ReadFile(vectorsCopy)
	if err != nil {
		tb.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(data, &vs); err != nil {
		tb.Fatalf("parse %s: %v", vectorsCopy, err)
	}
	return vs
}

// bytes returns the vector's frame. A few of the spec's examples print an
// odd number of hex digits (a 31-digit transaction number, ykc.md §11.3);
// for those the whole bytes before the stray digit are returned, which is
// what a device would have put on the wire at best.
func (v vector) bytes(tb testing.TB) []byte {
	tb.Helper()
	b, err := hex.DecodeString(v.Hex)
	if err != nil {
		if errors.Is(err, hex.ErrLength) && !v.Valid {
			return b
		}
		tb.Fatalf("%s: bad hex: %v", v.ID, err)
	}
	return b
}

// TestVectorsInSync keeps testdata/vectors.json byte-identical with the
// reference beside the repository, when that reference is present.
func TestVectorsInSync(t *testing.T) {
	ref, err := os.ReadFile(vectorsReference)
	if errors.Is(err, os.ErrNotExist) {
		t.Logf("reference %s not present; nothing to compare", vectorsReference)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	cp, err := os.ReadFile(vectorsCopy)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ref, cp) {
		t.Fatalf("%s differs from %s; copy the reference over", vectorsCopy, vectorsReference)
	}
}

// sentinelFor picks the expected cause of an invalid vector from its note.
// One note ("Length byte does not match the bytes") is used both for frames
// with more bytes than their length byte says and for frames with fewer;
// for it the frame's own byte count decides between ErrBadLength and
// ErrShortFrame.
func sentinelFor(note string, frame []byte) error {
	n := strings.ToLower(note)
	switch {
	case strings.Contains(n, "not even hex"):
		// The printed frame lacks a nibble, so its bytes end one short of
		// what its length byte announces.
		return ErrShortFrame
	case strings.Contains(n, "truncated"):
		return ErrShortFrame
	case strings.Contains(n, "body bytes for a"):
		// "Only 15 body bytes for a 16-byte message": the length byte is
		// right for the type, the bytes end early.
		return ErrShortFrame
	case strings.Contains(n, "length byte does not match the bytes"):
		if len(frame) >= 2 && len(frame) < int(frame[1])+4 {
			return ErrShortFrame
		}
		return ErrBadLength
	case strings.Contains(n, "frame type byte is"):
		// The body does not fit the type the byte names (ykc.md §5).
		return ErrBadLength
	case strings.Contains(n, "length"),
		strings.Contains(n, "body must be"),
		strings.Contains(n, "body bytes"):
		return ErrBadLength
	case strings.Contains(n, "0x00 and 0x01"):
		return ErrEncryptionFlag
	case strings.Contains(n, "start byte"):
		return ErrBadHeader
	case strings.Contains(n, "crc"):
		return ErrChecksum
	}
	return nil
}

func TestVectors(t *testing.T) {
	var valid, invalid int
	for _, v := range loadVectors(t) {
		ok := t.Run(v.ID, func(t *testing.T) {
			if v.Valid {
				checkValidVector(t, v)
			} else {
				checkInvalidVector(t, v)
			}
		})
		switch {
		case ok && v.Valid:
			valid++
		case ok:
			invalid++
		}
	}
	t.Logf("ykc vectors: %d valid decoded, %d invalid rejected", valid, invalid)
}

func checkValidVector(t *testing.T, v vector) {
	frame := v.bytes(t)
	if n, err := Split(frame); n != len(frame) || err != nil {
		t.Fatalf("Split = %d, %v; want %d, nil", n, err, len(frame))
	}
	f, err := Decode(frame)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	got, err := Inspect(frame, v.Direction)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	gotJSON := normalize(t, got)
	for key, want := range v.Expect {
		g, ok := gotJSON[key]
		if !ok {
			t.Errorf("Inspect: missing %q (want %v)", key, want)
			continue
		}
		if diff := diffValue(key, want, g); diff != "" {
			t.Errorf("Inspect: %s", diff)
		}
	}
	// Every YKC field is deterministic as long as the CP56Time2a flag bits
	// are clear, which they are in all vectors: the frame must come back
	// byte for byte.
	out, err := Append(nil, f)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if !bytes.Equal(out, frame) {
		t.Errorf("Append(Decode(frame)):\n got %x\nwant %x", out, frame)
	}
}

func checkInvalidVector(t *testing.T, v vector) {
	frame := v.bytes(t)
	want := sentinelFor(v.Note, frame)
	if want == nil {
		t.Fatalf("no sentinel known for note %q", v.Note)
	}
	_, err := Decode(frame)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Decode error = %v (%T); want a *Error", err, err)
	}
	if !errors.Is(err, want) {
		t.Fatalf("Decode error = %v; want cause %v", err, want)
	}
	if e.Offset < 0 || e.Offset > len(frame) {
		t.Errorf("Decode error offset %d outside the frame (%d bytes)", e.Offset, len(frame))
	}
	if n, err := Split(frame); err == nil && n == len(frame) {
		t.Errorf("Split accepted the frame whole")
	}
	if _, err := Inspect(frame, v.Direction); !errors.Is(err, want) {
		t.Errorf("Inspect error = %v; want cause %v", err, want)
	}
}

// normalize turns Inspect's output into what encoding/json makes of it, so
// that it compares with the vectors' expect objects type for type.
func normalize(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("marshal Inspect output: %v", err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// diffValue compares an expected JSON value with a got one: numbers
// numerically, strings exactly, arrays and objects recursively.
func diffValue(path string, want, got any) string {
	switch w := want.(type) {
	case float64:
		g, ok := got.(float64)
		if !ok || g != w {
			return fmt.Sprintf("%s = %v (%T), want %v", path, got, got, w)
		}
	case string:
		g, ok := got.(string)
		if !ok || g != w {
			return fmt.Sprintf("%s = %q, want %q", path, got, w)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s = %v, want %v", path, got, w)
		}
		for i := range w {
			if d := diffValue(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); d != "" {
				return d
			}
		}
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s = %v, want object %v", path, got, w)
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Sprintf("%s.%s missing", path, k)
			}
			if d := diffValue(path+"."+k, wv, gv); d != "" {
				return d
			}
		}
	case bool, nil:
		if got != want {
			return fmt.Sprintf("%s = %v, want %v", path, got, want)
		}
	default:
		return fmt.Sprintf("%s: unexpected expect type %T", path, want)
	}
	return ""
}
