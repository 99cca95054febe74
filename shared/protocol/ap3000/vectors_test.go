package ap3000

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
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
	vectorsReference = "../../../../shared/protocols/vectors/ap3000.json"
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

func (v vector) bytes(tb testing.TB) []byte {
	tb.Helper()
	b, err := hex.DecodeString(v.Hex)
	if err != nil {
		tb.Fatalf("%s: bad hex: %v", v.ID, err)
	}
	return b
}

func (v vector) dir(tb testing.TB) Direction {
	tb.Helper()
	switch v.Direction {
	case "up":
		return Up
	case "down":
		return Down
	}
	tb.Fatalf("%s: direction %q", v.ID, v.Direction)
	return 0
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
// notDNY is true for the preamble units of ap3000.md §1.
func sentinelFor(note string) (cause error, notDNY bool) {
	n := strings.ToLower(note)
	switch {
	case strings.Contains(n, "not a dny frame"):
		return ErrBadHeader, true
	case strings.Contains(n, "checksum mismatch"):
		return ErrChecksum, false
	case strings.Contains(n, "truncated"):
		return ErrShortFrame, false
	case strings.Contains(n, "header"):
		return ErrBadHeader, false
	case strings.Contains(n, "length"):
		return ErrBadLength, false
	}
	return nil, false
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
	t.Logf("ap3000 vectors: %d valid decoded, %d invalid rejected", valid, invalid)
}

func checkValidVector(t *testing.T, v vector) {
	frame := v.bytes(t)
	if n, err := Split(frame); n != len(frame) || err != nil {
		t.Fatalf("Split = %d, %v; want %d, nil", n, err, len(frame))
	}
	f, err := DecodeDir(frame, v.dir(t))
	if err != nil {
		t.Fatalf("DecodeDir(%s): %v", v.Direction, err)
	}
	if v.Direction == "up" {
		if _, err := Decode(frame); err != nil {
			t.Fatalf("Decode: %v", err)
		}
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
	// Every AP3000 layout is deterministic: Extra keeps unknown bytes and
	// optional fields are present exactly when they were on the wire.
	out, err := Append(nil, f)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if !bytes.Equal(out, frame) {
		t.Fatalf("Append(Decode(frame)):\n got %x\nwant %x", out, frame)
	}
}

func checkInvalidVector(t *testing.T, v vector) {
	frame := v.bytes(t)
	cause, notDNY := sentinelFor(v.Note)
	if cause == nil {
		t.Fatalf("no sentinel for note %q", v.Note)
	}
	if notDNY {
		// ICCID and "link" are not DNY frames (ap3000.md §1), yet a reader
		// must not drop the connection over them: Split returns each as a
		// unit and Decode turns it into *ICCID / *Link. Rejected is the
		// attempt to read it as a DNY frame.
		if n, err := Split(frame); n != len(frame) || err != nil {
			t.Fatalf("Split = %d, %v; want the whole preamble unit", n, err)
		}
		f, err := Decode(frame)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		switch f.Body.(type) {
		case *ICCID, *Link:
		default:
			t.Fatalf("Decode body = %T, want *ICCID or *Link", f.Body)
		}
		wantCause(t, "DNY frame check", checkFrame(frame), cause)
		return
	}
	if n, err := Split(frame); err != nil {
		wantCause(t, "Split", err, cause)
	} else if n == len(frame) {
		t.Fatalf("Split accepted the frame")
	}
	_, err := Decode(frame)
	wantCause(t, "Decode", err, cause)
}

func wantCause(t *testing.T, what string, err, cause error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: error %v is not an *Error", what, err)
	}
	if !errors.Is(err, cause) {
		t.Fatalf("%s: error %v, want cause %v", what, err, cause)
	}
}

// normalize passes Inspect's map through JSON, as the frame tool prints it,
// so it compares like the vectors' expect objects.
func normalize(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("Inspect result is not JSON: %v", err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// diffValue compares numbers numerically, strings exactly, and arrays and
// objects recursively (an expected object's keys must all be present).
func diffValue(path string, want, got any) string {
	switch w := want.(type) {
	case float64:
		g, ok := got.(float64)
		if !ok || math.Abs(w-g) > 1e-9*math.Max(1, math.Abs(w)) {
			return fmt.Sprintf("%s = %v, want %v", path, got, w)
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
			return fmt.Sprintf("%s = %v, want an object", path, got)
		}
		for k, wv := range w {
			if d := diffValue(path+"."+k, wv, g[k]); d != "" {
				return d
			}
		}
	default:
		if want != got {
			return fmt.Sprintf("%s = %#v, want %#v", path, got, want)
		}
	}
	return ""
}
