package bkv

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Frame layout (§3). All multi-byte integers are big-endian.
const (
	// MaxFrameSize caps the total size of an accepted frame. §3 gives no
	// maximum (the largest example is 149 bytes); larger frames are garbage.
	MaxFrameSize = 2048

	minLength  = 17 // length field of an empty payload: cmd 2 + msg id 4 + type 1 + gateway 7 + checksum 1 + tail 2
	payloadOff = 18 // header 2 + length 2 + cmd 2 + msg id 4 + type 1 + gateway 7

	head0      = 0xFC
	headUp     = 0xFE // sent by the gateway
	headDown   = 0xFF // sent by the platform
	tail0      = 0xFC
	tail1      = 0xEE
	packetUp   = 0x01
	packetDown = 0x00
)

// Frame commands (§5).
const (
	CommandHeartbeat uint16 = 0x0000 // heartbeat up, time reply down (§7.1)
	CommandNetwork   uint16 = 0x0005 // inner envelope: node list 0x08/0x09/0x0A (§6)
	CommandOTA       uint16 = 0x0007 // firmware upgrade over FTP, down (§6.3)
	CommandCharge    uint16 = 0x0015 // inner envelope: charge control and reports (§6)
	CommandBKV       uint16 = 0x1000 // BKV key-value payload (§8)
)

// Direction says who sent a frame: the gateway (Up, header FC FE, packet
// type 1) or the platform (Down, header FC FF, packet type 0) (§3). The zero
// Direction is invalid.
type Direction uint8

// Directions.
const (
	Up   Direction = 1
	Down Direction = 2
)

func (d Direction) String() string {
	switch d {
	case Up:
		return "up"
	case Down:
		return "down"
	default:
		return fmt.Sprintf("Direction(%d)", uint8(d))
	}
}

func (d Direction) headerByte() byte {
	if d == Up {
		return headUp
	}
	return headDown
}

func (d Direction) packetType() byte {
	if d == Up {
		return packetUp
	}
	return packetDown
}

func directionOf(header1 byte) Direction {
	switch header1 {
	case headUp:
		return Up
	case headDown:
		return Down
	default:
		return 0
	}
}

// Frame is one decoded frame: the header fields of §3 and the body. The
// length, packet type and checksum are not stored: Append derives them from
// the rest.
type Frame struct {
	Direction Direction
	Command   uint16 // §5
	MsgID     uint32 // 帧流水号; correlation rules in §4
	GatewayID GatewayID
	Body      Message
}

// Message is the body of a frame. It is implemented by one pointer-struct
// per message type (*Heartbeat, *StatusReport, …) and by the raw forms
// *Raw, *RawSubCommand and *RawKV that keep the bytes of commands this
// package does not know. Use a type switch to handle it.
//
// Messages carried in the 0x0005/0x0015 inner envelope also have a
// SubCommand() uint8 method, and messages carried in 0x1000 a BKVCommand()
// uint16 method: with the gateway id, command and msg id they match a reply
// to its request (§4).
type Message interface {
	// dir is the direction the message travels in, or 0 for the raw forms.
	dir() Direction
}

// checksum is the sum of b modulo 256 (§3).
func checksum(b []byte) byte {
	var s byte
	for _, x := range b {
		s += x
	}
	return s
}

// checkFrame validates the frame at the start of b as far as b goes. It
// returns the frame's total size when b holds the whole frame and every
// framing check passes, (0, nil) when more bytes are needed to decide, and an
// *Error for garbage. Each check depends only on bytes it has seen, so the
// answer for a prefix never changes when more bytes arrive.
func checkFrame(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if b[0] != head0 {
		return 0, errAt(0, "header", ErrBadHeader)
	}
	if len(b) < 2 {
		return 0, nil
	}
	d := directionOf(b[1])
	if d == 0 {
		return 0, errAt(1, "header", ErrBadHeader)
	}
	if len(b) < 4 {
		return 0, nil
	}
	length := int(binary.BigEndian.Uint16(b[2:]))
	if length < minLength {
		return 0, errAt(2, "length", fmt.Errorf("%w: %d, minimum %d", ErrBadLength, length, minLength))
	}
	n := length + 4
	if n > MaxFrameSize {
		return 0, errAt(2, "length", fmt.Errorf("%w: %d bytes, maximum %d", ErrTooLarge, n, MaxFrameSize))
	}
	if len(b) > 10 && b[10] != d.packetType() {
		return 0, errAt(10, "packet type", fmt.Errorf("%w: 0x%02x under header fc %02x", ErrPacketType, b[10], b[1]))
	}
	if len(b) < n {
		return 0, nil
	}
	if b[n-2] != tail0 || b[n-1] != tail1 {
		return 0, errAt(n-2, "tail", fmt.Errorf("%w: %02x %02x", ErrBadTail, b[n-2], b[n-1]))
	}
	if sum := checksum(b[2 : n-3]); sum != b[n-3] {
		return 0, errAt(n-3, "checksum", fmt.Errorf("%w: frame carries 0x%02x, bytes sum to 0x%02x", ErrChecksum, b[n-3], sum))
	}
	return n, nil
}

// Decode decodes one whole frame (as returned by Split), checking header,
// length, packet type, tail and checksum (§3), then the body by the frame's
// command and, where a command means different things each way, by the
// header's direction. Commands, sub-commands and BKV commands this package
// does not know decode to *Raw, *RawSubCommand or *RawKV, never to an error.
// The returned frame does not alias frame.
func Decode(frame []byte) (*Frame, error) {
	n, err := checkFrame(frame)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errAt(len(frame), "frame", fmt.Errorf("%w: %d bytes", ErrShortFrame, len(frame)))
	}
	if n != len(frame) {
		return nil, errAt(n, "frame", fmt.Errorf("%w: %d bytes after the frame", ErrBadLength, len(frame)-n))
	}
	f := &Frame{
		Direction: directionOf(frame[1]),
		Command:   binary.BigEndian.Uint16(frame[4:]),
		MsgID:     binary.BigEndian.Uint32(frame[6:]),
	}
	copy(f.GatewayID[:], frame[11:payloadOff])
	// Body decoders see the frame up to the end of the payload and use
	// absolute offsets, so their errors point into the frame.
	f.Body, err = decodeBody(f, frame[:n-3])
	if err != nil {
		return nil, err
	}
	return f, nil
}

func decodeBody(f *Frame, b []byte) (Message, error) {
	switch f.Command {
	case CommandHeartbeat:
		if f.Direction == Up {
			m := &Heartbeat{}
			return m, decodeFixed(b, m.decode)
		}
		m := &HeartbeatReply{}
		return m, decodeFixed(b, m.decode)
	case CommandNetwork, CommandCharge:
		return decodeEnvelope(f.Direction, b)
	case CommandBKV:
		return decodeKV(f, b)
	case CommandOTA:
		if f.Direction == Down {
			m := &OTA{}
			return m, decodeFixed(b, m.decode)
		}
	}
	return &Raw{Payload: clone(b[payloadOff:])}, nil
}

// decodeFixed runs a fixed-layout decoder over the whole payload.
func decodeFixed(b []byte, decode func(*cursor)) error {
	c := cursor{b: b, off: payloadOff}
	decode(&c)
	c.end("payload")
	return c.err
}

// knownCommand reports whether Decode gives a typed body (or a typed raw
// form) for cmd in direction d, so *Raw must not be used for it.
func knownCommand(d Direction, cmd uint16) bool {
	switch cmd {
	case CommandHeartbeat, CommandNetwork, CommandCharge, CommandBKV:
		return true
	case CommandOTA:
		return d == Down
	}
	return false
}

// Append encodes f and appends the frame to dst, computing the length,
// packet type and checksum (§3). On error it returns dst unchanged and an
// *Error. A message must travel in f.Direction under a command that carries
// it: *Heartbeat/*HeartbeatReply under CommandHeartbeat, the sub-command
// messages under CommandCharge or CommandNetwork, *OTA under CommandOTA, the
// KV messages under CommandBKV, and *Raw only under other commands.
func Append(dst []byte, f *Frame) ([]byte, error) {
	if f == nil || f.Body == nil {
		return dst, errAt(0, "body", fmt.Errorf("%w: no message", ErrBadValue))
	}
	if f.Direction != Up && f.Direction != Down {
		return dst, errAt(0, "direction", fmt.Errorf("%w: %v", ErrDirection, f.Direction))
	}
	if d := f.Body.dir(); d != 0 && d != f.Direction {
		return dst, errAt(0, "direction", fmt.Errorf("%w: %T travels %v", ErrDirection, f.Body, d))
	}
	if err := checkCommand(f); err != nil {
		return dst, errAt(4, "command", err)
	}
	start := len(dst)
	dst = append(dst, head0, f.Direction.headerByte(), 0, 0)
	dst = appendU16(dst, f.Command)
	dst = appendU32(dst, f.MsgID)
	dst = append(dst, f.Direction.packetType())
	dst = append(dst, f.GatewayID[:]...)
	dst, err := appendBody(dst, f)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Offset -= start
		}
		return dst[:start], err
	}
	n := len(dst) - start + 3
	if n > MaxFrameSize {
		return dst[:start], errAt(2, "length", fmt.Errorf("%w: %d bytes, maximum %d", ErrTooLarge, n, MaxFrameSize))
	}
	binary.BigEndian.PutUint16(dst[start+2:], uint16(n-4))
	dst = append(dst, checksum(dst[start+2:]))
	return append(dst, tail0, tail1), nil
}

// checkCommand checks that f.Command carries f.Body.
func checkCommand(f *Frame) error {
	ok := false
	switch m := f.Body.(type) {
	case *Heartbeat, *HeartbeatReply:
		ok = f.Command == CommandHeartbeat
	case *OTA:
		ok = f.Command == CommandOTA
	case *Raw:
		ok = !knownCommand(f.Direction, f.Command)
	case *RawSubCommand:
		ok = (f.Command == CommandCharge || f.Command == CommandNetwork) && newSub(f.Direction, m.Sub) == nil
	case subMessage:
		ok = f.Command == CommandCharge || f.Command == CommandNetwork
	case *RawKV:
		ok = f.Command == CommandBKV && newKV(f.Direction, m.Command) == nil
	case kvMessage:
		ok = f.Command == CommandBKV
	}
	if !ok {
		return fmt.Errorf("%w: %T under command 0x%04x %v", ErrCommand, f.Body, f.Command, f.Direction)
	}
	return nil
}

func appendBody(dst []byte, f *Frame) ([]byte, error) {
	switch m := f.Body.(type) {
	case *Heartbeat:
		return m.append(dst)
	case *HeartbeatReply:
		return m.append(dst)
	case *OTA:
		return m.append(dst)
	case *Raw:
		return append(dst, m.Payload...), nil
	case subMessage:
		return appendEnvelope(dst, m)
	case kvMessage:
		return appendKV(dst, f, m)
	}
	return dst, errAt(len(dst), "body", fmt.Errorf("%w: %T", ErrCommand, f.Body))
}

// Raw is the body of a frame command this package does not know (§5: the
// seed code's "firmware variant" commands, an up 0x0007). It keeps the
// payload bytes; the command is the frame's.
type Raw struct {
	Payload []byte
}

func (*Raw) dir() Direction { return 0 }
