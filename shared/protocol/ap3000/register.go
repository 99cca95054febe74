package ap3000

import "time"

// Register is the device's registration, 0x20 up, sent on power-up and
// repeated every heartbeat period until RegisterReply arrives (ap3000.md §5,
// §7.1, §9).
type Register struct {
	Firmware   uint16 // 100 = V1.00 (§7.1)
	PortCount  uint8
	VirtualID  uint8 // local address for 485/LoRa units, else 0
	DeviceType uint8 // §8 "Device type"; selects the upgrade command
	WorkMode   uint8 // bit field, §8 "Work mode bits"
	// Optional (§7.1, after the |).
	PowerBoardFirmware *uint16
	// Extra keeps bytes after the table's fields. The guide's own example
	// carries 10 data bytes where the table defines 8 (trailing E4 00,
	// unexplained; ap3000.md §12.2, vector ap3000-20-up-1): the frame wins, so
	// they are kept, not rejected.
	Extra []byte
}

// Command returns CmdRegister.
func (*Register) Command() Command { return CmdRegister }

// Direction returns Up.
func (*Register) Direction() Direction { return Up }

func decodeRegister(b []byte) (*Register, error) {
	m := &Register{}
	off := HeaderSize
	var err error
	if m.Firmware, off, err = readU16(b, off, "firmware_version"); err != nil {
		return nil, err
	}
	if m.PortCount, off, err = readU8(b, off, "port_count"); err != nil {
		return nil, err
	}
	if m.VirtualID, off, err = readU8(b, off, "virtual_id"); err != nil {
		return nil, err
	}
	if m.DeviceType, off, err = readU8(b, off, "device_type"); err != nil {
		return nil, err
	}
	if m.WorkMode, off, err = readU8(b, off, "work_mode"); err != nil {
		return nil, err
	}
	m.PowerBoardFirmware, off, _ = optU16(b, off, true)
	m.Extra = rest(b, off)
	return m, nil
}

func (m *Register) appendData(dst []byte) ([]byte, error) {
	if err := checkTail("power_board_version", m.Extra, opt(m.PowerBoardFirmware != nil, 2)); err != nil {
		return dst, err
	}
	dst = appendU16(dst, m.Firmware)
	dst = append(dst, m.PortCount, m.VirtualID, m.DeviceType, m.WorkMode)
	if m.PowerBoardFirmware != nil {
		dst = appendU16(dst, *m.PowerBoardFirmware)
	}
	return append(dst, m.Extra...), nil
}

func (m *Register) fields(f map[string]any) {
	f["firmware_version"] = int(m.Firmware)
	f["port_count"] = int(m.PortCount)
	f["virtual_id"] = int(m.VirtualID)
	f["device_type"] = int(m.DeviceType)
	f["work_mode"] = int(m.WorkMode)
	if m.PowerBoardFirmware != nil {
		f["power_board_version"] = int(*m.PowerBoardFirmware)
	}
	putExtra(f, m.Extra)
}

// TimeReply is the server's answer to TimeRequest, 0x22 down: the current
// time as Unix seconds (ap3000.md §7.2). The device repeats TimeRequest
// every 3 min until it gets one.
type TimeReply struct {
	Time  time.Time
	Extra []byte
}

// Command returns CmdTimeRequest.
func (*TimeReply) Command() Command { return CmdTimeRequest }

// Direction returns Down.
func (*TimeReply) Direction() Direction { return Down }

func decodeTimeReply(b []byte) (*TimeReply, error) {
	t, off, err := readTime(b, HeaderSize, "timestamp")
	if err != nil {
		return nil, err
	}
	return &TimeReply{Time: t, Extra: rest(b, off)}, nil
}

func (m *TimeReply) appendData(dst []byte) ([]byte, error) {
	dst, err := appendTime(dst, m.Time, "timestamp")
	if err != nil {
		return dst, err
	}
	return append(dst, m.Extra...), nil
}

func (m *TimeReply) fields(f map[string]any) {
	putTime(f, "timestamp", m.Time)
	putExtra(f, m.Extra)
}

// UpgradeRequest is the device asking to be upgraded, 0x05 up; the guide
// names no reply (ap3000.md §5, §7.1, §13).
type UpgradeRequest struct {
	DeviceType  uint8
	Firmware    uint16
	PackageType [4]byte // kept in wire order; the guide gives no byte order
	Extra       []byte
}

// Command returns CmdUpgradeRequest.
func (*UpgradeRequest) Command() Command { return CmdUpgradeRequest }

// Direction returns Up.
func (*UpgradeRequest) Direction() Direction { return Up }

func decodeUpgradeRequest(b []byte) (*UpgradeRequest, error) {
	m := &UpgradeRequest{}
	off := HeaderSize
	var err error
	if m.DeviceType, off, err = readU8(b, off, "device_type"); err != nil {
		return nil, err
	}
	if m.Firmware, off, err = readU16(b, off, "firmware_version"); err != nil {
		return nil, err
	}
	if off, err = readInto(b, off, m.PackageType[:], "package_type"); err != nil {
		return nil, err
	}
	m.Extra = rest(b, off)
	return m, nil
}

func (m *UpgradeRequest) appendData(dst []byte) ([]byte, error) {
	dst = append(dst, m.DeviceType)
	dst = appendU16(dst, m.Firmware)
	dst = append(dst, m.PackageType[:]...)
	return append(dst, m.Extra...), nil
}

func (m *UpgradeRequest) fields(f map[string]any) {
	f["device_type"] = int(m.DeviceType)
	f["firmware_version"] = int(m.Firmware)
	f["package_type"] = hexString(m.PackageType[:])
	putExtra(f, m.Extra)
}
