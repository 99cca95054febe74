package ykc

// Starting and stopping sessions (ykc.md §6 0x31–0x36, §8). A session's
// transaction number T comes from the platform's 0x32 or 0x34 and is carried
// by every 0x13 and the final 0x3B.

// StartRequest is the pile asking to start a session after a card swipe or a
// VIN read, 0x31 up; the platform answers with StartAuthorization
// (ykc.md §6 0x31).
type StartRequest struct {
	PileCode     string
	Gun          string
	StartMode    uint8 // 1 card, 2 account (unsupported), 3 VIN
	NeedPassword uint8 // 0 no, 1 yes
	// Card is the physical card number (8 BIN, hex digits) or account.
	Card string
	// Password is the "16-digit MD5" of the user's password, kept as sent;
	// most likely the middle 16 hex characters of the lower-case MD5 as
	// ASCII, which the spec leaves open (ykc.md §6 0x31, §10).
	Password [16]byte
	// VIN is the vehicle id in reading order. On the wire it is sent
	// byte-reversed and is zeros unless StartMode is 3 (ykc.md §6 0x31);
	// Append reverses it again.
	VIN string
}

// FrameType returns TypeStartRequest.
func (*StartRequest) FrameType() Type { return TypeStartRequest }

// decodeBody reads §6 0x31: P, G, start mode, password needed, card 8,
// password 16, VIN 17 reversed (51 bytes).
func (m *StartRequest) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.PileCode, m.Gun, off, err = readPileGun(b, off); err != nil {
		return off, err
	}
	if m.StartMode, off, err = readU8(b, off, "start_mode"); err != nil {
		return off, err
	}
	if m.NeedPassword, off, err = readU8(b, off, "need_password"); err != nil {
		return off, err
	}
	if m.Card, off, err = readBCD(b, off, cardSize, "card_no"); err != nil {
		return off, err
	}
	if off, err = readInto(b, off, m.Password[:], "password_md5"); err != nil {
		return off, err
	}
	m.VIN, off, err = readReversedASCII(b, off, vinSize, "vin")
	return off, err
}

func (m *StartRequest) appendBody(w *writer) {
	w.pileGun(m.PileCode, m.Gun)
	w.u8(m.StartMode)
	w.u8(m.NeedPassword)
	w.bcd(m.Card, cardSize, "card_no")
	w.bytes(m.Password[:])
	w.reversedASCII(m.VIN, vinSize, "vin")
}

func (m *StartRequest) fields(f map[string]any) {
	putPileGun(f, m.PileCode, m.Gun)
	f["start_mode"] = int(m.StartMode)
	f["need_password"] = int(m.NeedPassword)
	f["card_no"] = m.Card
	f["password_md5"] = hexString(m.Password[:])
	f["vin"] = m.VIN
	raw := writer{}
	raw.reversedASCII(m.VIN, vinSize, "vin")
	if raw.err == nil {
		f["vin_raw"] = hexString(raw.b)
	}
}

// StartAuthorization answers StartRequest, 0x32 down, with a new
// transaction number (ykc.md §6 0x32). The spec's example uses a transaction
// number that breaks its own YYMMDDhhmmss rule (vector ykc-32-down-1,
// §11.9); transaction numbers are opaque here.
type StartAuthorization struct {
	TradeNo     string
	PileCode    string
	Gun         string
	LogicalCard string // 8 BCD, the printed card number
	Balance     Fen
	Authorized  uint8 // 0 fail, 1 ok
	FailReason  AuthFailure
}

// FrameType returns TypeStartAuthorization.
func (*StartAuthorization) FrameType() Type { return TypeStartAuthorization }

// decodeBody reads §6 0x32: T, P, G, logical card 8, balance 4, success,
// failure reason (38 bytes).
func (m *StartAuthorization) decodeBody(b []byte, off int) (int, error) {
	var err error
	var v uint32
	var u uint8
	if m.TradeNo, m.PileCode, m.Gun, off, err = readSession(b, off); err != nil {
		return off, err
	}
	if m.LogicalCard, off, err = readBCD(b, off, cardSize, "logical_card"); err != nil {
		return off, err
	}
	if v, off, err = readU32(b, off, "balance"); err != nil {
		return off, err
	}
	m.Balance = Fen(v)
	if m.Authorized, off, err = readU8(b, off, "auth_ok"); err != nil {
		return off, err
	}
	u, off, err = readU8(b, off, "fail_reason")
	m.FailReason = AuthFailure(u)
	return off, err
}

func (m *StartAuthorization) appendBody(w *writer) {
	w.session(m.TradeNo, m.PileCode, m.Gun)
	w.bcd(m.LogicalCard, cardSize, "logical_card")
	w.u32(uint32(m.Balance))
	w.u8(m.Authorized)
	w.u8(uint8(m.FailReason))
}

func (m *StartAuthorization) fields(f map[string]any) {
	putSession(f, m.TradeNo, m.PileCode, m.Gun)
	f["logical_card"] = m.LogicalCard
	f["balance_yuan"] = scaled(uint64(m.Balance), 2)
	f["auth_ok"] = int(m.Authorized)
	f["fail_reason"] = int(m.FailReason)
}

// RemoteStart starts a session from the platform (app), 0x34 down; the pile
// answers with RemoteStartResult within 90 s and must then report status
// charging in 0x13 (ykc.md §6 0x34, §8).
type RemoteStart struct {
	TradeNo      string
	PileCode     string
	Gun          string
	LogicalCard  string // 8 BCD
	PhysicalCard string // 8 BIN, hex digits
	// Balance is little-endian like every BIN field; ykc-proxy-server
	// writes it big-endian (§12).
	Balance Fen
}

// FrameType returns TypeRemoteStart.
func (*RemoteStart) FrameType() Type { return TypeRemoteStart }

// decodeBody reads §6 0x34: T, P, G, logical card, physical card, balance
// (44 bytes).
func (m *RemoteStart) decodeBody(b []byte, off int) (int, error) {
	var err error
	var v uint32
	if m.TradeNo, m.PileCode, m.Gun, off, err = readSession(b, off); err != nil {
		return off, err
	}
	if m.LogicalCard, off, err = readBCD(b, off, cardSize, "logical_card"); err != nil {
		return off, err
	}
	if m.PhysicalCard, off, err = readBCD(b, off, cardSize, "physical_card"); err != nil {
		return off, err
	}
	v, off, err = readU32(b, off, "balance")
	m.Balance = Fen(v)
	return off, err
}

func (m *RemoteStart) appendBody(w *writer) {
	w.session(m.TradeNo, m.PileCode, m.Gun)
	w.bcd(m.LogicalCard, cardSize, "logical_card")
	w.bcd(m.PhysicalCard, cardSize, "physical_card")
	w.u32(uint32(m.Balance))
}

func (m *RemoteStart) fields(f map[string]any) {
	putSession(f, m.TradeNo, m.PileCode, m.Gun)
	f["logical_card"] = m.LogicalCard
	f["physical_card"] = m.PhysicalCard
	f["balance_yuan"] = scaled(uint64(m.Balance), 2)
}

// RemoteStartResult answers RemoteStart, 0x33 up (ykc.md §6 0x33). A pile
// that reported StartGunNotConnected may send a success within 60 s if the
// gun is plugged after all (§7).
type RemoteStartResult struct {
	TradeNo    string
	PileCode   string
	Gun        string
	Result     uint8 // 0 fail, 1 ok
	FailReason StartFailure
}

// FrameType returns TypeRemoteStartResult.
func (*RemoteStartResult) FrameType() Type { return TypeRemoteStartResult }

// decodeBody reads §6 0x33: T, P, G, result, reason (26 bytes).
func (m *RemoteStartResult) decodeBody(b []byte, off int) (int, error) {
	var err error
	var u uint8
	if m.TradeNo, m.PileCode, m.Gun, off, err = readSession(b, off); err != nil {
		return off, err
	}
	if m.Result, off, err = readU8(b, off, "result"); err != nil {
		return off, err
	}
	u, off, err = readU8(b, off, "fail_reason")
	m.FailReason = StartFailure(u)
	return off, err
}

func (m *RemoteStartResult) appendBody(w *writer) {
	w.session(m.TradeNo, m.PileCode, m.Gun)
	w.u8(m.Result)
	w.u8(uint8(m.FailReason))
}

func (m *RemoteStartResult) fields(f map[string]any) {
	putSession(f, m.TradeNo, m.PileCode, m.Gun)
	f["result"] = int(m.Result)
	f["fail_reason"] = int(m.FailReason)
}

// RemoteStop stops a gun's session, 0x36 down; the platform closes the order
// when it sends it (ykc.md §6 0x36, §8).
type RemoteStop struct {
	PileCode string
	Gun      string
}

// FrameType returns TypeRemoteStop.
func (*RemoteStop) FrameType() Type { return TypeRemoteStop }

func (m *RemoteStop) decodeBody(b []byte, off int) (int, error) {
	var err error
	m.PileCode, m.Gun, off, err = readPileGun(b, off)
	return off, err
}

func (m *RemoteStop) appendBody(w *writer) { w.pileGun(m.PileCode, m.Gun) }

func (m *RemoteStop) fields(f map[string]any) { putPileGun(f, m.PileCode, m.Gun) }

// RemoteStopResult answers RemoteStop, 0x35 up (ykc.md §6 0x35).
type RemoteStopResult struct {
	PileCode   string
	Gun        string
	Result     uint8 // 0 fail, 1 ok
	FailReason StopFailure
}

// FrameType returns TypeRemoteStopResult.
func (*RemoteStopResult) FrameType() Type { return TypeRemoteStopResult }

// decodeBody reads §6 0x35: P, G, result, reason (10 bytes).
func (m *RemoteStopResult) decodeBody(b []byte, off int) (int, error) {
	var err error
	var u uint8
	if m.PileCode, m.Gun, off, err = readPileGun(b, off); err != nil {
		return off, err
	}
	if m.Result, off, err = readU8(b, off, "result"); err != nil {
		return off, err
	}
	u, off, err = readU8(b, off, "fail_reason")
	m.FailReason = StopFailure(u)
	return off, err
}

func (m *RemoteStopResult) appendBody(w *writer) {
	w.pileGun(m.PileCode, m.Gun)
	w.u8(m.Result)
	w.u8(uint8(m.FailReason))
}

func (m *RemoteStopResult) fields(f map[string]any) {
	putPileGun(f, m.PileCode, m.Gun)
	f["result"] = int(m.Result)
	f["fail_reason"] = int(m.FailReason)
}
