package ykc

// Login is the pile's login, 0x01 up, sent after every reset or reconnect
// before anything else; the platform answers with LoginResult (ykc.md §1,
// §6 0x01, §8).
type Login struct {
	PileCode string
	PileType uint8 // 0 DC, 1 AC
	GunCount uint8
	// ProtocolVersion is the version × 10: 0x0F = v1.5 (ykc-proxy-server
	// integer-divides it, §12).
	ProtocolVersion uint8
	SoftwareVersion string // 8 ASCII
	NetworkType     uint8  // 0 SIM, 1 LAN, 2 WAN, 3 other
	SIM             string // 10 BCD, 20 digits, zeros if unknown
	// Operator is 0 China Mobile, 2 China Telecom, 3 China Unicom, 4 other
	// (the spec skips 1).
	Operator uint8
}

// FrameType returns TypeLogin.
func (*Login) FrameType() Type { return TypeLogin }

// decodeBody reads §6 0x01: P, pile type, gun count, protocol version,
// software version 8, network, SIM 10, operator (30 bytes; the seed test's
// 31-byte body is rejected, vector ykc-01-seedtest-bad).
func (m *Login) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.PileCode, off, err = readBCD(b, off, pileCodeSize, "pile_code"); err != nil {
		return off, err
	}
	if m.PileType, off, err = readU8(b, off, "pile_type"); err != nil {
		return off, err
	}
	if m.GunCount, off, err = readU8(b, off, "gun_count"); err != nil {
		return off, err
	}
	if m.ProtocolVersion, off, err = readU8(b, off, "protocol_version"); err != nil {
		return off, err
	}
	if m.SoftwareVersion, off, err = readASCII(b, off, 8, "software_version"); err != nil {
		return off, err
	}
	if m.NetworkType, off, err = readU8(b, off, "network_type"); err != nil {
		return off, err
	}
	if m.SIM, off, err = readBCD(b, off, simSize, "sim"); err != nil {
		return off, err
	}
	m.Operator, off, err = readU8(b, off, "operator")
	return off, err
}

func (m *Login) appendBody(w *writer) {
	w.bcd(m.PileCode, pileCodeSize, "pile_code")
	w.u8(m.PileType)
	w.u8(m.GunCount)
	w.u8(m.ProtocolVersion)
	w.ascii(m.SoftwareVersion, 8, "software_version")
	w.u8(m.NetworkType)
	w.bcd(m.SIM, simSize, "sim")
	w.u8(m.Operator)
}

func (m *Login) fields(f map[string]any) {
	f["pile_code"] = m.PileCode
	f["pile_type"] = int(m.PileType)
	f["gun_count"] = int(m.GunCount)
	f["protocol_version"] = int(m.ProtocolVersion)
	f["software_version"] = m.SoftwareVersion
	f["network_type"] = int(m.NetworkType)
	f["sim"] = m.SIM
	f["operator"] = int(m.Operator)
}

// LoginResult is the platform's answer to Login, 0x02 down (ykc.md §6 0x02).
// On a refusal the platform then closes the connection (§8).
type LoginResult struct {
	PileCode string
	Result   uint8 // 0 accepted, 1 refused
}

// FrameType returns TypeLoginResult.
func (*LoginResult) FrameType() Type { return TypeLoginResult }

func (m *LoginResult) decodeBody(b []byte, off int) (int, error) {
	return decodePileResult(b, off, &m.PileCode, &m.Result, "result")
}

func (m *LoginResult) appendBody(w *writer) {
	w.bcd(m.PileCode, pileCodeSize, "pile_code")
	w.u8(m.Result)
}

func (m *LoginResult) fields(f map[string]any) {
	f["pile_code"] = m.PileCode
	f["result"] = int(m.Result)
}

// decodePileResult reads the common "P, result 1" body (ykc.md §6 0x02,
// 0x51, 0x57, 0x91, 0x92, 0x93).
func decodePileResult(b []byte, off int, pile *string, result *uint8, field string) (int, error) {
	var err error
	if *pile, off, err = readBCD(b, off, pileCodeSize, "pile_code"); err != nil {
		return off, err
	}
	*result, off, err = readU8(b, off, field)
	return off, err
}
