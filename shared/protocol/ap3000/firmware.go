package ap3000

// Firmware upgrade packets (ap3000.md §5, §7.2, §8 "Device type", "Firmware
// answer"). New device types take 200-byte packets with 0xE0–0xE2, old 485
// types 256-byte packets with 0xF8. Packet sizes are not enforced on decode
// (the last packet may be short); the frame size cap applies.

// FirmwarePacket is one packet of a firmware image, 0xE0 (sub-unit), 0xE1
// (power board) or 0xE2 (host), down. Packets are numbered from 1; an
// optional last "check packet" carries the image sum (ap3000.md §8).
type FirmwarePacket struct {
	Cmd      Command // CmdFirmwareSubUnit, CmdFirmwarePowerBoard or CmdFirmwareHost
	Total    uint16  // packet count, including a check packet
	PacketNo uint16  // from 1
	Data     []byte  // 200 bytes, the rest of the frame
}

// Command returns m.Cmd.
func (m *FirmwarePacket) Command() Command { return m.Cmd }

// Direction returns Down.
func (*FirmwarePacket) Direction() Direction { return Down }

func decodeFirmwareChunk(b []byte) (total, packetNo uint16, data []byte, err error) {
	off := HeaderSize
	if total, off, err = readU16(b, off, "total_packets"); err != nil {
		return 0, 0, nil, err
	}
	if packetNo, off, err = readU16(b, off, "packet_no"); err != nil {
		return 0, 0, nil, err
	}
	return total, packetNo, rest(b, off), nil
}

func decodeFirmwarePacket(cmd Command, b []byte) (*FirmwarePacket, error) {
	total, no, data, err := decodeFirmwareChunk(b)
	if err != nil {
		return nil, err
	}
	return &FirmwarePacket{Cmd: cmd, Total: total, PacketNo: no, Data: data}, nil
}

func isFirmwareCmd(c Command) bool {
	return c == CmdFirmwareSubUnit || c == CmdFirmwarePowerBoard || c == CmdFirmwareHost
}

func (m *FirmwarePacket) appendData(dst []byte) ([]byte, error) {
	if !isFirmwareCmd(m.Cmd) {
		return dst, encodeError("command", "firmware packets use 0xE0, 0xE1 or 0xE2")
	}
	dst = appendU16(dst, m.Total)
	dst = appendU16(dst, m.PacketNo)
	return append(dst, m.Data...), nil
}

func (m *FirmwarePacket) fields(f map[string]any) { putChunk(f, m.Total, m.PacketNo, m.Data) }

func putChunk(f map[string]any, total, no uint16, data []byte) {
	f["total_packets"] = int(total)
	f["packet_no"] = int(no)
	f["firmware_len"] = len(data)
}

// FirmwareReply is the device's answer to a FirmwarePacket: answer and
// packet number (ap3000.md §7.2 "Device replies").
type FirmwareReply struct {
	Cmd      Command // as in the packet answered
	Answer   FirmwareResult
	PacketNo uint16
	Extra    []byte
}

// Command returns m.Cmd.
func (m *FirmwareReply) Command() Command { return m.Cmd }

// Direction returns Up.
func (*FirmwareReply) Direction() Direction { return Up }

func decodeFirmwareAnswer(b []byte) (FirmwareResult, uint16, []byte, error) {
	a, off, err := readU8(b, HeaderSize, "answer")
	if err != nil {
		return 0, 0, nil, err
	}
	no, off, err := readU16(b, off, "packet_no")
	if err != nil {
		return 0, 0, nil, err
	}
	return FirmwareResult(a), no, rest(b, off), nil
}

func decodeFirmwareReply(cmd Command, b []byte) (*FirmwareReply, error) {
	a, no, extra, err := decodeFirmwareAnswer(b)
	if err != nil {
		return nil, err
	}
	return &FirmwareReply{Cmd: cmd, Answer: a, PacketNo: no, Extra: extra}, nil
}

func (m *FirmwareReply) appendData(dst []byte) ([]byte, error) {
	if !isFirmwareCmd(m.Cmd) {
		return dst, encodeError("command", "firmware replies use 0xE0, 0xE1 or 0xE2")
	}
	dst = appendU16(append(dst, byte(m.Answer)), m.PacketNo)
	return append(dst, m.Extra...), nil
}

func (m *FirmwareReply) fields(f map[string]any) {
	f["answer"] = int(m.Answer)
	f["packet_no"] = int(m.PacketNo)
	putExtra(f, m.Extra)
}

// LegacyFirmwarePacket is one 256-byte packet of the legacy upgrade, 0xF8
// down. Its frame is 274 bytes, above the guide's "at most 256 bytes per
// packet" (ap3000.md §12.1, vector ap3000-f8-down-1); the frame wins.
type LegacyFirmwarePacket struct {
	Total    uint16
	PacketNo uint16
	Data     []byte // 256 bytes, the rest of the frame
}

// Command returns CmdLegacyFirmware.
func (*LegacyFirmwarePacket) Command() Command { return CmdLegacyFirmware }

// Direction returns Down.
func (*LegacyFirmwarePacket) Direction() Direction { return Down }

func decodeLegacyFirmwarePacket(b []byte) (*LegacyFirmwarePacket, error) {
	total, no, data, err := decodeFirmwareChunk(b)
	if err != nil {
		return nil, err
	}
	return &LegacyFirmwarePacket{Total: total, PacketNo: no, Data: data}, nil
}

func (m *LegacyFirmwarePacket) appendData(dst []byte) ([]byte, error) {
	dst = appendU16(dst, m.Total)
	dst = appendU16(dst, m.PacketNo)
	return append(dst, m.Data...), nil
}

func (m *LegacyFirmwarePacket) fields(f map[string]any) { putChunk(f, m.Total, m.PacketNo, m.Data) }

// LegacyFirmwareReply is the device's answer to a LegacyFirmwarePacket,
// 0xF8 up: answer and packet number.
type LegacyFirmwareReply struct {
	Answer   FirmwareResult
	PacketNo uint16
	Extra    []byte
}

// Command returns CmdLegacyFirmware.
func (*LegacyFirmwareReply) Command() Command { return CmdLegacyFirmware }

// Direction returns Up.
func (*LegacyFirmwareReply) Direction() Direction { return Up }

func decodeLegacyFirmwareReply(b []byte) (*LegacyFirmwareReply, error) {
	a, no, extra, err := decodeFirmwareAnswer(b)
	if err != nil {
		return nil, err
	}
	return &LegacyFirmwareReply{Answer: a, PacketNo: no, Extra: extra}, nil
}

func (m *LegacyFirmwareReply) appendData(dst []byte) ([]byte, error) {
	dst = appendU16(append(dst, byte(m.Answer)), m.PacketNo)
	return append(dst, m.Extra...), nil
}

func (m *LegacyFirmwareReply) fields(f map[string]any) {
	f["answer"] = int(m.Answer)
	f["packet_no"] = int(m.PacketNo)
	putExtra(f, m.Extra)
}
