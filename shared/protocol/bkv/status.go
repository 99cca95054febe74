package bkv

// Socket status report, BKV command 0x1017 (§7.3, §8.3).

// SocketReport is one socket of a status report: the value of one 0x94 item
// ("cluster report"), itself an item list (§8.3).
type SocketReport struct {
	Socket         uint8        // key 0x4A
	SocketFirmware uint16       // key 0x3E, raw (e.g. 0xFFFF)
	Temperature    uint8        // key 0x07, raw byte, presumably °C
	RSSI           uint8        // key 0x96, raw
	Ports          []PortReport // one 0x5B item list per port
	Extra          []Extra      // unknown items of the 0x94 list
}

// StatusReport is the gateway's socket status report (0x1000/0x1017 up, msg
// id 0), sent every 5 minutes and on any change (§2, §7.3), and by the
// captured gateway in answer to a StatusQuery. Answer with StatusReportAck.
//
// The seed code read "65 01 94" as tag 0x65, length 1; the correct reading is
// item length 0x65, key 0x94, a 99-byte value (§8.3). A socket item longer
// than 127 bytes uses the multi-byte length form (vector bkv-status-up-5).
type StatusReport struct {
	Seq     uint64         // key 0x02: zero for gateway reports (§4)
	Sockets []SocketReport // one 0x94 item per socket
	Extra   []Extra
}

func (*StatusReport) dir() Direction { return Up }

// BKVCommand returns BKVStatus.
func (*StatusReport) BKVCommand() uint16 { return BKVStatus }

func (m *StatusReport) seq() *uint64 { return &m.Seq }

func (m *StatusReport) extras() []Extra { return m.Extra }

func (m *StatusReport) decodeItems(l *kvList) error {
	for {
		it, ok, err := l.next()
		if err != nil || !ok {
			return err
		}
		if k, num := it.number(); num && k == keySocketList {
			s, err := decodeSocketReport(&it)
			if err != nil {
				return err
			}
			m.Sockets = append(m.Sockets, s)
			continue
		}
		m.Extra = append(m.Extra, it.extra())
	}
}

func decodeSocketReport(item *kvItem) (SocketReport, error) {
	var s SocketReport
	var seen keySet
	l := item.list()
	for {
		it, ok, err := l.next()
		if err != nil || !ok {
			return s, err
		}
		if k, num := it.number(); num && k == keyPortList {
			p, err := decodePortReport(&it)
			if err != nil {
				return s, err
			}
			s.Ports = append(s.Ports, p)
			continue
		}
		switch it.key() {
		case keySocket:
			s.Socket, err = it.u8("socket")
		case keyFirmware:
			s.SocketFirmware, err = it.u16("socket firmware")
		case keyTemperature:
			s.Temperature, err = it.u8("temperature")
		case keyRSSI:
			s.RSSI, err = it.u8("rssi")
		default:
			s.Extra = append(s.Extra, it.extra())
			continue
		}
		if err == nil {
			err = seen.once(&it)
		}
		if err != nil {
			return s, err
		}
	}
}

func decodePortReport(item *kvItem) (PortReport, error) {
	var p PortReport
	var seen keySet
	l := item.list()
	for {
		it, ok, err := l.next()
		if err != nil || !ok {
			return p, err
		}
		var status uint8
		switch it.key() {
		case keyPort:
			p.Port, err = it.u8("port")
		case keyStatus:
			status, err = it.u8("status")
			p.Status = PortStatus(status)
		case keyBusinessNo:
			p.BusinessNo, err = it.u16("business no")
		case keyVoltage:
			p.Voltage, err = it.u16("voltage")
		case keyPower:
			p.Power, err = it.u16("power")
		case keyCurrent:
			p.Current, err = it.u16("current")
		case keyEnergy:
			p.Energy, err = it.u16("energy")
		case keyMinutes:
			p.Minutes, err = it.u16("minutes")
		default:
			p.Extra = append(p.Extra, it.extra())
			continue
		}
		if err == nil {
			err = seen.once(&it)
		}
		if err != nil {
			return p, err
		}
	}
}

// appendItems writes the sockets in the guide's key order (§8.3): socket
// 0x4A, 0x3E, 0x07, 0x96, then per port 0x08, 0x09, 0x0A, 0x95, 0x0B, 0x0C,
// 0x0D, 0x0E.
func (m *StatusReport) appendItems(w *kvWriter) {
	for _, s := range m.Sockets {
		w.list(keySocketList, s.Extra, func(w *kvWriter) {
			w.u8(keySocket, s.Socket)
			w.u16(keyFirmware, s.SocketFirmware)
			w.u8(keyTemperature, s.Temperature)
			w.u8(keyRSSI, s.RSSI)
			for _, p := range s.Ports {
				w.list(keyPortList, p.Extra, func(w *kvWriter) {
					w.u8(keyPort, p.Port)
					w.u8(keyStatus, uint8(p.Status))
					w.u16(keyBusinessNo, p.BusinessNo)
					w.u16(keyVoltage, p.Voltage)
					w.u16(keyPower, p.Power)
					w.u16(keyCurrent, p.Current)
					w.u16(keyEnergy, p.Energy)
					w.u16(keyMinutes, p.Minutes)
				})
			}
		})
	}
}

// StatusReportAck acknowledges a StatusReport (0x1000/0x1017 down, msg id 0):
// key 0x0F = 1 (§7.3).
type StatusReportAck struct {
	Seq    uint64 // key 0x02: echoes the report's (§4)
	Result Result // key 0x0F
	Extra  []Extra
}

func (*StatusReportAck) dir() Direction { return Down }

// BKVCommand returns BKVStatus.
func (*StatusReportAck) BKVCommand() uint16 { return BKVStatus }

func (m *StatusReportAck) seq() *uint64 { return &m.Seq }

func (m *StatusReportAck) extras() []Extra { return m.Extra }

func (m *StatusReportAck) decodeItems(l *kvList) error {
	var seen keySet
	for {
		it, ok, err := l.next()
		if err != nil || !ok {
			return err
		}
		var r uint8
		switch it.key() {
		case keyResult:
			r, err = it.u8("result")
			m.Result = Result(r)
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

func (m *StatusReportAck) appendItems(w *kvWriter) {
	w.u8(keyResult, uint8(m.Result))
}
