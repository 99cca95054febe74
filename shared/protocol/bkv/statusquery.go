package bkv

import "fmt"

// PortReport is the status of one port: the 14-byte port block of the 0x1C
// status reply (§6.2, layout derived from the example [I], vector
// bkv-query-up-1) and the 0x5B item list of the 0x1017 status report (§8.3).
// Units are the wire's (§6.2).
type PortReport struct {
	Port       uint8      // 0 = A, 1 = B (KV key 0x08)
	Status     PortStatus // §9 (0x09)
	BusinessNo uint16     // session on this port, 0 when none (0x0A, §4)
	Voltage    uint16     // 0.1 V (0x95)
	Power      uint16     // 0.1 W (0x0B)
	Current    uint16     // 0.001 A (0x0C)
	Energy     uint16     // Wh this session (0x0D; §6.2: "0x0050 = 0.08 kWh")
	Minutes    uint16     // minutes this session (0x0E)

	// Extra holds unknown items of the 0x5B list (0x1017 only; a 0x1C port
	// block has none, and Append rejects them there).
	Extra []Extra
}

const portBlockSize = 14

func (p *PortReport) decodeBlock(c *cursor) {
	p.Port = c.u8("port")
	p.Status = PortStatus(c.u8("status"))
	p.BusinessNo = c.u16("business no")
	p.Voltage = c.u16("voltage")
	p.Power = c.u16("power")
	p.Current = c.u16("current")
	p.Energy = c.u16("energy")
	p.Minutes = c.u16("minutes")
}

func (p *PortReport) appendBlock(dst []byte) ([]byte, error) {
	if len(p.Extra) > 0 {
		return dst, errAt(len(dst), "port block", fmt.Errorf("%w: a 0x1c port block has no room for extra items", ErrBadValue))
	}
	dst = append(dst, p.Port, byte(p.Status))
	dst = appendU16(dst, p.BusinessNo)
	dst = appendU16(dst, p.Voltage)
	dst = appendU16(dst, p.Power)
	dst = appendU16(dst, p.Current)
	dst = appendU16(dst, p.Energy)
	return appendU16(dst, p.Minutes), nil
}

// StatusQuery asks for the port status of one socket (0x0015/0x1D down):
// socket number 1 (§6.2, §7.3). The guide's gateway answers with a
// StatusQueryReply; the captured gateway sent a 0x1017 StatusReport instead.
type StatusQuery struct {
	Socket uint8
}

func (*StatusQuery) dir() Direction { return Down }

// SubCommand returns SubStatusQuery.
func (*StatusQuery) SubCommand() uint8 { return SubStatusQuery }

func (m *StatusQuery) decodeParams(c *cursor) { m.Socket = c.u8("socket") }

func (m *StatusQuery) appendParams(dst []byte) ([]byte, error) {
	return append(dst, m.Socket), nil
}

// StatusQueryReply is the gateway's answer to StatusQuery (0x0015/0x1C up):
// socket 1, socket firmware 2, temperature 1, RSSI 1, then one 14-byte port
// block per port (§6.2). The guide's explanation calls the sub-command 1D;
// the checksummed frame carries 0x1C and the frame wins (vector
// bkv-query-up-1, §12 item 8).
type StatusQueryReply struct {
	Socket         uint8
	SocketFirmware uint16 // raw, e.g. 0x5136, 0xFFFF
	Temperature    uint8  // raw byte, presumably °C (§6.2)
	RSSI           uint8  // raw
	Ports          []PortReport
}

func (*StatusQueryReply) dir() Direction { return Up }

// SubCommand returns SubStatusReply.
func (*StatusQueryReply) SubCommand() uint8 { return SubStatusReply }

func (m *StatusQueryReply) decodeParams(c *cursor) {
	m.Socket = c.u8("socket")
	m.SocketFirmware = c.u16("socket firmware")
	m.Temperature = c.u8("temperature")
	m.RSSI = c.u8("rssi")
	if c.err != nil || c.left()%portBlockSize != 0 {
		c.end("port blocks") // reports the partial block
		return
	}
	if n := c.left() / portBlockSize; n > 0 {
		m.Ports = make([]PortReport, n)
	}
	for i := range m.Ports {
		m.Ports[i].decodeBlock(c)
	}
}

func (m *StatusQueryReply) appendParams(dst []byte) ([]byte, error) {
	dst = append(dst, m.Socket)
	dst = appendU16(dst, m.SocketFirmware)
	dst = append(dst, m.Temperature, m.RSSI)
	var err error
	for i := range m.Ports {
		if dst, err = m.Ports[i].appendBlock(dst); err != nil {
			return dst, err
		}
	}
	return dst, nil
}
