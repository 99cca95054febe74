package ykc

import "encoding/binary"

// Frame layout (ykc.md §2). Offsets are from the start byte.
const (
	// Start is the first byte of every frame.
	Start = 0x68
	// HeaderSize is the bytes before the body: start, length, sequence (2),
	// encryption flag, frame type.
	HeaderSize = 6
	// MinFrameSize is a frame with an empty body: header plus CRC.
	MinFrameSize = HeaderSize + 2
	// MaxFrameSize is the largest frame the one-byte length allows: L = 255
	// plus start, length and CRC. The spec caps the data field at 200 bytes,
	// but its own 0x44 card list reaches L = 252 (8 + 16·15 body bytes), so
	// the cap used is the length byte's own (ykc.md §2, §5).
	MaxFrameSize = 255 + 4
	// MaxBodySize is the largest body a frame can carry.
	MaxBodySize = 255 - 4

	offLength = 1
	offSeq    = 2
	offFlag   = 4
	offType   = 5
	minLength = 4 // sequence + flag + type, empty body

	flagPlain     = 0x00
	flagEncrypted = 0x01
)

// Frame is one decoded frame: the header fields and the body.
type Frame struct {
	// Seq is the sequence number, read little-endian (ykc.md §4: the spec
	// does not state the byte order; "BIN is little-endian" and the proxy
	// code agree). A reply carries the sequence number of its request.
	Seq uint16
	// Encrypted is the encryption flag (0x01 = 3DES body, ykc.md §2). The
	// spec does not say how keys are handled, so an encrypted body is not
	// decrypted: it decodes to *Raw holding the encrypted bytes, and Append
	// accepts only a *Raw body for an encrypted frame.
	Encrypted bool
	// Body is one of the message types of this package (e.g. *Heartbeat), or
	// *Raw for an unknown frame type or an encrypted body.
	Body Message
}

// Type returns the frame type of the body (0 for a nil body).
func (f *Frame) Type() Type {
	if f == nil || f.Body == nil {
		return 0
	}
	return f.Body.FrameType()
}

// Message is a frame body. It is implemented by one pointer-struct per frame
// type of ykc.md §5 (e.g. *Heartbeat, *RealtimeData) and by *Raw.
type Message interface {
	// FrameType returns the frame type the message is sent with.
	FrameType() Type

	// decodeBody reads the body from b (the frame without its CRC) starting
	// at off and returns the offset after it.
	decodeBody(b []byte, off int) (int, error)
	appendBody(w *writer)
	fields(f map[string]any)
}

// Raw is the body of a frame whose type this package does not know, or of
// an encrypted frame (then Type is the frame type and Body the encrypted
// bytes). Decoding to Raw is never an error: the connection keeps going and
// the bytes are kept.
type Raw struct {
	Type Type
	Body []byte
}

// FrameType returns r.Type.
func (r *Raw) FrameType() Type { return r.Type }

func (r *Raw) decodeBody(b []byte, off int) (int, error) {
	if err := need(b, off, 0, "body"); err != nil {
		return off, err
	}
	r.Body = clone(b[off:])
	return len(b), nil
}

func (r *Raw) appendBody(w *writer) { w.bytes(r.Body) }

func (r *Raw) fields(f map[string]any) { f["body_hex"] = hexString(r.Body) }

// clone copies b; an empty b gives nil.
func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	out := make([]byte, len(b))
	copy(out, b)
	return out
}

// checkHeader validates as much of the header as buf holds, in wire order
// (ykc.md §2, §5): start byte, length at least 4, encryption flag 0 or 1, and
// for a plain frame of a known type a body size that fits the type. The
// first failing check decides, and each check needs only the bytes up to its
// field, so the result does not depend on how much of the frame has arrived
// as long as the field is there.
func checkHeader(buf []byte) error {
	if len(buf) < 1 {
		return nil
	}
	if buf[0] != Start {
		return newError(0, "start", ErrBadHeader)
	}
	if len(buf) <= offLength {
		return nil
	}
	l := int(buf[offLength])
	if l < minLength {
		return newError(offLength, "length", ErrBadLength)
	}
	if len(buf) <= offFlag {
		return nil
	}
	flag := buf[offFlag]
	if flag != flagPlain && flag != flagEncrypted {
		return newError(offFlag, "encryption_flag", ErrEncryptionFlag)
	}
	if len(buf) <= offType || flag != flagPlain {
		return nil
	}
	if rule, ok := bodySize(Type(buf[offType])); ok && !rule.fits(l-minLength) {
		return newError(offLength, "length", ErrBadLength)
	}
	return nil
}

// checkFrame validates the framing of one whole frame (ykc.md §2).
func checkFrame(frame []byte) error {
	if err := checkHeader(frame); err != nil {
		return err
	}
	if len(frame) < MinFrameSize {
		return newError(len(frame), "header", ErrShortFrame)
	}
	total := int(frame[offLength]) + 4
	switch {
	case len(frame) > total:
		return newError(offLength, "length", ErrBadLength)
	case len(frame) < total:
		// Either the frame was cut short, or it is complete and its length
		// byte is wrong. A complete frame ends in the CRC of the bytes before
		// it; that tells the two apart (a cut frame passes with probability
		// 2^-16, and is rejected either way).
		if crcOK(frame) {
			return newError(offLength, "length", ErrBadLength)
		}
		return newError(len(frame), "frame", ErrShortFrame)
	}
	if !crcOK(frame) {
		return newError(total-2, "crc", ErrChecksum)
	}
	return nil
}

// Decode decodes one whole frame (as returned by Split), checking header,
// length and CRC (ykc.md §2) and the body size of the frame type (§5). The
// body of a known plain frame type decodes to its message struct; an unknown
// type or an encrypted body decodes to *Raw. Nothing in the result aliases
// frame.
func Decode(frame []byte) (*Frame, error) {
	if err := checkFrame(frame); err != nil {
		return nil, err
	}
	f := &Frame{
		Seq:       binary.LittleEndian.Uint16(frame[offSeq:]),
		Encrypted: frame[offFlag] == flagEncrypted,
	}
	t := Type(frame[offType])
	var m Message
	if !f.Encrypted {
		m = newMessage(t)
	}
	if m == nil {
		m = &Raw{Type: t}
	}
	// Message decoders see the frame without its CRC, so their offsets are
	// frame offsets and the CRC is out of their reach.
	b := frame[:len(frame)-2]
	off, err := m.decodeBody(b, HeaderSize)
	if err != nil {
		return nil, err
	}
	if off != len(b) {
		return nil, newError(off, "body", ErrBadLength)
	}
	f.Body = m
	return f, nil
}

// Append encodes f and appends it to dst, computing length and CRC
// (ykc.md §2). On error it returns dst unchanged.
func Append(dst []byte, f *Frame) ([]byte, error) {
	if f == nil || f.Body == nil {
		return dst, encodeError("body", "nil frame or body")
	}
	t := f.Body.FrameType()
	_, isRaw := f.Body.(*Raw)
	flag := byte(flagPlain)
	switch {
	case f.Encrypted && !isRaw:
		return dst, encodeError("body", "an encrypted frame needs a *Raw body (3DES is not supported)")
	case f.Encrypted:
		flag = flagEncrypted
	case isRaw && t.Known():
		return dst, encodeError("body", "type "+t.String()+" has a message struct; *Raw is for unknown or encrypted frames")
	}
	start := len(dst)
	w := writer{b: append(dst, Start, 0, byte(f.Seq), byte(f.Seq>>8), flag, byte(t))}
	f.Body.appendBody(&w)
	if w.err != nil {
		return dst[:start], w.err
	}
	out := w.b
	body := len(out) - start - HeaderSize
	if body > MaxBodySize {
		return dst[:start], &Error{Offset: -1, Field: "length", Err: ErrTooLarge}
	}
	if rule, ok := bodySize(t); ok && !f.Encrypted && !rule.fits(body) {
		return dst[:start], encodeError("body", "body size does not fit the frame type")
	}
	out[start+offLength] = byte(body + minLength)
	crc := crc16(out[start+offSeq:])
	return append(out, byte(crc), byte(crc>>8)), nil
}
