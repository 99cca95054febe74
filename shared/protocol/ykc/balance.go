package ykc

// BalanceUpdate tops up the balance of the account charging on a gun,
// 0x42 down; the pile answers with BalanceUpdateResult (ykc.md §6 0x42).
type BalanceUpdate struct {
	PileCode string
	Gun      string
	// PhysicalCard is the card to update, hex digits; all zeros means
	// whoever is charging on the gun.
	PhysicalCard string
	Balance      Fen // new balance
}

// FrameType returns TypeBalanceUpdate.
func (*BalanceUpdate) FrameType() Type { return TypeBalanceUpdate }

// decodeBody reads §6 0x42: P, G, physical card 8, balance 4 (20 bytes).
func (m *BalanceUpdate) decodeBody(b []byte, off int) (int, error) {
	var err error
	var v uint32
	if m.PileCode, m.Gun, off, err = readPileGun(b, off); err != nil {
		return off, err
	}
	if m.PhysicalCard, off, err = readBCD(b, off, cardSize, "physical_card"); err != nil {
		return off, err
	}
	v, off, err = readU32(b, off, "balance")
	m.Balance = Fen(v)
	return off, err
}

func (m *BalanceUpdate) appendBody(w *writer) {
	w.pileGun(m.PileCode, m.Gun)
	w.bcd(m.PhysicalCard, cardSize, "physical_card")
	w.u32(uint32(m.Balance))
}

func (m *BalanceUpdate) fields(f map[string]any) {
	putPileGun(f, m.PileCode, m.Gun)
	f["physical_card"] = m.PhysicalCard
	f["balance_yuan"] = scaled(uint64(m.Balance), 2)
}

// BalanceUpdateResult answers BalanceUpdate, 0x41 up (ykc.md §6 0x41). The
// spec's example has length byte 0x13 for a 20-byte frame (vector
// ykc-41-spec, §11.4).
type BalanceUpdateResult struct {
	PileCode     string
	PhysicalCard string
	Result       uint8 // 0 ok, 1 wrong pile, 2 wrong card
}

// FrameType returns TypeBalanceUpdateResult.
func (*BalanceUpdateResult) FrameType() Type { return TypeBalanceUpdateResult }

// decodeBody reads §6 0x41: P, physical card 8, result (16 bytes).
func (m *BalanceUpdateResult) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.PileCode, off, err = readBCD(b, off, pileCodeSize, "pile_code"); err != nil {
		return off, err
	}
	if m.PhysicalCard, off, err = readBCD(b, off, cardSize, "physical_card"); err != nil {
		return off, err
	}
	m.Result, off, err = readU8(b, off, "result")
	return off, err
}

func (m *BalanceUpdateResult) appendBody(w *writer) {
	w.bcd(m.PileCode, pileCodeSize, "pile_code")
	w.bcd(m.PhysicalCard, cardSize, "physical_card")
	w.u8(m.Result)
}

func (m *BalanceUpdateResult) fields(f map[string]any) {
	f["pile_code"] = m.PileCode
	f["physical_card"] = m.PhysicalCard
	f["result"] = int(m.Result)
}
