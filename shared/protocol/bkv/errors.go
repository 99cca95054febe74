package bkv

import (
	"errors"
	"fmt"
)

// Framing errors (§3). Split returns them with the number of bytes to skip;
// Decode returns them for a frame it cannot accept.
var (
	// ErrShortFrame means the bytes end before the frame does: fewer bytes
	// than the length field announces (total size = L + 4, §3).
	ErrShortFrame = errors.New("short frame")

	// ErrBadHeader means the frame does not start with FC FE (up) or FC FF
	// (down) (§3).
	ErrBadHeader = errors.New("bad header")

	// ErrBadTail means the frame does not end with FC EE (§3).
	ErrBadTail = errors.New("bad tail")

	// ErrChecksum means the checksum byte is not the sum of the bytes from the
	// length field to the end of the payload, modulo 256 (§3).
	ErrChecksum = errors.New("checksum mismatch")

	// ErrPacketType means the packet-type byte contradicts the header: up
	// frames carry 0x01, down frames 0x00 (§3).
	ErrPacketType = errors.New("packet type contradicts header")

	// ErrTooLarge means the length field announces a frame bigger than
	// MaxFrameSize (§3: no maximum is given, so frames are capped).
	ErrTooLarge = errors.New("frame too large")
)

// Body errors: the frame is intact but its payload does not fit the layout
// of its message.
var (
	// ErrBadLength means a length or count disagrees with the bytes present:
	// a length field below the minimum, the inner length of a 0x0005/0x0015
	// envelope (§6.1), a KV key size (§8.1), a count that does not match its
	// list, a value of the wrong size for its key, or bytes left over after a
	// message's layout.
	ErrBadLength = errors.New("length mismatch")

	// ErrTruncated means a field, KV item or list runs past the end of the
	// bytes that hold it (§6.2, §8.1).
	ErrTruncated = errors.New("field runs past end of payload")

	// ErrBadValue means a field holds a value outside its domain: a digit
	// that is not BCD, a date that does not exist, more tiers or periods than
	// the protocol allows (§6.2, §11), or, when encoding, a value that does
	// not fit its wire field.
	ErrBadValue = errors.New("bad field value")

	// ErrKVHead means a 0x1000 payload does not start with the fixed items
	// 0x01 command, 0x02 sequence and 0x03 gateway id, or its gateway id is
	// not the frame's (§8.2).
	ErrKVHead = errors.New("bad BKV head")

	// ErrDirection means a message was used in a direction it does not
	// travel in, or an Inspect direction does not match the frame's header.
	ErrDirection = errors.New("wrong direction")

	// ErrCommand means a message was put in a frame whose command does not
	// carry it (for example a *Heartbeat under 0x1000), or a raw form was
	// used for a command this package decodes to a typed message.
	ErrCommand = errors.New("wrong command for message")
)

// Error is the error type of Split, Decode, Inspect and Append. It names the
// field and the byte offset (from the start of the frame) where decoding or
// encoding failed; Err is the cause, one of the sentinels above (possibly
// wrapped with detail), so errors.Is(err, ErrChecksum) works.
type Error struct {
	Offset int
	Field  string
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("bkv: %s at byte %d: %v", e.Field, e.Offset, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// withField names the field of an *Error returned by a low-level reader.
func withField(err error, field string) error {
	var e *Error
	if errors.As(err, &e) {
		e.Field = field
	}
	return err
}

// errAt builds an *Error.
func errAt(off int, field string, err error) *Error {
	return &Error{Offset: off, Field: field, Err: err}
}

// Result is the result byte of the gateway's replies and of KV key 0x0F
// (§10): 1 OK, 0 failed. A Result is an error, so a failed reply can be
// returned as one; use Err to get nil for ResultOK.
type Result uint8

// Results (§10).
const (
	ResultFailed Result = 0
	ResultOK     Result = 1
)

func (r Result) Error() string {
	switch r {
	case ResultOK:
		return "bkv: result ok"
	case ResultFailed:
		return "bkv: result failed"
	default:
		return fmt.Sprintf("bkv: result %d", uint8(r))
	}
}

// Err returns nil when r is ResultOK and r itself otherwise.
func (r Result) Err() error {
	if r == ResultOK {
		return nil
	}
	return r
}
