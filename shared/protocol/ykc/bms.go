package ykc

// BMS messages of a DC session (ykc.md §6 0x15–0x25), carrying GB/T 27930
// values. All start with T, P, G. GB/T units: currents 0.1 A with a −400 A
// offset (so a charging current comes out negative), temperatures °C + 50.
// The spec's examples of all eight print a 31-digit transaction number and
// are not even whole bytes (vectors ykc-15-spec … ykc-25-spec, §11.3); the
// layouts below follow the tables.

// BMSHandshake is the BMS handshake and identification (GB/T BHM/BRM),
// 0x15 up (ykc.md §6 0x15).
type BMSHandshake struct {
	TradeNo  string
	PileCode string
	Gun      string
	// ProtocolVersion is the BMS protocol version, 3 bytes as sent
	// (vector ykc-15-up-1: 00 01 01).
	ProtocolVersion [3]byte
	BatteryType     uint8  // 1 lead-acid … 3 LFP … 6 NCM, 0xFF other
	RatedCapacity   uint16 // 0.1 Ah
	RatedVoltage    uint16 // 0.1 V
	// Vendor is the battery vendor, 4 ASCII by the spec; kept as bytes
	// because BMSes send non-printable values here (the vectors print it as
	// hex).
	Vendor     [4]byte
	PackSerial [4]byte
	PackYear   uint8 // year − 1985
	PackMonth  uint8
	PackDay    uint8
	// ChargeCycles is the cycle count, 3 bytes.
	ChargeCycles    uint32
	Ownership       uint8 // 0 leased, 1 owned
	Reserved        uint8
	VIN             string // 17 ASCII, normal order
	SoftwareVersion [8]byte
}

// FrameType returns TypeBMSHandshake.
func (*BMSHandshake) FrameType() Type { return TypeBMSHandshake }

// decodeBody reads §6 0x15 (73 bytes).
func (m *BMSHandshake) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.TradeNo, m.PileCode, m.Gun, off, err = readSession(b, off); err != nil {
		return off, err
	}
	if off, err = readInto(b, off, m.ProtocolVersion[:], "bms_protocol_version"); err != nil {
		return off, err
	}
	if m.BatteryType, off, err = readU8(b, off, "battery_type"); err != nil {
		return off, err
	}
	if m.RatedCapacity, off, err = readU16(b, off, "rated_capacity"); err != nil {
		return off, err
	}
	if m.RatedVoltage, off, err = readU16(b, off, "rated_voltage"); err != nil {
		return off, err
	}
	if off, err = readInto(b, off, m.Vendor[:], "battery_vendor"); err != nil {
		return off, err
	}
	if off, err = readInto(b, off, m.PackSerial[:], "pack_serial"); err != nil {
		return off, err
	}
	if m.PackYear, off, err = readU8(b, off, "pack_year"); err != nil {
		return off, err
	}
	if m.PackMonth, off, err = readU8(b, off, "pack_month"); err != nil {
		return off, err
	}
	if m.PackDay, off, err = readU8(b, off, "pack_day"); err != nil {
		return off, err
	}
	if m.ChargeCycles, off, err = readU24(b, off, "charge_cycles"); err != nil {
		return off, err
	}
	if m.Ownership, off, err = readU8(b, off, "ownership"); err != nil {
		return off, err
	}
	if m.Reserved, off, err = readU8(b, off, "reserved"); err != nil {
		return off, err
	}
	if m.VIN, off, err = readASCII(b, off, vinSize, "vin"); err != nil {
		return off, err
	}
	off, err = readInto(b, off, m.SoftwareVersion[:], "bms_software_version")
	return off, err
}

func (m *BMSHandshake) appendBody(w *writer) {
	w.session(m.TradeNo, m.PileCode, m.Gun)
	w.bytes(m.ProtocolVersion[:])
	w.u8(m.BatteryType)
	w.u16(m.RatedCapacity)
	w.u16(m.RatedVoltage)
	w.bytes(m.Vendor[:])
	w.bytes(m.PackSerial[:])
	w.u8(m.PackYear)
	w.u8(m.PackMonth)
	w.u8(m.PackDay)
	w.u24(m.ChargeCycles, "charge_cycles")
	w.u8(m.Ownership)
	w.u8(m.Reserved)
	w.ascii(m.VIN, vinSize, "vin")
	w.bytes(m.SoftwareVersion[:])
}

func (m *BMSHandshake) fields(f map[string]any) {
	putSession(f, m.TradeNo, m.PileCode, m.Gun)
	f["bms_protocol_version"] = hexString(m.ProtocolVersion[:])
	f["battery_type"] = int(m.BatteryType)
	f["rated_capacity_ah"] = scaled(uint64(m.RatedCapacity), 1)
	f["rated_voltage_v"] = scaled(uint64(m.RatedVoltage), 1)
	f["battery_vendor"] = hexString(m.Vendor[:])
	f["pack_serial"] = hexString(m.PackSerial[:])
	f["pack_year"] = 1985 + int(m.PackYear)
	f["pack_month"] = int(m.PackMonth)
	f["pack_day"] = int(m.PackDay)
	f["charge_cycles"] = int(m.ChargeCycles)
	f["ownership"] = int(m.Ownership)
	f["vin"] = m.VIN
	f["bms_software_version"] = hexString(m.SoftwareVersion[:])
}

// BMSParameters is the BMS charging parameters (GB/T BCP) and the pile's
// output limits, 0x17 up (ykc.md §6 0x17).
type BMSParameters struct {
	TradeNo         string
	PileCode        string
	Gun             string
	CellMaxVoltage  uint16 // highest allowed cell voltage, 0.01 V
	MaxCurrent      uint16 // 0.1 A, −400 A offset
	RatedEnergy     uint16 // 0.1 kWh
	MaxTotalVoltage uint16 // 0.1 V
	MaxTemp         Temperature
	SOC             uint16 // 0.1 %
	BatteryVoltage  uint16 // 0.1 V
	PileMaxVoltage  uint16 // 0.1 V
	PileMinVoltage  uint16 // 0.1 V
	PileMaxCurrent  uint16 // 0.1 A, −400 A offset
	PileMinCurrent  uint16 // 0.1 A, −400 A offset
}

// FrameType returns TypeBMSParameters.
func (*BMSParameters) FrameType() Type { return TypeBMSParameters }

// decodeBody reads §6 0x17 (45 bytes).
func (m *BMSParameters) decodeBody(b []byte, off int) (int, error) {
	var err error
	var u uint8
	if m.TradeNo, m.PileCode, m.Gun, off, err = readSession(b, off); err != nil {
		return off, err
	}
	if m.CellMaxVoltage, off, err = readU16(b, off, "cell_max_voltage"); err != nil {
		return off, err
	}
	if m.MaxCurrent, off, err = readU16(b, off, "max_current"); err != nil {
		return off, err
	}
	if m.RatedEnergy, off, err = readU16(b, off, "rated_energy"); err != nil {
		return off, err
	}
	if m.MaxTotalVoltage, off, err = readU16(b, off, "max_total_voltage"); err != nil {
		return off, err
	}
	if u, off, err = readU8(b, off, "max_temp"); err != nil {
		return off, err
	}
	m.MaxTemp = Temperature(u)
	if m.SOC, off, err = readU16(b, off, "soc"); err != nil {
		return off, err
	}
	if m.BatteryVoltage, off, err = readU16(b, off, "battery_voltage"); err != nil {
		return off, err
	}
	if m.PileMaxVoltage, off, err = readU16(b, off, "pile_max_voltage"); err != nil {
		return off, err
	}
	if m.PileMinVoltage, off, err = readU16(b, off, "pile_min_voltage"); err != nil {
		return off, err
	}
	if m.PileMaxCurrent, off, err = readU16(b, off, "pile_max_current"); err != nil {
		return off, err
	}
	m.PileMinCurrent, off, err = readU16(b, off, "pile_min_current")
	return off, err
}

func (m *BMSParameters) appendBody(w *writer) {
	w.session(m.TradeNo, m.PileCode, m.Gun)
	w.u16(m.CellMaxVoltage)
	w.u16(m.MaxCurrent)
	w.u16(m.RatedEnergy)
	w.u16(m.MaxTotalVoltage)
	w.u8(uint8(m.MaxTemp))
	w.u16(m.SOC)
	w.u16(m.BatteryVoltage)
	w.u16(m.PileMaxVoltage)
	w.u16(m.PileMinVoltage)
	w.u16(m.PileMaxCurrent)
	w.u16(m.PileMinCurrent)
}

func (m *BMSParameters) fields(f map[string]any) {
	putSession(f, m.TradeNo, m.PileCode, m.Gun)
	f["cell_max_voltage_v"] = scaled(uint64(m.CellMaxVoltage), 2)
	f["max_current_a"] = gbtCurrent(m.MaxCurrent)
	f["rated_energy_kwh"] = scaled(uint64(m.RatedEnergy), 1)
	f["max_total_voltage_v"] = scaled(uint64(m.MaxTotalVoltage), 1)
	f["max_temp_c"] = m.MaxTemp.Celsius()
	f["soc_pct"] = scaled(uint64(m.SOC), 1)
	f["battery_voltage_v"] = scaled(uint64(m.BatteryVoltage), 1)
	f["pile_max_voltage_v"] = scaled(uint64(m.PileMaxVoltage), 1)
	f["pile_min_voltage_v"] = scaled(uint64(m.PileMinVoltage), 1)
	f["pile_max_current_a"] = gbtCurrent(m.PileMaxCurrent)
	f["pile_min_current_a"] = gbtCurrent(m.PileMinCurrent)
}

// ChargeFinished is the BMS statistics at the end of a DC session (GB/T
// BSD), 0x19 up (ykc.md §6 0x19). ykc-proxy-server parses it big-endian;
// it is little-endian like all BIN fields (§12).
type ChargeFinished struct {
	TradeNo        string
	PileCode       string
	Gun            string
	SOC            uint8  // %
	CellMinVoltage uint16 // 0.01 V
	CellMaxVoltage uint16 // 0.01 V
	BatteryMinTemp Temperature
	BatteryMaxTemp Temperature
	ChargeMinutes  uint16
	OutputEnergy   uint16 // 0.1 kWh
	ChargerNo      uint32
}

// FrameType returns TypeChargeFinished.
func (*ChargeFinished) FrameType() Type { return TypeChargeFinished }

// decodeBody reads §6 0x19 (39 bytes).
func (m *ChargeFinished) decodeBody(b []byte, off int) (int, error) {
	var err error
	var u uint8
	if m.TradeNo, m.PileCode, m.Gun, off, err = readSession(b, off); err != nil {
		return off, err
	}
	if m.SOC, off, err = readU8(b, off, "soc"); err != nil {
		return off, err
	}
	if m.CellMinVoltage, off, err = readU16(b, off, "cell_min_voltage"); err != nil {
		return off, err
	}
	if m.CellMaxVoltage, off, err = readU16(b, off, "cell_max_voltage"); err != nil {
		return off, err
	}
	if u, off, err = readU8(b, off, "battery_min_temp"); err != nil {
		return off, err
	}
	m.BatteryMinTemp = Temperature(u)
	if u, off, err = readU8(b, off, "battery_max_temp"); err != nil {
		return off, err
	}
	m.BatteryMaxTemp = Temperature(u)
	if m.ChargeMinutes, off, err = readU16(b, off, "charge_min"); err != nil {
		return off, err
	}
	if m.OutputEnergy, off, err = readU16(b, off, "output_energy"); err != nil {
		return off, err
	}
	m.ChargerNo, off, err = readU32(b, off, "charger_no")
	return off, err
}

func (m *ChargeFinished) appendBody(w *writer) {
	w.session(m.TradeNo, m.PileCode, m.Gun)
	w.u8(m.SOC)
	w.u16(m.CellMinVoltage)
	w.u16(m.CellMaxVoltage)
	w.u8(uint8(m.BatteryMinTemp))
	w.u8(uint8(m.BatteryMaxTemp))
	w.u16(m.ChargeMinutes)
	w.u16(m.OutputEnergy)
	w.u32(m.ChargerNo)
}

func (m *ChargeFinished) fields(f map[string]any) {
	putSession(f, m.TradeNo, m.PileCode, m.Gun)
	f["soc_pct"] = int(m.SOC)
	f["cell_min_voltage_v"] = scaled(uint64(m.CellMinVoltage), 2)
	f["cell_max_voltage_v"] = scaled(uint64(m.CellMaxVoltage), 2)
	f["battery_min_temp_c"] = m.BatteryMinTemp.Celsius()
	f["battery_max_temp_c"] = m.BatteryMaxTemp.Celsius()
	f["charge_min"] = int(m.ChargeMinutes)
	f["output_energy_kwh"] = scaled(uint64(m.OutputEnergy), 1)
	f["charger_no"] = int(m.ChargerNo)
}

// BMSError is the BMS / charger timeout report (GB/T BEM/CEM), 0x1B up
// (ykc.md §6 0x1B): 8 bytes of 2-bit flags, 00 normal, 01 timeout,
// 10 untrusted.
type BMSError struct {
	TradeNo  string
	PileCode string
	Gun      string
	Flags    [8]byte
}

// FrameType returns TypeBMSError.
func (*BMSError) FrameType() Type { return TypeBMSError }

// decodeBody reads §6 0x1B (32 bytes).
func (m *BMSError) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.TradeNo, m.PileCode, m.Gun, off, err = readSession(b, off); err != nil {
		return off, err
	}
	return readInto(b, off, m.Flags[:], "error_bits")
}

func (m *BMSError) appendBody(w *writer) {
	w.session(m.TradeNo, m.PileCode, m.Gun)
	w.bytes(m.Flags[:])
}

func (m *BMSError) fields(f map[string]any) {
	putSession(f, m.TradeNo, m.PileCode, m.Gun)
	f["error_bits"] = hexString(m.Flags[:])
}

// readStopFlags reads the body shared by 0x1D and 0x21 after T, P, G.
func readStopFlags(b []byte, off int, reason *uint8, fault *uint16, errBits *uint8) (int, error) {
	var err error
	if *reason, off, err = readU8(b, off, "stop_reason_bits"); err != nil {
		return off, err
	}
	if *fault, off, err = readU16(b, off, "fault_bits"); err != nil {
		return off, err
	}
	*errBits, off, err = readU8(b, off, "error_bits")
	return off, err
}

// BMSStop is the BMS's reason for stopping in the charging stage (GB/T
// BST), 0x1D up (ykc.md §6 0x1D). All three fields are 2-bit flag groups.
type BMSStop struct {
	TradeNo  string
	PileCode string
	Gun      string
	Reason   uint8
	Fault    uint16
	Error    uint8
}

// FrameType returns TypeBMSStop.
func (*BMSStop) FrameType() Type { return TypeBMSStop }

// decodeBody reads §6 0x1D (28 bytes).
func (m *BMSStop) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.TradeNo, m.PileCode, m.Gun, off, err = readSession(b, off); err != nil {
		return off, err
	}
	return readStopFlags(b, off, &m.Reason, &m.Fault, &m.Error)
}

func (m *BMSStop) appendBody(w *writer) {
	w.session(m.TradeNo, m.PileCode, m.Gun)
	w.u8(m.Reason)
	w.u16(m.Fault)
	w.u8(m.Error)
}

func (m *BMSStop) fields(f map[string]any) {
	putSession(f, m.TradeNo, m.PileCode, m.Gun)
	f["stop_reason_bits"] = int(m.Reason)
	f["fault_bits"] = int(m.Fault)
	f["error_bits"] = int(m.Error)
}

// ChargerStop is the charger's reason for stopping in the charging stage
// (GB/T CST), 0x21 up (ykc.md §6 0x21). Same layout as BMSStop.
type ChargerStop struct {
	TradeNo  string
	PileCode string
	Gun      string
	Reason   uint8
	Fault    uint16
	Error    uint8
}

// FrameType returns TypeChargerStop.
func (*ChargerStop) FrameType() Type { return TypeChargerStop }

// decodeBody reads §6 0x21 (28 bytes).
func (m *ChargerStop) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.TradeNo, m.PileCode, m.Gun, off, err = readSession(b, off); err != nil {
		return off, err
	}
	return readStopFlags(b, off, &m.Reason, &m.Fault, &m.Error)
}

func (m *ChargerStop) appendBody(w *writer) {
	w.session(m.TradeNo, m.PileCode, m.Gun)
	w.u8(m.Reason)
	w.u16(m.Fault)
	w.u8(m.Error)
}

func (m *ChargerStop) fields(f map[string]any) {
	putSession(f, m.TradeNo, m.PileCode, m.Gun)
	f["stop_reason_bits"] = int(m.Reason)
	f["fault_bits"] = int(m.Fault)
	f["error_bits"] = int(m.Error)
}

// BMSDemand is the BMS demand and the charger's output (GB/T BCL/BCS/CCS),
// 0x23 up every 15 s while charging (ykc.md §6 0x23).
type BMSDemand struct {
	TradeNo         string
	PileCode        string
	Gun             string
	DemandVoltage   uint16 // 0.1 V
	DemandCurrent   uint16 // 0.1 A, −400 A offset
	Mode            uint8  // 1 constant voltage, 2 constant current
	MeasuredVoltage uint16 // 0.1 V
	MeasuredCurrent uint16 // 0.1 A, −400 A offset
	// CellMaxVoltage holds the highest cell voltage in bits 0–11 (0.01 V)
	// and its group number in bits 12–15.
	CellMaxVoltage   uint16
	SOC              uint8  // %
	RemainingMinutes uint16 // min
	OutputVoltage    uint16 // pile output, 0.1 V
	OutputCurrent    uint16 // pile output, 0.1 A, −400 A offset
	ChargeMinutes    uint16 // min
}

// FrameType returns TypeBMSDemand.
func (*BMSDemand) FrameType() Type { return TypeBMSDemand }

// decodeBody reads §6 0x23 (44 bytes).
func (m *BMSDemand) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.TradeNo, m.PileCode, m.Gun, off, err = readSession(b, off); err != nil {
		return off, err
	}
	if m.DemandVoltage, off, err = readU16(b, off, "demand_voltage"); err != nil {
		return off, err
	}
	if m.DemandCurrent, off, err = readU16(b, off, "demand_current"); err != nil {
		return off, err
	}
	if m.Mode, off, err = readU8(b, off, "charge_mode"); err != nil {
		return off, err
	}
	if m.MeasuredVoltage, off, err = readU16(b, off, "measured_voltage"); err != nil {
		return off, err
	}
	if m.MeasuredCurrent, off, err = readU16(b, off, "measured_current"); err != nil {
		return off, err
	}
	if m.CellMaxVoltage, off, err = readU16(b, off, "cell_max_voltage"); err != nil {
		return off, err
	}
	if m.SOC, off, err = readU8(b, off, "soc"); err != nil {
		return off, err
	}
	if m.RemainingMinutes, off, err = readU16(b, off, "remaining_min"); err != nil {
		return off, err
	}
	if m.OutputVoltage, off, err = readU16(b, off, "output_voltage"); err != nil {
		return off, err
	}
	if m.OutputCurrent, off, err = readU16(b, off, "output_current"); err != nil {
		return off, err
	}
	m.ChargeMinutes, off, err = readU16(b, off, "charge_min")
	return off, err
}

func (m *BMSDemand) appendBody(w *writer) {
	w.session(m.TradeNo, m.PileCode, m.Gun)
	w.u16(m.DemandVoltage)
	w.u16(m.DemandCurrent)
	w.u8(m.Mode)
	w.u16(m.MeasuredVoltage)
	w.u16(m.MeasuredCurrent)
	w.u16(m.CellMaxVoltage)
	w.u8(m.SOC)
	w.u16(m.RemainingMinutes)
	w.u16(m.OutputVoltage)
	w.u16(m.OutputCurrent)
	w.u16(m.ChargeMinutes)
}

func (m *BMSDemand) fields(f map[string]any) {
	putSession(f, m.TradeNo, m.PileCode, m.Gun)
	f["demand_voltage_v"] = scaled(uint64(m.DemandVoltage), 1)
	f["demand_current_a"] = gbtCurrent(m.DemandCurrent)
	f["charge_mode"] = int(m.Mode)
	f["measured_voltage_v"] = scaled(uint64(m.MeasuredVoltage), 1)
	f["measured_current_a"] = gbtCurrent(m.MeasuredCurrent)
	f["cell_max_voltage_v"] = scaled(uint64(m.CellMaxVoltage&0x0FFF), 2)
	f["cell_max_group"] = int(m.CellMaxVoltage >> 12)
	f["soc_pct"] = int(m.SOC)
	f["remaining_min"] = int(m.RemainingMinutes)
	f["output_voltage_v"] = scaled(uint64(m.OutputVoltage), 1)
	f["output_current_a"] = gbtCurrent(m.OutputCurrent)
	f["charge_min"] = int(m.ChargeMinutes)
}

// BMSInfo is the BMS battery information (GB/T BSM), 0x25 up every 15 s
// while charging (ykc.md §6 0x25). Numbers are sent minus one.
type BMSInfo struct {
	TradeNo      string
	PileCode     string
	Gun          string
	CellMaxNo    uint8 // number of the highest cell − 1
	MaxTemp      Temperature
	MaxTempProbe uint8 // probe number − 1
	MinTemp      Temperature
	MinTempProbe uint8 // probe number − 1
	Status       [2]byte
}

// FrameType returns TypeBMSInfo.
func (*BMSInfo) FrameType() Type { return TypeBMSInfo }

// decodeBody reads §6 0x25 (31 bytes).
func (m *BMSInfo) decodeBody(b []byte, off int) (int, error) {
	var err error
	var u uint8
	if m.TradeNo, m.PileCode, m.Gun, off, err = readSession(b, off); err != nil {
		return off, err
	}
	if m.CellMaxNo, off, err = readU8(b, off, "cell_max_voltage_no"); err != nil {
		return off, err
	}
	if u, off, err = readU8(b, off, "battery_max_temp"); err != nil {
		return off, err
	}
	m.MaxTemp = Temperature(u)
	if m.MaxTempProbe, off, err = readU8(b, off, "max_temp_point"); err != nil {
		return off, err
	}
	if u, off, err = readU8(b, off, "battery_min_temp"); err != nil {
		return off, err
	}
	m.MinTemp = Temperature(u)
	if m.MinTempProbe, off, err = readU8(b, off, "min_temp_point"); err != nil {
		return off, err
	}
	return readInto(b, off, m.Status[:], "status_bits")
}

func (m *BMSInfo) appendBody(w *writer) {
	w.session(m.TradeNo, m.PileCode, m.Gun)
	w.u8(m.CellMaxNo)
	w.u8(uint8(m.MaxTemp))
	w.u8(m.MaxTempProbe)
	w.u8(uint8(m.MinTemp))
	w.u8(m.MinTempProbe)
	w.bytes(m.Status[:])
}

func (m *BMSInfo) fields(f map[string]any) {
	putSession(f, m.TradeNo, m.PileCode, m.Gun)
	f["cell_max_voltage_no"] = int(m.CellMaxNo) + 1
	f["battery_max_temp_c"] = m.MaxTemp.Celsius()
	f["max_temp_point"] = int(m.MaxTempProbe) + 1
	f["battery_min_temp_c"] = m.MinTemp.Celsius()
	f["min_temp_point"] = int(m.MinTempProbe) + 1
	f["status_bits"] = hexString(m.Status[:])
}
