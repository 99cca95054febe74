package ap3000

import "time"

// PowerHeartbeat is the charging power heartbeat, 0x06 up: one port's
// session status, sent every 5 min while it charges; it has no reply
// (ap3000.md §5, §7.1). On multi-port piles it is the most frequent message.
type PowerHeartbeat struct {
	Port uint8 // 0-based (§4)
	// Status: 1 charging, 2 waiting for a plug (cabinets), 3 full (charger
	// attached), 5 float charging; other values are errors to ignore (§7.1).
	Status    uint8
	Duration  uint16 // seconds
	Energy    uint16 // 0.01 kWh
	StartMode StartMode
	Power     uint16 // 0.1 W, now
	MaxPower  uint16 // 0.1 W, within the last interval
	// MinPower is the minimum within the last interval; the guide describes
	// it with the text of the maximum (ap3000.md §12.4).
	MinPower uint16
	AvgPower uint16 // 0.1 W, within the last interval
	OrderNo  OrderNo
	// Optional (§7.1, after the |); the guide's example stops before the
	// timestamp (vector ap3000-06-up-1).
	PeriodEnergy *uint16 // interval energy, debug; unit ÷4800, kept raw
	PeakPower    *uint16 // 0.1 W, session peak
	Voltage      *uint16 // 0.1 V
	Current      *uint16 // 0.001 A
	AmbientTemp  *Temperature
	PortTemp     *Temperature
	Timestamp    *time.Time
	Occupancy    *uint16 // minutes, cabinets
	Extra        []byte
}

// Command returns CmdPowerHeartbeat.
func (*PowerHeartbeat) Command() Command { return CmdPowerHeartbeat }

// Direction returns Up.
func (*PowerHeartbeat) Direction() Direction { return Up }

func decodePowerHeartbeat(b []byte) (*PowerHeartbeat, error) {
	m := &PowerHeartbeat{}
	off := HeaderSize
	var err error
	if m.Port, off, err = readU8(b, off, "port"); err != nil {
		return nil, err
	}
	if m.Status, off, err = readU8(b, off, "status"); err != nil {
		return nil, err
	}
	if m.Duration, off, err = readU16(b, off, "duration"); err != nil {
		return nil, err
	}
	if m.Energy, off, err = readU16(b, off, "energy"); err != nil {
		return nil, err
	}
	var u uint8
	if u, off, err = readU8(b, off, "start_mode"); err != nil {
		return nil, err
	}
	m.StartMode = StartMode(u)
	if m.Power, off, err = readU16(b, off, "power"); err != nil {
		return nil, err
	}
	if m.MaxPower, off, err = readU16(b, off, "max_power"); err != nil {
		return nil, err
	}
	if m.MinPower, off, err = readU16(b, off, "min_power"); err != nil {
		return nil, err
	}
	if m.AvgPower, off, err = readU16(b, off, "avg_power"); err != nil {
		return nil, err
	}
	if m.OrderNo, off, err = readOrderNo(b, off, "order_no"); err != nil {
		return nil, err
	}
	ok := true
	m.PeriodEnergy, off, ok = optU16(b, off, ok)
	m.PeakPower, off, ok = optU16(b, off, ok)
	m.Voltage, off, ok = optU16(b, off, ok)
	m.Current, off, ok = optU16(b, off, ok)
	m.AmbientTemp, off, ok = optTemp(b, off, ok)
	m.PortTemp, off, ok = optTemp(b, off, ok)
	m.Timestamp, off, ok = optTime(b, off, ok)
	m.Occupancy, off, _ = optU16(b, off, ok)
	m.Extra = rest(b, off)
	return m, nil
}

func (m *PowerHeartbeat) appendData(dst []byte) ([]byte, error) {
	if err := checkTail("period_energy", m.Extra,
		opt(m.PeriodEnergy != nil, 2), opt(m.PeakPower != nil, 2), opt(m.Voltage != nil, 2),
		opt(m.Current != nil, 2), opt(m.AmbientTemp != nil, 1), opt(m.PortTemp != nil, 1),
		opt(m.Timestamp != nil, 4), opt(m.Occupancy != nil, 2)); err != nil {
		return dst, err
	}
	dst = append(dst, m.Port, m.Status)
	dst = appendU16(dst, m.Duration)
	dst = appendU16(dst, m.Energy)
	dst = append(dst, byte(m.StartMode))
	dst = appendU16(dst, m.Power)
	dst = appendU16(dst, m.MaxPower)
	dst = appendU16(dst, m.MinPower)
	dst = appendU16(dst, m.AvgPower)
	dst = append(dst, m.OrderNo[:]...)
	for _, p := range []*uint16{m.PeriodEnergy, m.PeakPower, m.Voltage, m.Current} {
		if p != nil {
			dst = appendU16(dst, *p)
		}
	}
	for _, t := range []*Temperature{m.AmbientTemp, m.PortTemp} {
		if t != nil {
			dst = append(dst, byte(*t))
		}
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

func (m *PowerHeartbeat) fields(f map[string]any) {
	f["port"] = int(m.Port)
	f["status"] = int(m.Status)
	f["duration_s"] = int(m.Duration)
	f["energy_kwh"] = centi(m.Energy)
	f["start_mode"] = int(m.StartMode)
	f["power_w"] = deci(m.Power)
	f["max_power_w"] = deci(m.MaxPower)
	f["min_power_w"] = deci(m.MinPower)
	f["avg_power_w"] = deci(m.AvgPower)
	f["order_no"] = m.OrderNo.String()
	if m.PeriodEnergy != nil {
		f["period_energy_raw"] = int(*m.PeriodEnergy)
	}
	if m.PeakPower != nil {
		f["peak_power_w"] = deci(*m.PeakPower)
	}
	if m.Voltage != nil {
		f["voltage_v"] = deci(*m.Voltage)
	}
	if m.Current != nil {
		f["current_a"] = milli(*m.Current)
	}
	if m.AmbientTemp != nil {
		putTemp(f, "ambient_temp", *m.AmbientTemp)
	}
	if m.PortTemp != nil {
		putTemp(f, "port_temp", *m.PortTemp)
	}
	if m.Timestamp != nil {
		putTime(f, "timestamp", *m.Timestamp)
	}
	if m.Occupancy != nil {
		f["occupy_min"] = int(*m.Occupancy)
	}
	putExtra(f, m.Extra)
}
