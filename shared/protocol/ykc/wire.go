package ykc

import (
	"encoding/binary"
	"encoding/hex"
	"strconv"
)

// Low-level readers (ykc.md §3). Each takes the buffer and an offset and
// returns the value, the offset after it and an error. Message decoders see
// the frame without its CRC, so offsets are frame offsets and no reader can
// run into the CRC. Every read is bounds-checked; nothing here can panic.
// Values are copied: nothing returned aliases the buffer.

func need(b []byte, off, n int, field string) error {
	if off < 0 || n < 0 || off > len(b) || len(b)-off < n {
		return newError(min(max(off, 0), len(b)), field, ErrShortFrame)
	}
	return nil
}

func readU8(b []byte, off int, field string) (uint8, int, error) {
	if err := need(b, off, 1, field); err != nil {
		return 0, off, err
	}
	return b[off], off + 1, nil
}

// readU16 reads a 2-byte BIN value, little-endian (§3 "low byte first").
func readU16(b []byte, off int, field string) (uint16, int, error) {
	if err := need(b, off, 2, field); err != nil {
		return 0, off, err
	}
	return binary.LittleEndian.Uint16(b[off:]), off + 2, nil
}

// readU24 reads a 3-byte BIN value, little-endian (§6 0x15 cycle count).
func readU24(b []byte, off int, field string) (uint32, int, error) {
	if err := need(b, off, 3, field); err != nil {
		return 0, off, err
	}
	return uint32(b[off]) | uint32(b[off+1])<<8 | uint32(b[off+2])<<16, off + 3, nil
}

func readU32(b []byte, off int, field string) (uint32, int, error) {
	if err := need(b, off, 4, field); err != nil {
		return 0, off, err
	}
	return binary.LittleEndian.Uint32(b[off:]), off + 4, nil
}

// readU40 reads a 5-byte BIN value, little-endian (§6 0x3B meter readings;
// ykc-proxy-server drops the top byte, §12).
func readU40(b []byte, off int, field string) (uint64, int, error) {
	if err := need(b, off, 5, field); err != nil {
		return 0, off, err
	}
	var v uint64
	for i := 4; i >= 0; i-- {
		v = v<<8 | uint64(b[off+i])
	}
	return v, off + 5, nil
}

// readBCD reads n bytes of packed BCD, most significant digit first (§3), as
// a string of 2n digits ("55031412782305"). Nibbles above 9 are not valid BCD;
// they are kept as the hex letters a–f rather than rejected, so that a frame
// with a vendor's 0xFF filler still decodes and Append restores it exactly.
// The same reader serves the 8-byte BIN physical card number, whose
// conventional form is its hex digits (§3: "00000000D14B0A54").
func readBCD(b []byte, off, n int, field string) (string, int, error) {
	if err := need(b, off, n, field); err != nil {
		return "", off, err
	}
	return hex.EncodeToString(b[off : off+n]), off + n, nil
}

// readInto fills dst (a fixed-size array's slice) from b.
func readInto(b []byte, off int, dst []byte, field string) (int, error) {
	if err := need(b, off, len(dst), field); err != nil {
		return off, err
	}
	copy(dst, b[off:off+len(dst)])
	return off + len(dst), nil
}

// readASCII reads a fixed-width text field padded with 0x00 (§3). Trailing
// NULs are dropped; everything before them is kept byte for byte, so Append
// restores the field exactly.
func readASCII(b []byte, off, n int, field string) (string, int, error) {
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

// readReversedASCII reads a text field sent byte-reversed (§6 0x31 VIN) and
// returns it in reading order, trailing NULs dropped.
func readReversedASCII(b []byte, off, n int, field string) (string, int, error) {
	if err := need(b, off, n, field); err != nil {
		return "", off, err
	}
	r := make([]byte, n)
	for i := range n {
		r[i] = b[off+n-1-i]
	}
	end := n
	for end > 0 && r[end-1] == 0 {
		end--
	}
	return string(r[:end]), off + n, nil
}

// writer appends fields to a frame. The first error sticks; later calls do
// nothing, so an encoder checks once at the end.
type writer struct {
	b   []byte
	err error
}

func (w *writer) u8(v uint8) {
	if w.err == nil {
		w.b = append(w.b, v)
	}
}

func (w *writer) u16(v uint16) {
	if w.err == nil {
		w.b = binary.LittleEndian.AppendUint16(w.b, v)
	}
}

func (w *writer) u24(v uint32, field string) {
	if w.err != nil {
		return
	}
	if v > 0xFFFFFF {
		w.err = encodeError(field, "value above 3 bytes")
		return
	}
	w.b = append(w.b, byte(v), byte(v>>8), byte(v>>16))
}

func (w *writer) u32(v uint32) {
	if w.err == nil {
		w.b = binary.LittleEndian.AppendUint32(w.b, v)
	}
}

func (w *writer) u40(v uint64, field string) {
	if w.err != nil {
		return
	}
	if v > 0xFF_FFFF_FFFF {
		w.err = encodeError(field, "value above 5 bytes")
		return
	}
	for i := range 5 {
		w.b = append(w.b, byte(v>>(8*i)))
	}
}

func (w *writer) bytes(p []byte) {
	if w.err == nil {
		w.b = append(w.b, p...)
	}
}

// bcd writes s as n bytes of packed BCD (§3). s holds up to 2n digits (hex
// letters allowed, see readBCD); shorter values are padded with leading
// zeros as §3 prescribes.
func (w *writer) bcd(s string, n int, field string) {
	if w.err != nil {
		return
	}
	if len(s) > 2*n {
		w.err = encodeError(field, "more than "+strconv.Itoa(2*n)+" digits")
		return
	}
	pad := 2*n - len(s)
	for i := 0; i < 2*n; i += 2 {
		hi, ok1 := nibble(s, i-pad)
		lo, ok2 := nibble(s, i+1-pad)
		if !ok1 || !ok2 {
			w.err = encodeError(field, "not a digit string")
			return
		}
		w.b = append(w.b, hi<<4|lo)
	}
}

// nibble returns the value of s[i] as a hex digit; positions before the
// string are the padding zeros.
func nibble(s string, i int) (byte, bool) {
	if i < 0 {
		return 0, true
	}
	switch c := s[i]; {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// ascii writes s NUL-padded to n bytes (§3).
func (w *writer) ascii(s string, n int, field string) {
	if w.err != nil {
		return
	}
	if len(s) > n {
		w.err = encodeError(field, "text longer than "+strconv.Itoa(n)+" bytes")
		return
	}
	w.b = append(w.b, s...)
	for range n - len(s) {
		w.b = append(w.b, 0)
	}
}

// reversedASCII writes s NUL-padded to n bytes and then byte-reversed, the
// inverse of readReversedASCII (§6 0x31 VIN).
func (w *writer) reversedASCII(s string, n int, field string) {
	if w.err != nil {
		return
	}
	if len(s) > n {
		w.err = encodeError(field, "text longer than "+strconv.Itoa(n)+" bytes")
		return
	}
	for range n - len(s) {
		w.b = append(w.b, 0)
	}
	for i := len(s) - 1; i >= 0; i-- {
		w.b = append(w.b, s[i])
	}
}
