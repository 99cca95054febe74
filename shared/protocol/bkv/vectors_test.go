package bkv

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
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

func loadVectors(tb testing.TB) []vector {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "vectors.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(data, &vs); err != nil {
		tb.Fatalf("parse vectors: %v", err)
	}
	return vs
}

// referenceVectors is the protocol reference beside the repository.
var referenceVectors = filepath.Join("..", "..", "..", "..", "shared", "protocols", "vectors", "bkv.json")

func TestVectorsInSync(t *testing.T) {
	want, err := os.ReadFile(referenceVectors)
	if errors.Is(err, fs.ErrNotExist) {
		t.Logf("reference %s not found (checkout without the protocol reference); nothing to compare", referenceVectors)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("testdata", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("testdata/vectors.json differs from %s: copy the reference again", referenceVectors)
	}
}

// invalidCause is the cause each invalid vector must be rejected with,
// chosen from its note. A new invalid vector must be added here.
var invalidCause = map[string]error{
	"bkv-control-down-1":    ErrChecksum,   // "Bad checksum: the frame carries 0xc8 but its bytes sum to 0xd8"
	"bkv-powerstart-down-3": ErrBadLength,  // "Inner length 0x000d counts the sub-command byte"
	"bkv-svcstart-down-1":   ErrShortFrame, // "Length field 0x0063 (99) but 89 bytes follow it"
	"bkv-svcend-up-3":       ErrChecksum,   // "Checksum 0xdb is wrong for these bytes"
	"bkv-cardend-up-2":      ErrShortFrame, // "the frame is one byte shorter than its length field"
	"bkv-ota-down-1":        errNotHex,     // "Contains the non-hex digit 'g'"
	"bkv-seedtest-bad-1":    ErrTruncated,  // "Heartbeat command with a 5-byte payload; a device heartbeat carries 29 bytes"
	"bkv-seedtest-bad-2":    ErrTruncated,  // "An up-link 0x0C is the card charge-end report (>= 30 parameter bytes)"
	"bkv-seedcode-bad-3":    ErrBadLength,  // "Inner length 0x0002 for a single parameter byte"
	"bkv-bad-truncated-1":   ErrShortFrame, // "Length field says 50 bytes, 49 present"
	"bkv-bad-tail-1":        ErrBadTail,    // "Bad tail"
	"bkv-bad-header-1":      ErrBadHeader,  // "Unknown header"
	"bkv-bad-checksum-1":    ErrChecksum,   // "Checksum mismatch"
	"bkv-bad-packettype-1":  ErrPacketType, // "Packet type contradicts the header"
	"bkv-bad-kv-1":          ErrTruncated,  // "BKV KV overruns the payload"
}

// errNotHex marks a vector whose hex is not hex at all (the guide's OTA
// example prints the digit 'g'): no byte sequence exists to decode, so the
// test requires that hex decoding itself fails.
var errNotHex = errors.New("not hex")

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
	t.Logf("bkv vectors: %d valid decoded, %d invalid rejected", valid, invalid)
}

func checkValidVector(t *testing.T, v vector) {
	frame, err := hex.DecodeString(v.Hex)
	if err != nil {
		t.Fatalf("hex: %v", err)
	}
	if n, err := Split(frame); n != len(frame) || err != nil {
		t.Errorf("Split = %d, %v; want %d, nil", n, err, len(frame))
	}
	f, err := Decode(frame)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if f.Direction.String() != v.Direction {
		t.Errorf("direction %v, vector says %s", f.Direction, v.Direction)
	}
	got, err := Inspect(frame, v.Direction)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	for _, p := range matchExpect("", map[string]any(v.Expect), any(got)) {
		t.Errorf("Inspect: %s", p)
	}
	again, err := Append(nil, f)
	if err != nil {
		t.Fatalf("Append(Decode(frame)): %v", err)
	}
	if !bytes.Equal(again, frame) {
		t.Errorf("Append(Decode(frame)) does not reproduce the frame\n got %x\nwant %x", again, frame)
	}
}

func checkInvalidVector(t *testing.T, v vector) {
	want, ok := invalidCause[v.ID]
	if !ok {
		t.Fatalf("no expected cause for invalid vector (note: %q); add it to invalidCause", v.Note)
	}
	frame, err := hex.DecodeString(v.Hex)
	if want == errNotHex {
		var bad hex.InvalidByteError
		if !errors.As(err, &bad) {
			t.Fatalf("hex decoding = %v, want an invalid byte", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("hex: %v", err)
	}
	if framingCause(want) {
		if n, err := Split(frame); err == nil && n > 0 {
			t.Errorf("Split returned a %d-byte frame; want garbage or need-more", n)
		}
	}
	_, err = Decode(frame)
	checkCause(t, "Decode", err, want)
	_, err = Inspect(frame, v.Direction)
	checkCause(t, "Inspect", err, want)
}

// framingCause reports whether a cause is found by Split too; body errors
// are found only by Decode (Split returns such frames whole).
func framingCause(err error) bool {
	for _, f := range []error{ErrShortFrame, ErrBadHeader, ErrBadTail, ErrChecksum, ErrPacketType, ErrTooLarge} {
		if err == f {
			return true
		}
	}
	return false
}

func checkCause(t *testing.T, op string, err, want error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s error = %v (%T), want a *bkv.Error", op, err, err)
	}
	if !errors.Is(err, want) {
		t.Errorf("%s error = %v, want cause %v", op, err, want)
	}
}

// matchExpect compares an expect value from the vectors with Inspect's
// output: every expected field must be present and equal (numbers
// numerically, strings exactly, arrays and objects recursively); extra
// fields are allowed. It returns one line per mismatch.
func matchExpect(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %T %v, want an object", path, got, got)}
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var diffs []string
		for _, k := range keys {
			gv, present := g[k]
			if !present {
				diffs = append(diffs, fmt.Sprintf("%s.%s: missing, want %v", path, k, w[k]))
				continue
			}
			diffs = append(diffs, matchExpect(path+"."+k, w[k], gv)...)
		}
		return diffs
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: got %v, want %v", path, got, w)}
		}
		var diffs []string
		for i := range w {
			diffs = append(diffs, matchExpect(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return diffs
	case float64:
		if g, ok := number(got); !ok || g != w {
			return []string{fmt.Sprintf("%s: got %v (%T), want %v", path, got, got, w)}
		}
	case string, bool, nil:
		if got != want {
			return []string{fmt.Sprintf("%s: got %#v, want %#v", path, got, want)}
		}
	default:
		return []string{fmt.Sprintf("%s: unexpected JSON type %T", path, want)}
	}
	return nil
}

func number(v any) (float64, bool) {
	r := reflect.ValueOf(v)
	switch r.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(r.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(r.Uint()), true
	case reflect.Float32, reflect.Float64:
		return r.Float(), true
	}
	return 0, false
}

// TestMatchExpect checks the comparison TestVectors relies on.
func TestMatchExpect(t *testing.T) {
	got := map[string]any{
		"n": 227.5, "i": 31, "u": uint16(2), "s": "0x1017", "extra": true,
		"list": []any{map[string]any{"port": 0, "power_w": 0.4}},
	}
	ok := map[string]any{"n": 227.5, "i": 31.0, "u": 2.0, "s": "0x1017", "list": []any{map[string]any{"power_w": 0.4}}}
	if diffs := matchExpect("", ok, got); len(diffs) != 0 {
		t.Errorf("equal values reported as different: %v", diffs)
	}
	for name, want := range map[string]map[string]any{
		"number":         {"n": 227.6},
		"number as text": {"i": "31"},
		"string":         {"s": "0x1018"},
		"missing":        {"absent": 1.0},
		"list length":    {"list": []any{}},
		"nested":         {"list": []any{map[string]any{"port": 1.0}}},
	} {
		if diffs := matchExpect("", want, got); len(diffs) == 0 {
			t.Errorf("%s: mismatch not reported", name)
		}
	}
}
