package ap3000

import "time"

// Settlement is the end-of-session record, 0x03 up (ap3000.md §5, §7.1).
// The device stores it and resends it every 30 min until SettlementReply
// arrives, so the server must de-duplicate by (physical id, order number)
// (ap3000.md §9).
type Settlement struct {
	Duration   uint16 // seconds (§6)
	MaxPower   uint16 // 0.1 W
	Energy     uint16 // 0.01 kWh
	Port       uint8  // 0-based (§4)
	StartMode  StartMode
	CardOrCode CardID // card UID, or the verification code for code starts
	StopReason StopReason
	OrderNo    OrderNo
	// Optional (§7.1, after the |); older firmware stops before them
	// (vector ap3000-03-up-1 has only the first).
	SecondMaxPower *uint16 // 0.1 W
	Timestamp      *time.Time
	Occupancy      *uint16 // minutes, cabinets
	Extra          []byte
}

// Command returns CmdSettlement.
func (*Settlement) Command() Command { return CmdSettlement }

// Direction returns Up.
func (*Settlement) Direction() Direction { return Up }

// decodeSettlementFixed reads the fields 0x03 and 0x43 share (§7.1: 0x43 is
// "as 0x03 without the optional tail").
func decodeSettlementFixed(b []byte) (*Settlement, int, error) {
	m := &Settlement{}
	off := HeaderSize
	var err error
	if m.Duration, off, err = readU16(b, off, "duration"); err != nil {
		return nil, off, err
	}
	if m.MaxPower, off, err = readU16(b, off, "max_power"); err != nil {
		return nil, off, err
	}
	if m.Energy, off, err = readU16(b, off, "energy"); err != nil {
		return nil, off, err
	}
	if m.Port, off, err = readU8(b, off, "port"); err != nil {
		return nil, off, err
	}
	var u uint8
	if u, off, err = readU8(b, off, "start_mode"); err != nil {
		return nil, off, err
	}
	m.StartMode = StartMode(u)
	if m.CardOrCode, off, err = readCardID(b, off, "card_or_code"); err != nil {
		return nil, off, err
	}
	if u, off, err = readU8(b, off, "stop_reason"); err != nil {
		return nil, off, err
	}
	m.StopReason = StopReason(u)
	if m.OrderNo, off, err = readOrderNo(b, off, "order_no"); err != nil {
		return nil, off, err
	}
	return m, off, nil
}

func decodeSettlement(b []byte) (*Settlement, error) {
	m, off, err := decodeSettlementFixed(b)
	if err != nil {
		return nil, err
	}
	ok := true
	m.SecondMaxPower, off, ok = optU16(b, off, ok)
	m.Timestamp, off, ok = optTime(b, off, ok)
	m.Occupancy, off, _ = optU16(b, off, ok)
	m.Extra = rest(b, off)
	return m, nil
}

func (m *Settlement) appendFixed(dst []byte) []byte {
	dst = appendU16(dst, m.Duration)
	dst = appendU16(dst, m.MaxPower)
	dst = appendU16(dst, m.Energy)
	dst = append(dst, m.Port, byte(m.StartMode))
	dst = append(dst, m.CardOrCode[:]...)
	dst = append(dst, byte(m.StopReason))
	return append(dst, m.OrderNo[:]...)
}

func (m *Settlement) appendData(dst []byte) ([]byte, error) {
	if err := checkTail("second_max_power", m.Extra,
		opt(m.SecondMaxPower != nil, 2), opt(m.Timestamp != nil, 4), opt(m.Occupancy != nil, 2)); err != nil {
		return dst, err
	}
	dst = m.appendFixed(dst)
	if m.SecondMaxPower != nil {
		dst = appendU16(dst, *m.SecondMaxPower)
	}
	if m.Timestamp != nil {
		var err error
		if dst, err = appendTime(dst, *m.Timestamp, "timestamp"); err != nil {
			return dst, err
		}
	}
	if m.Occupancy != nil {
		dst = appendU16(dst, *m.Occupancy)
	}
	return append(dst, m.Extra...), nil
}

func (m *Settlement) fieldsFixed(f map[string]any) {
	f["duration_s"] = int(m.Duration)
	f["max_power_w"] = deci(m.MaxPower)
	f["energy_kwh"] = centi(m.Energy)
	f["port"] = int(m.Port)
	f["start_mode"] = int(m.StartMode)
	f["card_or_code"] = m.CardOrCode.String()
	f["stop_reason"] = int(m.StopReason)
	f["order_no"] = m.OrderNo.String()
}

func (m *Settlement) fields(f map[string]any) {
	m.fieldsFixed(f)
	if m.SecondMaxPower != nil {
		f["second_max_power_w"] = deci(*m.SecondMaxPower)
	}
	if m.Timestamp != nil {
		putTime(f, "timestamp", *m.Timestamp)
	}
	if m.Occupancy != nil {
		f["occupy_min"] = int(*m.Occupancy)
	}
	putExtra(f, m.Extra)
}

// Unsettled reports a session that finished but is not settled, 0x43 up,
// cabinets only; it has the fields of Settlement without the optional tail
// and no reply (ap3000.md §5, §7.1).
type Unsettled struct {
	Duration   uint16 // seconds
	MaxPower   uint16 // 0.1 W
	Energy     uint16 // 0.01 kWh
	Port       uint8
	StartMode  StartMode
	CardOrCode CardID
	StopReason StopReason
	OrderNo    OrderNo
	Extra      []byte
}

// Command returns CmdUnsettled.
func (*Unsettled) Command() Command { return CmdUnsettled }

// Direction returns Up.
func (*Unsettled) Direction() Direction { return Up }

func decodeUnsettled(b []byte) (*Unsettled, error) {
	s, off, err := decodeSettlementFixed(b)
	if err != nil {
		return nil, err
	}
	return &Unsettled{
		Duration: s.Duration, MaxPower: s.MaxPower, Energy: s.Energy, Port: s.Port,
		StartMode: s.StartMode, CardOrCode: s.CardOrCode, StopReason: s.StopReason, OrderNo: s.OrderNo,
		Extra: rest(b, off),
	}, nil
}

func (m *Unsettled) settlement() *Settlement {
	return &Settlement{
		Duration: m.Duration, MaxPower: m.MaxPower, Energy: m.Energy, Port: m.Port,
		StartMode: m.StartMode, CardOrCode: m.CardOrCode, StopReason: m.StopReason, OrderNo: m.OrderNo,
	}
}

func (m *Unsettled) appendData(dst []byte) ([]byte, error) {
	return append(m.settlement().appendFixed(dst), m.Extra...), nil
}

func (m *Unsettled) fields(f map[string]any) {
	m.settlement().fieldsFixed(f)
	putExtra(f, m.Extra)
}

// OrderConfirm is the legacy order confirmation, 0x04 up, which pre-2019
// devices send instead of 0x06 (ap3000.md §5, §7.1).
type OrderConfirm struct {
	Port      uint8
	StartMode StartMode
	CardID    CardID
	Duration  uint16 // seconds so far
	OrderNo   OrderNo
	Extra     []byte
}

// Command returns CmdOrderConfirm.
func (*OrderConfirm) Command() Command { return CmdOrderConfirm }

// Direction returns Up.
func (*OrderConfirm) Direction() Direction { return Up }

func decodeOrderConfirm(b []byte) (*OrderConfirm, error) {
	m := &OrderConfirm{}
	off := HeaderSize
	var err error
	if m.Port, off, err = readU8(b, off, "port"); err != nil {
		return nil, err
	}
	var u uint8
	if u, off, err = readU8(b, off, "start_mode"); err != nil {
		return nil, err
	}
	m.StartMode = StartMode(u)
	if m.CardID, off, err = readCardID(b, off, "card_id"); err != nil {
		return nil, err
	}
	if m.Duration, off, err = readU16(b, off, "duration"); err != nil {
		return nil, err
	}
	if m.OrderNo, off, err = readOrderNo(b, off, "order_no"); err != nil {
		return nil, err
	}
	m.Extra = rest(b, off)
	return m, nil
}

func (m *OrderConfirm) appendData(dst []byte) ([]byte, error) {
	dst = append(dst, m.Port, byte(m.StartMode))
	dst = append(dst, m.CardID[:]...)
	dst = appendU16(dst, m.Duration)
	dst = append(dst, m.OrderNo[:]...)
	return append(dst, m.Extra...), nil
}

func (m *OrderConfirm) fields(f map[string]any) {
	f["port"] = int(m.Port)
	f["start_mode"] = int(m.StartMode)
	f["card_id"] = m.CardID.String()
	f["duration_s"] = int(m.Duration)
	f["order_no"] = m.OrderNo.String()
	putExtra(f, m.Extra)
}

// OrderConfirmReply is the server's answer to OrderConfirm, 0x04 down: the
// port and an answer byte (ap3000.md §7.2).
type OrderConfirmReply struct {
	Port   uint8
	Answer Answer
	Extra  []byte
}

// Command returns CmdOrderConfirm.
func (*OrderConfirmReply) Command() Command { return CmdOrderConfirm }

// Direction returns Down.
func (*OrderConfirmReply) Direction() Direction { return Down }

func decodeOrderConfirmReply(b []byte) (*OrderConfirmReply, error) {
	m := &OrderConfirmReply{}
	off := HeaderSize
	var err error
	if m.Port, off, err = readU8(b, off, "port"); err != nil {
		return nil, err
	}
	var u uint8
	if u, off, err = readU8(b, off, "answer"); err != nil {
		return nil, err
	}
	m.Answer = Answer(u)
	m.Extra = rest(b, off)
	return m, nil
}

func (m *OrderConfirmReply) appendData(dst []byte) ([]byte, error) {
	return append(append(dst, m.Port, byte(m.Answer)), m.Extra...), nil
}

func (m *OrderConfirmReply) fields(f map[string]any) {
	f["port"] = int(m.Port)
	f["answer"] = int(m.Answer)
	putExtra(f, m.Extra)
}
