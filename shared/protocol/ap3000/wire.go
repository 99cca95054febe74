package ap3000

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"time"
)

// Low-level readers. Each takes the buffer and an offset and returns the
// value, the offset after it and an error. The buffer a message decoder sees
// is the frame without its checksum, so offsets are frame offsets and no
// reader can run into the checksum. All integers are little-endian
// (ap3000.md §2). Every read is bounds-checked; nothing here can panic.

func need(b []byte, off, n int, field string) error {
	if off < 0 || n < 0 || off > len(b) || len(b)-off < n {
		return newError(min(max(off, 0), len(b)), field, ErrShortData)
	}
	return nil
}

func readU8(b []byte, off int, field string) (uint8, int, error) {
	if err := need(b, off, 1, field); err != nil {
		return 0, off, err
	}
	return b[off], off + 1, nil
}

func readU16(b []byte, off int, field string) (uint16, int, error) {
	if err := need(b, off, 2, field); err != nil {
		return 0, off, err
	}
	return binary.LittleEndian.Uint16(b[off:]), off + 2, nil
}

func readU32(b []byte, off int, field string) (uint32, int, error) {
	if err := need(b, off, 4, field); err != nil {
		return 0, off, err
	}
	return binary.LittleEndian.Uint32(b[off:]), off + 4, nil
}

// readBytes returns a copy of n bytes (never nil, never aliasing b).
func readBytes(b []byte, off, n int, field string) ([]byte, int, error) {
	if err := need(b, off, n, field); err != nil {
		return nil, off, err
	}
	out := make([]byte, n)
	copy(out, b[off:off+n])
	return out, off + n, nil
}

// readInto fills dst (a fixed-size array's slice) from b.
func readInto(b []byte, off int, dst []byte, field string) (int, error) {
	if err := need(b, off, len(dst), field); err != nil {
		return off, err
	}
	copy(dst, b[off:off+len(dst)])
	return off + len(dst), nil
}

func readOrderNo(b []byte, off int, field string) (OrderNo, int, error) {
	var o OrderNo
	off, err := readInto(b, off, o[:], field)
	return o, off, err
}

func readCardID(b []byte, off int, field string) (CardID, int, error) {
	var c CardID
	off, err := readInto(b, off, c[:], field)
	return c, off, err
}

// readTime reads a Unix-seconds time (ap3000.md §6).
func readTime(b []byte, off int, field string) (time.Time, int, error) {
	v, off, err := readU32(b, off, field)
	if err != nil {
		return time.Time{}, off, err
	}
	return unixTime(v), off, nil
}

// readText reads a NUL-padded text field of n bytes. Trailing NULs are
// dropped; anything before them is kept byte for byte, so Append restores the
// field exactly.
func readText(b []byte, off, n int, field string) (string, int, error) {
	if err := need(b, off, n, field); err != nil {
		return "", off, err
	}
	s := b[off : off+n]
	end := len(s)
	for end > 0 && s[end-1] == 0 {
		end--
	}
	return string(s[:end]), off + n, nil
}

// rest returns a copy of the bytes from off to the end, or nil if there are
// none. Messages keep such bytes in Extra (ap3000.md §0: newer firmware adds
// trailing fields) so that Append reproduces the frame.
func rest(b []byte, off int) []byte {
	if off < 0 || off >= len(b) {
		return nil
	}
	out := make([]byte, len(b)-off)
	copy(out, b[off:])
	return out
}

// Optional trailing fields (ap3000.md §0, §7 "fields after the |"): older
// firmware stops early, so a field is present only if the data still holds
// all of its bytes, and only if every optional field before it was present.
// ok carries that "still present" state from one field to the next.

func optU8(b []byte, off int, ok bool) (*uint8, int, bool) {
	if !ok || len(b)-off < 1 {
		return nil, off, false
	}
	v := b[off]
	return &v, off + 1, true
}

func optU16(b []byte, off int, ok bool) (*uint16, int, bool) {
	if !ok || len(b)-off < 2 {
		return nil, off, false
	}
	v := binary.LittleEndian.Uint16(b[off:])
	return &v, off + 2, true
}

func optTime(b []byte, off int, ok bool) (*time.Time, int, bool) {
	if !ok || len(b)-off < 4 {
		return nil, off, false
	}
	t := unixTime(binary.LittleEndian.Uint32(b[off:]))
	return &t, off + 4, true
}

func optOrderNo(b []byte, off int, ok bool) (*OrderNo, int, bool) {
	if !ok || len(b)-off < len(OrderNo{}) {
		return nil, off, false
	}
	var o OrderNo
	copy(o[:], b[off:])
	return &o, off + len(o), true
}

func optTemp(b []byte, off int, ok bool) (*Temperature, int, bool) {
	v, off, ok := optU8(b, off, ok)
	if v == nil {
		return nil, off, ok
	}
	t := Temperature(*v)
	return &t, off, ok
}

// unixTime converts wire seconds to a time.Time in UTC. AP3000 times are
// Unix seconds (ap3000.md §6), i.e. real instants, not device wall clocks,
// so no zone is involved; UTC only fixes how the value prints.
func unixTime(sec uint32) time.Time { return time.Unix(int64(sec), 0).UTC() }

// Writers. Append-style, never failing except where a value does not fit.

func appendU16(dst []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(dst, v) }
func appendU32(dst []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(dst, v) }

func appendTime(dst []byte, t time.Time, field string) ([]byte, error) {
	sec := t.Unix()
	if sec < 0 || sec > math.MaxUint32 {
		return dst, encodeError(field, "time outside the 32-bit Unix range")
	}
	return appendU32(dst, uint32(sec)), nil
}

// appendText writes s NUL-padded to n bytes.
func appendText(dst []byte, s string, n int, field string) ([]byte, error) {
	if len(s) > n {
		return dst, encodeError(field, "text longer than its wire field")
	}
	dst = append(dst, s...)
	for range n - len(s) {
		dst = append(dst, 0)
	}
	return dst, nil
}

// tailField describes one optional trailing field for checkTail.
type tailField struct {
	set  bool
	size int
}

func opt(set bool, size int) tailField { return tailField{set: set, size: size} }

// checkTail verifies that the optional fields set (in wire order) form a
// prefix: a field may be present only if all optional fields before it are.
// After the first absent field, extra bytes must be fewer than that field's
// size, or a decoder would read them as the field.
func checkTail(field string, extra []byte, fields ...tailField) error {
	gap := 0
	for _, f := range fields {
		if f.set && gap > 0 {
			return encodeError(field, "optional field set after an unset one")
		}
		if !f.set && gap == 0 {
			gap = f.size
		}
	}
	if gap > 0 && len(extra) >= gap {
		return encodeError("extra", "extra bytes where an unset optional field would be read")
	}
	return nil
}

func hexString(b []byte) string { return hex.EncodeToString(b) }

func appendOptU8(dst []byte, v *uint8) []byte {
	if v == nil {
		return dst
	}
	return append(dst, *v)
}

func appendOptU16(dst []byte, v *uint16) []byte {
	if v == nil {
		return dst
	}
	return appendU16(dst, *v)
}
