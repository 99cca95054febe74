package ykc

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	testPile  = "32010200000001"
	testTrade = "32010200000001012506011805000007"
	testCard  = "00000000d14b0a54"
)

func testTariffModel() TariffModel {
	m := TariffModel{
		ModelCode: "0100",
		Tariffs: [4]Tariff{
			Sharp:  {Electricity: 120000, Service: 80000},
			Peak:   {Electricity: 100000, Service: 60000},
			Flat:   {Electricity: 70000, Service: 50000},
			Valley: {Electricity: 30000, Service: 50000},
		},
	}
	for i := range m.Slots {
		switch {
		case i < 16:
			m.Slots[i] = Valley
		case i < 20 || i >= 44:
			m.Slots[i] = Flat
		case i >= 36:
			m.Slots[i] = Sharp
		default:
			m.Slots[i] = Peak
		}
	}
	return m
}

// roundTripCases holds one or more hand-built messages of every type, so
// that types without vectors are covered too.
func roundTripCases() []struct {
	name  string
	frame *Frame
} {
	start := time.Date(2025, 6, 1, 23, 10, 0, 0, time.UTC)
	end := time.Date(2025, 6, 2, 1, 5, 30, 500*int(time.Millisecond), time.UTC)
	return []struct {
		name  string
		frame *Frame
	}{
		{"login DC on SIM", &Frame{Seq: 0, Body: &Login{PileCode: testPile, PileType: 0, GunCount: 2, ProtocolVersion: 0x10, SoftwareVersion: "V2.3.1", NetworkType: 0, SIM: "89860412345678901234", Operator: 0}}},
		{"login result refused", &Frame{Seq: 0, Body: &LoginResult{PileCode: testPile, Result: 1}}},
		{"heartbeat fault", &Frame{Seq: 0xFFFF, Body: &Heartbeat{PileCode: testPile, Gun: "02", GunStatus: 1}}},
		{"heartbeat reply", &Frame{Seq: 0x1234, Body: &HeartbeatReply{PileCode: testPile, Gun: "02"}}},
		{"billing model check", &Frame{Seq: 3, Body: &BillingModelCheck{PileCode: testPile, ModelCode: "0000"}}},
		{"billing model check result", &Frame{Seq: 3, Body: &BillingModelCheckResult{PileCode: testPile, ModelCode: "0007", Result: 1}}},
		{"billing model request", &Frame{Seq: 4, Body: &BillingModelRequest{PileCode: testPile}}},
		{"billing model", &Frame{Seq: 4, Body: &BillingModel{PileCode: testPile, Model: testTariffModel()}}},
		{"set billing model", &Frame{Seq: 9, Body: &SetBillingModel{PileCode: testPile, Model: testTariffModel()}}},
		{"set billing model result", &Frame{Seq: 9, Body: &SetBillingModelResult{PileCode: testPile, Result: 1}}},
		{"read real-time data", &Frame{Seq: 10, Body: &ReadRealtimeData{PileCode: testPile, Gun: "01"}}},
		{"real-time data DC charging", &Frame{Seq: 10, Body: &RealtimeData{
			TradeNo: testTrade, PileCode: testPile, Gun: "01", Status: GunCharging, GunHomed: 0, Plugged: 1,
			Voltage: 3806, Current: 1196, GunTemp: 78, GunWireCode: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, SOC: 56,
			BatteryMaxTemp: 82, ChargeMinutes: 25, RemainingMinutes: 40, Energy: 185000, LossEnergy: 185100,
			Amount: 277650, HardwareFaults: FaultDoorOpen | FaultMeterComms,
		}}},
		{"BMS handshake", &Frame{Body: &BMSHandshake{
			TradeNo: testTrade, PileCode: testPile, Gun: "01", ProtocolVersion: [3]byte{0, 1, 1}, BatteryType: 6,
			RatedCapacity: 1500, RatedVoltage: 3800, Vendor: [4]byte{'C', 'A', 'T', 'L'}, PackSerial: [4]byte{0, 0, 0, 9},
			PackYear: 38, PackMonth: 5, PackDay: 20, ChargeCycles: 0xABCDEF, Ownership: 1, VIN: "LSVAU2180N2183294",
			SoftwareVersion: [8]byte{0xFF, 0xFF, 0xFF, 0x1B, 0x0E, 0x05, 0x0A, 0x10},
		}}},
		{"BMS parameters", &Frame{Body: &BMSParameters{
			TradeNo: testTrade, PileCode: testPile, Gun: "01", CellMaxVoltage: 420, MaxCurrent: 6000, RatedEnergy: 750,
			MaxTotalVoltage: 4100, MaxTemp: 105, SOC: 560, BatteryVoltage: 3620, PileMaxVoltage: 7500,
			PileMinVoltage: 2000, PileMaxCurrent: 6500, PileMinCurrent: 4000,
		}}},
		{"charge finished", &Frame{Body: &ChargeFinished{
			TradeNo: testTrade, PileCode: testPile, Gun: "01", SOC: 95, CellMinVoltage: 402, CellMaxVoltage: 415,
			BatteryMinTemp: 72, BatteryMaxTemp: 80, ChargeMinutes: 48, OutputEnergy: 285, ChargerNo: 0x01020304,
		}}},
		{"BMS error", &Frame{Body: &BMSError{TradeNo: testTrade, PileCode: testPile, Gun: "01", Flags: [8]byte{1, 0, 0, 4}}}},
		{"BMS stop", &Frame{Body: &BMSStop{TradeNo: testTrade, PileCode: testPile, Gun: "01", Reason: 1, Fault: 0x0100, Error: 2}}},
		{"charger stop", &Frame{Body: &ChargerStop{TradeNo: testTrade, PileCode: testPile, Gun: "01", Reason: 4, Fault: 1, Error: 0}}},
		{"BMS demand", &Frame{Body: &BMSDemand{
			TradeNo: testTrade, PileCode: testPile, Gun: "01", DemandVoltage: 3900, DemandCurrent: 2800, Mode: 2,
			MeasuredVoltage: 3805, MeasuredCurrent: 2805, CellMaxVoltage: 0x3192, SOC: 56, RemainingMinutes: 40,
			OutputVoltage: 3806, OutputCurrent: 2804, ChargeMinutes: 25,
		}}},
		{"BMS info", &Frame{Body: &BMSInfo{
			TradeNo: testTrade, PileCode: testPile, Gun: "01", CellMaxNo: 11, MaxTemp: 82, MaxTempProbe: 4,
			MinTemp: 73, MinTempProbe: 9, Status: [2]byte{0x00, 0x10},
		}}},
		{"start request by VIN", &Frame{Seq: 5, Body: &StartRequest{
			PileCode: testPile, Gun: "01", StartMode: 3, NeedPassword: 1, Card: testCard,
			Password: [16]byte{'1', '2', '3', '4', '5', '6', '7', '8', '9', '0', 'a', 'b', 'c', 'd', 'e', 'f'},
			VIN:      "LSVAU2180N2183294",
		}}},
		{"start request short VIN", &Frame{Seq: 5, Body: &StartRequest{PileCode: testPile, Gun: "01", StartMode: 3, Card: "0000000000000000", VIN: "ABC"}}},
		{"start authorization ok", &Frame{Seq: 5, Body: &StartAuthorization{
			TradeNo: testTrade, PileCode: testPile, Gun: "01", LogicalCard: "0000001000000573", Balance: 8800, Authorized: 1,
		}}},
		{"start authorization refused", &Frame{Seq: 6, Body: &StartAuthorization{
			TradeNo: testTrade, PileCode: testPile, Gun: "01", LogicalCard: "0000001000000573", FailReason: AuthBalanceTooLow,
		}}},
		{"remote start", &Frame{Seq: 7, Body: &RemoteStart{
			TradeNo: testTrade, PileCode: testPile, Gun: "02", LogicalCard: "0000001000000573", PhysicalCard: testCard, Balance: 100000,
		}}},
		{"remote start result failed", &Frame{Seq: 7, Body: &RemoteStartResult{
			TradeNo: testTrade, PileCode: testPile, Gun: "02", Result: 0, FailReason: StartGunNotConnected,
		}}},
		{"remote stop", &Frame{Seq: 8, Body: &RemoteStop{PileCode: testPile, Gun: "02"}}},
		{"remote stop result", &Frame{Seq: 8, Body: &RemoteStopResult{PileCode: testPile, Gun: "02", Result: 0, FailReason: StopGunNotCharging}}},
		{"transaction record", &Frame{Seq: 301, Body: &TransactionRecord{
			TradeNo: testTrade, PileCode: testPile, Gun: "02", Start: start, End: end,
			Periods: [4]PeriodUsage{
				Peak:   {Price: 160000, Energy: 12345, LossEnergy: 12400, Amount: 19840},
				Valley: {Price: 80000, Energy: 154321, LossEnergy: 154321, Amount: 123457},
			},
			MeterStart: 98765432, MeterEnd: 0xFF_FFFF_FFFF, TotalEnergy: 166666, TotalLossEnergy: 166721,
			TotalAmount: 143297, VIN: "LSVAU2180N2183294", TradeFlag: TradeVIN, TradeTime: end,
			StopReason: 0x6B, PhysicalCard: testCard,
		}}},
		{"transaction record unset times", &Frame{Seq: 302, Body: &TransactionRecord{
			TradeNo: testTrade, PileCode: testPile, Gun: "01", TradeFlag: TradeOfflineCard, StopReason: 0x90,
			PhysicalCard: testCard,
		}}},
		{"transaction confirm illegal", &Frame{Seq: 301, Body: &TransactionConfirm{TradeNo: testTrade, Result: 1}}},
		{"balance update", &Frame{Seq: 11, Body: &BalanceUpdate{PileCode: testPile, Gun: "01", PhysicalCard: testCard, Balance: 12345}}},
		{"balance update result", &Frame{Seq: 11, Body: &BalanceUpdateResult{PileCode: testPile, PhysicalCard: testCard, Result: 2}}},
		{"card sync full", &Frame{Seq: 12, Body: &CardSync{PileCode: testPile, Cards: cardPairs(MaxCardSync)}}},
		{"card sync empty", &Frame{Seq: 12, Body: &CardSync{PileCode: testPile}}},
		{"card sync result", &Frame{Seq: 12, Body: &CardSyncResult{PileCode: testPile, Saved: 0, FailReason: 2}}},
		{"card clear full", &Frame{Seq: 13, Body: &CardClear{PileCode: testPile, PhysicalCards: cards(MaxCardClear)}}},
		{"card clear result", &Frame{Seq: 13, Body: &CardClearResult{PileCode: testPile, Entries: []CardClearEntry{
			{PhysicalCard: testCard, Cleared: 1}, {PhysicalCard: "00000000e14c0a54", FailReason: 1},
		}}}},
		{"card clear result empty", &Frame{Seq: 13, Body: &CardClearResult{PileCode: testPile}}},
		{"card query full", &Frame{Seq: 14, Body: &CardQuery{PileCode: testPile, PhysicalCards: cards(MaxCardQuery)}}},
		{"card query result", &Frame{Seq: 14, Body: &CardQueryResult{PileCode: testPile, Entries: []CardQueryEntry{
			{PhysicalCard: testCard, Exists: 1}, {PhysicalCard: "00000000e14c0a54"}, {PhysicalCard: "ffffffffffffffff", Exists: 1},
		}}}},
		{"work params", &Frame{Seq: 15, Body: &WorkParams{PileCode: testPile, Disabled: 0, MaxPowerPercent: 60}}},
		{"work params result", &Frame{Seq: 15, Body: &WorkParamsResult{PileCode: testPile, Result: 1}}},
		{"time sync", &Frame{Seq: 16, Body: &TimeSync{PileCode: testPile, Time: time.Date(2127, 12, 31, 23, 59, 59, 999*int(time.Millisecond), time.UTC)}}},
		{"time sync result", &Frame{Seq: 16, Body: &TimeSyncResult{PileCode: testPile, Time: time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC)}}},
		{"lock status", &Frame{Seq: 17, Body: &LockStatus{PileCode: testPile, Gun: "01", State: LockLowered, Parking: ParkingFree, Battery: 35, Alarm: LockAlarmArmStuck, Reserved: [4]byte{1, 2, 3, 4}}}},
		{"lock control", &Frame{Seq: 18, Body: &LockControl{PileCode: testPile, Gun: "01", Action: LockActionLower}}},
		{"lock control result", &Frame{Seq: 18, Body: &LockControlResult{PileCode: testPile, Gun: "01", Result: 0}}},
		{"reboot", &Frame{Seq: 19, Body: &Reboot{PileCode: testPile, Control: ControlWhenIdle}}},
		{"reboot result", &Frame{Seq: 19, Body: &RebootResult{PileCode: testPile, Result: 1}}},
		{"upgrade", &Frame{Seq: 20, Body: &Upgrade{
			PileCode: testPile, PileModel: 1, PilePower: 120, Server: "ftp.example.com", Port: 2121,
			User: "pile", Password: "s3cret", Path: "DC-120KW/fw-20250601.bin", Control: ControlNow, Timeout: 30,
		}}},
		{"upgrade result", &Frame{Seq: 20, Body: &UpgradeResult{PileCode: testPile, Status: 2}}},
		{"parallel start request", &Frame{Seq: 21, Body: &ParallelStartRequest{
			StartRequest: StartRequest{PileCode: testPile, Gun: "02", StartMode: 1, Card: testCard},
			GunRole:      1, ParallelNo: "250601180500",
		}}},
		{"parallel start authorization", &Frame{Seq: 21, Body: &ParallelStartAuthorization{
			StartAuthorization: StartAuthorization{TradeNo: testTrade, PileCode: testPile, Gun: "02", LogicalCard: "0000001000000573", Balance: 5000, Authorized: 1},
			ParallelNo:         "250601180500",
		}}},
		{"parallel remote start", &Frame{Seq: 22, Body: &ParallelRemoteStart{
			RemoteStart: RemoteStart{TradeNo: testTrade, PileCode: testPile, Gun: "01", LogicalCard: "0000001000000573", PhysicalCard: testCard, Balance: 1},
			ParallelNo:  "250601180500",
		}}},
		{"parallel remote start result", &Frame{Seq: 22, Body: &ParallelRemoteStartResult{
			RemoteStartResult: RemoteStartResult{TradeNo: testTrade, PileCode: testPile, Gun: "01", Result: 1},
			GunRole:           0, ParallelNo: "250601180500",
		}}},
		{"unknown type", &Frame{Seq: 23, Body: &Raw{Type: 0x5A, Body: []byte{1, 2, 3}}}},
		{"unknown type empty body", &Frame{Seq: 23, Body: &Raw{Type: 0xF0}}},
		{"encrypted real-time data", &Frame{Seq: 24, Encrypted: true, Body: &Raw{Type: TypeRealtimeData, Body: bytes.Repeat([]byte{0xA5}, 64)}}},
	}
}

func cards(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "00000000d14b0a" + string(rune('0'+i/10)) + string(rune('0'+i%10))
	}
	return out
}

func cardPairs(n int) []CardPair {
	out := make([]CardPair, n)
	for i, c := range cards(n) {
		out[i] = CardPair{LogicalCard: "00000010000005" + c[14:], PhysicalCard: c}
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	seen := map[Type]bool{}
	for _, tc := range roundTripCases() {
		t.Run(tc.name, func(t *testing.T) {
			seen[tc.frame.Type()] = true
			b, err := Append([]byte("prefix"), tc.frame)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if !bytes.HasPrefix(b, []byte("prefix")) {
				t.Fatalf("Append did not append to dst")
			}
			frame := b[len("prefix"):]
			if n, err := Split(frame); n != len(frame) || err != nil {
				t.Fatalf("Split = %d, %v; want %d, nil", n, err, len(frame))
			}
			got, err := Decode(frame)
			if err != nil {
				t.Fatalf("Decode(%x): %v", frame, err)
			}
			if diff := cmp.Diff(tc.frame, got); diff != "" {
				t.Errorf("Decode(Append(f)) mismatch (-want +got):\n%s", diff)
			}
			fields, err := Inspect(frame, "")
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			if fields["frame_type"] != tc.frame.Type().String() {
				t.Errorf("Inspect frame_type = %v, want %v", fields["frame_type"], tc.frame.Type())
			}
			again, err := Append(nil, got)
			if err != nil || !bytes.Equal(again, frame) {
				t.Errorf("Append(Decode(frame)) = %x, %v; want %x", again, err, frame)
			}
		})
	}
	for t0 := range 256 {
		if typ := Type(t0); typ.Known() && !seen[typ] {
			t.Errorf("no round-trip case for frame type %v", typ)
		}
	}
}

// TestRoundTripBytes pins a few encodings byte for byte, with the fields
// annotated, so the table above cannot be self-consistently wrong.
func TestRoundTripBytes(t *testing.T) {
	tests := []struct {
		name  string
		frame *Frame
		hex   string
	}{
		{
			name:  "login result (spec §6.2 example, correct in the spec)",
			frame: &Frame{Body: &LoginResult{PileCode: "55031412782305"}},
			hex: "68" + "0c" + "0000" + "00" + "02" + // start, L = 12, seq 0, plain, type 0x02
				"55031412782305" + "00" + // pile code BCD, result accepted
				"da4c", // CRC-16/MODBUS 0x4CDA, low byte first
		},
		{
			name:  "time sync (CP56Time2a of §3)",
			frame: &Frame{Seq: 0x00DF, Body: &TimeSync{PileCode: "55031412782305", Time: time.Date(2020, 3, 16, 17, 14, 47, 0, time.UTC)}},
			hex: "68" + "12" + "df00" + "00" + "56" +
				"55031412782305" +
				"98b7" + "0e" + "11" + "10" + "03" + "14" + // 47000 ms, 14 min, 17 h, day 16, March, 2020
				"32ac", // CRC computed independently of this package
		},
		{
			name:  "remote start balance little-endian (§6 0x34, §12)",
			frame: &Frame{Body: &RemoteStart{TradeNo: "55031412782305012018061914444680", PileCode: "55031412782305", Gun: "01", LogicalCard: "0000001000000573", PhysicalCard: testCard, Balance: 100000}},
			hex: "68" + "30" + "0000" + "00" + "34" +
				"55031412782305012018061914444680" + "55031412782305" + "01" +
				"0000001000000573" + "00000000d14b0a54" +
				"a0860100" + // 1000.00 CNY = 100000 fen
				"bb74", // CRC computed independently of this package
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Append(nil, tc.frame)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.hex, hexString(got)); diff != "" {
				t.Errorf("Append (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppendErrors(t *testing.T) {
	tests := []struct {
		name  string
		frame *Frame
		want  error
	}{
		{"nil frame", nil, ErrEncode},
		{"nil body", &Frame{}, ErrEncode},
		{"pile code too long", &Frame{Body: &Heartbeat{PileCode: "320102000000011", Gun: "01"}}, ErrEncode},
		{"pile code not digits", &Frame{Body: &Heartbeat{PileCode: "3201020000000x", Gun: "01"}}, ErrEncode},
		{"gun too long", &Frame{Body: &Heartbeat{PileCode: testPile, Gun: "001"}}, ErrEncode},
		{"software version too long", &Frame{Body: &Login{PileCode: testPile, SoftwareVersion: "V1.2.3.4.5"}}, ErrEncode},
		{"VIN too long", &Frame{Body: &StartRequest{PileCode: testPile, Gun: "01", VIN: "LSVAU2180N21832945"}}, ErrEncode},
		{"year before 2000", &Frame{Body: &TimeSync{PileCode: testPile, Time: time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)}}, ErrEncode},
		{"year after 2127", &Frame{Body: &TimeSync{PileCode: testPile, Time: time.Date(2128, 1, 1, 0, 0, 0, 0, time.UTC)}}, ErrEncode},
		{"meter above 5 bytes", &Frame{Body: &TransactionRecord{PileCode: testPile, MeterEnd: 1 << 40}}, ErrEncode},
		{"cycle count above 3 bytes", &Frame{Body: &BMSHandshake{ChargeCycles: 1 << 24}}, ErrEncode},
		{"too many cards to sync", &Frame{Body: &CardSync{PileCode: testPile, Cards: cardPairs(MaxCardSync + 1)}}, ErrEncode},
		{"too many cards to clear", &Frame{Body: &CardClear{PileCode: testPile, PhysicalCards: cards(MaxCardClear + 1)}}, ErrEncode},
		{"too many cards to query", &Frame{Body: &CardQuery{PileCode: testPile, PhysicalCards: cards(MaxCardQuery + 1)}}, ErrEncode},
		{"too many clear results", &Frame{Body: &CardClearResult{PileCode: testPile, Entries: make([]CardClearEntry, 25)}}, ErrTooLarge},
		{"raw body too large", &Frame{Body: &Raw{Type: 0xF0, Body: make([]byte, MaxBodySize+1)}}, ErrTooLarge},
		{"raw body for a known type", &Frame{Body: &Raw{Type: TypeHeartbeat, Body: make([]byte, 9)}}, ErrEncode},
		{"encrypted typed body", &Frame{Encrypted: true, Body: &Heartbeat{PileCode: testPile, Gun: "01"}}, ErrEncode},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte{1, 2, 3}
			out, err := Append(dst, tc.frame)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Append error = %v; want %v", err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Append error %T is not a *Error", err)
			}
			if !bytes.Equal(out, dst) {
				t.Errorf("Append changed dst on error: %x", out)
			}
		})
	}
}

func TestCP56(t *testing.T) {
	frame := func(ts string) []byte {
		b, err := Append(nil, &Frame{Body: &TimeSync{PileCode: testPile, Time: time.Date(2020, 3, 16, 17, 14, 47, 0, time.UTC)}})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := hexDecode(ts)
		copy(b[HeaderSize+pileCodeSize:], raw)
		crc := crc16(b[offSeq : len(b)-2])
		b[len(b)-2], b[len(b)-1] = byte(crc), byte(crc>>8)
		return b
	}
	tests := []struct {
		name    string
		cp56    string
		want    time.Time
		wantErr error
	}{
		{"spec example", "98b70e11100314", time.Date(2020, 3, 16, 17, 14, 47, 0, time.UTC), nil},
		{"flags and weekday ignored", "98b78e91300314", time.Date(2020, 3, 16, 17, 14, 47, 0, time.UTC), nil},
		{"milliseconds", "2477050102061a", time.Date(2026, 6, 2, 1, 5, 30, 500*int(time.Millisecond), time.UTC), nil},
		{"all zero is unset", "00000000000000", time.Time{}, nil},
		{"leap day", "000000001d0218", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), nil},
		{"no leap day", "000000001d0219", time.Time{}, ErrBadTime},
		{"ms above 59999", "60ea0000010119", time.Time{}, ErrBadTime},
		{"minute 60", "00003c00010119", time.Time{}, ErrBadTime},
		{"hour 24", "00000018010119", time.Time{}, ErrBadTime},
		{"month 13", "0000000001 0d19", time.Time{}, ErrBadTime},
		{"day 0", "00000000000119", time.Time{}, ErrBadTime},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Decode(frame(tc.cp56))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Decode error = %v; want %v", err, tc.wantErr)
			}
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Offset != HeaderSize+pileCodeSize || e.Field != "time" {
					t.Errorf("error = %#v; want offset %d field time", e, HeaderSize+pileCodeSize)
				}
				return
			}
			got := f.Body.(*TimeSync).Time
			if !got.Equal(tc.want) || got.Location() != tc.want.Location() {
				t.Errorf("time = %v; want %v", got, tc.want)
			}
		})
	}
}

// TestWallClock checks that encoding writes a time's own wall-clock fields,
// whatever its zone, and decoding returns them in UTC.
func TestWallClock(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	local := time.Date(2025, 6, 1, 8, 30, 0, 0, shanghai)
	b, err := Append(nil, &Frame{Body: &TimeSync{PileCode: testPile, Time: local}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	got := f.Body.(*TimeSync).Time
	want := time.Date(2025, 6, 1, 8, 30, 0, 0, time.UTC)
	if !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("time = %v; want %v (wall clock kept, zone dropped)", got, want)
	}
}

func TestErrorOffsets(t *testing.T) {
	tests := []struct {
		name   string
		hex    string
		want   error
		offset int
		field  string
	}{
		{"empty", "", ErrShortFrame, 0, "header"},
		{"start only", "68", ErrShortFrame, 1, "header"},
		{"length below 4", "680300000003", ErrBadLength, 1, "length"},
		{"bad flag", "680d11000203", ErrEncryptionFlag, 4, "encryption_flag"},
		{"trailing byte", "680d11000003320102000000010201f1f800", ErrBadLength, 1, "length"},
		{"checksum", "680d11000003320102000000010201f1f9", ErrChecksum, 15, "crc"},
		{"body size wrong for type", "680c1100000332010200000001025f70", ErrBadLength, 1, "length"},
		{"cut short", "680d11000003320102000000010201f1", ErrShortFrame, 16, "frame"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := hexDecode(tc.hex)
			_, err := Decode(b)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Decode error = %v; want *Error", err)
			}
			if !errors.Is(err, tc.want) || e.Offset != tc.offset || e.Field != tc.field {
				t.Errorf("Decode error = %v (offset %d field %q); want %v at %d %q", err, e.Offset, e.Field, tc.want, tc.offset, tc.field)
			}
		})
	}
}

// TestBadCount covers a count byte that disagrees with a body whose size
// itself fits the type (ykc.md §6 0x44).
func TestBadCount(t *testing.T) {
	b, err := Append(nil, &Frame{Body: &CardSync{PileCode: testPile, Cards: cardPairs(2)}})
	if err != nil {
		t.Fatal(err)
	}
	b[HeaderSize+pileCodeSize] = 3
	crc := crc16(b[offSeq : len(b)-2])
	b[len(b)-2], b[len(b)-1] = byte(crc), byte(crc>>8)
	_, err = Decode(b)
	var e *Error
	if !errors.Is(err, ErrBadCount) || !errors.As(err, &e) || e.Offset != HeaderSize+pileCodeSize {
		t.Fatalf("Decode error = %v; want ErrBadCount at offset %d", err, HeaderSize+pileCodeSize)
	}
}

func TestInspectDirection(t *testing.T) {
	frame, _ := hexDecode("680d00010003320102000000010100f11a") // heartbeat, up
	if _, err := Inspect(frame, "down"); !errors.Is(err, ErrDirection) {
		t.Errorf("Inspect(up frame, down) error = %v; want ErrDirection", err)
	}
	if _, err := Inspect(frame, "sideways"); !errors.Is(err, ErrDirection) {
		t.Errorf("Inspect(sideways) error = %v; want ErrDirection", err)
	}
	got, err := Inspect(frame, "")
	if err != nil || got["direction"] != "up" || got["message"] != "Heartbeat" {
		t.Errorf("Inspect(\"\") = %v, %v; want direction up, message Heartbeat", got, err)
	}
}

// TestDecodeDoesNotAlias decodes from a buffer, overwrites the buffer and
// checks that the decoded values did not change.
func TestDecodeDoesNotAlias(t *testing.T) {
	for _, tc := range roundTripCases() {
		b, err := Append(nil, tc.frame)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		for i := range b {
			b[i] = 0xEE
		}
		if diff := cmp.Diff(tc.frame, f); diff != "" {
			t.Errorf("%s: decoded value changed with the buffer (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestCodes(t *testing.T) {
	var err error = AuthBalanceTooLow
	if err.Error() != "ykc: start authorisation failed: balance too low" {
		t.Errorf("AuthFailure.Error() = %q", err.Error())
	}
	for _, c := range []error{AuthFailure(0x0C), StartFailure(9), StopFailure(9), StartOffline, StopOther} {
		if c.Error() == "" {
			t.Errorf("%T(%v) has an empty message", c, c)
		}
	}
	if r := StopReason(0x41); !r.Completed() || r.String() != "SOC 100%" {
		t.Errorf("StopReason(0x41) = %v completed %v", r, r.Completed())
	}
	if r := StopReason(0x5A); !r.StartFailed() || r.Aborted() {
		t.Errorf("StopReason(0x5A) classification wrong")
	}
	if r := StopReason(0x6B); !r.Aborted() || r.String() != "aborted: pilot disconnected" {
		t.Errorf("StopReason(0x6B) = %v", r)
	}
	if s := StopReason(0x46).String(); s != "StopReason(0x46)" {
		t.Errorf("reserved stop reason prints %q", s)
	}
	if GunCharging.String() != "charging" || TradeCard.String() != "card" || Valley.String() != "valley" {
		t.Errorf("String methods wrong")
	}
	if Temperature(0).Celsius() != -50 || Temperature(78).Celsius() != 28 {
		t.Errorf("Temperature.Celsius wrong")
	}
}

func hexDecode(s string) ([]byte, error) {
	clean := make([]byte, 0, len(s))
	for i := range len(s) {
		if s[i] != ' ' {
			clean = append(clean, s[i])
		}
	}
	out := make([]byte, len(clean)/2)
	for i := range out {
		hi, ok1 := nibble(string(clean), 2*i)
		lo, ok2 := nibble(string(clean), 2*i+1)
		if !ok1 || !ok2 {
			return nil, errors.New("bad hex")
		}
		out[i] = hi<<4 | lo
	}
	return out, nil
}

// TestCRC16 checks the table-driven CRC against a bitwise CRC-16/MODBUS and
// its standard check value (CRC of "123456789" = 0x4B37).
func TestCRC16(t *testing.T) {
	bitwise := func(b []byte) uint16 {
		crc := uint16(0xFFFF)
		for _, c := range b {
			crc ^= uint16(c)
			for range 8 {
				if crc&1 != 0 {
					crc = crc>>1 ^ 0xA001
				} else {
					crc >>= 1
				}
			}
		}
		return crc
	}
	if got := crc16([]byte("123456789")); got != 0x4B37 {
		t.Errorf("crc16(123456789) = %#04x; want 0x4b37", got)
	}
	buf := make([]byte, 0, 256)
	for i := range 256 {
		buf = append(buf, byte(i*7+3))
		if got, want := crc16(buf), bitwise(buf); got != want {
			t.Fatalf("crc16(%d bytes) = %#04x; want %#04x", len(buf), got, want)
		}
	}
}
