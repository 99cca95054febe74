package bkv

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestDecodeBodyErrors feeds frames whose framing is valid but whose body
// breaks the layout; each must fail with an *Error carrying the cause and
// the offset of the offending bytes.
func TestDecodeBodyErrors(t *testing.T) {
	tests := []struct {
		name    string
		dir     Direction
		cmd     uint16
		payload string
		want    error
		offset  int
	}{
		{"heartbeat too short", Up, CommandHeartbeat, "3839", ErrTruncated, 18},
		{"heartbeat too long", Up, CommandHeartbeat, strings.Repeat("30", 29) + "00", ErrBadLength, 47},
		{"reply time not BCD", Down, CommandHeartbeat, "20 2a 07 30 16 45 45", ErrBadValue, 19},
		{"reply time 31 April", Down, CommandHeartbeat, "20 25 04 31 00 00 00", ErrBadValue, 18},
		{"envelope without sub-command", Up, CommandCharge, "00", ErrTruncated, 18},
		{"inner length counts the sub-command", Down, CommandCharge, "0002 1d 01", ErrBadLength, 18},
		{"inner length too long for raw", Up, CommandCharge, "0005 1d 01", ErrBadLength, 18},
		{"control one byte short", Down, CommandCharge, "0007 07 02 01 01 01 00f0 00", ErrTruncated, 27},
		{"node list partial entry", Down, CommandNetwork, "0004 08 04 01 4500", ErrBadLength, 22},
		{"status reply partial port block", Up, CommandCharge, "0006 1c 01 5136 1d 0f 00", ErrBadLength, 26},
		{"six power tiers", Down, CommandCharge, "002a 17 01 00 01 0064 06" + strings.Repeat("07d00019003c", 6), ErrBadValue, 26},
		{"tier count disagrees", Down, CommandCharge, "000c 17 01 00 01 0064 02 07d00019003c", ErrBadLength, 26},
		{"power end time 30 February", Up, CommandCharge, "001e 18 01 5136 2d 20 00 98 0017 0000 0002 0001 0024 07e4 02 1e 00 00 00 02 000f 0000 00", ErrBadValue, 38},
		{"card order tiers in time mode", Down, CommandCharge, "000d 0b 01 00 001a 01 01 bb80 0000 00c8 00", ErrBadLength, 31},
		{"three voice periods", Down, CommandCharge, "0011 1b 01 01 00 00 03 0000173b 0000173b 0000173b", ErrBadValue, 25},
		{"ota short", Down, CommandOTA, "01 652591a2 0015", ErrTruncated, 25},
		{"kv without head", Up, CommandBKV, "03 01 4a 01", ErrKVHead, 18},
		{"kv empty payload", Up, CommandBKV, "", ErrKVHead, 18},
		{"kv head of another gateway", Up, CommandBKV, "04 01 01 1017 0a 01 02 0000000000000000 09 01 03 82200520004869", ErrKVHead, 37},
		{"kv length longer than 4 bytes", Up, CommandBKV, kvHead("1017", "0000000000000000") + "ff ff ff ff 01", ErrBadLength, 44},
		{"kv length zero", Up, CommandBKV, kvHead("1017", "0000000000000000") + "00", ErrBadLength, 44},
		{"kv key longer than the item", Up, CommandBKV, kvHead("1017", "0000000000000000") + "02 05 4a", ErrBadLength, 45},
		{"kv item overruns", Up, CommandBKV, kvHead("1017", "0000000000000000") + "05 01 94 03 01", ErrTruncated, 44},
		{"socket no. of two bytes", Up, CommandBKV, kvHead("1013", "0000000000000000") + "04 01 4a 0001", ErrBadLength, 47},
		{"nested port list overruns", Up, CommandBKV, kvHead("1017", "0000000000000000") + "07 01 94 | 04 01 5b 03 01", ErrTruncated, 50},
		{"fee periods not a multiple of 6", Down, CommandBKV, kvHead("1007", "0000000000000000") + "07 01 83 173b003200", ErrBadLength, 47},
		{"fee period count disagrees", Down, CommandBKV, kvHead("1007", "0000000000000000") + "03 01 89 02 | 08 01 83 173b00320032", ErrBadLength, 47},
		{"fee end time not BCD", Up, CommandBKV, kvHead("1004", "0000000000000000") + "09 01 2e 2024082310172f", ErrBadValue, 53},
		{"known key repeated", Up, CommandBKV, kvHead("1010", "0000000000000000") + "03 01 58 30 | 03 01 58 30", ErrBadValue, 48},
		{"known key repeated in a port list", Up, CommandBKV, kvHead("1017", "0000000000000000") + "0d 01 94 | 0a 01 5b 03 01 08 00 03 01 08 01", ErrBadValue, 54},
		{"param of wrong size", Down, CommandBKV, kvHead("1011", "0000000000000000") + "03 01 21 05", ErrBadLength, 47},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frame := buildFrame(t, tc.dir, tc.cmd, 0, tc.payload)
			f, err := Decode(frame)
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, tc.want) {
				t.Fatalf("Decode = %v, %v; want an *Error with cause %v", f, err, tc.want)
			}
			if e.Offset != tc.offset {
				t.Errorf("offset %d, want %d (%v)", e.Offset, tc.offset, err)
			}
			if e.Field == "" {
				t.Errorf("error %v names no field", err)
			}
			if _, err := Inspect(frame, ""); !errors.Is(err, tc.want) {
				t.Errorf("Inspect = %v, want cause %v", err, tc.want)
			}
		})
	}
}

func TestDecodeFrameErrors(t *testing.T) {
	good := buildFrame(t, Up, CommandCharge, 0, "0001 1d 01")
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrShortFrame},
		{"header only", good[:2], ErrShortFrame},
		{"missing tail", good[:len(good)-1], ErrShortFrame},
		{"bytes after the frame", append(bytes.Clone(good), 0), ErrBadLength},
		{"two frames", append(bytes.Clone(good), good...), ErrBadLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.in)
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, tc.want) {
				t.Errorf("Decode = %v; want an *Error with cause %v", err, tc.want)
			}
		})
	}
}

// TestKVUnknownKeysKept checks §8.1: unknown keys (repeated or not), keys of
// several bytes and text keys are kept and never rejected, and a multi-byte
// length decodes.
func TestKVUnknownKeysKept(t *testing.T) {
	frame := buildFrame(t, Down, CommandBKV, 0, kvHead("1017", "0000000000000000")+
		"03 01 0f 01 | 03 01 5a 00 | 04 02 00ff 07 | 04 82 6162 01 | 81 02 01 5a "+strings.Repeat("00", 128))
	f, err := Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	ack := f.Body.(*StatusReportAck)
	if ack.Result != ResultOK {
		t.Errorf("Result = %d, want the first 0x0F", ack.Result)
	}
	if len(ack.Extra) != 4 || ack.Extra[0].Index != 1 || ack.Extra[3].Index != 4 || len(ack.Extra[3].Value) != 128 {
		t.Fatalf("Extra = %+v", ack.Extra)
	}
	if k, ok := ack.Extra[1].Number(); !ok || k != 0xff {
		t.Errorf("two-byte key = %#x, %v; want 0xff", k, ok)
	}
	if _, ok := ack.Extra[2].Number(); ok || ack.Extra[2].KeyString() != "ab" {
		t.Errorf("text key = %q", ack.Extra[2].KeyString())
	}
	// The non-minimal key 00ff re-encodes as written, so the frame round-trips.
	again, err := Append(nil, f)
	if err != nil || !bytes.Equal(again, frame) {
		t.Errorf("Append = %x, %v; want %x", again, err, frame)
	}
}

func TestAppendErrors(t *testing.T) {
	ok := func(m Message) Frame { return Frame{Direction: Down, Command: CommandCharge, Body: m} }
	tests := []struct {
		name  string
		frame *Frame
		want  error
	}{
		{"nil frame", nil, ErrBadValue},
		{"nil body", &Frame{Direction: Up}, ErrBadValue},
		{"no direction", &Frame{Body: &StatusQuery{}}, ErrDirection},
		{"up message sent down", &Frame{Direction: Down, Command: CommandHeartbeat, Body: &Heartbeat{}}, ErrDirection},
		{"heartbeat under 0x0015", &Frame{Direction: Up, Command: CommandCharge, Body: &Heartbeat{}}, ErrCommand},
		{"sub-command under 0x1000", &Frame{Direction: Down, Command: CommandBKV, Body: &StatusQuery{}}, ErrCommand},
		{"kv message under 0x0015", &Frame{Direction: Down, Command: CommandCharge, Body: &ParamQuery{}}, ErrCommand},
		{"ota under 0x0000", &Frame{Direction: Down, Command: CommandHeartbeat, Body: &OTA{}}, ErrCommand},
		{"raw under a known command", &Frame{Direction: Up, Command: CommandHeartbeat, Body: &Raw{}}, ErrCommand},
		{"raw sub-command for a known one", &Frame{Direction: Down, Command: CommandCharge, Body: &RawSubCommand{Sub: SubControl}}, ErrCommand},
		{"raw kv for a known one", &Frame{Direction: Up, Command: CommandBKV, Body: &RawKV{Command: BKVStatus}}, ErrCommand},
		{"iccid too long", &Frame{Direction: Up, Command: CommandHeartbeat, Body: &Heartbeat{ICCID: strings.Repeat("8", 21)}}, ErrBadValue},
		{"firmware too long", &Frame{Direction: Up, Command: CommandHeartbeat, Body: &Heartbeat{Firmware: "200.1.170"}}, ErrBadValue},
		{"year beyond BCD", &Frame{Direction: Down, Command: CommandHeartbeat, Body: &HeartbeatReply{Time: wall(10000, 1, 1, 0, 0, 0)}}, ErrBadValue},
		{"ota without IPv4", &Frame{Direction: Down, Command: CommandOTA, Body: &OTA{Server: netip.MustParseAddrPort("[::1]:21")}}, ErrBadValue},
		{"ota file name too long", &Frame{Direction: Down, Command: CommandOTA, Body: &OTA{Server: netip.MustParseAddrPort("1.2.3.4:21"), File: "GV.8r12.OTA.bin"}}, ErrBadValue},
		{"six power tiers", ptr(ok(&PowerTierStart{Tiers: make([]PowerTier, 6)})), ErrBadValue},
		{"tiers in a time order", ptr(ok(&CardOrder{Mode: BillByTime, Tiers: make([]PowerTier, 1)})), ErrBadValue},
		{"three voice periods", ptr(ok(&VoiceWindow{Periods: make([]VoicePeriod, 3)})), ErrBadValue},
		{"port block with extras", &Frame{Direction: Up, Command: CommandCharge, Body: &StatusQueryReply{Ports: []PortReport{{Extra: []Extra{{Item: NumberItem(1, nil)}}}}}}, ErrBadValue},
		{"frame too large", ptr(ok(&NodeList{Nodes: make([]Node, 300)})), ErrTooLarge},
		{"param value too big", &Frame{Direction: Down, Command: CommandBKV, Body: &ParamSet{Params: []Param{{ParamHighTemperature, 256}}}}, ErrBadValue},
		{"unknown param key", &Frame{Direction: Down, Command: CommandBKV, Body: &ParamSet{Params: []Param{{0x30, 1}}}}, ErrBadValue},
		{"fee end time beyond BCD", &Frame{Direction: Up, Command: CommandBKV, Body: &FeeEnd{EndTime: wall(-1, 1, 1, 0, 0, 0)}}, ErrBadValue},
		{"kv key too long", &Frame{Direction: Up, Command: CommandBKV, Body: &RawKV{Command: 0x1099, Items: []Item{{Key: make([]byte, 128)}}}}, ErrBadValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("prefix")
			got, err := Append(dst, tc.frame)
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, tc.want) {
				t.Fatalf("Append error = %v; want an *Error with cause %v", err, tc.want)
			}
			if string(got) != "prefix" {
				t.Errorf("Append changed dst on error: %q", got)
			}
		})
	}
}

func ptr(f Frame) *Frame { return &f }

// TestWallClock checks §11 times: Append writes the wall-clock fields of the
// time as given (no zone conversion), and Decode returns them as time.UTC
// fields.
func TestWallClock(t *testing.T) {
	beijing := time.FixedZone("CST", 8*60*60)
	f := &Frame{Direction: Down, Command: CommandHeartbeat, GatewayID: testGateway,
		Body: &HeartbeatReply{Time: time.Date(2020, 7, 30, 16, 45, 45, 999, beijing)}}
	b, err := Append(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	if want := mustHex(t, "20200730164545"); !bytes.Equal(b[payloadOff:payloadOff+7], want) {
		t.Errorf("payload %x, want %x", b[payloadOff:payloadOff+7], want)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if tm := got.Body.(*HeartbeatReply).Time; !tm.Equal(wall(2020, 7, 30, 16, 45, 45)) || tm.Location() != time.UTC {
		t.Errorf("decoded time %v, want 2020-07-30 16:45:45 UTC", tm)
	}
}

// TestDecodeDoesNotAlias overwrites the input after decoding: the gateway
// reuses its read buffer.
func TestDecodeDoesNotAlias(t *testing.T) {
	for _, tc := range roundTripCases {
		f := tc.frame
		f.GatewayID = testGateway
		buf, err := Append(nil, &f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(buf)
		if err != nil {
			t.Fatal(err)
		}
		before, _ := Append(nil, got)
		for i := range buf {
			buf[i] = 0xa5
		}
		after, _ := Append(nil, got)
		if !bytes.Equal(before, after) {
			t.Errorf("%s: decoded frame changed when the input buffer was overwritten", tc.name)
		}
	}
}

func TestResult(t *testing.T) {
	if err := ResultOK.Err(); err != nil {
		t.Errorf("ResultOK.Err() = %v", err)
	}
	var r Result
	if err := ResultFailed.Err(); !errors.As(err, &r) || r != ResultFailed {
		t.Errorf("ResultFailed.Err() = %v", err)
	}
	if Result(7).Error() == "" {
		t.Error("empty error text")
	}
}

func TestGatewayID(t *testing.T) {
	g, err := ParseGatewayID("82241218000382")
	if err != nil || g != testGateway || g.String() != "82241218000382" {
		t.Errorf("ParseGatewayID = %v, %v", g, err)
	}
	for _, s := range []string{"", "8224121800038", "82241218000382ff", "8224121800038z"} {
		if _, err := ParseGatewayID(s); !errors.Is(err, ErrBadValue) {
			t.Errorf("ParseGatewayID(%q) = %v, want ErrBadValue", s, err)
		}
	}
}

func TestInspectDirection(t *testing.T) {
	frame := buildFrame(t, Up, CommandCharge, 0, "0001 1d 01")
	if _, err := Inspect(frame, "down"); !errors.Is(err, ErrDirection) {
		t.Errorf("Inspect(up frame, down) = %v, want ErrDirection", err)
	}
	var e *Error
	if _, err := Inspect(frame, "sideways"); !errors.As(err, &e) || !errors.Is(err, ErrBadValue) {
		t.Errorf("Inspect(frame, sideways) = %v, want an *Error with ErrBadValue", err)
	}
	got, err := Inspect(frame, "")
	if err != nil || got["direction"] != "up" || got["message"] != "RawSubCommand" || got["params"] != "01" {
		t.Errorf("Inspect = %v, %v", got, err)
	}
}
