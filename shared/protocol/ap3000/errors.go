package ap3000

import (
	"errors"
	"fmt"
)

// ErrShortFrame means the bytes end before the frame does: fewer than the
// 14-byte minimum, or fewer than the length field announces (ap3000.md §2).
var ErrShortFrame = errors.New("ap3000: short frame")

// ErrBadHeader means the bytes do not start with the ASCII header "DNY"
// (ap3000.md §2), nor with one of the unframed preamble units (§1). Split
// reports it for garbage between frames.
var ErrBadHeader = errors.New("ap3000: bad header")

// ErrBadLength means the length field is below its minimum of 9 or does not
// match the bytes of an otherwise complete frame (ap3000.md §2).
var ErrBadLength = errors.New("ap3000: bad length")

// ErrTooLarge means the length field announces a frame above MaxFrameSize.
var ErrTooLarge = errors.New("ap3000: frame too large")

// ErrChecksum means the 16-bit byte sum does not match the checksum field
// (ap3000.md §2).
var ErrChecksum = errors.New("ap3000: checksum mismatch")

// ErrShortData means a message's data ends before one of its mandatory fields
// (ap3000.md §7); a count or length byte inside the data promises more bytes
// than the frame holds.
var ErrShortData = errors.New("ap3000: message data too short")

// ErrDirection means a direction other than Up or Down ("up", "down" or "" for
// Inspect) was given.
var ErrDirection = errors.New("ap3000: unknown direction")

// ErrEncode means Append was given a value it cannot put on the wire: a
// missing body, a field out of range, text or data longer than its wire
// field, or an optional field set while an earlier optional field is not.
var ErrEncode = errors.New("ap3000: cannot encode")

// Error carries where decoding (or encoding) failed. Every error returned by
// Split, Decode, DecodeDir and Inspect is an *Error; its Err is one of the
// sentinels above, so callers use errors.Is for the cause and errors.As for
// the position.
type Error struct {
	// Offset is the byte offset into the frame (for Split: into buf) at which
	// the failing field starts or the bytes ran out; -1 for Append errors.
	Offset int
	// Field names the wire field, e.g. "checksum" or "order_no".
	Field string
	// Err is the cause: one of the sentinel errors above (for Append, an error
	// wrapping ErrEncode).
	Err error
}

// Error returns the cause, field and offset.
func (e *Error) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("%v (field %s)", e.Err, e.Field)
	}
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
