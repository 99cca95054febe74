package ykc

// Billing model exchange (ykc.md §6 0x05–0x0A, 0x57, 0x58, §8, §9): after
// login the pile sends its model number; if it differs from the platform's
// the pile requests the full model. The platform pushes a new model with
// 0x58 while the pile is idle.

// BillingModelCheck is the pile's current billing model number, 0x05 up
// (ykc.md §6 0x05).
type BillingModelCheck struct {
	PileCode  string
	ModelCode string // 2 BCD; "0000" on the first connection
}

// FrameType returns TypeBillingModelCheck.
func (*BillingModelCheck) FrameType() Type { return TypeBillingModelCheck }

func (m *BillingModelCheck) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.PileCode, off, err = readBCD(b, off, pileCodeSize, "pile_code"); err != nil {
		return off, err
	}
	m.ModelCode, off, err = readBCD(b, off, modelCodeSize, "model_code")
	return off, err
}

func (m *BillingModelCheck) appendBody(w *writer) {
	w.bcd(m.PileCode, pileCodeSize, "pile_code")
	w.bcd(m.ModelCode, modelCodeSize, "model_code")
}

func (m *BillingModelCheck) fields(f map[string]any) {
	f["pile_code"] = m.PileCode
	f["model_code"] = m.ModelCode
}

// BillingModelCheckResult answers BillingModelCheck, 0x06 down
// (ykc.md §6 0x06).
type BillingModelCheckResult struct {
	PileCode  string
	ModelCode string
	Result    uint8 // 0 same as the platform's, 1 different (pile then sends 0x09)
}

// FrameType returns TypeBillingModelCheckResult.
func (*BillingModelCheckResult) FrameType() Type { return TypeBillingModelCheckResult }

func (m *BillingModelCheckResult) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.PileCode, off, err = readBCD(b, off, pileCodeSize, "pile_code"); err != nil {
		return off, err
	}
	if m.ModelCode, off, err = readBCD(b, off, modelCodeSize, "model_code"); err != nil {
		return off, err
	}
	m.Result, off, err = readU8(b, off, "result")
	return off, err
}

func (m *BillingModelCheckResult) appendBody(w *writer) {
	w.bcd(m.PileCode, pileCodeSize, "pile_code")
	w.bcd(m.ModelCode, modelCodeSize, "model_code")
	w.u8(m.Result)
}

func (m *BillingModelCheckResult) fields(f map[string]any) {
	f["pile_code"] = m.PileCode
	f["model_code"] = m.ModelCode
	f["result"] = int(m.Result)
}

// BillingModelRequest asks for the full billing model, 0x09 up
// (ykc.md §6 0x09).
type BillingModelRequest struct {
	PileCode string
}

// FrameType returns TypeBillingModelRequest.
func (*BillingModelRequest) FrameType() Type { return TypeBillingModelRequest }

func (m *BillingModelRequest) decodeBody(b []byte, off int) (int, error) {
	var err error
	m.PileCode, off, err = readBCD(b, off, pileCodeSize, "pile_code")
	return off, err
}

func (m *BillingModelRequest) appendBody(w *writer) { w.bcd(m.PileCode, pileCodeSize, "pile_code") }

func (m *BillingModelRequest) fields(f map[string]any) { f["pile_code"] = m.PileCode }

// Tariff is the price pair of one period (ykc.md §6 0x0A, §9): electricity
// and service, each in 0.00001 CNY/kWh.
type Tariff struct {
	Electricity Price
	Service     Price
}

// SlotCount is the number of half-hour slots in a day (ykc.md §6 0x0A).
const SlotCount = 48

// TariffModel is the body shared by 0x0A and 0x58 after the pile code
// (ykc.md §6 0x0A / 0x58).
type TariffModel struct {
	ModelCode string // 2 BCD
	// Tariffs is indexed by Period: the wire order is sharp electricity,
	// sharp service, peak …, flat …, valley electricity, valley service.
	Tariffs [4]Tariff
	// LossRatio is the loss ratio byte; the platform sends 0. It is a binary
	// 0, not the ASCII '0' that ykc-proxy-server writes (§12).
	LossRatio uint8
	// Slots gives the period of each half hour, from 00:00–00:30 to
	// 23:30–24:00.
	Slots [SlotCount]Period
}

func (t *TariffModel) decode(b []byte, off int) (int, error) {
	var err error
	if t.ModelCode, off, err = readBCD(b, off, modelCodeSize, "model_code"); err != nil {
		return off, err
	}
	for i := range t.Tariffs {
		var v uint32
		if v, off, err = readU32(b, off, "elec_price"); err != nil {
			return off, err
		}
		t.Tariffs[i].Electricity = Price(v)
		if v, off, err = readU32(b, off, "service_price"); err != nil {
			return off, err
		}
		t.Tariffs[i].Service = Price(v)
	}
	if t.LossRatio, off, err = readU8(b, off, "loss_ratio"); err != nil {
		return off, err
	}
	for i := range t.Slots {
		var v uint8
		if v, off, err = readU8(b, off, "slot_tariffs"); err != nil {
			return off, err
		}
		t.Slots[i] = Period(v)
	}
	return off, nil
}

func (t *TariffModel) append(w *writer) {
	w.bcd(t.ModelCode, modelCodeSize, "model_code")
	for _, p := range t.Tariffs {
		w.u32(uint32(p.Electricity))
		w.u32(uint32(p.Service))
	}
	w.u8(t.LossRatio)
	for _, s := range t.Slots {
		w.u8(uint8(s))
	}
}

func (t *TariffModel) fields(f map[string]any) {
	f["model_code"] = t.ModelCode
	for i, p := range t.Tariffs {
		name := Period(i).String()
		f[name+"_elec_price_yuan"] = scaled(uint64(p.Electricity), 5)
		f[name+"_service_price_yuan"] = scaled(uint64(p.Service), 5)
	}
	f["loss_ratio"] = int(t.LossRatio)
	slots := make([]any, len(t.Slots))
	for i, s := range t.Slots {
		slots[i] = int(s)
	}
	f["slot_tariffs"] = slots
}

// BillingModel is the full billing model, 0x0A down, answering
// BillingModelRequest with its sequence number (ykc.md §4, §6 0x0A).
type BillingModel struct {
	PileCode string
	Model    TariffModel
}

// FrameType returns TypeBillingModel.
func (*BillingModel) FrameType() Type { return TypeBillingModel }

func (m *BillingModel) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.PileCode, off, err = readBCD(b, off, pileCodeSize, "pile_code"); err != nil {
		return off, err
	}
	return m.Model.decode(b, off)
}

func (m *BillingModel) appendBody(w *writer) {
	w.bcd(m.PileCode, pileCodeSize, "pile_code")
	m.Model.append(w)
}

func (m *BillingModel) fields(f map[string]any) {
	f["pile_code"] = m.PileCode
	m.Model.fields(f)
}

// SetBillingModel pushes a new billing model, 0x58 down, only while the pile
// is idle (ykc.md §6 0x58, §8). Same layout as BillingModel; the spec's
// annotations of its example misread two prices (vector ykc-58-spec, §11.6).
type SetBillingModel struct {
	PileCode string
	Model    TariffModel
}

// FrameType returns TypeSetBillingModel.
func (*SetBillingModel) FrameType() Type { return TypeSetBillingModel }

func (m *SetBillingModel) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.PileCode, off, err = readBCD(b, off, pileCodeSize, "pile_code"); err != nil {
		return off, err
	}
	return m.Model.decode(b, off)
}

func (m *SetBillingModel) appendBody(w *writer) {
	w.bcd(m.PileCode, pileCodeSize, "pile_code")
	m.Model.append(w)
}

func (m *SetBillingModel) fields(f map[string]any) {
	f["pile_code"] = m.PileCode
	m.Model.fields(f)
}

// SetBillingModelResult answers SetBillingModel, 0x57 up (ykc.md §6 0x57).
type SetBillingModelResult struct {
	PileCode string
	Result   uint8 // 0 fail, 1 ok
}

// FrameType returns TypeSetBillingModelResult.
func (*SetBillingModelResult) FrameType() Type { return TypeSetBillingModelResult }

func (m *SetBillingModelResult) decodeBody(b []byte, off int) (int, error) {
	return decodePileResult(b, off, &m.PileCode, &m.Result, "result")
}

func (m *SetBillingModelResult) appendBody(w *writer) {
	w.bcd(m.PileCode, pileCodeSize, "pile_code")
	w.u8(m.Result)
}

func (m *SetBillingModelResult) fields(f map[string]any) {
	f["pile_code"] = m.PileCode
	f["result"] = int(m.Result)
}
