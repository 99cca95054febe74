package bkv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Low-level readers. Each takes the bytes and an offset and returns the value,
// the offset after it and an *Error (ErrTruncated when the field runs past
// len(b)). All integers are big-endian (§3). Readers that return bytes copy
// them: decoded values never alias the input, because the gateway reuses its
// read buffer.

func truncated(off int) *Error { return errAt(off, "", ErrTruncated) }

func readU8(b []byte, off int) (uint8, int, error) {
	if off < 0 || off >= len(b) {
		return 0, off, truncated(off)
	}
	return b[off], off + 1, nil
}

func readU16(b []byte, off int) (uint16, int, error) {
	if off < 0 || len(b)-off < 2 {
		return 0, off, truncated(off)
	}
	return binary.BigEndian.Uint16(b[off:]), off + 2, nil
}

func readU32(b []byte, off int) (uint32, int, error) {
	if off < 0 || len(b)-off < 4 {
		return 0, off, truncated(off)
	}
	return binary.BigEndian.Uint32(b[off:]), off + 4, nil
}

// readInto copies len(dst) bytes at off into dst (used for fixed-size ids).
func readInto(b []byte, off int, dst []byte) (int, error) {
	if off < 0 || len(b)-off < len(dst) {
		return off, truncated(off)
	}
	copy(dst, b[off:])
	return off + len(dst), nil
}

// readBytes returns a copy of the n bytes at off (nil when n is 0).
func readBytes(b []byte, off, n int) ([]byte, int, error) {
	if n < 0 || off < 0 || len(b)-off < n {
		return nil, off, truncated(off)
	}
	return clone(b[off : off+n]), off + n, nil
}

// readText reads an n-byte ASCII field padded with NULs and drops the
// trailing NULs (§7.1 firmware, §6.3 OTA file name).
func readText(b []byte, off, n int) (string, int, error) {
	if n < 0 || off < 0 || len(b)-off < n {
		return "", off, truncated(off)
	}
	s := b[off : off+n]
	for len(s) > 0 && s[len(s)-1] == 0 {
		s = s[:len(s)-1]
	}
	return string(s), off + n, nil
}

// readBCDTime reads 7 BCD bytes YYYY MM DD hh mm ss (§11: heartbeat reply,
// KV key 0x2E). The device's wall-clock time is returned as time.UTC fields
// without zone conversion. Seven zero bytes (a gateway whose clock is not
// set) decode to the zero time.Time.
func readBCDTime(b []byte, off int) (time.Time, int, error) {
	if off < 0 || len(b)-off < 7 {
		return time.Time{}, off, truncated(off)
	}
	var d [7]int
	zero := true
	for i := range d {
		x := b[off+i]
		hi, lo := x>>4, x&0x0f
		if hi > 9 || lo > 9 {
			return time.Time{}, off, errAt(off+i, "", fmt.Errorf("%w: byte 0x%02x is not BCD", ErrBadValue, x))
		}
		d[i] = int(hi)*10 + int(lo)
		zero = zero && x == 0
	}
	if zero {
		return time.Time{}, off + 7, nil
	}
	t, err := wallClock(d[0]*100+d[1], d[2], d[3], d[4], d[5], d[6])
	if err != nil {
		return time.Time{}, off, errAt(off, "", err)
	}
	return t, off + 7, nil
}

// readBinaryTime reads the 7-byte binary time of the 0x18 end report (§11):
// year as a 16-bit integer, then month, day, hour, minute and second bytes.
// Like readBCDTime it returns wall-clock fields in time.UTC, and all zeros
// decode to the zero time.Time.
func readBinaryTime(b []byte, off int) (time.Time, int, error) {
	if off < 0 || len(b)-off < 7 {
		return time.Time{}, off, truncated(off)
	}
	p := b[off : off+7]
	if allZero(p) {
		return time.Time{}, off + 7, nil
	}
	year := int(binary.BigEndian.Uint16(p))
	t, err := wallClock(year, int(p[2]), int(p[3]), int(p[4]), int(p[5]), int(p[6]))
	if err != nil {
		return time.Time{}, off, errAt(off, "", err)
	}
	return t, off + 7, nil
}

// wallClock builds a time.UTC value from wall-clock fields, rejecting dates
// that do not exist (time.Date would silently normalise 31 April to 1 May,
// and the frame would no longer re-encode to the same bytes).
func wallClock(year, month, day, hour, minute, second int) (time.Time, error) {
	t := time.Date(year, time.Month(month), day, hour, minute, second, 0, time.UTC)
	y, m, d := t.Date()
	if y != year || int(m) != month || d != day || t.Hour() != hour || t.Minute() != minute || t.Second() != second {
		return time.Time{}, fmt.Errorf("%w: no such time %04d-%02d-%02d %02d:%02d:%02d",
			ErrBadValue, year, month, day, hour, minute, second)
	}
	return t, nil
}

func allZero(p []byte) bool {
	for _, x := range p {
		if x != 0 {
			return false
		}
	}
	return true
}

// clone copies b; an empty b gives nil so that decoded values compare equal
// however they were produced.
func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// Writers. They append to dst; the ones that can fail return an *Error whose
// Offset is len(dst) at the failure (Append rebases it to the frame start).

func appendU16(dst []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(dst, v) }

func appendU32(dst []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(dst, v) }

// appendText writes s NUL-padded to n bytes.
func appendText(dst []byte, field, s string, n int) ([]byte, error) {
	if len(s) > n {
		return dst, errAt(len(dst), field, fmt.Errorf("%w: %d bytes, the field holds %d", ErrBadValue, len(s), n))
	}
	dst = append(dst, s...)
	for i := len(s); i < n; i++ {
		dst = append(dst, 0)
	}
	return dst, nil
}

// appendBCDTime writes t's wall-clock fields (in t's own location) as 7 BCD
// bytes; the zero time.Time is written as 7 zero bytes (§11).
func appendBCDTime(dst []byte, field string, t time.Time) ([]byte, error) {
	if t.IsZero() {
		return append(dst, 0, 0, 0, 0, 0, 0, 0), nil
	}
	year, month, day := t.Date()
	hour, minute, second := t.Clock()
	if year < 0 || year > 9999 {
		return dst, errAt(len(dst), field, fmt.Errorf("%w: year %d does not fit 4 BCD digits", ErrBadValue, year))
	}
	bcd := func(v int) byte { return byte(v/10<<4 | v%10) }
	return append(dst, bcd(year/100), bcd(year%100), bcd(int(month)), bcd(day), bcd(hour), bcd(minute), bcd(second)), nil
}

// appendBinaryTime writes t's wall-clock fields as the 7-byte binary time of
// §11; the zero time.Time is written as 7 zero bytes.
func appendBinaryTime(dst []byte, field string, t time.Time) ([]byte, error) {
	if t.IsZero() {
		return append(dst, 0, 0, 0, 0, 0, 0, 0), nil
	}
	year, month, day := t.Date()
	hour, minute, second := t.Clock()
	if year < 0 || year > 0xffff {
		return dst, errAt(len(dst), field, fmt.Errorf("%w: year %d does not fit 16 bits", ErrBadValue, year))
	}
	dst = appendU16(dst, uint16(year))
	return append(dst, byte(month), byte(day), byte(hour), byte(minute), byte(second)), nil
}

// cursor reads a fixed layout field by field with the readers above. The
// first failure sticks (later reads return zero values) and is reported with
// the field's name, so layout decoders read like the tables in §6.2.
type cursor struct {
	b   []byte // bytes up to the end of the region being decoded
	off int    // absolute offset in the frame
	err error
}

func (c *cursor) fail(field string, err error) {
	if c.err != nil {
		return
	}
	var e *Error
	if errors.As(err, &e) {
		e.Field = field
		c.err = e
		return
	}
	c.err = errAt(c.off, field, err)
}

func (c *cursor) u8(field string) uint8 {
	if c.err != nil {
		return 0
	}
	v, next, err := readU8(c.b, c.off)
	if err != nil {
		c.fail(field, err)
		return 0
	}
	c.off = next
	return v
}

func (c *cursor) u16(field string) uint16 {
	if c.err != nil {
		return 0
	}
	v, next, err := readU16(c.b, c.off)
	if err != nil {
		c.fail(field, err)
		return 0
	}
	c.off = next
	return v
}

func (c *cursor) u32(field string) uint32 {
	if c.err != nil {
		return 0
	}
	v, next, err := readU32(c.b, c.off)
	if err != nil {
		c.fail(field, err)
		return 0
	}
	c.off = next
	return v
}

func (c *cursor) into(field string, dst []byte) {
	if c.err != nil {
		return
	}
	next, err := readInto(c.b, c.off, dst)
	if err != nil {
		c.fail(field, err)
		return
	}
	c.off = next
}

func (c *cursor) text(field string, n int) string {
	if c.err != nil {
		return ""
	}
	s, next, err := readText(c.b, c.off, n)
	if err != nil {
		c.fail(field, err)
		return ""
	}
	c.off = next
	return s
}

func (c *cursor) rest() []byte {
	if c.err != nil {
		return nil
	}
	v, next, _ := readBytes(c.b, c.off, len(c.b)-c.off)
	c.off = next
	return v
}

func (c *cursor) bcdTime(field string) time.Time {
	if c.err != nil {
		return time.Time{}
	}
	t, next, err := readBCDTime(c.b, c.off)
	if err != nil {
		c.fail(field, err)
		return time.Time{}
	}
	c.off = next
	return t
}

func (c *cursor) binaryTime(field string) time.Time {
	if c.err != nil {
		return time.Time{}
	}
	t, next, err := readBinaryTime(c.b, c.off)
	if err != nil {
		c.fail(field, err)
		return time.Time{}
	}
	c.off = next
	return t
}

// left reports how many bytes remain in the region.
func (c *cursor) left() int { return len(c.b) - c.off }

// count reads a count byte for a list of size-byte entries and checks that
// the region holds exactly that many entries after it, up to max (0 = no
// limit).
func (c *cursor) count(field string, size, max int) int {
	at := c.off
	n := int(c.u8(field))
	if c.err != nil {
		return 0
	}
	if max > 0 && n > max {
		c.err = errAt(at, field, fmt.Errorf("%w: %d, at most %d", ErrBadValue, n, max))
		return 0
	}
	if c.left() != n*size {
		c.err = errAt(at, field, fmt.Errorf("%w: count %d needs %d bytes, %d follow", ErrBadLength, n, n*size, c.left()))
		return 0
	}
	return n
}

// end fails when bytes are left over after a message's layout: §6.1 asks
// decoders to reject, not guess.
func (c *cursor) end(what string) {
	if c.err == nil && c.off != len(c.b) {
		c.err = errAt(c.off, what, fmt.Errorf("%w: %d bytes after the layout", ErrBadLength, len(c.b)-c.off))
	}
}
