package bkv

import (
	"fmt"
	"time"
)

// Electricity + service fee sessions, BKV commands 0x1007 and 0x1004 (§7.8).

// FeeBasis is key 0x80 of a fee-mode start (§7.8, §10).
type FeeBasis uint8

// Fee bases (§10).
const (
	FeeByTime   FeeBasis = 0
	FeeByEnergy FeeBasis = 1
)

// FeePeriod is one time-of-use period of a fee-mode start (key 0x83, 6 bytes
// each): end hh mm, electricity price 2, service price 2 (§7.8). Periods run
// back to back from 00:00 and the last must end at 23:59; the codec keeps
// whatever is sent and leaves that rule to the caller.
type FeePeriod struct {
	End          TimeOfDay
	ElecPrice    uint16 // electricity, fen per kWh
	ServicePrice uint16 // service fee, fen per kWh
}

// FeeStart starts a time-of-use session with electricity and service fees
// (0x1000/0x1007 down) (§7.8). Keys: 0x4A socket, 0x08 port, 0x13 switch,
// 0x12 charge mode (4), 0x47 control type (1), 0x88 paid amount fen, 0x80
// fee basis, 0x89 period count, 0x83 periods. The guide does not show the
// gateway's reply, so an up 0x1007 decodes to *RawKV.
//
// The guide's example has length field 0x0063 although 89 bytes follow and a
// checksum computed over the wrong length; it is rejected as a short frame,
// and the corrected copy decodes (vectors bkv-svcstart-down-1,
// bkv-svcstart-down-2, §12 item 2). Its unexplained key 0xF4 = 02 is kept in
// Extra at its position.
type FeeStart struct {
	Seq         uint64 // key 0x02: the frame's msg id, zero-extended (§4)
	Socket      uint8
	Port        uint8
	Switch      Switch
	ChargeMode  uint8 // ChargeModeFee (4)
	ControlType uint8 // meaning not stated; the example sends 1
	Amount      uint16
	FeeBasis    FeeBasis
	Periods     []FeePeriod // key 0x89 is the count, written from len(Periods)
	Extra       []Extra
}

func (*FeeStart) dir() Direction { return Down }

// BKVCommand returns BKVFeeStart.
func (*FeeStart) BKVCommand() uint16 { return BKVFeeStart }

func (m *FeeStart) seq() *uint64 { return &m.Seq }

func (m *FeeStart) extras() []Extra { return m.Extra }

func (m *FeeStart) decodeItems(l *kvList) error {
	var seen keySet
	var count periodCount
	for {
		it, ok, err := l.next()
		if err != nil {
			return err
		}
		if !ok {
			return count.check(len(m.Periods))
		}
		var v uint8
		switch it.key() {
		case keySocket:
			m.Socket, err = it.u8("socket")
		case keyPort:
			m.Port, err = it.u8("port")
		case keySwitch:
			v, err = it.u8("switch")
			m.Switch = Switch(v)
		case keyChargeMode:
			m.ChargeMode, err = it.u8("charge mode")
		case keyControlType:
			m.ControlType, err = it.u8("control type")
		case keyPaidAmount:
			m.Amount, err = it.u16("amount")
		case keyFeeBasis:
			v, err = it.u8("fee basis")
			m.FeeBasis = FeeBasis(v)
		case keyPeriodCount:
			err = count.read(&it)
		case keyFeePeriods:
			count.list = true
			m.Periods, err = decodeFeePeriods(&it)
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

func decodeFeePeriods(it *kvItem) ([]FeePeriod, error) {
	v := it.value()
	if len(v)%6 != 0 {
		return nil, errAt(it.off, "fee periods", fmt.Errorf("%w: %d bytes, want 6 per period", ErrBadLength, len(v)))
	}
	if len(v) == 0 {
		return nil, nil
	}
	c := cursor{b: it.b[:it.end], off: it.off}
	ps := make([]FeePeriod, len(v)/6)
	for i := range ps {
		ps[i] = FeePeriod{
			End:          TimeOfDay{Hour: c.u8("period end hour"), Minute: c.u8("period end minute")},
			ElecPrice:    c.u16("electricity price"),
			ServicePrice: c.u16("service price"),
		}
	}
	return ps, c.err
}

// periodCount checks key 0x89 against the list it counts (0x83 or 0x84):
// when both are present they must agree (§3: reject, do not guess).
type periodCount struct {
	present bool
	n       int
	off     int
	list    bool // the list key was present
}

func (p *periodCount) read(it *kvItem) error {
	n, err := it.u8("period count")
	p.present, p.n, p.off = true, int(n), it.off
	return err
}

func (p *periodCount) check(periods int) error {
	if p.present && p.list && p.n != periods {
		return errAt(p.off, "period count", fmt.Errorf("%w: count %d, %d periods", ErrBadLength, p.n, periods))
	}
	return nil
}

func (m *FeeStart) appendItems(w *kvWriter) {
	if len(m.Periods) > 0xff {
		w.fail("period count", fmt.Errorf("%w: %d periods", ErrBadValue, len(m.Periods)))
		return
	}
	w.u8(keySocket, m.Socket)
	w.u8(keyPort, m.Port)
	w.u8(keySwitch, uint8(m.Switch))
	w.u8(keyChargeMode, m.ChargeMode)
	w.u8(keyControlType, m.ControlType)
	w.u16(keyPaidAmount, m.Amount)
	w.u8(keyFeeBasis, uint8(m.FeeBasis))
	w.u8(keyPeriodCount, uint8(len(m.Periods)))
	v := make([]byte, 0, 6*len(m.Periods))
	for _, p := range m.Periods {
		v = append(v, p.End.Hour, p.End.Minute)
		v = appendU16(v, p.ElecPrice)
		v = appendU16(v, p.ServicePrice)
	}
	w.put(keyFeePeriods, v)
}

// FeeEnd reports the end of a fee-mode session (0x1000/0x1004 up, msg id 0)
// (§7.8). Answer with FeeEndAck.
type FeeEnd struct {
	Seq            uint64     // key 0x02: zero for gateway reports (§4)
	MCUTemperature uint8      // 0x07, raw
	Socket         uint8      // 0x4A
	Port           uint8      // 0x08
	Status         PortStatus // 0x09 (§9)
	BusinessNo     uint16     // 0x0A
	Power          uint16     // 0x0B, 0.1 W
	Current        uint16     // 0x0C, 0.001 A
	Energy         uint16     // 0x0D, Wh
	Minutes        uint16     // 0x0E
	EndTime        time.Time  // 0x2E, BCD YYYYMMDDhhmmss; device wall clock as time.UTC fields (§11)
	EndReason      uint8      // 0x2F, raw; no table exists (§10)
	ChargeMode     uint8      // 0x12, 4 in fee mode
	ElecAmount     uint16     // 0x85, electricity amount; unit not stated (presumably fen)
	ServiceAmount  uint16     // 0x86, service amount; unit not stated (presumably fen)
	PeriodUsage    [][6]byte  // 0x84 "time & energy per period", 6 bytes each, split unknown (§14); 0x89 is the count
	Extra          []Extra
}

func (*FeeEnd) dir() Direction { return Up }

// BKVCommand returns BKVFeeEnd.
func (*FeeEnd) BKVCommand() uint16 { return BKVFeeEnd }

func (m *FeeEnd) seq() *uint64 { return &m.Seq }

func (m *FeeEnd) extras() []Extra { return m.Extra }

func (m *FeeEnd) decodeItems(l *kvList) error {
	var seen keySet
	var count periodCount
	for {
		it, ok, err := l.next()
		if err != nil {
			return err
		}
		if !ok {
			return count.check(len(m.PeriodUsage))
		}
		var v uint8
		switch it.key() {
		case keyTemperature:
			m.MCUTemperature, err = it.u8("mcu temperature")
		case keySocket:
			m.Socket, err = it.u8("socket")
		case keyPort:
			m.Port, err = it.u8("port")
		case keyStatus:
			v, err = it.u8("status")
			m.Status = PortStatus(v)
		case keyBusinessNo:
			m.BusinessNo, err = it.u16("business no")
		case keyPower:
			m.Power, err = it.u16("power")
		case keyCurrent:
			m.Current, err = it.u16("current")
		case keyEnergy:
			m.Energy, err = it.u16("energy")
		case keyMinutes:
			m.Minutes, err = it.u16("minutes")
		case keyEndTime:
			m.EndTime, err = it.bcdTime("end time")
		case keyEndReason:
			m.EndReason, err = it.u8("end reason")
		case keyChargeMode:
			m.ChargeMode, err = it.u8("charge mode")
		case keyElecAmount:
			m.ElecAmount, err = it.u16("electricity amount")
		case keyServiceAmount:
			m.ServiceAmount, err = it.u16("service amount")
		case keyPeriodCount:
			err = count.read(&it)
		case keyPeriodUsage:
			count.list = true
			m.PeriodUsage, err = decodePeriodUsage(&it)
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

func decodePeriodUsage(it *kvItem) ([][6]byte, error) {
	v := it.value()
	if len(v)%6 != 0 {
		return nil, errAt(it.off, "period usage", fmt.Errorf("%w: %d bytes, want 6 per period", ErrBadLength, len(v)))
	}
	if len(v) == 0 {
		return nil, nil
	}
	u := make([][6]byte, len(v)/6)
	for i := range u {
		copy(u[i][:], v[6*i:])
	}
	return u, nil
}

// appendItems writes the guide's key order (§7.8).
func (m *FeeEnd) appendItems(w *kvWriter) {
	if len(m.PeriodUsage) > 0xff {
		w.fail("period count", fmt.Errorf("%w: %d periods", ErrBadValue, len(m.PeriodUsage)))
		return
	}
	w.u8(keyTemperature, m.MCUTemperature)
	w.u8(keySocket, m.Socket)
	w.u8(keyPort, m.Port)
	w.u8(keyStatus, uint8(m.Status))
	w.u16(keyBusinessNo, m.BusinessNo)
	w.u16(keyPower, m.Power)
	w.u16(keyCurrent, m.Current)
	w.u16(keyEnergy, m.Energy)
	w.u16(keyMinutes, m.Minutes)
	w.bcdTime(keyEndTime, "end time", m.EndTime)
	w.u8(keyEndReason, m.EndReason)
	w.u8(keyChargeMode, m.ChargeMode)
	w.u16(keyElecAmount, m.ElecAmount)
	w.u16(keyServiceAmount, m.ServiceAmount)
	w.u8(keyPeriodCount, uint8(len(m.PeriodUsage)))
	v := make([]byte, 0, 6*len(m.PeriodUsage))
	for _, u := range m.PeriodUsage {
		v = append(v, u[:]...)
	}
	w.put(keyPeriodUsage, v)
}

// FeeEndAck acknowledges a FeeEnd (0x1000/0x1004 down, msg id 0): keys 0x0F
// result, 0x4A socket, 0x08 port (§7.8).
type FeeEndAck struct {
	Seq    uint64
	Result Result
	Socket uint8
	Port   uint8
	Extra  []Extra
}

func (*FeeEndAck) dir() Direction { return Down }

// BKVCommand returns BKVFeeEnd.
func (*FeeEndAck) BKVCommand() uint16 { return BKVFeeEnd }

func (m *FeeEndAck) seq() *uint64 { return &m.Seq }

func (m *FeeEndAck) extras() []Extra { return m.Extra }

func (m *FeeEndAck) decodeItems(l *kvList) error {
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
		case keySocket:
			m.Socket, err = it.u8("socket")
		case keyPort:
			m.Port, err = it.u8("port")
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

func (m *FeeEndAck) appendItems(w *kvWriter) {
	w.u8(keyResult, uint8(m.Result))
	w.u8(keySocket, m.Socket)
	w.u8(keyPort, m.Port)
}
