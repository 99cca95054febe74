package ap3000

import (
	"testing"
	"time"
)

func TestInspectInfersDirection(t *testing.T) {
	for _, tc := range []struct {
		name, hex, dir, message string
	}{
		{"0x21 heartbeat", "444e5910003b37ab0401002198080200000905ee02", "up", "Heartbeat"},
		{"0x21 answer", "444e590a003b37ab04010021003802", "down", "HeartbeatReply"},
		{"0x01 answer", "444e590a003b37ab04b9000100d002", "down", "OldHeartbeatReply"},
		{"0x22 request", "444e5909003b37ab04b90022f002", "up", "TimeRequest"},
		{"0x22 time", "444e590d003b37ab04b90022090ea95f1304", "down", "TimeReply"},
		{"0x82 start", "444e5926003b37ab040200820064010000010100001234567812345678123456781234567880708813f808",
			"down", "Charge"},
		{"0x82 answer only", "444e590a00d628d704cdab8202ca04", "up", "ChargeReply"},
		{"0x8a answer", "444e590a003b37ab0402008a00a202", "up", "ChangeChargeReply"},
		// Request and reply are the same bytes: the initiator (server) wins.
		{"0x8d ambiguous", "444e590a003b37ab0401008d00a402", "down", "SetWorkMode"},
		{"ICCID", iccidHex, "up", "ICCID"},
		{"link", linkHex, "up", "Link"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Inspect(fromHex(t, tc.hex), "")
			if err != nil {
				t.Fatal(err)
			}
			if got["direction"] != tc.dir || got["message"] != tc.message {
				t.Fatalf("direction %v, message %v; want %s, %s", got["direction"], got["message"], tc.dir, tc.message)
			}
		})
	}
}

func TestInspectPreamble(t *testing.T) {
	got, err := Inspect([]byte("89860448161870064815"), "up")
	if err != nil {
		t.Fatal(err)
	}
	if got["iccid"] != "89860448161870064815" || got["kind"] != "iccid" {
		t.Fatalf("Inspect(ICCID) = %v", got)
	}
	if _, ok := got["phy_id"]; ok {
		t.Fatalf("Inspect(ICCID) has header fields: %v", got)
	}
}

func TestValues(t *testing.T) {
	p := PhysicalID(0x04AB373B)
	if p.DeviceCode() != 4 || p.DeviceNumber() != 11220795 || p.String() != "3b37ab04" {
		t.Errorf("PhysicalID: code %d, number %d, %s", p.DeviceCode(), p.DeviceNumber(), p)
	}
	if c := (CardID{0x7a, 0x8d, 0x05, 0xdd}); c.Uint32() != 2056062429 || c.String() != "7a8d05dd" {
		t.Errorf("CardID: %d, %s", c.Uint32(), c)
	}
	if c, ok := Temperature(0x55).Celsius(); c != 20 || !ok {
		t.Errorf("Temperature(0x55) = %d, %v; want 20, true", c, ok)
	}
	if _, ok := Temperature(0).Celsius(); ok {
		t.Error("Temperature(0) reports a sensor")
	}
	if fen, ok := BalanceOrExpiry(2550).Balance(); fen != 2550 || !ok {
		t.Errorf("Balance() = %d, %v", fen, ok)
	}
	if _, ok := BalanceOrExpiry(2550).Expiry(); ok {
		t.Error("a balance reads as an expiry")
	}
	exp, ok := BalanceOrExpiry(1893456000).Expiry()
	if !ok || !exp.Equal(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) || exp.Location() != time.UTC {
		t.Errorf("Expiry() = %v, %v", exp, ok)
	}
	if err := Answer(0).Err(); err != nil {
		t.Errorf("Answer(0).Err() = %v", err)
	}
	var err error = ChargeNoPlug
	if ChargeNoPlug.Err() == nil || err.Error() != "ap3000: charge: no charger plugged" {
		t.Errorf("ChargeNoPlug: %v", err)
	}
	if PortCharging.String() != "charging" || PortStatus(0x0C).String() != "PortStatus(12)" {
		t.Errorf("PortStatus strings: %v, %v", PortCharging, PortStatus(0x0C))
	}
}
