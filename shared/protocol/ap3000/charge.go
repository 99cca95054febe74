package ap3000

// Charge starts or stops charging on a port, 0x82 down (ap3000.md §5, §7.2,
// §7.3). To stop, send ActionStop with the running session's order number;
// a wrong one is ignored by the device.
type Charge struct {
	RateMode        RateMode
	BalanceOrExpiry BalanceOrExpiry // voice prompt only (§7.3)
	Port            uint8           // 0-based (§4); 0xFF = device picks
	Action          ChargeAction    // 1 start, 0 stop
	// DurationOrEnergy is seconds in timed mode, 0.01 kWh in metered mode;
	// 0 = until full (§7.3).
	DurationOrEnergy uint16
	OrderNo          OrderNo
	// Optional (§7.2, after the |). Older firmware stops after OverloadPower
	// (vector ap3000-82-down-1).
	MaxDuration    *uint16 // seconds, 0 = device default
	OverloadPower  *uint16 // 0.1 W, 0 = device default
	QRLight        *uint8  // 0 on, 1 off
	LongCharge     *uint8
	ExtraFloatTime *uint16 // seconds; 0xFFFF = no float
	// ShortCircuitCheck: the guide describes both 0 and 1 as "do not check"
	// and 2 as "check" (ap3000.md §12.5); kept raw.
	ShortCircuitCheck *uint8
	NoUnplugCheck     *uint8
	AutoStopFull      *uint8 // force auto-stop when full
	FullPower         *uint8 // unit 1 W (not 0.1 W); 0 or 0xFF = off
	FullPowerMaxTime  *uint8 // minutes
	Extra             []byte
}

// Command returns CmdCharge.
func (*Charge) Command() Command { return CmdCharge }

// Direction returns Down.
func (*Charge) Direction() Direction { return Down }

func decodeCharge(b []byte) (*Charge, error) {
	m := &Charge{}
	off := HeaderSize
	var err error
	var u uint8
	if u, off, err = readU8(b, off, "rate_mode"); err != nil {
		return nil, err
	}
	m.RateMode = RateMode(u)
	var v uint32
	if v, off, err = readU32(b, off, "balance_or_expiry"); err != nil {
		return nil, err
	}
	m.BalanceOrExpiry = BalanceOrExpiry(v)
	if m.Port, off, err = readU8(b, off, "port"); err != nil {
		return nil, err
	}
	if u, off, err = readU8(b, off, "charge_command"); err != nil {
		return nil, err
	}
	m.Action = ChargeAction(u)
	if m.DurationOrEnergy, off, err = readU16(b, off, "duration_or_energy"); err != nil {
		return nil, err
	}
	if m.OrderNo, off, err = readOrderNo(b, off, "order_no"); err != nil {
		return nil, err
	}
	ok := true
	m.MaxDuration, off, ok = optU16(b, off, ok)
	m.OverloadPower, off, ok = optU16(b, off, ok)
	m.QRLight, off, ok = optU8(b, off, ok)
	m.LongCharge, off, ok = optU8(b, off, ok)
	m.ExtraFloatTime, off, ok = optU16(b, off, ok)
	m.ShortCircuitCheck, off, ok = optU8(b, off, ok)
	m.NoUnplugCheck, off, ok = optU8(b, off, ok)
	m.AutoStopFull, off, ok = optU8(b, off, ok)
	m.FullPower, off, ok = optU8(b, off, ok)
	m.FullPowerMaxTime, off, _ = optU8(b, off, ok)
	m.Extra = rest(b, off)
	return m, nil
}

func (m *Charge) appendData(dst []byte) ([]byte, error) {
	if err := checkTail("max_duration", m.Extra,
		opt(m.MaxDuration != nil, 2), opt(m.OverloadPower != nil, 2), opt(m.QRLight != nil, 1),
		opt(m.LongCharge != nil, 1), opt(m.ExtraFloatTime != nil, 2), opt(m.ShortCircuitCheck != nil, 1),
		opt(m.NoUnplugCheck != nil, 1), opt(m.AutoStopFull != nil, 1), opt(m.FullPower != nil, 1),
		opt(m.FullPowerMaxTime != nil, 1)); err != nil {
		return dst, err
	}
	dst = append(dst, byte(m.RateMode))
	dst = appendU32(dst, uint32(m.BalanceOrExpiry))
	dst = append(dst, m.Port, byte(m.Action))
	dst = appendU16(dst, m.DurationOrEnergy)
	dst = append(dst, m.OrderNo[:]...)
	dst = appendOptU16(dst, m.MaxDuration)
	dst = appendOptU16(dst, m.OverloadPower)
	dst = appendOptU8(dst, m.QRLight)
	dst = appendOptU8(dst, m.LongCharge)
	dst = appendOptU16(dst, m.ExtraFloatTime)
	dst = appendOptU8(dst, m.ShortCircuitCheck)
	dst = appendOptU8(dst, m.NoUnplugCheck)
	dst = appendOptU8(dst, m.AutoStopFull)
	dst = appendOptU8(dst, m.FullPower)
	dst = appendOptU8(dst, m.FullPowerMaxTime)
	return append(dst, m.Extra...), nil
}

func (m *Charge) fields(f map[string]any) {
	f["rate_mode"] = int(m.RateMode)
	f["balance_or_expiry"] = int(m.BalanceOrExpiry)
	f["port"] = int(m.Port)
	f["charge_command"] = int(m.Action)
	f["duration_or_energy"] = int(m.DurationOrEnergy)
	f["order_no"] = m.OrderNo.String()
	if m.MaxDuration != nil {
		f["max_duration_s"] = int(*m.MaxDuration)
	}
	if m.OverloadPower != nil {
		f["overload_power_w"] = deci(*m.OverloadPower)
	}
	putOptU8(f, "qr_light", m.QRLight)
	putOptU8(f, "long_charge", m.LongCharge)
	if m.ExtraFloatTime != nil {
		f["extra_float_s"] = int(*m.ExtraFloatTime)
	}
	putOptU8(f, "short_circuit_check", m.ShortCircuitCheck)
	putOptU8(f, "no_unplug_check", m.NoUnplugCheck)
	putOptU8(f, "auto_stop_full", m.AutoStopFull)
	putOptU8(f, "full_power_w", m.FullPower)
	putOptU8(f, "full_power_max_min", m.FullPowerMaxTime)
	putExtra(f, m.Extra)
}

// ChargeReply is the device's answer to Charge, 0x82 up (ap3000.md §7.2
// "Device replies", §8 "0x82 answer").
type ChargeReply struct {
	Answer ChargeResult
	// Optional (§7.2, after the |); some devices send only the answer
	// (vector ap3000-82-up-3).
	OrderNo *OrderNo
	Port    *uint8 // the port actually used (matters for a 0xFF request)
	// WaitingPorts has bit i set for port i waiting for a start (answer 5).
	// The guide gives no byte order; like every other field it is read
	// little-endian (ap3000.md §13).
	WaitingPorts *uint16
	Extra        []byte
}

// Command returns CmdCharge.
func (*ChargeReply) Command() Command { return CmdCharge }

// Direction returns Up.
func (*ChargeReply) Direction() Direction { return Up }

func decodeChargeReply(b []byte) (*ChargeReply, error) {
	m := &ChargeReply{}
	u, off, err := readU8(b, HeaderSize, "answer")
	if err != nil {
		return nil, err
	}
	m.Answer = ChargeResult(u)
	ok := true
	m.OrderNo, off, ok = optOrderNo(b, off, ok)
	m.Port, off, ok = optU8(b, off, ok)
	m.WaitingPorts, off, _ = optU16(b, off, ok)
	m.Extra = rest(b, off)
	return m, nil
}

func (m *ChargeReply) appendData(dst []byte) ([]byte, error) {
	if err := checkTail("order_no", m.Extra,
		opt(m.OrderNo != nil, len(OrderNo{})), opt(m.Port != nil, 1), opt(m.WaitingPorts != nil, 2)); err != nil {
		return dst, err
	}
	dst = append(dst, byte(m.Answer))
	if m.OrderNo != nil {
		dst = append(dst, m.OrderNo[:]...)
	}
	dst = appendOptU8(dst, m.Port)
	dst = appendOptU16(dst, m.WaitingPorts)
	return append(dst, m.Extra...), nil
}

func (m *ChargeReply) fields(f map[string]any) {
	f["answer"] = int(m.Answer)
	if m.OrderNo != nil {
		f["order_no"] = m.OrderNo.String()
	}
	putOptU8(f, "port", m.Port)
	if m.WaitingPorts != nil {
		f["waiting_ports"] = int(*m.WaitingPorts)
	}
	putExtra(f, m.Extra)
}

// ChangeCharge changes the duration or energy of a running session, 0x8A
// down (ap3000.md §5, §7.2).
type ChangeCharge struct {
	// Mode: 0 timed, 1 timed + stop when full, 2 metered + stop when full.
	Mode  uint8
	Port  uint8
	Value uint16 // seconds or 0.01 kWh, as Mode says
	Extra []byte
}

// Command returns CmdChangeCharge.
func (*ChangeCharge) Command() Command { return CmdChangeCharge }

// Direction returns Down.
func (*ChangeCharge) Direction() Direction { return Down }

func decodeChangeCharge(b []byte) (*ChangeCharge, error) {
	m := &ChangeCharge{}
	off := HeaderSize
	var err error
	if m.Mode, off, err = readU8(b, off, "rate_mode"); err != nil {
		return nil, err
	}
	if m.Port, off, err = readU8(b, off, "port"); err != nil {
		return nil, err
	}
	if m.Value, off, err = readU16(b, off, "value"); err != nil {
		return nil, err
	}
	m.Extra = rest(b, off)
	return m, nil
}

func (m *ChangeCharge) appendData(dst []byte) ([]byte, error) {
	dst = append(dst, m.Mode, m.Port)
	dst = appendU16(dst, m.Value)
	return append(dst, m.Extra...), nil
}

func (m *ChangeCharge) fields(f map[string]any) {
	f["rate_mode"] = int(m.Mode)
	f["port"] = int(m.Port)
	f["value"] = int(m.Value)
	putExtra(f, m.Extra)
}
