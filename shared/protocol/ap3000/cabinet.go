package ap3000

// AlarmPush is an alarm from a pile or cabinet, 0x42 up, with no reply
// (ap3000.md §5, §7.1).
type AlarmPush struct {
	Type AlarmType // §8 "Alarm push type"
	// Port is the port, or for 485 host units the sub-unit address: the
	// guide describes the byte twice with both meanings (ap3000.md §12.6,
	// vector ap3000-42-up-1); it is kept raw.
	Port    uint8
	Trigger uint8 // one bit per input
	Extra   []byte
}

// Command returns CmdAlarmPush.
func (*AlarmPush) Command() Command { return CmdAlarmPush }

// Direction returns Up.
func (*AlarmPush) Direction() Direction { return Up }

func decodeAlarmPush(b []byte) (*AlarmPush, error) {
	m := &AlarmPush{}
	off := HeaderSize
	var err error
	var u uint8
	if u, off, err = readU8(b, off, "push_type"); err != nil {
		return nil, err
	}
	m.Type = AlarmType(u)
	if m.Port, off, err = readU8(b, off, "port"); err != nil {
		return nil, err
	}
	if m.Trigger, off, err = readU8(b, off, "trigger"); err != nil {
		return nil, err
	}
	m.Extra = rest(b, off)
	return m, nil
}

func (m *AlarmPush) appendData(dst []byte) ([]byte, error) {
	return append(append(dst, byte(m.Type), m.Port, m.Trigger), m.Extra...), nil
}

func (m *AlarmPush) fields(f map[string]any) {
	f["push_type"] = int(m.Type)
	f["port"] = int(m.Port)
	f["trigger"] = int(m.Trigger)
	putExtra(f, m.Extra)
}

// PortPush is a cabinet port event, 0x44 up (type 1 = door not closed), with
// no reply (ap3000.md §5, §7.1).
type PortPush struct {
	Type    uint8
	Port    uint8
	OrderNo OrderNo
	Extra   []byte
}

// Command returns CmdPortPush.
func (*PortPush) Command() Command { return CmdPortPush }

// Direction returns Up.
func (*PortPush) Direction() Direction { return Up }

func decodePortPush(b []byte) (*PortPush, error) {
	m := &PortPush{}
	off := HeaderSize
	var err error
	if m.Type, off, err = readU8(b, off, "push_type"); err != nil {
		return nil, err
	}
	if m.Port, off, err = readU8(b, off, "port"); err != nil {
		return nil, err
	}
	if m.OrderNo, off, err = readOrderNo(b, off, "order_no"); err != nil {
		return nil, err
	}
	m.Extra = rest(b, off)
	return m, nil
}

func (m *PortPush) appendData(dst []byte) ([]byte, error) {
	dst = append(dst, m.Type, m.Port)
	dst = append(dst, m.OrderNo[:]...)
	return append(dst, m.Extra...), nil
}

func (m *PortPush) fields(f map[string]any) {
	f["push_type"] = int(m.Type)
	f["port"] = int(m.Port)
	f["order_no"] = m.OrderNo.String()
	putExtra(f, m.Extra)
}

// CabinetStop stops a cabinet port's session while its door stays shut,
// 0x72 down (ap3000.md §5, §7.2).
type CabinetStop struct {
	Port    uint8
	OrderNo OrderNo // the running session's order number
	Extra   []byte
}

// Command returns CmdCabinetStop.
func (*CabinetStop) Command() Command { return CmdCabinetStop }

// Direction returns Down.
func (*CabinetStop) Direction() Direction { return Down }

func decodeCabinetStop(b []byte) (*CabinetStop, error) {
	m := &CabinetStop{}
	off := HeaderSize
	var err error
	if m.Port, off, err = readU8(b, off, "port"); err != nil {
		return nil, err
	}
	if m.OrderNo, off, err = readOrderNo(b, off, "order_no"); err != nil {
		return nil, err
	}
	m.Extra = rest(b, off)
	return m, nil
}

func (m *CabinetStop) appendData(dst []byte) ([]byte, error) {
	dst = append(dst, m.Port)
	dst = append(dst, m.OrderNo[:]...)
	return append(dst, m.Extra...), nil
}

func (m *CabinetStop) fields(f map[string]any) {
	f["port"] = int(m.Port)
	f["order_no"] = m.OrderNo.String()
	putExtra(f, m.Extra)
}

// CabinetStopReply is the device's answer to CabinetStop, 0x72 up: answer
// and order number (ap3000.md §7.2 "Device replies").
type CabinetStopReply struct {
	Answer  Answer // non-zero e.g. when the order number does not match
	OrderNo OrderNo
	Extra   []byte
}

// Command returns CmdCabinetStop.
func (*CabinetStopReply) Command() Command { return CmdCabinetStop }

// Direction returns Up.
func (*CabinetStopReply) Direction() Direction { return Up }

func decodeCabinetStopReply(b []byte) (*CabinetStopReply, error) {
	m := &CabinetStopReply{}
	off := HeaderSize
	var err error
	var u uint8
	if u, off, err = readU8(b, off, "answer"); err != nil {
		return nil, err
	}
	m.Answer = Answer(u)
	if m.OrderNo, off, err = readOrderNo(b, off, "order_no"); err != nil {
		return nil, err
	}
	m.Extra = rest(b, off)
	return m, nil
}

func (m *CabinetStopReply) appendData(dst []byte) ([]byte, error) {
	dst = append(dst, byte(m.Answer))
	dst = append(dst, m.OrderNo[:]...)
	return append(dst, m.Extra...), nil
}

func (m *CabinetStopReply) fields(f map[string]any) {
	f["answer"] = int(m.Answer)
	f["order_no"] = m.OrderNo.String()
	putExtra(f, m.Extra)
}
