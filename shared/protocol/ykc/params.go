package ykc

// WorkParams sets a pile's working parameters, 0x52 down; the pile answers
// with WorkParamsResult (ykc.md §6 0x52).
type WorkParams struct {
	PileCode string
	Disabled uint8 // 0 work normally, 1 locked out
	// MaxPowerPercent is the output power limit, 30–100 %. The spec's own
	// example sends 0 (vector ykc-52-down-1, §11.10), so values are not
	// range-checked.
	MaxPowerPercent uint8
}

// FrameType returns TypeWorkParams.
func (*WorkParams) FrameType() Type { return TypeWorkParams }

// decodeBody reads §6 0x52: P, disabled, max output power (9 bytes).
func (m *WorkParams) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.PileCode, off, err = readBCD(b, off, pileCodeSize, "pile_code"); err != nil {
		return off, err
	}
	if m.Disabled, off, err = readU8(b, off, "work_disabled"); err != nil {
		return off, err
	}
	m.MaxPowerPercent, off, err = readU8(b, off, "max_power_pct")
	return off, err
}

func (m *WorkParams) appendBody(w *writer) {
	w.bcd(m.PileCode, pileCodeSize, "pile_code")
	w.u8(m.Disabled)
	w.u8(m.MaxPowerPercent)
}

func (m *WorkParams) fields(f map[string]any) {
	f["pile_code"] = m.PileCode
	f["work_disabled"] = int(m.Disabled)
	f["max_power_pct"] = int(m.MaxPowerPercent)
}

// WorkParamsResult answers WorkParams, 0x51 up (ykc.md §6 0x51).
type WorkParamsResult struct {
	PileCode string
	Result   uint8 // 0 fail, 1 ok
}

// FrameType returns TypeWorkParamsResult.
func (*WorkParamsResult) FrameType() Type { return TypeWorkParamsResult }

func (m *WorkParamsResult) decodeBody(b []byte, off int) (int, error) {
	return decodePileResult(b, off, &m.PileCode, &m.Result, "result")
}

func (m *WorkParamsResult) appendBody(w *writer) {
	w.bcd(m.PileCode, pileCodeSize, "pile_code")
	w.u8(m.Result)
}

func (m *WorkParamsResult) fields(f map[string]any) {
	f["pile_code"] = m.PileCode
	f["result"] = int(m.Result)
}
