package bkv

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// The BKV key-value encoding of the 0x1000 payload (§8.1, [K]):
//
//	item     = length, key-size, key, value
//	length   = bytes of key-size + key + value, 7 bits per byte, most
//	           significant group first, bit 7 set on every byte but the last
//	key-size = bits 0–6 key length, bit 7 set for a text key
//	key      = big-endian number in as few bytes as possible
//
// A payload is a list of items with no padding; some values are themselves
// lists (0x94 sockets, 0x5B ports).

// Item is one BKV key-value item (§8.1), kept exactly as sent.
type Item struct {
	Key   []byte // key bytes: a big-endian number (every known key is 1 byte), or text when Text is set
	Text  bool   // bit 7 of the key-size byte; never seen from devices
	Value []byte // raw value; numbers are big-endian
}

// NumberItem returns the item with number key key (in as few bytes as
// possible, §8.1) and the given value.
func NumberItem(key uint64, value []byte) Item {
	return Item{Key: appendKeyBytes(nil, key), Value: value}
}

// Number returns the item's number key. ok is false for a text key and for
// an empty key or one longer than 8 bytes.
func (it Item) Number() (key uint64, ok bool) { return numberKey(it.Key, it.Text) }

// KeyString returns the key as the vectors print it: "0x4a" for a number
// key (all its bytes in hex), the text itself for a text key.
func (it Item) KeyString() string {
	if it.Text {
		return string(it.Key)
	}
	return "0x" + hex.EncodeToString(it.Key)
}

// Extra is an item with a key that a typed KV message does not know. §8.1:
// unknown keys must be kept and ignored, never rejected. Index is the item's
// position in its list (counted after the fixed head), so Append puts it
// back where it was and a decoded frame re-encodes to the same bytes. (A
// repeated known key is an error, not an Extra: keeping either copy would
// be a guess.)
type Extra struct {
	Index int
	Item
}

func numberKey(key []byte, text bool) (uint64, bool) {
	if text || len(key) == 0 || len(key) > 8 {
		return 0, false
	}
	var k uint64
	for _, x := range key {
		k = k<<8 | uint64(x)
	}
	return k, true
}

func appendKeyBytes(dst []byte, key uint64) []byte {
	n := keySize(key)
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(key>>(8*i)))
	}
	return dst
}

func keySize(key uint64) int {
	n := 1
	for k := key >> 8; k > 0; k >>= 8 {
		n++
	}
	return n
}

// maxVarLen is the largest item length the 4-byte length form holds.
const maxVarLen = 1<<28 - 1

// readVarLen reads an item length (§8.1): 1 to 4 bytes of 7 bits. Non-minimal
// forms (leading 0x80 bytes) are accepted.
func readVarLen(b []byte, off int) (int, int, error) {
	v := 0
	for i := 0; i < 4; i++ {
		x, _, err := readU8(b, off+i)
		if err != nil {
			return 0, off, truncated(off)
		}
		v = v<<7 | int(x&0x7f)
		if x&0x80 == 0 {
			return v, off + i + 1, nil
		}
	}
	return 0, off, errAt(off, "", fmt.Errorf("%w: KV length longer than 4 bytes", ErrBadLength))
}

func appendVarLen(dst []byte, v int) []byte {
	var tmp [4]byte
	i := len(tmp) - 1
	tmp[i] = byte(v & 0x7f)
	for v >>= 7; v > 0; v >>= 7 {
		i--
		tmp[i] = byte(v&0x7f) | 0x80
	}
	return append(dst, tmp[i:]...)
}

// kvList iterates over the items of one list without allocating. b ends
// where the list ends; offsets are absolute in the frame.
type kvList struct {
	b   []byte
	off int
	n   int // items returned so far: the next item's index
}

// kvItem is one parsed item; key and value alias the frame and are copied
// before they reach a decoded message.
type kvItem struct {
	b     []byte // bytes holding the item; the value is b[off:end]
	start int    // offset of the length prefix
	keyb  []byte
	text  bool
	off   int
	end   int
	index int
}

// next returns the next item, ok == false at the end of the list, or an
// *Error when an item is malformed or runs past the end of the list (§8.1:
// "Reject an item whose length runs past the payload").
func (l *kvList) next() (kvItem, bool, error) {
	if l.off >= len(l.b) {
		return kvItem{}, false, nil
	}
	start := l.off
	length, p, err := readVarLen(l.b, start)
	if err != nil {
		return kvItem{}, false, withField(err, "kv length")
	}
	if length < 1 {
		return kvItem{}, false, errAt(start, "kv length", fmt.Errorf("%w: item length 0", ErrBadLength))
	}
	if len(l.b)-p < length {
		return kvItem{}, false, errAt(start, "kv item", fmt.Errorf("%w: item length %d, %d bytes left", ErrTruncated, length, len(l.b)-p))
	}
	ks := l.b[p]
	klen := int(ks & 0x7f)
	if 1+klen > length {
		return kvItem{}, false, errAt(p, "kv key size", fmt.Errorf("%w: key of %d bytes in an item of %d", ErrBadLength, klen, length))
	}
	it := kvItem{
		b:     l.b,
		start: start,
		keyb:  l.b[p+1 : p+1+klen],
		text:  ks&0x80 != 0,
		off:   p + 1 + klen,
		end:   p + length,
		index: l.n,
	}
	l.off = p + length
	l.n++
	return it, true, nil
}

func (it *kvItem) number() (uint64, bool) { return numberKey(it.keyb, it.text) }

func (it *kvItem) value() []byte { return it.b[it.off:it.end] }

func (it *kvItem) item() Item {
	return Item{Key: clone(it.keyb), Text: it.text, Value: clone(it.value())}
}

func (it *kvItem) extra() Extra { return Extra{Index: it.index, Item: it.item()} }

// list returns an iterator over the item list held in the value (0x94, 0x5B).
func (it *kvItem) list() kvList { return kvList{b: it.b[:it.end], off: it.off} }

// key returns the item's number key, or noKey for a text key or one longer
// than 8 bytes, which no message knows.
func (it *kvItem) key() uint64 {
	k, ok := it.number()
	if !ok {
		return noKey
	}
	return k
}

const noKey = ^uint64(0)

// keySet records the keys a list has shown that a message holds once.
type keySet [4]uint64

// once fails when the item's key, which the message holds in one field, has
// already appeared in the list. A repeated unknown key is kept in Extra, but
// a repeated known key is malformed: keeping either copy would be a guess.
func (s *keySet) once(it *kvItem) error {
	k := it.key()
	if k > 0xff {
		return nil // never a known key
	}
	bit := uint64(1) << (k % 64)
	if s[k/64]&bit != 0 {
		return errAt(it.start, "kv key", fmt.Errorf("%w: key 0x%02x repeated", ErrBadValue, k))
	}
	s[k/64] |= bit
	return nil
}

// uint reads a value of exactly size bytes (the sizes of §8.4).
func (it *kvItem) uint(field string, size int) (uint64, error) {
	v := it.value()
	if len(v) != size {
		return 0, errAt(it.off, field, fmt.Errorf("%w: key %s has %d value bytes, want %d", ErrBadLength, Item{Key: it.keyb, Text: it.text}.KeyString(), len(v), size))
	}
	var x uint64
	for _, b := range v {
		x = x<<8 | uint64(b)
	}
	return x, nil
}

func (it *kvItem) u8(field string) (uint8, error) {
	v, err := it.uint(field, 1)
	return uint8(v), err
}

func (it *kvItem) u16(field string) (uint16, error) {
	v, err := it.uint(field, 2)
	return uint16(v), err
}

func (it *kvItem) bcdTime(field string) (time.Time, error) {
	if _, err := it.uint(field, 7); err != nil {
		return time.Time{}, err
	}
	t, _, err := readBCDTime(it.b[:it.end], it.off)
	if err != nil {
		return time.Time{}, withField(err, field)
	}
	return t, nil
}

// kvWriter appends items. Extras are put back at their Index: before the
// known item that would otherwise take that position, and any left over at
// the end. The first error sticks.
type kvWriter struct {
	dst   []byte
	n     int // items written
	extra []Extra
	next  int
	err   error
}

func (w *kvWriter) fail(field string, err error) {
	if w.err == nil {
		w.err = errAt(len(w.dst), field, err)
	}
}

func (w *kvWriter) flush(all bool) {
	for w.err == nil && w.next < len(w.extra) && (all || w.extra[w.next].Index <= w.n) {
		w.item(w.extra[w.next].Item)
		w.next++
	}
}

// item writes it as it is.
func (w *kvWriter) item(it Item) {
	if w.err != nil {
		return
	}
	if len(it.Key) > 0x7f {
		w.fail("kv key", fmt.Errorf("%w: key of %d bytes, at most 127", ErrBadValue, len(it.Key)))
		return
	}
	ks := byte(len(it.Key))
	if it.Text {
		ks |= 0x80
	}
	w.raw(ks, it.Key, it.Value)
}

// raw writes one item: key-size byte ks, the key bytes and the value.
func (w *kvWriter) raw(ks byte, key, value []byte) {
	total := 1 + len(key) + len(value)
	if total > maxVarLen {
		w.fail("kv length", fmt.Errorf("%w: item of %d bytes", ErrTooLarge, total))
		return
	}
	w.dst = appendVarLen(w.dst, total)
	w.dst = append(w.dst, ks)
	w.dst = append(w.dst, key...)
	w.dst = append(w.dst, value...)
	w.n++
}

// put writes the known item key = value.
func (w *kvWriter) put(key uint64, value []byte) {
	w.flush(false)
	if w.err != nil {
		return
	}
	var kb [8]byte
	k := appendKeyBytes(kb[:0], key)
	w.raw(byte(len(k)), k, value)
}

func (w *kvWriter) u8(key uint64, v uint8) { w.put(key, []byte{v}) }

func (w *kvWriter) u16(key uint64, v uint16) {
	var b [2]byte
	b[0], b[1] = byte(v>>8), byte(v)
	w.put(key, b[:])
}

func (w *kvWriter) bcdTime(key uint64, field string, t time.Time) {
	var b [7]byte
	v, err := appendBCDTime(b[:0], field, t)
	if err != nil {
		w.fail(field, errors.Unwrap(err))
		return
	}
	w.put(key, v)
}

// list writes an item whose value is an item list built by fill, with the
// list's own extras.
func (w *kvWriter) list(key uint64, extra []Extra, fill func(*kvWriter)) {
	if w.err != nil {
		return
	}
	sub := kvWriter{extra: extra}
	fill(&sub)
	v, err := sub.finish()
	if err != nil {
		field, cause := "kv list", err
		var e *Error
		if errors.As(err, &e) {
			field, cause = e.Field, e.Err
		}
		w.fail(field, cause)
		return
	}
	w.put(key, v)
}

// finish writes the extras not yet placed and returns the bytes.
func (w *kvWriter) finish() ([]byte, error) {
	w.flush(true)
	return w.dst, w.err
}
