package ykc

import (
	"errors"
	"fmt"
)

// ErrShortFrame means the bytes end before the frame does: fewer than the
// 6-byte header plus the 2-byte CRC, or fewer than the length byte announces
// (ykc.md §2).
var ErrShortFrame = errors.New("ykc: short frame")

// ErrBadHeader means the frame does not start with the start byte 0x68
// (ykc.md §2). Split reports it for garbage between frames.
var ErrBadHeader = errors.New("ykc: bad start byte")

// ErrBadLength means the length byte is below its minimum of 4, does not fit
// the body size of the frame type (ykc.md §5), or does not match the bytes of
// an otherwise complete frame (ykc.md §2).
var ErrBadLength = errors.New("ykc: bad length")

// ErrTooLarge means a frame to encode does not fit the one-byte length field:
// sequence, flag, type and body together exceed 255 bytes (ykc.md §2).
var ErrTooLarge = errors.New("ykc: frame too large")

// ErrChecksum means the CRC-16/MODBUS of sequence, flag, type and body does
// not match the two CRC bytes read low byte first (ykc.md §2). A CRC sent high
// byte first fails with this error too (vector ykc-bad-crcorder-1).
var ErrChecksum = errors.New("ykc: checksum mismatch")

// ErrEncryptionFlag means the encryption flag is neither 0x00 (plain) nor
// 0x01 (3DES) (ykc.md §2).
var ErrEncryptionFlag = errors.New("ykc: unknown encryption flag")

// ErrBadCount means a count byte inside a body disagrees with the number of
// entries the body size allows (ykc.md §6 0x44, 0x46, 0x48).
var ErrBadCount = errors.New("ykc: count does not match body size")

// ErrBadTime means a CP56Time2a field is out of range: milliseconds above
// 59999, minute above 59, hour above 23, or a day that the month does not
// have (ykc.md §3). An all-zero time is not an error; it decodes to the zero
// time.Time.
var ErrBadTime = errors.New("ykc: invalid CP56Time2a time")

// ErrDirection means Inspect was given a direction other than "up", "down"
// or "", or one that contradicts the frame type: odd types travel pile →
// platform ("up"), even types platform → pile ("down") (ykc.md §2, §5).
var ErrDirection = errors.New("ykc: wrong direction")

// ErrEncode means Append was given a value it cannot put on the wire: a nil
// frame or body, an id that is not hex digits or too long for its field, text
// longer than its field, a time outside 2000–2127, too many list entries, or
// a typed body in a frame marked encrypted.
var ErrEncode = errors.New("ykc: cannot encode")

// Error carries where decoding (or encoding) failed. Every error returned by
// Split, Decode, Inspect and Append is an *Error; its Err is one of the
// sentinels above (for Append an error wrapping ErrEncode or ErrTooLarge),
// so callers use errors.Is for the cause and errors.As for the position.
type Error struct {
	// Offset is the byte offset into the frame (for Split: into buf) at which
	// the failing field starts or the bytes ran out; -1 when encoding.
	Offset int
	// Field names the wire field, e.g. "crc" or "pile_code".
	Field string
	// Err is the cause.
	Err error
}

// Error returns "cause: field at offset N".
func (e *Error) Error() string {
	return fmt.Sprintf("%v: %s at offset %d", e.Err, e.Field, e.Offset)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func newError(off int, field string, cause error) *Error {
	return &Error{Offset: off, Field: field, Err: cause}
}

// encodeError reports a value that cannot be encoded.
func encodeError(field, why string) error {
	return &Error{Offset: -1, Field: field, Err: fmt.Errorf("%w: %s", ErrEncode, why)}
}
