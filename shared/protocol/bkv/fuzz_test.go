package bkv

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fuzzSeeds returns the bytes of every vector that is hex, valid or not.
func fuzzSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	for _, v := range loadVectors(tb) {
		if b, err := hex.DecodeString(v.Hex); err == nil {
			seeds = append(seeds, b)
		}
	}
	return seeds
}

// FuzzSplit feeds the input to Split in two parts split at a fuzzer-chosen
// point and requires the same frames, skipped bytes and leftover as feeding
// it whole, and that every frame Split returns passes Decode's framing
// checks.
func FuzzSplit(f *testing.F) {
	seeds := fuzzSeeds(f)
	for _, s := range seeds {
		f.Add(s, uint(len(s)/2))
	}
	f.Add(bytes.Join(seeds[:4], []byte{0x00, 0xfc}), uint(30))
	f.Fuzz(func(t *testing.T, data []byte, cut uint) {
		c := int(cut % uint(len(data)+1))
		var whole, parts stream
		whole.write(t, data)
		parts.write(t, data[:c])
		parts.write(t, data[c:])
		if diff := cmp.Diff(whole.frames, parts.frames); diff != "" {
			t.Fatalf("frames depend on the read boundary %d (-whole +parts):\n%s", c, diff)
		}
		if whole.skipped != parts.skipped || !bytes.Equal(whole.buf, parts.buf) {
			t.Fatalf("skipped %d/%d, left %x/%x depend on the read boundary %d", whole.skipped, parts.skipped, whole.buf, parts.buf, c)
		}
		for _, fr := range whole.frames {
			if _, err := Decode(fr); err != nil && framingError(err) {
				t.Fatalf("Split returned %x but Decode rejects its framing: %v", fr, err)
			}
		}
	})
}

func framingError(err error) bool {
	for _, f := range []error{ErrShortFrame, ErrBadHeader, ErrBadTail, ErrChecksum, ErrPacketType, ErrTooLarge} {
		if errors.Is(err, f) {
			return true
		}
	}
	return false
}

// FuzzDecode decodes the input three ways: the frames Split finds when the
// input arrives in two parts split at a fuzzer-chosen point, the input as one
// frame, and the input as a payload wrapped in valid framing (see
// wrapPayload) so that the fuzzer reaches the body decoders. Whenever Decode
// succeeds, encode → decode must give the same value, Inspect must succeed,
// and the result must not alias the input.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, uint(len(s)/2))
		if p := unwrapPayload(s); p != nil {
			f.Add(p, uint(0))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, cut uint) {
		c := int(cut % uint(len(data)+1))
		var s stream
		s.write(t, data[:c])
		s.write(t, data[c:])
		for _, fr := range s.frames {
			checkDecode(t, fr)
		}
		checkDecode(t, data)
		if fr := wrapPayload(data); fr != nil {
			checkDecode(t, fr)
		}
	})
}

func checkDecode(t *testing.T, frame []byte) {
	t.Helper()
	in := bytes.Clone(frame)
	f, err := Decode(in)
	info, ierr := Inspect(frame, "")
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("Decode error %v is not a *bkv.Error", err)
		}
		if e.Offset < 0 || e.Offset > len(frame) {
			t.Fatalf("error offset %d outside the %d-byte input: %v", e.Offset, len(frame), err)
		}
		if ierr == nil {
			t.Fatalf("Decode fails (%v) but Inspect succeeds", err)
		}
		return
	}
	if ierr != nil || info == nil {
		t.Fatalf("Decode succeeds but Inspect fails: %v", ierr)
	}
	for i := range in {
		in[i] ^= 0xff // the gateway reuses its read buffer
	}
	fresh, err := Decode(frame)
	if err != nil {
		t.Fatalf("second Decode: %v", err)
	}
	if diff := cmp.Diff(fresh, f, cmpOpts...); diff != "" {
		t.Fatalf("decoded value aliases the input (-fresh +after overwrite):\n%s", diff)
	}
	enc, err := Append(nil, f)
	if err != nil {
		t.Fatalf("Append(Decode(%x)): %v", frame, err)
	}
	again, err := Decode(enc)
	if err != nil {
		t.Fatalf("Decode(Append(Decode(%x))) = %x: %v", frame, enc, err)
	}
	if diff := cmp.Diff(f, again, cmpOpts...); diff != "" {
		t.Fatalf("decode → encode → decode changed the value of %x (-first +second):\n%s", frame, diff)
	}
}

// Payload fuzzing: data[0] chooses direction (bit 7) and frame command (low
// 3 bits); the rest is the payload. For 0x1000 the fixed KV head is built
// too, with the BKV command from data[1:3], so only the body is fuzzed.
var wrapCommands = [...]uint16{CommandHeartbeat, CommandNetwork, CommandCharge, CommandOTA, CommandBKV, CommandBKV, 0x0003, 0x0003}

const wrapHeadless = 5 // index of 0x1000 without a generated head

func wrapPayload(data []byte) []byte {
	if len(data) < 1 {
		return nil
	}
	mode, payload := data[0], data[1:]
	d := Up
	if mode&0x80 != 0 {
		d = Down
	}
	idx := int(mode & 7)
	cmd := wrapCommands[idx]
	var body []byte
	if cmd == CommandBKV && idx != wrapHeadless {
		if len(payload) < 2 {
			return nil
		}
		w := kvWriter{}
		w.put(keyCommand, payload[:2])
		w.put(keySeq, make([]byte, 8))
		w.put(keyGateway, testGateway[:])
		body = append(w.dst, payload[2:]...)
	} else {
		body = payload
	}
	if payloadOff+len(body)+3 > MaxFrameSize {
		return nil
	}
	b := []byte{head0, d.headerByte(), 0, 0}
	b = binary.BigEndian.AppendUint16(b, cmd)
	b = append(b, 0, 0, 0, 1, d.packetType())
	b = append(b, testGateway[:]...)
	b = append(b, body...)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)-4+3))
	b = append(b, checksum(b[2:]))
	return append(b, tail0, tail1)
}

// unwrapPayload turns a vector frame into a wrapPayload input, so the
// payload fuzzer starts from real payloads.
func unwrapPayload(frame []byte) []byte {
	f, err := Decode(frame)
	if err != nil {
		return nil
	}
	payload := frame[payloadOff : len(frame)-3]
	var mode byte
	if f.Direction == Down {
		mode = 0x80
	}
	switch f.Command {
	case CommandHeartbeat:
	case CommandNetwork:
		mode |= 1
	case CommandCharge:
		mode |= 2
	case CommandOTA:
		mode |= 3
	case CommandBKV:
		l := kvList{b: frame[:len(frame)-3], off: payloadOff}
		for i := 0; i < 3; i++ {
			if _, _, err := l.next(); err != nil {
				return nil
			}
		}
		m := f.Body.(kvMessage)
		return append([]byte{mode | 4, byte(m.BKVCommand() >> 8), byte(m.BKVCommand())}, frame[l.off:len(frame)-3]...)
	default:
		mode |= 6
	}
	return append([]byte{mode}, payload...)
}
