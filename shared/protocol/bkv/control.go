package bkv

// Charge control messages, command 0x0015 (§6.2, §7.4, §7.5).

// Control starts or stops a port by time or energy (0x07 down): socket 1,
// port 1, switch 1, mode 1, minutes 2 (1–900), energy Wh 2 (§6.2). To stop,
// send SwitchOff; the other parameters are then ignored (§7.4). The gateway
// answers with ControlResult carrying the session's business number.
type Control struct {
	Socket  uint8
	Port    uint8 // 0 = A, 1 = B
	Switch  Switch
	Mode    ControlMode // 1 = by time, 0 = by energy (§10)
	Minutes uint16      // 1–900 when by time
	Energy  uint16      // Wh when by energy
}

func (*Control) dir() Direction { return Down }

// SubCommand returns SubControl.
func (*Control) SubCommand() uint8 { return SubControl }

func (m *Control) decodeParams(c *cursor) {
	m.Socket = c.u8("socket")
	m.Port = c.u8("port")
	m.Switch = Switch(c.u8("switch"))
	m.Mode = ControlMode(c.u8("mode"))
	m.Minutes = c.u16("minutes")
	m.Energy = c.u16("energy")
}

func (m *Control) appendParams(dst []byte) ([]byte, error) {
	dst = append(dst, m.Socket, m.Port, byte(m.Switch), byte(m.Mode))
	dst = appendU16(dst, m.Minutes)
	return appendU16(dst, m.Energy), nil
}

// ControlResult is the gateway's answer to Control (0x07 up): result 1,
// socket 1, port 1, business no. 2 (§6.2). The gateway allocates the
// business number (§4).
type ControlResult struct {
	Result     Result
	Socket     uint8
	Port       uint8
	BusinessNo uint16
}

func (*ControlResult) dir() Direction { return Up }

// SubCommand returns SubControl.
func (*ControlResult) SubCommand() uint8 { return SubControl }

func (m *ControlResult) decodeParams(c *cursor) {
	m.Result = Result(c.u8("result"))
	m.Socket = c.u8("socket")
	m.Port = c.u8("port")
	m.BusinessNo = c.u16("business no")
}

func (m *ControlResult) appendParams(dst []byte) ([]byte, error) {
	dst = append(dst, byte(m.Result), m.Socket, m.Port)
	return appendU16(dst, m.BusinessNo), nil
}

// PowerTierStart starts a prepaid power-tier session (0x17 down): socket 1,
// port 1, switch 1, paid amount fen 2, tier count 1 (≤ 5), per tier: power
// ceiling 0.1 W 2, price fen 2, minutes 2 (§6.2, §7.5). Send it under
// CommandCharge; the guide's example uses 0x0005 (vector
// bkv-powerstart-down-1), which Decode also accepts.
type PowerTierStart struct {
	Socket uint8
	Port   uint8
	Switch Switch
	Amount uint16 // paid, fen
	Tiers  []PowerTier
}

func (*PowerTierStart) dir() Direction { return Down }

// SubCommand returns SubPowerTierStart.
func (*PowerTierStart) SubCommand() uint8 { return SubPowerTierStart }

func (m *PowerTierStart) decodeParams(c *cursor) {
	m.Socket = c.u8("socket")
	m.Port = c.u8("port")
	m.Switch = Switch(c.u8("switch"))
	m.Amount = c.u16("amount")
	m.Tiers = readTiers(c)
}

func (m *PowerTierStart) appendParams(dst []byte) ([]byte, error) {
	dst = append(dst, m.Socket, m.Port, byte(m.Switch))
	dst = appendU16(dst, m.Amount)
	return appendTiers(dst, m.Tiers)
}

// PowerTierStartResult is the gateway's answer to PowerTierStart (0x17 up).
// The guide "omits" it but says it returns the business number; the layout
// of the 0x07 reply (result 1, socket 1, port 1, business no. 2) is assumed
// [I] (§7.5, §14).
type PowerTierStartResult struct {
	Result     Result
	Socket     uint8
	Port       uint8
	BusinessNo uint16
}

func (*PowerTierStartResult) dir() Direction { return Up }

// SubCommand returns SubPowerTierStart.
func (*PowerTierStartResult) SubCommand() uint8 { return SubPowerTierStart }

func (m *PowerTierStartResult) decodeParams(c *cursor) {
	m.Result = Result(c.u8("result"))
	m.Socket = c.u8("socket")
	m.Port = c.u8("port")
	m.BusinessNo = c.u16("business no")
}

func (m *PowerTierStartResult) appendParams(dst []byte) ([]byte, error) {
	dst = append(dst, byte(m.Result), m.Socket, m.Port)
	return appendU16(dst, m.BusinessNo), nil
}
