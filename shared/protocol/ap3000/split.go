package ap3000

import (
	"bytes"
	"encoding/binary"
)

// Split finds one complete frame at the start of buf.
//
//	n > 0, err == nil: buf[:n] is one complete frame, its checksum checked.
//	n == 0, err == nil: need more bytes.
//	err != nil: garbage at the start of buf; skip n (>= 1) bytes and call Split again.
//
// Besides DNY frames (ap3000.md §2), Split returns the module's unframed
// preamble units as frames of their own (ap3000.md §1): the 20-digit ICCID
// and the 4 bytes "link". Decode turns them into *ICCID and *Link.
//
// Every decision depends only on the bytes from the start of buf up to the
// end of the unit being examined, and Split asks for more bytes rather than
// guess, so the frames found do not depend on where TCP reads break. A
// frame whose length field is below the minimum or above MaxFrameSize, or
// whose checksum does not match, is garbage: Split skips its first byte and
// resynchronises on the next "DNY".
//
// A corrupt length field can announce up to 1 KiB, and a quiet device takes
// hours to send that much. So a "DNY" candidate is also garbage as soon as a
// complete, checksum-valid DNY frame lies wholly inside the bytes its length
// field claims: real device frames do not contain whole frames, and the rule
// gives the same answer however the bytes arrive.
func Split(buf []byte) (n int, err error) {
	if len(buf) == 0 {
		return 0, nil
	}
	switch c := buf[0]; {
	case c == magic[0]:
		return splitDNY(buf)
	case c == linkKeepAlive[0]:
		return splitLink(buf)
	case isDigit(c):
		return splitICCID(buf)
	}
	// Skip everything that cannot start a unit.
	n = 1
	for n < len(buf) && !canStart(buf[n]) {
		n++
	}
	return n, newError(0, "header", ErrBadHeader)
}

func canStart(c byte) bool { return c == magic[0] || c == linkKeepAlive[0] || isDigit(c) }

func splitDNY(buf []byte) (int, error) {
	for i := 1; i < len(magic); i++ {
		if i >= len(buf) {
			return 0, nil
		}
		if buf[i] != magic[i] {
			return 1, newError(i, "header", ErrBadHeader)
		}
	}
	if len(buf) < offPhyID {
		return 0, nil
	}
	total := int(binary.LittleEndian.Uint16(buf[offLength:])) + 5
	switch {
	case total < MinFrameSize:
		return 1, newError(offLength, "length", ErrBadLength)
	case total > MaxFrameSize:
		return 1, newError(offLength, "length", ErrTooLarge)
	}
	if p := innerFrame(buf[:min(total, len(buf))]); p > 0 {
		return 1, newError(offLength, "length", ErrBadLength)
	}
	if len(buf) < total {
		return 0, nil
	}
	if !sumOK(buf[:total]) {
		return 1, newError(total-2, "checksum", ErrChecksum)
	}
	return total, nil
}

// innerFrame returns the offset (> 0) of the first complete, checksum-valid
// DNY frame inside b after its first byte, or 0 if there is none.
// len(b) <= MaxFrameSize.
func innerFrame(b []byte) int {
	for p := 1; p+MinFrameSize <= len(b); p++ {
		i := bytes.Index(b[p:], []byte(magic))
		if i < 0 {
			return 0
		}
		p += i
		if p+MinFrameSize > len(b) {
			return 0
		}
		total := int(binary.LittleEndian.Uint16(b[p+offLength:])) + 5
		if total >= MinFrameSize && p+total <= len(b) {
			// A plausible inner frame: check it and all later ones with
			// prefix sums, so crafted input cannot make this quadratic.
			return innerFrameSums(b, p)
		}
	}
	return 0
}

// innerFrameSums is innerFrame from offset p on, checking checksums through
// prefix sums: O(len(b)) however many "DNY" the bytes contain.
func innerFrameSums(b []byte, p int) int {
	var prefix [MaxFrameSize + 1]uint16 // prefix[i] = sum of b[:i]
	for i, c := range b {
		prefix[i+1] = prefix[i] + uint16(c)
	}
	for ; p+MinFrameSize <= len(b); p++ {
		i := bytes.Index(b[p:], []byte(magic))
		if i < 0 {
			return 0
		}
		p += i
		if p+MinFrameSize > len(b) {
			return 0
		}
		total := int(binary.LittleEndian.Uint16(b[p+offLength:])) + 5
		if total < MinFrameSize || p+total > len(b) {
			continue
		}
		end := p + total - 2
		if prefix[end]-prefix[p] == binary.LittleEndian.Uint16(b[end:]) {
			return p
		}
	}
	return 0
}

func splitLink(buf []byte) (int, error) {
	for i := 1; i < len(linkKeepAlive); i++ {
		if i >= len(buf) {
			return 0, nil
		}
		if buf[i] != linkKeepAlive[i] {
			return 1, newError(i, "link", ErrBadHeader)
		}
	}
	return len(linkKeepAlive), nil
}

// splitICCID returns a run of exactly ICCIDSize digits. A shorter run ended
// by a non-digit is garbage and skipped as a whole (it holds no "D" or "l"
// that could start a unit).
func splitICCID(buf []byte) (int, error) {
	for i := 1; i < ICCIDSize; i++ {
		if i >= len(buf) {
			return 0, nil
		}
		if !isDigit(buf[i]) {
			return i, newError(i, "iccid", ErrBadHeader)
		}
	}
	return ICCIDSize, nil
}

// sniffWindow is how far into a connection "DNY" may start after the
// preamble units (ap3000.md §1: "sniff for DNY within the first ~32 bytes").
const sniffWindow = 32

// Sniff reports whether the first bytes of a connection belong to this
// protocol: zero or more ICCID / "link" preamble units (ap3000.md §1)
// followed by "DNY", which must lie within the first 32 bytes.
// more == true means "cannot tell yet, read more bytes". Sniff never panics.
func Sniff(prefix []byte) (match bool, more bool) {
	pos := 0
	for {
		if pos+len(magic) > sniffWindow {
			return false, false
		}
		rest := prefix[pos:]
		if len(rest) == 0 {
			return false, true
		}
		var unit string
		switch c := rest[0]; {
		case c == magic[0]:
			unit = magic
		case c == linkKeepAlive[0]:
			unit = linkKeepAlive
		case isDigit(c):
			n := 1
			for n < len(rest) && n < ICCIDSize && isDigit(rest[n]) {
				n++
			}
			switch {
			case n == ICCIDSize:
				pos += ICCIDSize
				continue
			case n == len(rest):
				return false, true
			}
			return false, false
		default:
			return false, false
		}
		k := min(len(rest), len(unit))
		if string(rest[:k]) != unit[:k] {
			return false, false
		}
		if k < len(unit) {
			return false, true
		}
		if unit == magic {
			return true, false
		}
		pos += len(unit)
	}
}
