package ykc

// ReadRealtimeData asks a gun for its real-time data, 0x12 down; the pile
// answers with RealtimeData (ykc.md §6 0x12). Whether a pile answers with one
// 0x13 per gun is left open by the spec (§10).
type ReadRealtimeData struct {
	PileCode string
	Gun      string
}

// FrameType returns TypeReadRealtimeData.
func (*ReadRealtimeData) FrameType() Type { return TypeReadRealtimeData }

func (m *ReadRealtimeData) decodeBody(b []byte, off int) (int, error) {
	var err error
	m.PileCode, m.Gun, off, err = readPileGun(b, off)
	return off, err
}

func (m *ReadRealtimeData) appendBody(w *writer) { w.pileGun(m.PileCode, m.Gun) }

func (m *ReadRealtimeData) fields(f map[string]any) { putPileGun(f, m.PileCode, m.Gun) }

// RealtimeData is a gun's real-time monitoring data, 0x13 up: every 5 min
// when idle, every 15 s while charging, on every status or plug change and
// on ReadRealtimeData (ykc.md §6 0x13). The spec's type table calls it
// "offline monitoring data", a misnomer (§5). Idle values are 0; AC piles
// send 0 for SOC, battery temperature and remaining time.
type RealtimeData struct {
	TradeNo  string // 16 BCD; zeros when no session
	PileCode string
	Gun      string
	Status   GunState
	GunHomed uint8  // gun back in its holder: 0 no, 1 yes, 2 unknown
	Plugged  uint8  // 0 no, 1 yes
	Voltage  uint16 // output voltage, 0.1 V
	Current  uint16 // output current, 0.1 A
	// GunTemp is the gun cable temperature, °C + 50; raw 0 means no reading.
	GunTemp     Temperature
	GunWireCode [8]byte // gun cable id
	SOC         uint8   // %
	// BatteryMaxTemp is the battery's highest temperature, °C + 50.
	BatteryMaxTemp   Temperature
	ChargeMinutes    uint16 // charging time so far, min
	RemainingMinutes uint16 // min
	Energy           Energy // 0.0001 kWh
	LossEnergy       Energy // energy including loss, 0.0001 kWh
	// Amount is (electricity + service price) × energy incl. loss,
	// 0.0001 CNY.
	Amount Amount
	// HardwareFaults is the fault bit field, bit 1 = least significant
	// (Fault* constants; ykc.md §7, §10).
	HardwareFaults uint16
}

// FrameType returns TypeRealtimeData.
func (*RealtimeData) FrameType() Type { return TypeRealtimeData }

// decodeBody reads §6 0x13 (60 bytes).
func (m *RealtimeData) decodeBody(b []byte, off int) (int, error) {
	var err error
	var u uint8
	var v uint32
	if m.TradeNo, m.PileCode, m.Gun, off, err = readSession(b, off); err != nil {
		return off, err
	}
	if u, off, err = readU8(b, off, "status"); err != nil {
		return off, err
	}
	m.Status = GunState(u)
	if m.GunHomed, off, err = readU8(b, off, "gun_homed"); err != nil {
		return off, err
	}
	if m.Plugged, off, err = readU8(b, off, "plugged"); err != nil {
		return off, err
	}
	if m.Voltage, off, err = readU16(b, off, "voltage"); err != nil {
		return off, err
	}
	if m.Current, off, err = readU16(b, off, "current"); err != nil {
		return off, err
	}
	if u, off, err = readU8(b, off, "gun_temp"); err != nil {
		return off, err
	}
	m.GunTemp = Temperature(u)
	if off, err = readInto(b, off, m.GunWireCode[:], "gun_wire_code"); err != nil {
		return off, err
	}
	if m.SOC, off, err = readU8(b, off, "soc"); err != nil {
		return off, err
	}
	if u, off, err = readU8(b, off, "battery_max_temp"); err != nil {
		return off, err
	}
	m.BatteryMaxTemp = Temperature(u)
	if m.ChargeMinutes, off, err = readU16(b, off, "charge_min"); err != nil {
		return off, err
	}
	if m.RemainingMinutes, off, err = readU16(b, off, "remaining_min"); err != nil {
		return off, err
	}
	if v, off, err = readU32(b, off, "energy"); err != nil {
		return off, err
	}
	m.Energy = Energy(v)
	if v, off, err = readU32(b, off, "loss_energy"); err != nil {
		return off, err
	}
	m.LossEnergy = Energy(v)
	if v, off, err = readU32(b, off, "amount"); err != nil {
		return off, err
	}
	m.Amount = Amount(v)
	m.HardwareFaults, off, err = readU16(b, off, "hw_fault_bits")
	return off, err
}

func (m *RealtimeData) appendBody(w *writer) {
	w.session(m.TradeNo, m.PileCode, m.Gun)
	w.u8(uint8(m.Status))
	w.u8(m.GunHomed)
	w.u8(m.Plugged)
	w.u16(m.Voltage)
	w.u16(m.Current)
	w.u8(uint8(m.GunTemp))
	w.bytes(m.GunWireCode[:])
	w.u8(m.SOC)
	w.u8(uint8(m.BatteryMaxTemp))
	w.u16(m.ChargeMinutes)
	w.u16(m.RemainingMinutes)
	w.u32(uint32(m.Energy))
	w.u32(uint32(m.LossEnergy))
	w.u32(uint32(m.Amount))
	w.u16(m.HardwareFaults)
}

// fields: the vectors report the mechanical −50 °C for a raw 0 temperature
// (ykc.md §6 0x13, vector ykc-13-up-1, whose spec original annotates the
// byte as 10 °C and the voltage 02 00 as 0, §11.7).
func (m *RealtimeData) fields(f map[string]any) {
	putSession(f, m.TradeNo, m.PileCode, m.Gun)
	f["status"] = int(m.Status)
	f["gun_homed"] = int(m.GunHomed)
	f["plugged"] = int(m.Plugged)
	f["voltage_v"] = scaled(uint64(m.Voltage), 1)
	f["current_a"] = scaled(uint64(m.Current), 1)
	f["gun_temp_c"] = m.GunTemp.Celsius()
	f["gun_wire_code"] = hexString(m.GunWireCode[:])
	f["soc_pct"] = int(m.SOC)
	f["battery_max_temp_c"] = m.BatteryMaxTemp.Celsius()
	f["charge_min"] = int(m.ChargeMinutes)
	f["remaining_min"] = int(m.RemainingMinutes)
	f["energy_kwh"] = scaled(uint64(m.Energy), 4)
	f["loss_energy_kwh"] = scaled(uint64(m.LossEnergy), 4)
	f["amount_yuan"] = scaled(uint64(m.Amount), 4)
	f["hw_fault_bits"] = int(m.HardwareFaults)
}
