package bkv

import (
	"bytes"
	"encoding/binary"
)

// Split finds one complete frame at the start of buf.
//
//   - n > 0, err == nil: buf[:n] is one complete frame whose header, length,
//     packet type, tail and checksum are valid (§3).
//   - n == 0, err == nil: need more bytes.
//   - err != nil: garbage at the start of buf; skip n (>= 1) bytes and call
//     Split again. err is an *Error.
//
// Following §3 ("on any failure drop one byte and rescan"), a failed candidate
// is dropped together with the bytes up to the next 0xFC, which cannot start a
// frame. Every check looks only at bytes already present, so the frames found
// and the total number of bytes skipped do not depend on where TCP reads
// break. Frames above MaxFrameSize are garbage.
func Split(buf []byte) (n int, err error) {
	n, err = checkFrame(buf)
	if err != nil {
		return skipLen(buf), err
	}
	return n, nil
}

// skipLen is how many bytes to drop after a failed candidate at buf[0]: the
// first byte and everything up to the next possible frame start.
func skipLen(buf []byte) int {
	i := bytes.IndexByte(buf[1:], head0)
	if i < 0 {
		return len(buf)
	}
	return 1 + i
}

// Sniff reports whether the first bytes of a connection belong to this
// protocol. A gateway opens the connection and speaks first with an up frame
// (§2), so Sniff matches FC FE followed by a plausible length and packet type
// 0x01 — 11 bytes in all. more == true means "cannot tell yet, read more
// bytes". Sniff never panics.
func Sniff(prefix []byte) (match bool, more bool) {
	want := [2]byte{head0, headUp}
	for i := 0; i < len(prefix) && i < len(want); i++ {
		if prefix[i] != want[i] {
			return false, false
		}
	}
	if len(prefix) < 4 {
		return false, true
	}
	length := int(binary.BigEndian.Uint16(prefix[2:]))
	if length < minLength || length+4 > MaxFrameSize {
		return false, false
	}
	if len(prefix) < 11 {
		return false, true
	}
	return prefix[10] == packetUp, false
}
