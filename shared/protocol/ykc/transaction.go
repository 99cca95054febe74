package ykc

import "time"

// PeriodUsage is one tariff period's share of a session (ykc.md §6 0x3B,
// §9).
type PeriodUsage struct {
	// Price is the unit price, electricity + service, 0.00001 CNY/kWh.
	Price      Price
	Energy     Energy // 0.0001 kWh
	LossEnergy Energy // energy including loss, 0.0001 kWh
	// Amount is LossEnergy × Price, 0.0001 CNY.
	Amount Amount
}

// TransactionRecord is the pile's bill for a finished session, 0x3B up
// within 30 s of the end; the platform confirms with TransactionConfirm
// (ykc.md §6 0x3B, §8). The pile may send the same record several times:
// (pile code, TradeNo) is the idempotency key.
type TransactionRecord struct {
	TradeNo  string
	PileCode string
	Gun      string
	Start    time.Time // CP56Time2a wall clock, see cp56.go
	End      time.Time
	// Periods is indexed by Period: sharp, peak, flat, valley in wire order.
	Periods     [4]PeriodUsage
	MeterStart  Meter // 5 bytes, 0.0001 kWh
	MeterEnd    Meter
	TotalEnergy Energy
	// TotalLossEnergy is the total energy including loss.
	TotalLossEnergy Energy
	// TotalAmount is electricity + service, 0.0001 CNY.
	TotalAmount Amount
	VIN         string // 17 ASCII, in normal order here (unlike 0x31)
	// TradeFlag: the spec's example annotates 02 as "app start", its table
	// says card (vector ykc-3b-up-1, §11.8).
	TradeFlag    TradeFlag
	TradeTime    time.Time
	StopReason   StopReason
	PhysicalCard string // 8 BIN, hex digits
}

// FrameType returns TypeTransactionRecord.
func (*TransactionRecord) FrameType() Type { return TypeTransactionRecord }

// decodeBody reads §6 0x3B: T, P, G, start 7, end 7, four periods of
// price/energy/loss energy/amount, meter start 5, meter end 5, total energy,
// total loss energy, total amount, VIN 17, trade flag, trade time 7, stop
// reason, physical card 8 (158 bytes).
func (m *TransactionRecord) decodeBody(b []byte, off int) (int, error) {
	var err error
	var v uint32
	var u uint8
	if m.TradeNo, m.PileCode, m.Gun, off, err = readSession(b, off); err != nil {
		return off, err
	}
	if m.Start, off, err = readCP56(b, off, "start_time"); err != nil {
		return off, err
	}
	if m.End, off, err = readCP56(b, off, "end_time"); err != nil {
		return off, err
	}
	for i := range m.Periods {
		p := &m.Periods[i]
		if v, off, err = readU32(b, off, "period_price"); err != nil {
			return off, err
		}
		p.Price = Price(v)
		if v, off, err = readU32(b, off, "period_energy"); err != nil {
			return off, err
		}
		p.Energy = Energy(v)
		if v, off, err = readU32(b, off, "period_loss_energy"); err != nil {
			return off, err
		}
		p.LossEnergy = Energy(v)
		if v, off, err = readU32(b, off, "period_amount"); err != nil {
			return off, err
		}
		p.Amount = Amount(v)
	}
	var mv uint64
	if mv, off, err = readU40(b, off, "meter_start"); err != nil {
		return off, err
	}
	m.MeterStart = Meter(mv)
	if mv, off, err = readU40(b, off, "meter_end"); err != nil {
		return off, err
	}
	m.MeterEnd = Meter(mv)
	if v, off, err = readU32(b, off, "total_energy"); err != nil {
		return off, err
	}
	m.TotalEnergy = Energy(v)
	if v, off, err = readU32(b, off, "total_loss_energy"); err != nil {
		return off, err
	}
	m.TotalLossEnergy = Energy(v)
	if v, off, err = readU32(b, off, "total_amount"); err != nil {
		return off, err
	}
	m.TotalAmount = Amount(v)
	if m.VIN, off, err = readASCII(b, off, vinSize, "vin"); err != nil {
		return off, err
	}
	if u, off, err = readU8(b, off, "trade_flag"); err != nil {
		return off, err
	}
	m.TradeFlag = TradeFlag(u)
	if m.TradeTime, off, err = readCP56(b, off, "trade_time"); err != nil {
		return off, err
	}
	if u, off, err = readU8(b, off, "stop_reason"); err != nil {
		return off, err
	}
	m.StopReason = StopReason(u)
	m.PhysicalCard, off, err = readBCD(b, off, cardSize, "physical_card")
	return off, err
}

func (m *TransactionRecord) appendBody(w *writer) {
	w.session(m.TradeNo, m.PileCode, m.Gun)
	w.cp56(m.Start, "start_time")
	w.cp56(m.End, "end_time")
	for _, p := range m.Periods {
		w.u32(uint32(p.Price))
		w.u32(uint32(p.Energy))
		w.u32(uint32(p.LossEnergy))
		w.u32(uint32(p.Amount))
	}
	w.u40(uint64(m.MeterStart), "meter_start")
	w.u40(uint64(m.MeterEnd), "meter_end")
	w.u32(uint32(m.TotalEnergy))
	w.u32(uint32(m.TotalLossEnergy))
	w.u32(uint32(m.TotalAmount))
	w.ascii(m.VIN, vinSize, "vin")
	w.u8(uint8(m.TradeFlag))
	w.cp56(m.TradeTime, "trade_time")
	w.u8(uint8(m.StopReason))
	w.bcd(m.PhysicalCard, cardSize, "physical_card")
}

func (m *TransactionRecord) fields(f map[string]any) {
	putSession(f, m.TradeNo, m.PileCode, m.Gun)
	f["start_time"] = formatTime(m.Start)
	f["end_time"] = formatTime(m.End)
	for i, p := range m.Periods {
		name := Period(i).String()
		f[name+"_price_yuan"] = scaled(uint64(p.Price), 5)
		f[name+"_energy_kwh"] = scaled(uint64(p.Energy), 4)
		f[name+"_loss_energy_kwh"] = scaled(uint64(p.LossEnergy), 4)
		f[name+"_amount_yuan"] = scaled(uint64(p.Amount), 4)
	}
	f["meter_start_kwh"] = scaled(uint64(m.MeterStart), 4)
	f["meter_end_kwh"] = scaled(uint64(m.MeterEnd), 4)
	f["total_energy_kwh"] = scaled(uint64(m.TotalEnergy), 4)
	f["total_loss_energy_kwh"] = scaled(uint64(m.TotalLossEnergy), 4)
	f["total_amount_yuan"] = scaled(uint64(m.TotalAmount), 4)
	f["vin"] = m.VIN
	f["trade_flag"] = int(m.TradeFlag)
	f["trade_time"] = formatTime(m.TradeTime)
	f["stop_reason"] = hexByte(uint8(m.StopReason))
	f["stop_reason_text"] = m.StopReason.String()
	f["physical_card"] = m.PhysicalCard
}

// TransactionConfirm confirms a TransactionRecord, 0x40 down
// (ykc.md §6 0x40). Without it the pile resends the record (§8). The result
// is a binary byte, not the ASCII digit ykc-proxy-server writes (§12).
type TransactionConfirm struct {
	TradeNo string
	Result  uint8 // 0 accepted, 1 illegal bill
}

// FrameType returns TypeTransactionConfirm.
func (*TransactionConfirm) FrameType() Type { return TypeTransactionConfirm }

// decodeBody reads §6 0x40: T, result (17 bytes).
func (m *TransactionConfirm) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.TradeNo, off, err = readBCD(b, off, tradeNoSize, "trade_no"); err != nil {
		return off, err
	}
	m.Result, off, err = readU8(b, off, "result")
	return off, err
}

func (m *TransactionConfirm) appendBody(w *writer) {
	w.bcd(m.TradeNo, tradeNoSize, "trade_no")
	w.u8(m.Result)
}

func (m *TransactionConfirm) fields(f map[string]any) {
	f["trade_no"] = m.TradeNo
	f["result"] = int(m.Result)
}
