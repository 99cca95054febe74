package ykc

// Split finds one complete frame at the start of buf.
//
//	n > 0, err == nil: buf[:n] is one complete frame, its CRC checked.
//	n == 0, err == nil: need more bytes.
//	err != nil: garbage at the start of buf; skip n (>= 1) bytes and call Split again.
//
// It follows ykc.md §2 "Reading a stream": find 0x68, read L, wait for L + 4
// bytes, check the CRC, and on failure drop one byte and rescan. The header
// is checked as soon as its bytes are there (length at least 4, flag 0 or 1,
// and for a plain frame of a known type a length that fits the type's body
// size, §5), so a stray 0x68 is usually rejected after six bytes instead of
// stalling the stream until a full bogus frame has arrived. Bytes before the
// next 0x68 are skipped in one go.
//
// Every decision depends only on the bytes from the start of buf up to the
// field being examined, and Split asks for more bytes rather than guess, so
// the frames found do not depend on where TCP reads break. The one-byte
// length bounds a frame at MaxFrameSize (259) bytes, so Split never waits for
// more than that.
func Split(buf []byte) (n int, err error) {
	if len(buf) == 0 {
		return 0, nil
	}
	if buf[0] != Start {
		n = 1
		for n < len(buf) && buf[n] != Start {
			n++
		}
		return n, newError(0, "start", ErrBadHeader)
	}
	if err := checkHeader(buf); err != nil {
		return 1, err
	}
	if len(buf) <= offLength {
		return 0, nil
	}
	total := int(buf[offLength]) + 4
	if len(buf) < total {
		return 0, nil
	}
	if !crcOK(buf[:total]) {
		return 1, newError(total-2, "crc", ErrChecksum)
	}
	return total, nil
}

// Sniff reports whether the first bytes of a connection belong to this
// protocol. more == true means "cannot tell yet, read more bytes". It never
// panics.
//
// A YKC pile speaks first and sends a login (ykc.md §1, §8), so the
// connection must start with a whole, CRC-correct frame whose type is odd
// (pile → platform). Any odd type is accepted, not just 0x01, for piles that
// resume with a heartbeat. Sniff answers as soon as the header is wrong, and
// otherwise once the first frame (at most 259 bytes) is complete.
func Sniff(prefix []byte) (match bool, more bool) {
	if len(prefix) == 0 {
		return false, true
	}
	if checkHeader(prefix) != nil {
		return false, false
	}
	if len(prefix) > offType && !Type(prefix[offType]).FromPile() {
		return false, false
	}
	if len(prefix) <= offLength {
		return false, true
	}
	total := int(prefix[offLength]) + 4
	if len(prefix) < total {
		return false, true
	}
	return crcOK(prefix[:total]), false
}
