package bkv

import "fmt"

// Card (online card) messages, command 0x0015 (§6.2, §7.6, §7.7). Offline
// cards are not supported by the gateway.

// CardSwipe reports a card presented on a port (0x0B up, msg id 0): socket 1,
// port 1, business no. 2, status 1, card no. 6, offline-card data 20 (§6.2).
// The gateway allocates the business number (§4). Answer with a CardOrder.
type CardSwipe struct {
	Socket     uint8
	Port       uint8
	BusinessNo uint16
	Status     PortStatus
	Card       CardNo
	Offline    [20]byte // offline-card data; zeros because offline cards are unsupported
}

func (*CardSwipe) dir() Direction { return Up }

// SubCommand returns SubCard.
func (*CardSwipe) SubCommand() uint8 { return SubCard }

func (m *CardSwipe) decodeParams(c *cursor) {
	m.Socket = c.u8("socket")
	m.Port = c.u8("port")
	m.BusinessNo = c.u16("business no")
	m.Status = PortStatus(c.u8("status"))
	c.into("card no", m.Card[:])
	c.into("offline data", m.Offline[:])
}

func (m *CardSwipe) appendParams(dst []byte) ([]byte, error) {
	dst = append(dst, m.Socket, m.Port)
	dst = appendU16(dst, m.BusinessNo)
	dst = append(dst, byte(m.Status))
	dst = append(dst, m.Card[:]...)
	return append(dst, m.Offline[:]...), nil
}

// CardOrder is the platform's order for a swiped card (0x0B down, a new
// platform command with its own msg id, §4): socket 1, port 1, business no. 2
// (from the swipe), switch 1, mode 1, duration 2, energy Wh 2; and when
// Mode is BillByPowerTiers: amount fen 2, tier count 1, tiers 6 × count
// (§6.2, §7.6). The gateway confirms with OrderConfirm.
//
// The unit of Duration is not stated: the guide's example has 0xBB80 =
// 48000, which cannot be minutes under the 900-minute cap of 0x07 (vector
// bkv-cardorder-down-1, §14).
type CardOrder struct {
	Socket     uint8
	Port       uint8
	BusinessNo uint16
	Switch     Switch
	Mode       BillingMode // 1 time, 2 energy [I], 3 power tiers (§10)
	Duration   uint16      // unit not stated
	Energy     uint16      // Wh
	Amount     uint16      // fen; power tiers only
	Tiers      []PowerTier // power tiers only, ≤ 5
}

func (*CardOrder) dir() Direction { return Down }

// SubCommand returns SubCard.
func (*CardOrder) SubCommand() uint8 { return SubCard }

func (m *CardOrder) decodeParams(c *cursor) {
	m.Socket = c.u8("socket")
	m.Port = c.u8("port")
	m.BusinessNo = c.u16("business no")
	m.Switch = Switch(c.u8("switch"))
	m.Mode = BillingMode(c.u8("mode"))
	m.Duration = c.u16("duration")
	m.Energy = c.u16("energy")
	if m.Mode == BillByPowerTiers {
		m.Amount = c.u16("amount")
		m.Tiers = readTiers(c)
	}
}

func (m *CardOrder) appendParams(dst []byte) ([]byte, error) {
	if m.Mode != BillByPowerTiers && (m.Amount != 0 || len(m.Tiers) > 0) {
		return dst, errAt(len(dst), "mode", fmt.Errorf("%w: amount and tiers are sent only in mode %d", ErrBadValue, BillByPowerTiers))
	}
	dst = append(dst, m.Socket, m.Port)
	dst = appendU16(dst, m.BusinessNo)
	dst = append(dst, byte(m.Switch), byte(m.Mode))
	dst = appendU16(dst, m.Duration)
	dst = appendU16(dst, m.Energy)
	if m.Mode != BillByPowerTiers {
		return dst, nil
	}
	dst = appendU16(dst, m.Amount)
	return appendTiers(dst, m.Tiers)
}

// OrderConfirm is the gateway's acceptance of a CardOrder (0x0F up, echoing
// the order's msg id): socket 1, port 1, result 1 (§6.2, §7.6). No reply.
type OrderConfirm struct {
	Socket uint8
	Port   uint8
	Result Result
}

func (*OrderConfirm) dir() Direction { return Up }

// SubCommand returns SubOrderConfirm.
func (*OrderConfirm) SubCommand() uint8 { return SubOrderConfirm }

func (m *OrderConfirm) decodeParams(c *cursor) {
	m.Socket = c.u8("socket")
	m.Port = c.u8("port")
	m.Result = Result(c.u8("result"))
}

func (m *OrderConfirm) appendParams(dst []byte) ([]byte, error) {
	return append(dst, m.Socket, m.Port, byte(m.Result)), nil
}

// CardEnd reports the end of a card session (0x0C up, msg id 0): end-report
// head 17, card no. 6, card type 1, billing mode 1, amount fen 2, settlement
// power 0.1 W 2, tier count 1, minutes per tier 2 × count (§6.2, §7.6).
// Answer with CardEndReply.
//
// The guide prints its power-tier example one field per line with the status
// byte missing, one byte short of its length; that frame is rejected and the
// corrected copy (status 0x98, the only value matching the printed checksum)
// decodes (vectors bkv-cardend-up-2, bkv-cardend-up-3, §12 item 4).
type CardEnd struct {
	EndHead
	Card            CardNo
	CardType        uint8 // 0 = online card (§10)
	BillingMode     BillingMode
	Amount          uint16   // fen
	SettlementPower uint16   // 0.1 W
	TierMinutes     []uint16 // minutes used per tier (power tiers)
}

func (*CardEnd) dir() Direction { return Up }

// SubCommand returns SubCardEnd.
func (*CardEnd) SubCommand() uint8 { return SubCardEnd }

func (m *CardEnd) decodeParams(c *cursor) {
	m.EndHead.decode(c)
	c.into("card no", m.Card[:])
	m.CardType = c.u8("card type")
	m.BillingMode = BillingMode(c.u8("billing mode"))
	m.Amount = c.u16("amount")
	m.SettlementPower = c.u16("settlement power")
	m.TierMinutes = readMinuteList(c)
}

func (m *CardEnd) appendParams(dst []byte) ([]byte, error) {
	dst = m.EndHead.append(dst)
	dst = append(dst, m.Card[:]...)
	dst = append(dst, m.CardType, byte(m.BillingMode))
	dst = appendU16(dst, m.Amount)
	dst = appendU16(dst, m.SettlementPower)
	return appendMinuteList(dst, m.TierMinutes)
}

// CardEndReply is the platform's answer to an end report (0x0C down, msg id
// 0): socket 1, result 1 (§6.2, §7.6). It also acknowledges a ChargeEnd
// (§7.4).
type CardEndReply struct {
	Socket uint8
	Result Result
}

func (*CardEndReply) dir() Direction { return Down }

// SubCommand returns SubCardEnd.
func (*CardEndReply) SubCommand() uint8 { return SubCardEnd }

func (m *CardEndReply) decodeParams(c *cursor) {
	m.Socket = c.u8("socket")
	m.Result = Result(c.u8("result"))
}

func (m *CardEndReply) appendParams(dst []byte) ([]byte, error) {
	return append(dst, m.Socket, byte(m.Result)), nil
}

// BalanceQuery asks for a card's balance (0x1A up, msg id 0): socket 1,
// port 1, card no. 6 (§6.2, §7.7). Answer with Balance.
type BalanceQuery struct {
	Socket uint8
	Port   uint8
	Card   CardNo
}

func (*BalanceQuery) dir() Direction { return Up }

// SubCommand returns SubBalance.
func (*BalanceQuery) SubCommand() uint8 { return SubBalance }

func (m *BalanceQuery) decodeParams(c *cursor) {
	m.Socket = c.u8("socket")
	m.Port = c.u8("port")
	c.into("card no", m.Card[:])
}

func (m *BalanceQuery) appendParams(dst []byte) ([]byte, error) {
	dst = append(dst, m.Socket, m.Port)
	return append(dst, m.Card[:]...), nil
}

// Balance answers a BalanceQuery (0x1A down): socket 1, port 1, card no. 6,
// balance 4 in fen (§6.2, §7.7; 0x00001389 = 50.01 CNY). The guide's reply
// carries a fresh msg id although the request had 0 (§4). Its explanation
// labels the port 00, but the checksummed frame carries 01; the frame wins
// (vector bkv-balance-down-1, §12 item 9).
type Balance struct {
	Socket  uint8
	Port    uint8
	Card    CardNo
	Balance uint32 // fen
}

func (*Balance) dir() Direction { return Down }

// SubCommand returns SubBalance.
func (*Balance) SubCommand() uint8 { return SubBalance }

func (m *Balance) decodeParams(c *cursor) {
	m.Socket = c.u8("socket")
	m.Port = c.u8("port")
	c.into("card no", m.Card[:])
	m.Balance = c.u32("balance")
}

func (m *Balance) appendParams(dst []byte) ([]byte, error) {
	dst = append(dst, m.Socket, m.Port)
	dst = append(dst, m.Card[:]...)
	return appendU32(dst, m.Balance), nil
}
