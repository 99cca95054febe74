package ap3000

// Device parameters. Each set has a setter (server → device) and a query
// whose reply (device → server) uses the same layout (ap3000.md §5: 0x90–0x93
// "return the 0x83 / 0x84 / 0x85 / 0x86 content"). The power fields of
// 0x83/0x84 have no stated unit (the defaults 3, 10, 300, 800 make the
// global 0.1 W doubtful; ap3000.md §7.2, §13), so they stay raw.

// RunParams1 are the run parameters 1.1 of 0x83 / 0x90 (ap3000.md §7.2);
// device defaults in brackets.
type RunParams1 struct {
	UnplugPower       uint16 // unit unclear, raw [3]
	UnplugDetectTime  uint16 // seconds [10]
	FloatPercent      uint8  // [20]
	FloatDetectTime   uint16 // seconds [1800]
	FloatTime         uint16 // seconds [3600]
	HeartbeatInterval uint16 // seconds [180]
}

func readRunParams1(b []byte, off int) (RunParams1, int, error) {
	var p RunParams1
	var err error
	if p.UnplugPower, off, err = readU16(b, off, "unplug_power"); err != nil {
		return p, off, err
	}
	if p.UnplugDetectTime, off, err = readU16(b, off, "unplug_detect"); err != nil {
		return p, off, err
	}
	if p.FloatPercent, off, err = readU8(b, off, "float_pct"); err != nil {
		return p, off, err
	}
	if p.FloatDetectTime, off, err = readU16(b, off, "float_detect"); err != nil {
		return p, off, err
	}
	if p.FloatTime, off, err = readU16(b, off, "float_time"); err != nil {
		return p, off, err
	}
	if p.HeartbeatInterval, off, err = readU16(b, off, "heartbeat_interval"); err != nil {
		return p, off, err
	}
	return p, off, nil
}

func (p *RunParams1) append(dst []byte) []byte {
	dst = appendU16(dst, p.UnplugPower)
	dst = appendU16(dst, p.UnplugDetectTime)
	dst = append(dst, p.FloatPercent)
	dst = appendU16(dst, p.FloatDetectTime)
	dst = appendU16(dst, p.FloatTime)
	return appendU16(dst, p.HeartbeatInterval)
}

func (p *RunParams1) fields(f map[string]any) {
	f["unplug_power_raw"] = int(p.UnplugPower)
	f["unplug_detect_s"] = int(p.UnplugDetectTime)
	f["float_pct"] = int(p.FloatPercent)
	f["float_detect_s"] = int(p.FloatDetectTime)
	f["float_time_s"] = int(p.FloatTime)
	f["heartbeat_interval_s"] = int(p.HeartbeatInterval)
}

// RunParams2 are the run parameters 1.2 of 0x84 / 0x91 (ap3000.md §7.2);
// device defaults in brackets.
type RunParams2 struct {
	DynOverloadPower        uint16 // unit unclear, raw [800]
	DynOverloadDetectTime   uint16 // seconds [30]
	DynOverloadStartTime    uint16 // seconds [1800]
	UnplugInterferencePower uint8  // unit unclear, raw [10]
	UnplugInterferenceTime  uint16 // seconds [300]
	FloatSecondPoint        uint16 // seconds [10800]
	FloatSecondDetect       uint16 // seconds [300]
	MinPower                uint16 // unit unclear, raw [300]
	MinPowerPoint           uint16 // seconds [1800]
	SecondMaxPowerPoint     uint16 // seconds [300]
	AmbientAlarmTemp        uint8  // °C as given [80]
	PortAlarmTemp           uint8  // °C as given [80]
	UnplugDetectOff         uint8  // 0 = unplug detection on [0]
	QRLight                 uint8  // [1]
}

func readRunParams2(b []byte, off int) (RunParams2, int, error) {
	var p RunParams2
	var err error
	if p.DynOverloadPower, off, err = readU16(b, off, "dyn_overload_power"); err != nil {
		return p, off, err
	}
	if p.DynOverloadDetectTime, off, err = readU16(b, off, "dyn_overload_detect"); err != nil {
		return p, off, err
	}
	if p.DynOverloadStartTime, off, err = readU16(b, off, "dyn_overload_start"); err != nil {
		return p, off, err
	}
	if p.UnplugInterferencePower, off, err = readU8(b, off, "unplug_interference_power"); err != nil {
		return p, off, err
	}
	if p.UnplugInterferenceTime, off, err = readU16(b, off, "unplug_interference_time"); err != nil {
		return p, off, err
	}
	if p.FloatSecondPoint, off, err = readU16(b, off, "float_second_point"); err != nil {
		return p, off, err
	}
	if p.FloatSecondDetect, off, err = readU16(b, off, "float_second_detect"); err != nil {
		return p, off, err
	}
	if p.MinPower, off, err = readU16(b, off, "min_power"); err != nil {
		return p, off, err
	}
	if p.MinPowerPoint, off, err = readU16(b, off, "min_power_point"); err != nil {
		return p, off, err
	}
	if p.SecondMaxPowerPoint, off, err = readU16(b, off, "second_max_power_point"); err != nil {
		return p, off, err
	}
	if p.AmbientAlarmTemp, off, err = readU8(b, off, "ambient_alarm_temp"); err != nil {
		return p, off, err
	}
	if p.PortAlarmTemp, off, err = readU8(b, off, "port_alarm_temp"); err != nil {
		return p, off, err
	}
	if p.UnplugDetectOff, off, err = readU8(b, off, "unplug_detect_off"); err != nil {
		return p, off, err
	}
	if p.QRLight, off, err = readU8(b, off, "qr_light"); err != nil {
		return p, off, err
	}
	return p, off, nil
}

func (p *RunParams2) append(dst []byte) []byte {
	dst = appendU16(dst, p.DynOverloadPower)
	dst = appendU16(dst, p.DynOverloadDetectTime)
	dst = appendU16(dst, p.DynOverloadStartTime)
	dst = append(dst, p.UnplugInterferencePower)
	dst = appendU16(dst, p.UnplugInterferenceTime)
	dst = appendU16(dst, p.FloatSecondPoint)
	dst = appendU16(dst, p.FloatSecondDetect)
	dst = appendU16(dst, p.MinPower)
	dst = appendU16(dst, p.MinPowerPoint)
	dst = appendU16(dst, p.SecondMaxPowerPoint)
	return append(dst, p.AmbientAlarmTemp, p.PortAlarmTemp, p.UnplugDetectOff, p.QRLight)
}

func (p *RunParams2) fields(f map[string]any) {
	f["dyn_overload_power_raw"] = int(p.DynOverloadPower)
	f["dyn_overload_detect_s"] = int(p.DynOverloadDetectTime)
	f["dyn_overload_start_s"] = int(p.DynOverloadStartTime)
	f["unplug_interference_power_raw"] = int(p.UnplugInterferencePower)
	f["unplug_interference_s"] = int(p.UnplugInterferenceTime)
	f["float_second_point_s"] = int(p.FloatSecondPoint)
	f["float_second_detect_s"] = int(p.FloatSecondDetect)
	f["min_power_raw"] = int(p.MinPower)
	f["min_power_point_s"] = int(p.MinPowerPoint)
	f["second_max_power_point_s"] = int(p.SecondMaxPowerPoint)
	f["ambient_alarm_temp"] = int(p.AmbientAlarmTemp)
	f["port_alarm_temp"] = int(p.PortAlarmTemp)
	f["unplug_detect_off"] = int(p.UnplugDetectOff)
	f["qr_light"] = int(p.QRLight)
}

// Limits are the maximum time / power / voltage of 0x85 / 0x92 (ap3000.md
// §7.2).
type Limits struct {
	MaxChargeTime uint16 // seconds [36000]
	OverloadPower uint16 // 0.1 W
	// Optional (§7.2, after the |); older firmware has no voltage limits
	// (vectors ap3000-85-down-1, ap3000-92-up-2).
	OverVoltage  *uint16 // 0.1 V [2700]
	UnderVoltage *uint16 // 0.1 V [1000]
}

func readLimits(b []byte, off int) (Limits, int, error) {
	var p Limits
	var err error
	if p.MaxChargeTime, off, err = readU16(b, off, "max_charge_time"); err != nil {
		return p, off, err
	}
	if p.OverloadPower, off, err = readU16(b, off, "overload_power"); err != nil {
		return p, off, err
	}
	ok := true
	p.OverVoltage, off, ok = optU16(b, off, ok)
	p.UnderVoltage, off, _ = optU16(b, off, ok)
	return p, off, nil
}

func (p *Limits) append(dst, extra []byte) ([]byte, error) {
	if err := checkTail("over_voltage", extra, opt(p.OverVoltage != nil, 2), opt(p.UnderVoltage != nil, 2)); err != nil {
		return dst, err
	}
	dst = appendU16(dst, p.MaxChargeTime)
	dst = appendU16(dst, p.OverloadPower)
	dst = appendOptU16(dst, p.OverVoltage)
	dst = appendOptU16(dst, p.UnderVoltage)
	return append(dst, extra...), nil
}

func (p *Limits) fields(f map[string]any) {
	f["max_charge_s"] = int(p.MaxChargeTime)
	f["overload_power_w"] = deci(p.OverloadPower)
	if p.OverVoltage != nil {
		f["over_voltage_v"] = deci(*p.OverVoltage)
	}
	if p.UnderVoltage != nil {
		f["under_voltage_v"] = deci(*p.UnderVoltage)
	}
}

// CardKeys are the M1 card parameters of 0x86 / 0x93 (ap3000.md §7.2).
type CardKeys struct {
	Sector  uint8   // [0]
	UserKey [6]byte // key of user cards [15 91 85 19 18 80]
	NewKey  [6]byte // key of blank cards [FF FF FF FF FF FF]
}

func readCardKeys(b []byte, off int) (CardKeys, int, error) {
	var p CardKeys
	var err error
	if p.Sector, off, err = readU8(b, off, "card_sector"); err != nil {
		return p, off, err
	}
	if off, err = readInto(b, off, p.UserKey[:], "user_card_key"); err != nil {
		return p, off, err
	}
	if off, err = readInto(b, off, p.NewKey[:], "new_card_key"); err != nil {
		return p, off, err
	}
	return p, off, nil
}

func (p *CardKeys) append(dst []byte) []byte {
	dst = append(dst, p.Sector)
	dst = append(dst, p.UserKey[:]...)
	return append(dst, p.NewKey[:]...)
}

func (p *CardKeys) fields(f map[string]any) {
	f["card_sector"] = int(p.Sector)
	f["user_card_key"] = hexString(p.UserKey[:])
	f["new_card_key"] = hexString(p.NewKey[:])
}

// SetRunParams1 sets the run parameters 1.1 (unplug and float detection, heartbeat
// interval), 0x83 down; the device answers with SetRunParams1Reply (ap3000.md §5,
// §7.2).
type SetRunParams1 struct {
	Params RunParams1
	Extra  []byte
}

// Command returns CmdSetRunParams1.
func (*SetRunParams1) Command() Command { return CmdSetRunParams1 }

// Direction returns Down.
func (*SetRunParams1) Direction() Direction { return Down }

func decodeSetRunParams1(b []byte) (*SetRunParams1, error) {
	p, off, err := readRunParams1(b, HeaderSize)
	if err != nil {
		return nil, err
	}
	return &SetRunParams1{Params: p, Extra: rest(b, off)}, nil
}

func (m *SetRunParams1) appendData(dst []byte) ([]byte, error) {
	return append(m.Params.append(dst), m.Extra...), nil
}

func (m *SetRunParams1) fields(f map[string]any) {
	m.Params.fields(f)
	putExtra(f, m.Extra)
}

// RunParams1Report is the device's answer to QueryRunParams1, 0x90 up, in the layout
// of 0x83 (ap3000.md §5).
type RunParams1Report struct {
	Params RunParams1
	Extra  []byte
}

// Command returns CmdQueryRunParams1.
func (*RunParams1Report) Command() Command { return CmdQueryRunParams1 }

// Direction returns Up.
func (*RunParams1Report) Direction() Direction { return Up }

func decodeRunParams1Report(b []byte) (*RunParams1Report, error) {
	p, off, err := readRunParams1(b, HeaderSize)
	if err != nil {
		return nil, err
	}
	return &RunParams1Report{Params: p, Extra: rest(b, off)}, nil
}

func (m *RunParams1Report) appendData(dst []byte) ([]byte, error) {
	return append(m.Params.append(dst), m.Extra...), nil
}

func (m *RunParams1Report) fields(f map[string]any) {
	m.Params.fields(f)
	putExtra(f, m.Extra)
}

// SetRunParams2 sets the run parameters 1.2 (dynamic overload, alarms, QR light),
// 0x84 down; the device answers with SetRunParams2Reply (ap3000.md §5, §7.2).
type SetRunParams2 struct {
	Params RunParams2
	Extra  []byte
}

// Command returns CmdSetRunParams2.
func (*SetRunParams2) Command() Command { return CmdSetRunParams2 }

// Direction returns Down.
func (*SetRunParams2) Direction() Direction { return Down }

func decodeSetRunParams2(b []byte) (*SetRunParams2, error) {
	p, off, err := readRunParams2(b, HeaderSize)
	if err != nil {
		return nil, err
	}
	return &SetRunParams2{Params: p, Extra: rest(b, off)}, nil
}

func (m *SetRunParams2) appendData(dst []byte) ([]byte, error) {
	return append(m.Params.append(dst), m.Extra...), nil
}

func (m *SetRunParams2) fields(f map[string]any) {
	m.Params.fields(f)
	putExtra(f, m.Extra)
}

// RunParams2Report is the device's answer to QueryRunParams2, 0x91 up, in the layout
// of 0x84 (ap3000.md §5).
type RunParams2Report struct {
	Params RunParams2
	Extra  []byte
}

// Command returns CmdQueryRunParams2.
func (*RunParams2Report) Command() Command { return CmdQueryRunParams2 }

// Direction returns Up.
func (*RunParams2Report) Direction() Direction { return Up }

func decodeRunParams2Report(b []byte) (*RunParams2Report, error) {
	p, off, err := readRunParams2(b, HeaderSize)
	if err != nil {
		return nil, err
	}
	return &RunParams2Report{Params: p, Extra: rest(b, off)}, nil
}

func (m *RunParams2Report) appendData(dst []byte) ([]byte, error) {
	return append(m.Params.append(dst), m.Extra...), nil
}

func (m *RunParams2Report) fields(f map[string]any) {
	m.Params.fields(f)
	putExtra(f, m.Extra)
}

// SetLimits sets the maximum charge time, overload power and voltage limits, 0x85
// down; the device answers with SetLimitsReply (ap3000.md §5, §7.2).
type SetLimits struct {
	Params Limits
	Extra  []byte
}

// Command returns CmdSetLimits.
func (*SetLimits) Command() Command { return CmdSetLimits }

// Direction returns Down.
func (*SetLimits) Direction() Direction { return Down }

func decodeSetLimits(b []byte) (*SetLimits, error) {
	p, off, err := readLimits(b, HeaderSize)
	if err != nil {
		return nil, err
	}
	return &SetLimits{Params: p, Extra: rest(b, off)}, nil
}

func (m *SetLimits) appendData(dst []byte) ([]byte, error) { return m.Params.append(dst, m.Extra) }

func (m *SetLimits) fields(f map[string]any) {
	m.Params.fields(f)
	putExtra(f, m.Extra)
}

// LimitsReport is the device's answer to QueryLimits, 0x92 up, in the layout of 0x85
// (ap3000.md §5).
type LimitsReport struct {
	Params Limits
	Extra  []byte
}

// Command returns CmdQueryLimits.
func (*LimitsReport) Command() Command { return CmdQueryLimits }

// Direction returns Up.
func (*LimitsReport) Direction() Direction { return Up }

func decodeLimitsReport(b []byte) (*LimitsReport, error) {
	p, off, err := readLimits(b, HeaderSize)
	if err != nil {
		return nil, err
	}
	return &LimitsReport{Params: p, Extra: rest(b, off)}, nil
}

func (m *LimitsReport) appendData(dst []byte) ([]byte, error) { return m.Params.append(dst, m.Extra) }

func (m *LimitsReport) fields(f map[string]any) {
	m.Params.fields(f)
	putExtra(f, m.Extra)
}

// SetCardKeys sets the M1 card sector and keys, 0x86 down; the device answers with
// SetCardKeysReply (ap3000.md §5, §7.2).
type SetCardKeys struct {
	Params CardKeys
	Extra  []byte
}

// Command returns CmdSetCardKeys.
func (*SetCardKeys) Command() Command { return CmdSetCardKeys }

// Direction returns Down.
func (*SetCardKeys) Direction() Direction { return Down }

func decodeSetCardKeys(b []byte) (*SetCardKeys, error) {
	p, off, err := readCardKeys(b, HeaderSize)
	if err != nil {
		return nil, err
	}
	return &SetCardKeys{Params: p, Extra: rest(b, off)}, nil
}

func (m *SetCardKeys) appendData(dst []byte) ([]byte, error) {
	return append(m.Params.append(dst), m.Extra...), nil
}

func (m *SetCardKeys) fields(f map[string]any) {
	m.Params.fields(f)
	putExtra(f, m.Extra)
}

// CardKeysReport is the device's answer to QueryCardKeys, 0x93 up, in the layout of
// 0x86 (ap3000.md §5).
type CardKeysReport struct {
	Params CardKeys
	Extra  []byte
}

// Command returns CmdQueryCardKeys.
func (*CardKeysReport) Command() Command { return CmdQueryCardKeys }

// Direction returns Up.
func (*CardKeysReport) Direction() Direction { return Up }

func decodeCardKeysReport(b []byte) (*CardKeysReport, error) {
	p, off, err := readCardKeys(b, HeaderSize)
	if err != nil {
		return nil, err
	}
	return &CardKeysReport{Params: p, Extra: rest(b, off)}, nil
}

func (m *CardKeysReport) appendData(dst []byte) ([]byte, error) {
	return append(m.Params.append(dst), m.Extra...), nil
}

func (m *CardKeysReport) fields(f map[string]any) {
	m.Params.fields(f)
	putExtra(f, m.Extra)
}
