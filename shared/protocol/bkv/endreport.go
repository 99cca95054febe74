package bkv

import "time"

// EndHead is the 17-byte head shared by the end reports 0x02, 0x18 and 0x0C
// (§6.2): socket 1, socket firmware 2, temperature 1, RSSI 1, port 1,
// status 1, business no. 2, power 2, current 2, energy 2, minutes 2.
type EndHead struct {
	Socket         uint8
	SocketFirmware uint16 // raw, e.g. 0x5036, 0xFFFF
	Temperature    uint8  // raw byte, presumably °C
	RSSI           uint8  // raw
	Port           uint8  // 0 = A, 1 = B
	Status         PortStatus
	BusinessNo     uint16 // the session (§4)
	Power          uint16 // 0.1 W at the end
	Current        uint16 // 0.001 A
	Energy         uint16 // Wh this session (the seed code's 0.01 kWh is wrong, §13; vector bkv-end-up-4)
	Minutes        uint16 // minutes this session
}

func (h *EndHead) decode(c *cursor) {
	h.Socket = c.u8("socket")
	h.SocketFirmware = c.u16("socket firmware")
	h.Temperature = c.u8("temperature")
	h.RSSI = c.u8("rssi")
	h.Port = c.u8("port")
	h.Status = PortStatus(c.u8("status"))
	h.BusinessNo = c.u16("business no")
	h.Power = c.u16("power")
	h.Current = c.u16("current")
	h.Energy = c.u16("energy")
	h.Minutes = c.u16("minutes")
}

func (h *EndHead) append(dst []byte) []byte {
	dst = append(dst, h.Socket)
	dst = appendU16(dst, h.SocketFirmware)
	dst = append(dst, h.Temperature, h.RSSI, h.Port, byte(h.Status))
	dst = appendU16(dst, h.BusinessNo)
	dst = appendU16(dst, h.Power)
	dst = appendU16(dst, h.Current)
	dst = appendU16(dst, h.Energy)
	return appendU16(dst, h.Minutes)
}

// ChargeEnd reports the end of a time/energy session (0x0015/0x02 up, msg id
// 0): the end-report head only (§6.2, §7.4). The end reason is not a field;
// the status byte hints at it (§9). The guide documents no reply; the seed
// test server answered with a CardEndReply (0x0C down: socket, result 1) and
// the captured gateway then stopped repeating the report (§7.4).
type ChargeEnd struct {
	EndHead
}

func (*ChargeEnd) dir() Direction { return Up }

// SubCommand returns SubChargeEnd.
func (*ChargeEnd) SubCommand() uint8 { return SubChargeEnd }

func (m *ChargeEnd) decodeParams(c *cursor) { m.EndHead.decode(c) }

func (m *ChargeEnd) appendParams(dst []byte) ([]byte, error) {
	return m.EndHead.append(dst), nil
}

// PowerTierEnd reports the end of a power-tier session (0x18 up, msg id 0):
// end-report head 17, end time 7 (binary, §11), end reason 1, amount spent
// fen 2, settlement power 0.1 W 2, tier count 1, minutes per tier 2 × count
// (§6.2, §7.5). No reply is documented.
//
// The guide's explanation gives settlement power 0x0BB8 and tier minutes
// 0x0011, 0x0013, but its checksummed frame carries 0x0000 and 0x0024, 0, 0,
// 0, 0; the frame wins (vector bkv-powerend-up-1, §12 item 7).
type PowerTierEnd struct {
	EndHead
	EndTime         time.Time // device wall clock as time.UTC fields (§11)
	EndReason       uint8     // raw; 2 and 8 appear in the guide, no table exists (§10)
	Amount          uint16    // spent, fen: the sum over tiers
	SettlementPower uint16    // the session's highest power, 0.1 W
	TierMinutes     []uint16  // minutes used per tier, one entry per tier sent at start
}

func (*PowerTierEnd) dir() Direction { return Up }

// SubCommand returns SubPowerTierEnd.
func (*PowerTierEnd) SubCommand() uint8 { return SubPowerTierEnd }

func (m *PowerTierEnd) decodeParams(c *cursor) {
	m.EndHead.decode(c)
	m.EndTime = c.binaryTime("end time")
	m.EndReason = c.u8("end reason")
	m.Amount = c.u16("amount")
	m.SettlementPower = c.u16("settlement power")
	m.TierMinutes = readMinuteList(c)
}

func (m *PowerTierEnd) appendParams(dst []byte) ([]byte, error) {
	dst = m.EndHead.append(dst)
	dst, err := appendBinaryTime(dst, "end time", m.EndTime)
	if err != nil {
		return dst, err
	}
	dst = append(dst, m.EndReason)
	dst = appendU16(dst, m.Amount)
	dst = appendU16(dst, m.SettlementPower)
	return appendMinuteList(dst, m.TierMinutes)
}
