package bkv

import "fmt"

// Switch is an on/off byte (§10): the switch of charge commands, and the
// buzzer and voice flags of the voice window.
type Switch uint8

// Switch values (§10).
const (
	SwitchOff Switch = 0
	SwitchOn  Switch = 1
)

// ControlMode is the mode byte of the 0x07 control command (§6.2, §10).
// Note the numbering differs from BillingMode.
type ControlMode uint8

// Control modes of sub-command 0x07 (§10: 1 = by time, 0 = by energy).
const (
	ControlByEnergy ControlMode = 0
	ControlByTime   ControlMode = 1
)

// BillingMode is the mode of a card order (0x0B down) and the billing mode
// of a card end report (0x0C up) (§6.2, §10).
type BillingMode uint8

// Billing modes (§10). BillByEnergy is inferred [I]: the guide only shows 1
// and 3.
const (
	BillByTime       BillingMode = 1
	BillByEnergy     BillingMode = 2
	BillByPowerTiers BillingMode = 3
)

// ChargeModeFee is the charge mode (KV key 0x12) of an electricity +
// service-fee session (§7.8, §10).
const ChargeModeFee uint8 = 4

// PortStatus is the port status byte (§9). The guide gives no bit table;
// only bit 7 (online) is consistent with every observed value, so show the
// raw byte and do not build billing logic on the other bits. Observed: 0x80
// idle, 0x90 in use, 0x98 ended on no-load (every guide end report), 0xB0
// ended for another reason (the real gateway's end report after a 1-minute
// timed order, vector bkv-end-up-3). The seed code's two bit tables
// contradict these observations; the observed bytes win.
type PortStatus uint8

// Online reports bit 7, the only bit whose meaning is settled (§9).
func (s PortStatus) Online() bool { return s&0x80 != 0 }

func (s PortStatus) String() string { return fmt.Sprintf("0x%02x", uint8(s)) }

// TimeOfDay is a binary hour and minute (§11: voice periods and fee periods,
// 0x17 0x3B = 23:59). Values are kept as sent, without range checks.
type TimeOfDay struct {
	Hour, Minute uint8
}

func (t TimeOfDay) String() string { return fmt.Sprintf("%02d:%02d", t.Hour, t.Minute) }

// PowerTier is one power tier (§6.2 "0x17", "0x0B down"): at or below
// MaxPower, Price buys Minutes. The gateway uses the session's highest power
// (the settlement power) to pick the tier (§6.2 notes).
type PowerTier struct {
	MaxPower uint16 // power ceiling, 0.1 W
	Price    uint16 // fen
	Minutes  uint16
}

// maxTiers is the most power tiers a start command carries (§6.2: ≤ 5).
const maxTiers = 5

func readTiers(c *cursor) []PowerTier {
	n := c.count("tier count", 6, maxTiers)
	if n == 0 {
		return nil
	}
	tiers := make([]PowerTier, n)
	for i := range tiers {
		tiers[i] = PowerTier{MaxPower: c.u16("tier power"), Price: c.u16("tier price"), Minutes: c.u16("tier minutes")}
	}
	return tiers
}

func appendTiers(dst []byte, tiers []PowerTier) ([]byte, error) {
	if len(tiers) > maxTiers {
		return dst, errAt(len(dst), "tier count", fmt.Errorf("%w: %d tiers, at most %d", ErrBadValue, len(tiers), maxTiers))
	}
	dst = append(dst, byte(len(tiers)))
	for _, t := range tiers {
		dst = appendU16(dst, t.MaxPower)
		dst = appendU16(dst, t.Price)
		dst = appendU16(dst, t.Minutes)
	}
	return dst, nil
}

// readMinuteList reads the tier count and minutes per tier of the 0x18 and
// 0x0C end reports (§6.2: one entry per tier sent at start).
func readMinuteList(c *cursor) []uint16 {
	n := c.count("tier count", 2, 0)
	if n == 0 {
		return nil
	}
	mins := make([]uint16, n)
	for i := range mins {
		mins[i] = c.u16("tier minutes")
	}
	return mins
}

func appendMinuteList(dst []byte, mins []uint16) ([]byte, error) {
	if len(mins) > 0xff {
		return dst, errAt(len(dst), "tier count", fmt.Errorf("%w: %d tiers", ErrBadValue, len(mins)))
	}
	dst = append(dst, byte(len(mins)))
	for _, m := range mins {
		dst = appendU16(dst, m)
	}
	return dst, nil
}
