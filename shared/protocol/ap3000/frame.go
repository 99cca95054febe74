package ap3000

import (
	"encoding/binary"
	"fmt"
)

// Frame layout (ap3000.md §2). All offsets are from the first header byte.
const (
	// HeaderSize is the bytes before the data: "DNY", length, physical id,
	// message id and command.
	HeaderSize = 12
	// MinFrameSize is a frame with no data: header plus checksum.
	MinFrameSize = HeaderSize + 2
	// MaxFrameSize caps a frame. The guide's "at most 256 bytes" is wrong: its
	// own 0xF8 upgrade packet is 274 bytes (ap3000.md §2, §12.1; vector
	// ap3000-f8-down-1), so we cap at 1 KiB as the reference advises.
	MaxFrameSize = 1024
	// MaxDataSize is the most data bytes a frame can carry.
	MaxDataSize = MaxFrameSize - MinFrameSize

	offLength = 3
	offPhyID  = 5
	offMsgID  = 9
	offCmd    = 11
)

// magic is the frame header (ap3000.md §2).
const magic = "DNY"

// PhysicalID is the device's 4-byte physical id, read little-endian as one
// 32-bit number (ap3000.md §3): the top byte is the device code, the low
// 24 bits the device number printed under the QR code.
type PhysicalID uint32

// DeviceCode returns the top byte: 0x03 single socket, 0x04 dual socket,
// 0x05 10-port, 0x06 16-port, 0x07 12-port pile, 0x09 host, 0x0A leakage host.
func (p PhysicalID) DeviceCode() uint8 { return uint8(p >> 24) }

// DeviceNumber returns the low 24 bits, the number printed on the device.
func (p PhysicalID) DeviceNumber() uint32 { return uint32(p) & 0xFFFFFF }

// String returns the id's 4 bytes in wire order as lowercase hex
// ("3b37ab04" for device code 04, number 11220795).
func (p PhysicalID) String() string {
	return hexString(binary.LittleEndian.AppendUint32(nil, uint32(p)))
}

// Direction says which way a message travels. AP3000 headers do not carry it
// (ap3000.md §14), yet several commands have different layouts each way.
type Direction uint8

// Directions.
const (
	// Up is device → server.
	Up Direction = iota + 1
	// Down is server → device.
	Down
)

// String returns "up" or "down", as the vectors spell directions.
func (d Direction) String() string {
	switch d {
	case Up:
		return "up"
	case Down:
		return "down"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// Frame is one decoded unit from the stream: a DNY frame's header fields and
// its body, or an unframed ICCID / link preamble (ap3000.md §1), in which case
// the header fields are zero.
type Frame struct {
	PhysicalID PhysicalID
	// MessageID correlates a reply with its command (ap3000.md §4).
	MessageID uint16
	// Command is the command byte. Append takes it from Body when it is 0.
	Command Command
	// Body is one of the message types of this package, *Raw for a command
	// (or direction) the package does not know, or *ICCID / *Link.
	Body Message
}

// Message is a frame body. It is implemented by one pointer-struct per
// message type (e.g. *Heartbeat), by *Raw, and by *ICCID and *Link.
type Message interface {
	// Command returns the command byte the message is sent with (0 for the
	// unframed ICCID and link).
	Command() Command
	// Direction returns the direction whose layout the message uses.
	Direction() Direction

	appendData(dst []byte) ([]byte, error)
	fields(m map[string]any)
}

// Decode decodes one whole frame (as returned by Split), checking header,
// length and checksum. It reads the body in the device → server layout,
// which is the direction-independent layout for commands that have only one:
// Decode(frame) is DecodeDir(frame, Up). Servers receive only device frames,
// so this is what the edge gateway wants. A command with no up-direction
// layout (e.g. 0x81) decodes to *Raw. Use DecodeDir for frames sent by a
// server (captures, logs, tests).
//
// The unframed preamble units Split returns decode to *ICCID and *Link with
// a zero header.
func Decode(frame []byte) (*Frame, error) { return DecodeDir(frame, Up) }

// DecodeDir is Decode with the body read in the layout of direction dir
// (ap3000.md §7.1 for Up, §7.2 for Down). A command that exists only the other
// way, or not at all, decodes to *Raw.
func DecodeDir(frame []byte, dir Direction) (*Frame, error) {
	if dir != Up && dir != Down {
		return nil, newError(0, "direction", ErrDirection)
	}
	if body := decodePreamble(frame); body != nil {
		return &Frame{Body: body}, nil
	}
	if err := checkFrame(frame); err != nil {
		return nil, err
	}
	f := &Frame{
		PhysicalID: PhysicalID(binary.LittleEndian.Uint32(frame[offPhyID:])),
		MessageID:  binary.LittleEndian.Uint16(frame[offMsgID:]),
		Command:    Command(frame[offCmd]),
	}
	// Message decoders see the frame without its checksum, so their offsets
	// are frame offsets and the checksum is out of their reach.
	body, err := decodeBody(f.Command, dir, frame[:len(frame)-2])
	if err != nil {
		return nil, err
	}
	f.Body = body
	return f, nil
}

// checkFrame validates the DNY framing of one whole frame (ap3000.md §2).
func checkFrame(frame []byte) error {
	for i := range min(len(frame), len(magic)) {
		if frame[i] != magic[i] {
			return newError(i, "header", ErrBadHeader)
		}
	}
	if len(frame) < offPhyID {
		return newError(len(frame), "length", ErrShortFrame)
	}
	total := int(binary.LittleEndian.Uint16(frame[offLength:])) + 5
	switch {
	case total < MinFrameSize:
		return newError(offLength, "length", ErrBadLength)
	case total > MaxFrameSize:
		return newError(offLength, "length", ErrTooLarge)
	case len(frame) > total:
		return newError(offLength, "length", ErrBadLength)
	case len(frame) < total:
		// Either the frame was cut short, or it is complete and its length
		// field is wrong. A complete frame ends in the checksum of the bytes
		// before it; that tells the two apart (a cut frame passes with
		// probability 2^-16, and is rejected either way).
		if len(frame) >= MinFrameSize && sumOK(frame) {
			return newError(offLength, "length", ErrBadLength)
		}
		return newError(len(frame), "frame", ErrShortFrame)
	}
	if !sumOK(frame) {
		return newError(len(frame)-2, "checksum", ErrChecksum)
	}
	return nil
}

// checksum is the low 16 bits of the sum of all bytes (ap3000.md §2).
func checksum(b []byte) uint16 {
	var s uint16
	for _, c := range b {
		s += uint16(c)
	}
	return s
}

// sumOK reports whether the last two bytes of b are the checksum of the rest.
func sumOK(b []byte) bool {
	n := len(b) - 2
	return n >= 0 && checksum(b[:n]) == binary.LittleEndian.Uint16(b[n:])
}

// Append encodes f and appends it to dst, computing length and checksum.
// f.Command may be left 0 to take the command from f.Body; if set it must
// match. An *ICCID or *Link body is written unframed and needs a zero header.
func Append(dst []byte, f *Frame) ([]byte, error) {
	if f == nil || f.Body == nil {
		return dst, encodeError("body", "nil frame or body")
	}
	cmd := f.Body.Command()
	switch f.Body.(type) {
	case *ICCID, *Link:
		if f.PhysicalID != 0 || f.MessageID != 0 || f.Command != 0 {
			return dst, encodeError("header", "ICCID and link are sent without a header")
		}
		return f.Body.appendData(dst)
	}
	if f.Command != 0 && f.Command != cmd {
		return dst, encodeError("command", fmt.Sprintf("frame says %v, body is %v", f.Command, cmd))
	}
	start := len(dst)
	dst = append(dst, magic...)
	dst = appendU16(dst, 0) // length, patched below
	dst = appendU32(dst, uint32(f.PhysicalID))
	dst = appendU16(dst, f.MessageID)
	dst = append(dst, byte(cmd))
	out, err := f.Body.appendData(dst)
	if err != nil {
		return dst[:start], err
	}
	dst = out
	total := len(dst) - start + 2
	if total > MaxFrameSize {
		return dst[:start], encodeError("data", fmt.Sprintf("frame of %d bytes exceeds %d", total, MaxFrameSize))
	}
	binary.LittleEndian.PutUint16(dst[start+offLength:], uint16(total-5))
	return appendU16(dst, checksum(dst[start:])), nil
}
