package ap3000

import "encoding/binary"

// OldHeartbeat is the old heartbeat, 0x01 up (ap3000.md §5, §7.1): voltage
// and per-port status and power. The guide recommends 0x21; a device keeps
// sending whichever of the two the server answers (ap3000.md §9).
type OldHeartbeat struct {
	Firmware uint16 // firmware version, 100 = V1.00 (§7.1)
	Voltage  uint16 // 0.1 V (§6)
	// Ports holds one reading per port; the wire carries the port count, then
	// the statuses, then the powers, then the peak powers (§7.1).
	Ports      []PortReading
	VirtualID  uint8 // local 485/LoRa address, else 0 (§7.1 0x20)
	Signal     uint8
	DeviceType uint8 // §8 "Device type"
	// Optional (§7.1, after the |). The guide's example temperature 0x20
	// (-33 °C) is stale, not a different rule (ap3000.md §12.3, vector
	// ap3000-01-up-1): the raw byte is kept as is.
	Temperature *Temperature
	WorkMode    *uint8 // removed in v8.6 but still sent by older firmware
	Extra       []byte // trailing bytes this package does not know (§0)
}

// PortReading is one port's entry in OldHeartbeat.
type PortReading struct {
	Status    PortStatus
	Power     uint16 // 0.1 W (§6)
	PeakPower uint16 // 0.1 W
}

// Command returns CmdOldHeartbeat.
func (*OldHeartbeat) Command() Command { return CmdOldHeartbeat }

// Direction returns Up.
func (*OldHeartbeat) Direction() Direction { return Up }

func decodeOldHeartbeat(b []byte) (*OldHeartbeat, error) {
	m := &OldHeartbeat{}
	off := HeaderSize
	var err error
	if m.Firmware, off, err = readU16(b, off, "firmware_version"); err != nil {
		return nil, err
	}
	if m.Voltage, off, err = readU16(b, off, "voltage"); err != nil {
		return nil, err
	}
	var n uint8
	if n, off, err = readU8(b, off, "port_count"); err != nil {
		return nil, err
	}
	// §7.1: status × n (1 byte), power × n (2), peak power × n (2).
	if err = need(b, off, 5*int(n), "ports"); err != nil {
		return nil, err
	}
	m.Ports = make([]PortReading, n)
	for i := range m.Ports {
		m.Ports[i] = PortReading{
			Status:    PortStatus(b[off+i]),
			Power:     binary.LittleEndian.Uint16(b[off+int(n)+2*i:]),
			PeakPower: binary.LittleEndian.Uint16(b[off+3*int(n)+2*i:]),
		}
	}
	off += 5 * int(n)
	if m.VirtualID, off, err = readU8(b, off, "virtual_id"); err != nil {
		return nil, err
	}
	if m.Signal, off, err = readU8(b, off, "signal"); err != nil {
		return nil, err
	}
	if m.DeviceType, off, err = readU8(b, off, "device_type"); err != nil {
		return nil, err
	}
	ok := true
	m.Temperature, off, ok = optTemp(b, off, ok)
	m.WorkMode, off, _ = optU8(b, off, ok)
	m.Extra = rest(b, off)
	return m, nil
}

func (m *OldHeartbeat) appendData(dst []byte) ([]byte, error) {
	if len(m.Ports) > 0xFF {
		return dst, encodeError("port_count", "more than 255 ports")
	}
	if err := checkTail("temperature", m.Extra, opt(m.Temperature != nil, 1), opt(m.WorkMode != nil, 1)); err != nil {
		return dst, err
	}
	dst = appendU16(dst, m.Firmware)
	dst = appendU16(dst, m.Voltage)
	dst = append(dst, byte(len(m.Ports)))
	for _, p := range m.Ports {
		dst = append(dst, byte(p.Status))
	}
	for _, p := range m.Ports {
		dst = appendU16(dst, p.Power)
	}
	for _, p := range m.Ports {
		dst = appendU16(dst, p.PeakPower)
	}
	dst = append(dst, m.VirtualID, m.Signal, m.DeviceType)
	if m.Temperature != nil {
		dst = append(dst, byte(*m.Temperature))
	}
	if m.WorkMode != nil {
		dst = append(dst, *m.WorkMode)
	}
	return append(dst, m.Extra...), nil
}

func (m *OldHeartbeat) fields(f map[string]any) {
	f["firmware_version"] = int(m.Firmware)
	f["voltage_v"] = deci(m.Voltage)
	f["port_count"] = len(m.Ports)
	status := make([]any, len(m.Ports))
	power := make([]any, len(m.Ports))
	peak := make([]any, len(m.Ports))
	for i, p := range m.Ports {
		status[i] = int(p.Status)
		power[i] = deci(p.Power)
		peak[i] = deci(p.PeakPower)
	}
	f["port_status"] = status
	f["port_power_w"] = power
	f["port_peak_power_w"] = peak
	f["virtual_id"] = int(m.VirtualID)
	f["signal"] = int(m.Signal)
	f["device_type"] = int(m.DeviceType)
	if m.Temperature != nil {
		putTemp(f, "temperature", *m.Temperature)
	}
	if m.WorkMode != nil {
		f["work_mode"] = int(*m.WorkMode)
	}
	putExtra(f, m.Extra)
}

// Heartbeat is the new heartbeat, 0x21 up, sent every 3 min (ap3000.md §5,
// §7.1). It is the heartbeat the guide recommends answering.
type Heartbeat struct {
	Voltage uint16       // 0.1 V (§6)
	Ports   []PortStatus // one status per port, preceded on the wire by the count (§7.1, §8)
	Signal  uint8        // radio link to the host; 0 = wired (§7.1)
	// Temperature is raw; the guide's example value 0x05 (-60 °C) is stale
	// (ap3000.md §12.3, vector ap3000-21-up-1).
	Temperature Temperature
	Extra       []byte // trailing bytes this package does not know (§0)
}

// Command returns CmdHeartbeat.
func (*Heartbeat) Command() Command { return CmdHeartbeat }

// Direction returns Up.
func (*Heartbeat) Direction() Direction { return Up }

func decodeHeartbeat(b []byte) (*Heartbeat, error) {
	m := &Heartbeat{}
	off := HeaderSize
	var err error
	if m.Voltage, off, err = readU16(b, off, "voltage"); err != nil {
		return nil, err
	}
	var n uint8
	if n, off, err = readU8(b, off, "port_count"); err != nil {
		return nil, err
	}
	if err = need(b, off, int(n), "port_status"); err != nil {
		return nil, err
	}
	m.Ports = make([]PortStatus, n)
	for i := range m.Ports {
		m.Ports[i] = PortStatus(b[off+i])
	}
	off += int(n)
	if m.Signal, off, err = readU8(b, off, "signal"); err != nil {
		return nil, err
	}
	var t uint8
	if t, off, err = readU8(b, off, "temperature"); err != nil {
		return nil, err
	}
	m.Temperature = Temperature(t)
	m.Extra = rest(b, off)
	return m, nil
}

func (m *Heartbeat) appendData(dst []byte) ([]byte, error) {
	if len(m.Ports) > 0xFF {
		return dst, encodeError("port_count", "more than 255 ports")
	}
	dst = appendU16(dst, m.Voltage)
	dst = append(dst, byte(len(m.Ports)))
	for _, s := range m.Ports {
		dst = append(dst, byte(s))
	}
	dst = append(dst, m.Signal, byte(m.Temperature))
	return append(dst, m.Extra...), nil
}

func (m *Heartbeat) fields(f map[string]any) {
	f["voltage_v"] = deci(m.Voltage)
	f["port_count"] = len(m.Ports)
	status := make([]any, len(m.Ports))
	for i, s := range m.Ports {
		status[i] = int(s)
	}
	f["port_status"] = status
	f["signal"] = int(m.Signal)
	putTemp(f, "temperature", m.Temperature)
	putExtra(f, m.Extra)
}

// CabinetHeartbeat is the charging cabinet's heartbeat, 0x41 up, with door
// and fan states; it has no reply (ap3000.md §5, §7.1).
type CabinetHeartbeat struct {
	PortCount uint8
	DoorBits  uint32 // bit per door, 1 = open
	FanBits   uint32 // bit per fan, 1 = on
	Extra     []byte
}

// Command returns CmdCabinetHeartbeat.
func (*CabinetHeartbeat) Command() Command { return CmdCabinetHeartbeat }

// Direction returns Up.
func (*CabinetHeartbeat) Direction() Direction { return Up }

func decodeCabinetHeartbeat(b []byte) (*CabinetHeartbeat, error) {
	m := &CabinetHeartbeat{}
	off := HeaderSize
	var err error
	if m.PortCount, off, err = readU8(b, off, "port_count"); err != nil {
		return nil, err
	}
	if m.DoorBits, off, err = readU32(b, off, "door_bits"); err != nil {
		return nil, err
	}
	if m.FanBits, off, err = readU32(b, off, "fan_bits"); err != nil {
		return nil, err
	}
	m.Extra = rest(b, off)
	return m, nil
}

func (m *CabinetHeartbeat) appendData(dst []byte) ([]byte, error) {
	dst = append(dst, m.PortCount)
	dst = appendU32(dst, m.DoorBits)
	dst = appendU32(dst, m.FanBits)
	return append(dst, m.Extra...), nil
}

func (m *CabinetHeartbeat) fields(f map[string]any) {
	f["port_count"] = int(m.PortCount)
	f["door_bits"] = int(m.DoorBits)
	f["fan_bits"] = int(m.FanBits)
	putExtra(f, m.Extra)
}
