package ap3000

import (
	"bytes"
	"encoding/hex"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The round-trip table covers every message type, in both directions, with
// frames written field by field: "DNY | length | physical id | message id |
// command | data fields | checksum". One table drives both the decode and
// the encode test (STYLE.md §3).

const testPhy PhysicalID = 0x04D728D6 // d6 28 d7 04: device code 04, number 14100694

// fr wraps a body in the header every table frame uses.
func fr(body Message) *Frame {
	return &Frame{PhysicalID: testPhy, MessageID: 0x0102, Command: body.Command(), Body: body}
}

// unhex decodes an annotated hex string, ignoring spaces and "|".
func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "|", "", "\n", "", "\t", "").Replace(s))
	if err != nil {
		tb.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func utc(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

func order(s string) OrderNo {
	var o OrderNo
	copy(o[:], s)
	return o
}

type roundTripCase struct {
	name string
	dir  Direction
	hex  string
	want *Frame
}

func roundTripCases() []roundTripCase {
	return []roundTripCase{
		// Device → server (ap3000.md §7.1).
		{"0x01 old heartbeat, no work mode", Up,
			"444e59 1c00 d628d704 0201 01 | 7e00 8c08 02 | 01 00 | 0807 0000 | 1008 0000 | 00 0a 21 | 55 | a004",
			fr(&OldHeartbeat{Firmware: 126, Voltage: 2188, Ports: []PortReading{
				{Status: PortCharging, Power: 1800, PeakPower: 2064}, {Status: PortIdle}},
				VirtualID: 0, Signal: 10, DeviceType: 0x21, Temperature: new(Temperature(0x55))})},
		{"0x01 old heartbeat, oldest layout", Up,
			"444e59 1600 d628d704 0201 01 | 6400 9808 01 | 03 | 1400 | 2800 | 01 02 03 | 2804",
			fr(&OldHeartbeat{Firmware: 100, Voltage: 2200, Ports: []PortReading{
				{Status: PortFull, Power: 20, PeakPower: 40}}, VirtualID: 1, Signal: 2, DeviceType: 3})},
		{"0x21 heartbeat, 4 ports", Up,
			"444e59 1200 d628d704 0201 21 | 9808 04 | 00 01 02 07 | 00 | 5f | 0704",
			fr(&Heartbeat{Voltage: 2200, Ports: []PortStatus{PortIdle, PortCharging, PortPlugged, PortContactStuck},
				Signal: 0, Temperature: 0x5f})},
		{"0x20 register with power-board firmware", Up,
			"444e59 1100 d628d704 0201 20 | c800 0a 00 29 05 | 6e00 | 6604",
			fr(&Register{Firmware: 200, PortCount: 10, DeviceType: 0x29, WorkMode: 5, PowerBoardFirmware: new(uint16(110))})},
		{"0x20 register, odd trailing byte", Up,
			"444e59 1000 d628d704 0201 20 | c800 02 00 21 00 | ee | d004",
			fr(&Register{Firmware: 200, PortCount: 2, DeviceType: 0x21, Extra: []byte{0xee}})},
		{"0x22 get server time", Up,
			"444e59 0900 d628d704 0201 22 | | f202",
			fr(&TimeRequest{})},
		{"0x05 request upgrade", Up,
			"444e59 1000 d628d704 0201 05 | 20 2c01 01020304 | 3303",
			fr(&UpgradeRequest{DeviceType: 0x20, Firmware: 300, PackageType: [4]byte{1, 2, 3, 4}})},
		{"0x02 card swipe with timestamp", Up,
			"444e59 1500 d628d704 0201 02 | 7a8d05dd 00 03 e803 | 75d73b68 | a407",
			fr(&CardSwipe{CardID: CardID{0x7a, 0x8d, 0x05, 0xdd}, CardType: CardExisting, Port: 3, Balance: 1000,
				Timestamp: new(utc(1748752245))})},
		{"0x02 card swipe, empty second card", Up,
			"444e59 1600 d628d704 0201 02 | 01020304 01 ff 0000 | 75d73b68 | 00 | d805",
			fr(&CardSwipe{CardID: CardID{1, 2, 3, 4}, CardType: CardNew, Port: 0xff,
				Timestamp: new(utc(1748752245)), Card2: []byte{}})},
		{"0x03 settlement, full v8.6 tail", Up,
			"444e59 2e00 d628d704 0201 03 | 201c 3d07 2300 00 01 00000000 05 " +
				"32303235303630313132333034354142 | 0907 95f33b68 1e00 | 3c09",
			fr(&Settlement{Duration: 7200, MaxPower: 1853, Energy: 35, Port: 0, StartMode: StartOnline,
				StopReason: StopUnplugged, OrderNo: order("20250601123045AB"),
				SecondMaxPower: new(uint16(1801)), Timestamp: new(utc(1748759445)), Occupancy: new(uint16(30))})},
		{"0x43 finished, not settled", Up,
			"444e59 2600 d628d704 0201 43 | 100e b603 1400 03 00 7a8d05dd 01 32303235303630313132333034354142 | 4a09",
			fr(&Unsettled{Duration: 3600, MaxPower: 950, Energy: 20, Port: 3, StartMode: StartOfflineCard,
				CardOrCode: CardID{0x7a, 0x8d, 0x05, 0xdd}, StopReason: StopFull, OrderNo: order("20250601123045AB")})},
		{"0x04 order confirmation", Up,
			"444e59 2100 d628d704 0201 04 | 02 03 00000000 3c00 32303235303630313132333034354142 | 6f06",
			fr(&OrderConfirm{Port: 2, StartMode: StartCode, Duration: 60, OrderNo: order("20250601123045AB")})},
		{"0x06 power heartbeat, tail up to the current", Up,
			"444e59 3000 d628d704 0201 06 | 01 01 2c01 0500 01 0807 1008 f807 0807 " +
				"32303235303630313132333034354142 | c012 1008 a208 2003 | 6009",
			fr(&PowerHeartbeat{Port: 1, Status: 1, Duration: 300, Energy: 5, StartMode: StartOnline,
				Power: 1800, MaxPower: 2064, MinPower: 2040, AvgPower: 1800, OrderNo: order("20250601123045AB"),
				PeriodEnergy: new(uint16(4800)), PeakPower: new(uint16(2064)), Voltage: new(uint16(2210)),
				Current: new(uint16(800))})},
		{"0x41 cabinet heartbeat", Up,
			"444e59 1200 d628d704 0201 41 | 0c 05000000 01000000 | 2c03",
			fr(&CabinetHeartbeat{PortCount: 12, DoorBits: 5, FanBits: 1})},
		{"0x42 alarm push: smoke", Up,
			"444e59 0c00 d628d704 0201 42 | 04 02 01 | 1c03",
			fr(&AlarmPush{Type: AlarmSmoke, Port: 2, Trigger: 1})},
		{"0x44 port push", Up,
			"444e59 1b00 d628d704 0201 44 | 01 07 32303235303630313132333034354142 | 7006",
			fr(&PortPush{Type: 1, Port: 7, OrderNo: order("20250601123045AB")})},

		// Device replies (ap3000.md §7.2 "Device replies").
		{"0x82 reply, full", Up,
			"444e59 1d00 d628d704 0201 82 | 00 32303235303630313132333034354142 | 04 | 0000 | ac06",
			fr(&ChargeReply{Answer: ChargeOK, OrderNo: new(order("20250601123045AB")), Port: new(uint8(4)),
				WaitingPorts: new(uint16(0))})},
		{"0x82 reply, answer only", Up,
			"444e59 0a00 d628d704 0201 82 | 01 | 5403",
			fr(&ChargeReply{Answer: ChargeNoPlug})},
		{"0x8a reply", Up, "444e59 0a00 d628d704 0201 8a | 02 | 5d03", fr(&ChangeChargeReply{Answer: ChangeBelowUsed})},
		{"0x83 reply", Up, "444e59 0a00 d628d704 0201 83 | 01 | 5503", fr(&SetRunParams1Reply{Answer: 1})},
		{"0x84 reply", Up, "444e59 0a00 d628d704 0201 84 | 00 | 5503", fr(&SetRunParams2Reply{})},
		{"0x85 reply", Up, "444e59 0a00 d628d704 0201 85 | 01 | 5703", fr(&SetLimitsReply{Answer: 1})},
		{"0x86 reply", Up, "444e59 0a00 d628d704 0201 86 | 00 | 5703", fr(&SetCardKeysReply{})},
		{"0x87 reply", Up, "444e59 0a00 d628d704 0201 87 | 00 | 5803", fr(&RebootReply{})},
		{"0x88 reply", Up, "444e59 0a00 d628d704 0201 88 | 00 | 5903", fr(&ClearMemoryReply{})},
		{"0x89 reply", Up, "444e59 0a00 d628d704 0201 89 | 00 | 5a03", fr(&PlayVoiceReply{})},
		{"0x8c reply", Up, "444e59 0a00 d628d704 0201 8c | 01 | 5e03", fr(&WriteEEPROMReply{Answer: 1})},
		{"0x8d reply", Up, "444e59 0a00 d628d704 0201 8d | 01 | 5f03", fr(&SetWorkModeReply{Answer: 1})},
		{"0x8e reply", Up, "444e59 0a00 d628d704 0201 8e | 00 | 5f03", fr(&SetScreenReply{})},
		{"0x8f reply", Up, "444e59 0a00 d628d704 0201 8f | 00 | 6003", fr(&SetCardTariffModeReply{})},
		{"0x95 reply", Up, "444e59 0a00 d628d704 0201 95 | 00 | 6603", fr(&TempQRCodeReply{})},
		{"0x96 reply", Up, "444e59 0a00 d628d704 0201 96 | 00 | 6703", fr(&LocateReply{})},
		{"0x97 reply", Up, "444e59 0a00 d628d704 0201 97 | 00 | 6803", fr(&SetMuteReply{})},
		{"0x98 reply with a trailing byte", Up, "444e59 0b00 d628d704 0201 98 | 00 | 09 | 7303",
			fr(&MultiFunctionReply{Extra: []byte{9}})},
		{"0x72 reply", Up,
			"444e59 1a00 d628d704 0201 72 | 00 32303235303630313132333034354142 | 9506",
			fr(&CabinetStopReply{OrderNo: order("20250601123045AB")})},
		{"0x8b reply with data", Up, "444e59 0e00 d628d704 0201 8b | 00 | a55a0102 | 6204",
			fr(&ReadEEPROMReply{Data: []byte{0xa5, 0x5a, 1, 2}})},
		{"0x90 reply: run parameters 1.1", Up,
			"444e59 1400 d628d704 0201 90 | 0300 0a00 14 0807 100e b400 | 6d04",
			fr(&RunParams1Report{Params: RunParams1{UnplugPower: 3, UnplugDetectTime: 10, FloatPercent: 20,
				FloatDetectTime: 1800, FloatTime: 3600, HeartbeatInterval: 180}})},
		{"0x91 reply: run parameters 1.2", Up,
			"444e59 2000 d628d704 0201 91 | 2003 1e00 0807 0a 2c01 302a 2c01 2c01 0807 2c01 50 50 00 01 | 9005",
			fr(&RunParams2Report{Params: RunParams2{DynOverloadPower: 800, DynOverloadDetectTime: 30,
				DynOverloadStartTime: 1800, UnplugInterferencePower: 10, UnplugInterferenceTime: 300,
				FloatSecondPoint: 10800, FloatSecondDetect: 300, MinPower: 300, MinPowerPoint: 1800,
				SecondMaxPowerPoint: 300, AmbientAlarmTemp: 80, PortAlarmTemp: 80, UnplugDetectOff: 0, QRLight: 1}})},
		{"0x92 reply: limits with voltages", Up,
			"444e59 1100 d628d704 0201 92 | a08c 204e | 8c0a e803 | 8506",
			fr(&LimitsReport{Params: Limits{MaxChargeTime: 36000, OverloadPower: 20000,
				OverVoltage: new(uint16(2700)), UnderVoltage: new(uint16(1000))}})},
		{"0x93 reply: card keys", Up,
			"444e59 1600 d628d704 0201 93 | 01 159185191880 ffffffffffff | 470b",
			fr(&CardKeysReport{Params: CardKeys{Sector: 1, UserKey: [6]byte{0x15, 0x91, 0x85, 0x19, 0x18, 0x80},
				NewKey: [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}})},
		{"0xe1 reply", Up, "444e59 0c00 d628d704 0201 e1 | 02 0500 | bb03",
			fr(&FirmwareReply{Cmd: CmdFirmwarePowerBoard, Answer: FirmwareImageChecksum, PacketNo: 5})},
		{"0xf8 reply", Up, "444e59 0c00 d628d704 0201 f8 | 00 0100 | cc03",
			fr(&LegacyFirmwareReply{PacketNo: 1})},
		{"0x81 up has no layout: raw", Up, "444e59 0b00 d628d704 0201 81 | 0102 | 5603",
			fr(&Raw{Cmd: CmdQueryDevice, Dir: Up, Data: []byte{1, 2}})},
		{"0x12 (host guide) up: raw", Up, "444e59 0900 d628d704 0201 12 | | e202",
			fr(&Raw{Cmd: 0x12, Dir: Up})},

		// Server → device (ap3000.md §7.2).
		{"0x01 reply", Down, "444e59 0a00 d628d704 0201 01 | 00 | d202", fr(&OldHeartbeatReply{})},
		{"0x20 reply", Down, "444e59 0a00 d628d704 0201 20 | 00 | f102", fr(&RegisterReply{})},
		{"0x21 reply", Down, "444e59 0a00 d628d704 0201 21 | 00 | f202", fr(&HeartbeatReply{})},
		{"0x03 reply", Down, "444e59 0a00 d628d704 0201 03 | 00 | d402", fr(&SettlementReply{})},
		{"0x22 reply", Down, "444e59 0d00 d628d704 0201 22 | 75d73b68 | e504",
			fr(&TimeReply{Time: utc(1748752245)})},
		{"0x02 reply: monthly pass expiry", Down,
			"444e59 1400 d628d704 0201 02 | 7a8d05dd 00 01 80d8db70 03 | 6d07",
			fr(&CardReply{CardID: CardID{0x7a, 0x8d, 0x05, 0xdd}, Status: AccountNormal, RateMode: RateMonthly,
				BalanceOrExpiry: 1893456000, Port: 3})},
		{"0x04 reply", Down, "444e59 0b00 d628d704 0201 04 | 05 00 | db02",
			fr(&OrderConfirmReply{Port: 5})},
		{"0x72 cabinet stop", Down,
			"444e59 1a00 d628d704 0201 72 | 07 32303235303630313132333034354142 | 9c06",
			fr(&CabinetStop{Port: 7, OrderNo: order("20250601123045AB")})},
		{"0x81 query device", Down, "444e59 0900 d628d704 0201 81 | | 5103", fr(&QueryDevice{})},
		{"0x82 start, full v8.6 tail", Down,
			"444e59 2f00 d628d704 0201 82 | 02 e8030000 ff 01 6400 32303235303630313132333034354142 | " +
				"0000 0000 00 00 ffff 02 00 01 3c 0a | 520b",
			fr(&Charge{RateMode: RateMetered, BalanceOrExpiry: 1000, Port: 0xff, Action: ActionStart,
				DurationOrEnergy: 100, OrderNo: order("20250601123045AB"),
				MaxDuration: new(uint16(0)), OverloadPower: new(uint16(0)), QRLight: new(uint8(0)),
				LongCharge: new(uint8(0)), ExtraFloatTime: new(uint16(0xffff)), ShortCircuitCheck: new(uint8(2)),
				NoUnplugCheck: new(uint8(0)), AutoStopFull: new(uint8(1)), FullPower: new(uint8(60)),
				FullPowerMaxTime: new(uint8(10))})},
		{"0x8a change", Down, "444e59 0d00 d628d704 0201 8a | 02 01 c800 | 2904",
			fr(&ChangeCharge{Mode: 2, Port: 1, Value: 200})},
		{"0x83 set run parameters 1.1", Down,
			"444e59 1400 d628d704 0201 83 | 0300 0a00 14 0807 100e b400 | 6004",
			fr(&SetRunParams1{Params: RunParams1{UnplugPower: 3, UnplugDetectTime: 10, FloatPercent: 20,
				FloatDetectTime: 1800, FloatTime: 3600, HeartbeatInterval: 180}})},
		{"0x84 set run parameters 1.2", Down,
			"444e59 2000 d628d704 0201 84 | 2003 1e00 0807 0a 2c01 302a 2c01 2c01 0807 2c01 50 50 00 01 | 8305",
			fr(&SetRunParams2{Params: RunParams2{DynOverloadPower: 800, DynOverloadDetectTime: 30,
				DynOverloadStartTime: 1800, UnplugInterferencePower: 10, UnplugInterferenceTime: 300,
				FloatSecondPoint: 10800, FloatSecondDetect: 300, MinPower: 300, MinPowerPoint: 1800,
				SecondMaxPowerPoint: 300, AmbientAlarmTemp: 80, PortAlarmTemp: 80, UnplugDetectOff: 0, QRLight: 1}})},
		{"0x85 set limits with over-voltage only", Down,
			"444e59 0f00 d628d704 0201 85 | a08c 204e | 8c0a | 8b05",
			fr(&SetLimits{Params: Limits{MaxChargeTime: 36000, OverloadPower: 20000, OverVoltage: new(uint16(2700))}})},
		{"0x86 set card keys", Down,
			"444e59 1600 d628d704 0201 86 | 00 159185191880 ffffffffffff | 390b",
			fr(&SetCardKeys{Params: CardKeys{UserKey: [6]byte{0x15, 0x91, 0x85, 0x19, 0x18, 0x80},
				NewKey: [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}})},
		{"0x87 reboot", Down, "444e59 0900 d628d704 0201 87 | | 5703", fr(&Reboot{})},
		{"0x88 clear memory", Down, "444e59 0900 d628d704 0201 88 | | 5803", fr(&ClearMemory{})},
		{"0x89 play voice", Down, "444e59 0e00 d628d704 0201 89 | 00 03 010203 | 6703",
			fr(&PlayVoice{Segments: []byte{1, 2, 3}})},
		{"0x8b read EEPROM", Down, "444e59 0c00 d628d704 0201 8b | 0001 10 | 6f03",
			fr(&ReadEEPROM{Addr: 0x100, Length: 16})},
		{"0x8c write EEPROM", Down, "444e59 0f00 d628d704 0201 8c | 4000 03 010203 | ab03",
			fr(&WriteEEPROM{Addr: 0x40, Data: []byte{1, 2, 3}})},
		{"0x8d work mode", Down, "444e59 0a00 d628d704 0201 8d | 01 | 5f03", fr(&SetWorkMode{Mode: 1})},
		{"0x8e screen", Down,
			"444e59 5500 d628d704 0201 8e | 01 000000 | 48454c4c4f " +
				"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
				"00000000000000000000000000000000000000 | 1f05",
			fr(&SetScreen{MainScreen: 1, QR: "HELLO"})},
		{"0x8f card tariff mode", Down, "444e59 0a00 d628d704 0201 8f | 03 | 6303",
			fr(&SetCardTariffMode{Mode: 3})},
		{"0x90 query", Down, "444e59 0900 d628d704 0201 90 | | 6003", fr(&QueryRunParams1{})},
		{"0x91 query", Down, "444e59 0900 d628d704 0201 91 | | 6103", fr(&QueryRunParams2{})},
		{"0x92 query", Down, "444e59 0900 d628d704 0201 92 | | 6203", fr(&QueryLimits{})},
		{"0x93 query", Down, "444e59 0900 d628d704 0201 93 | | 6303", fr(&QueryCardKeys{})},
		{"0x95 temporary QR", Down,
			"444e59 d100 d628d704 0201 95 | 68747470733a2f2f712e6578616d706c652f703f643d34 " +
				"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
				"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
				"000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
				"000000000000000000000000000000000000000000000000000000000000000000 | 360c",
			fr(&TempQRCode{QR: "https://q.example/p?d=4"})},
		{"0x96 locate", Down, "444e59 0a00 d628d704 0201 96 | 0a | 7103", fr(&Locate{Seconds: 10})},
		{"0x97 mute", Down, "444e59 0a00 d628d704 0201 97 | 01 | 6903", fr(&SetMute{Mute: 1})},
		{"0x98 multi-function", Down, "444e59 0b00 d628d704 0201 98 | 00 04 | 6e03",
			fr(&MultiFunction{Function: 0, Port: 4})},
		{"0xe2 firmware packet", Down, "444e59 d500 d628d704 0201 e2 | 0a00 0100 | " +
			"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f" +
			"303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f" +
			"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f" +
			"909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf" +
			"c0c1c2c3c4c5c6c7 | 4552",
			fr(&FirmwarePacket{Cmd: CmdFirmwareHost, Total: 10, PacketNo: 1, Data: seq(200)})},
		{"0xe4 self-upgrade", Down, "444e59 0900 d628d704 0201 e4 | | b403", fr(&SelfUpgrade{})},
		{"0xf8 legacy firmware packet", Down, "444e59 0d01 d628d704 0201 f8 | 0300 0300 | " +
			"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f" +
			"303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f" +
			"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f" +
			"909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf" +
			"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef" +
			"f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff | 5383",
			fr(&LegacyFirmwarePacket{Total: 3, PacketNo: 3, Data: seq(256)})},
		{"0x06 down has no layout: raw", Down, "444e59 0a00 d628d704 0201 06 | 00 | d702",
			fr(&Raw{Cmd: CmdPowerHeartbeat, Dir: Down, Data: []byte{0}})},
		{"0xfd reserved: raw", Down, "444e59 0b00 d628d704 0201 fd | abcd | 4705",
			fr(&Raw{Cmd: 0xfd, Dir: Down, Data: []byte{0xab, 0xcd}})},

		// Unframed preamble units (ap3000.md §1).
		{"ICCID", Up, "3839383630343438313631383730303634383135",
			&Frame{Body: &ICCID{Value: "89860448161870064815"}}},
		{"link", Up, "6c696e6b", &Frame{Body: &Link{}}},
	}
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range roundTripCases() {
		t.Run(tc.name, func(t *testing.T) {
			frame := unhex(t, tc.hex)
			got, err := DecodeDir(frame, tc.dir)
			if err != nil {
				t.Fatalf("DecodeDir: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("DecodeDir (-want +got):\n%s", diff)
			}
			enc, err := Append([]byte("prefix"), tc.want)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if diff := cmp.Diff(frame, enc[len("prefix"):]); diff != "" || !bytes.HasPrefix(enc, []byte("prefix")) {
				t.Errorf("Append (-want +got):\n%s", diff)
			}
			if n, err := Split(frame); n != len(frame) || err != nil {
				t.Errorf("Split = %d, %v; want %d, nil", n, err, len(frame))
			}
			if _, err := Inspect(frame, tc.dir.String()); err != nil {
				t.Errorf("Inspect: %v", err)
			}
		})
	}
}

// TestRoundTripCoversEveryType makes sure no message type lacks a case.
func TestRoundTripCoversEveryType(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range roundTripCases() {
		seen[messageName(tc.want.Body)] = true
	}
	for _, name := range messageTypes(t) {
		if !seen[name] {
			t.Errorf("no round-trip case for %s", name)
		}
	}
}

// messageTypes lists the package's message types: every type with an
// appendData method, read from the source files.
func messageTypes(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ent := range entries {
		if !strings.HasSuffix(ent.Name(), ".go") || strings.HasSuffix(ent.Name(), "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), ent.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || fn.Name.Name != "appendData" {
				continue
			}
			if star, ok := fn.Recv.List[0].Type.(*ast.StarExpr); ok {
				if id, ok := star.X.(*ast.Ident); ok {
					names = append(names, id.Name)
				}
			}
		}
	}
	if len(names) < 70 {
		t.Fatalf("found only %d message types", len(names))
	}
	return names
}

func TestNoAliasing(t *testing.T) {
	for _, tc := range roundTripCases() {
		frame := unhex(t, tc.hex)
		got, err := DecodeDir(frame, tc.dir)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for i := range frame {
			frame[i] ^= 0xff
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: decoded value changed with the input buffer (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestAppendErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    *Frame
	}{
		{"nil frame", nil},
		{"nil body", &Frame{PhysicalID: testPhy}},
		{"command mismatch", &Frame{Command: CmdRegister, Body: &Heartbeat{}}},
		{"optional gap", fr(&Settlement{Timestamp: new(utc(1))})},
		{"extra where an optional field would be read", fr(&Settlement{Extra: []byte{1, 2}})},
		{"time before 1970", fr(&TimeReply{Time: utc(-1)})},
		{"time after 2106", fr(&TimeReply{Time: utc(1 << 33)})},
		{"QR too long", fr(&SetScreen{QR: strings.Repeat("x", 73)})},
		{"EEPROM write longer than its length byte", fr(&WriteEEPROM{Data: make([]byte, 256)})},
		{"firmware command", fr(&FirmwarePacket{Cmd: CmdReboot})},
		{"frame too large", fr(&LegacyFirmwarePacket{Data: make([]byte, MaxDataSize)})},
		{"ICCID with header", &Frame{PhysicalID: 1, Body: &ICCID{Value: "89860448161870064815"}}},
		{"ICCID not digits", &Frame{Body: &ICCID{Value: "8986044816187006481X"}}},
		{"too many ports", fr(&Heartbeat{Ports: make([]PortStatus, 256)})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Append([]byte{1}, tc.f)
			if !errors.Is(err, ErrEncode) {
				t.Fatalf("Append error = %v, want ErrEncode", err)
			}
			if !bytes.Equal(out, []byte{1}) {
				t.Fatalf("Append changed dst on error: %x", out)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		dir    Direction
		hex    string
		cause  error
		offset int
	}{
		{"empty", Up, "", ErrShortFrame, 0},
		{"header only", Up, "444e59", ErrShortFrame, 3},
		{"bad second header byte", Up, "44ff59", ErrBadHeader, 1},
		{"length below minimum", Up, "444e59 0800 d628d704 0201 21 | f002", ErrBadLength, 3},
		{"length above maximum", Up, "444e59 fc03 d628d704 0201 21 | e703", ErrTooLarge, 3},
		{"trailing byte after the frame", Up, "444e59 0900 d628d704 0201 22 | | f202 00", ErrBadLength, 3},
		{"heartbeat port count beyond the data", Up, "444e59 0e00 d628d704 0201 21 | 9808 05 0000 | 9b03", ErrShortData, 15},
		{"card two longer than the data", Up,
			"444e59 1800 d628d704 0201 02 | 01020304 04 00 0000 75d73b68 10 4142 | 7105", ErrShortData, 25},
		{"settlement cut in the order number", Up,
			"444e59 1800 d628d704 0201 03 | 201c 3d07 2300 00 01 00000000 05 3230 | ed03", ErrShortData, 25},
		{"answer missing", Down, "444e59 0900 d628d704 0201 21 | | f102", ErrShortData, 12},
		{"QR text short", Down, "444e59 0a00 d628d704 0201 95 | 41 | a703", ErrShortData, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeDir(unhex(t, tc.hex), tc.dir)
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, tc.cause) {
				t.Fatalf("error = %v, want *Error with cause %v", err, tc.cause)
			}
			if e.Offset != tc.offset {
				t.Errorf("offset = %d (%s), want %d", e.Offset, e.Field, tc.offset)
			}
		})
	}
	if _, err := DecodeDir(nil, 0); !errors.Is(err, ErrDirection) {
		t.Errorf("DecodeDir(nil, 0) = %v, want ErrDirection", err)
	}
	if _, err := Inspect(nil, "sideways"); !errors.Is(err, ErrDirection) {
		t.Errorf("Inspect(nil, sideways) = %v, want ErrDirection", err)
	}
}
