package bkv

// Exception events, BKV command 0x1010 (§7.10). Reason and status codes are
// not enumerated anywhere: they are kept raw.

// Keys of the exception event (§7.10, §8.4 0x4B–0x58).
const (
	keySocketEventStatus = 0x4B
	keyPort1EventStatus  = 0x4C
	keyPort2EventStatus  = 0x4D
	keyOverVoltage       = 0x4E
	keyUnderVoltage      = 0x4F
	keyPort1Leakage      = 0x50
	keyPort2Leakage      = 0x51
	keyPort1OverTemp     = 0x52
	keyPort2OverTemp     = 0x53
	keySocketEventReason = 0x54
	keyPort1EventReason  = 0x55
	keyPort2EventReason  = 0x56
	keyPort1Status       = 0x57
	keyPort2Status       = 0x58
)

// ExceptionEvent is a socket or port alarm (0x1000/0x1010 up, msg id 0)
// (§7.10). Answer with ExceptionEventAck.
type ExceptionEvent struct {
	Seq               uint64     // key 0x02: zero for gateway reports (§4)
	Socket            uint8      // 0x4A
	SocketEventReason uint8      // 0x54, raw
	SocketEventStatus uint8      // 0x4B, raw
	Port1EventReason  uint8      // 0x55, raw
	Port1EventStatus  uint8      // 0x4C, raw
	Port2EventReason  uint8      // 0x56, raw
	Port2EventStatus  uint8      // 0x4D, raw
	OverVoltage       uint16     // 0x4E, presumably 0.1 V (0x08BC = 2236)
	UnderVoltage      uint16     // 0x4F, presumably 0.1 V
	Port1Leakage      uint16     // 0x50, leakage current, unit unknown
	Port2Leakage      uint16     // 0x51
	Port1OverTemp     uint8      // 0x52
	Port2OverTemp     uint8      // 0x53
	Port1Status       PortStatus // 0x57 (§9)
	Port2Status       PortStatus // 0x58 (§9)
	Extra             []Extra
}

func (*ExceptionEvent) dir() Direction { return Up }

// BKVCommand returns BKVEvent.
func (*ExceptionEvent) BKVCommand() uint16 { return BKVEvent }

func (m *ExceptionEvent) seq() *uint64 { return &m.Seq }

func (m *ExceptionEvent) extras() []Extra { return m.Extra }

func (m *ExceptionEvent) decodeItems(l *kvList) error {
	var seen keySet
	for {
		it, ok, err := l.next()
		if err != nil || !ok {
			return err
		}
		var v uint8
		switch it.key() {
		case keySocket:
			m.Socket, err = it.u8("socket")
		case keySocketEventReason:
			m.SocketEventReason, err = it.u8("socket event reason")
		case keySocketEventStatus:
			m.SocketEventStatus, err = it.u8("socket event status")
		case keyPort1EventReason:
			m.Port1EventReason, err = it.u8("port 1 event reason")
		case keyPort1EventStatus:
			m.Port1EventStatus, err = it.u8("port 1 event status")
		case keyPort2EventReason:
			m.Port2EventReason, err = it.u8("port 2 event reason")
		case keyPort2EventStatus:
			m.Port2EventStatus, err = it.u8("port 2 event status")
		case keyOverVoltage:
			m.OverVoltage, err = it.u16("over-voltage")
		case keyUnderVoltage:
			m.UnderVoltage, err = it.u16("under-voltage")
		case keyPort1Leakage:
			m.Port1Leakage, err = it.u16("port 1 leakage")
		case keyPort2Leakage:
			m.Port2Leakage, err = it.u16("port 2 leakage")
		case keyPort1OverTemp:
			m.Port1OverTemp, err = it.u8("port 1 over-temperature")
		case keyPort2OverTemp:
			m.Port2OverTemp, err = it.u8("port 2 over-temperature")
		case keyPort1Status:
			v, err = it.u8("port 1 status")
			m.Port1Status = PortStatus(v)
		case keyPort2Status:
			v, err = it.u8("port 2 status")
			m.Port2Status = PortStatus(v)
		default:
			m.Extra = append(m.Extra, it.extra())
			continue
		}
		if err == nil {
			err = seen.once(&it)
		}
		if err != nil {
			return err
		}
	}
}

// appendItems writes the guide's key order (§7.10 example).
func (m *ExceptionEvent) appendItems(w *kvWriter) {
	w.u8(keySocket, m.Socket)
	w.u8(keySocketEventReason, m.SocketEventReason)
	w.u8(keySocketEventStatus, m.SocketEventStatus)
	w.u8(keyPort1EventReason, m.Port1EventReason)
	w.u8(keyPort1EventStatus, m.Port1EventStatus)
	w.u8(keyPort2EventReason, m.Port2EventReason)
	w.u8(keyPort2EventStatus, m.Port2EventStatus)
	w.u16(keyOverVoltage, m.OverVoltage)
	w.u16(keyUnderVoltage, m.UnderVoltage)
	w.u16(keyPort1Leakage, m.Port1Leakage)
	w.u16(keyPort2Leakage, m.Port2Leakage)
	w.u8(keyPort1OverTemp, m.Port1OverTemp)
	w.u8(keyPort2OverTemp, m.Port2OverTemp)
	w.u8(keyPort1Status, uint8(m.Port1Status))
	w.u8(keyPort2Status, uint8(m.Port2Status))
}

// ExceptionEventAck acknowledges an ExceptionEvent (0x1000/0x1010 down, msg
// id 0): keys 0x4A socket, 0x0F result (§7.10).
type ExceptionEventAck struct {
	Seq    uint64
	Socket uint8
	Result Result
	Extra  []Extra
}

func (*ExceptionEventAck) dir() Direction { return Down }

// BKVCommand returns BKVEvent.
func (*ExceptionEventAck) BKVCommand() uint16 { return BKVEvent }

func (m *ExceptionEventAck) seq() *uint64 { return &m.Seq }

func (m *ExceptionEventAck) extras() []Extra { return m.Extra }

func (m *ExceptionEventAck) decodeItems(l *kvList) error {
	return decodeSocketResult(l, &m.Socket, &m.Result, &m.Extra)
}

func (m *ExceptionEventAck) appendItems(w *kvWriter) {
	w.u8(keySocket, m.Socket)
	w.u8(keyResult, uint8(m.Result))
}

// decodeSocketResult decodes the replies made of 0x4A socket and 0x0F result
// (§7.9, §7.10).
func decodeSocketResult(l *kvList, socket *uint8, result *Result, extra *[]Extra) error {
	var seen keySet
	for {
		it, ok, err := l.next()
		if err != nil || !ok {
			return err
		}
		var r uint8
		switch it.key() {
		case keySocket:
			*socket, err = it.u8("socket")
		case keyResult:
			r, err = it.u8("result")
			*result = Result(r)
		default:
			*extra = append(*extra, it.extra())
			continue
		}
		if err == nil {
			err = seen.once(&it)
		}
		if err != nil {
			return err
		}
	}
}
