package ykc

// Parking locks (ykc.md §6 0x61–0x63). The spec's examples have wrong length
// bytes and 0x61's omits the lock-state byte (vectors ykc-61-spec,
// ykc-62-spec, ykc-63-spec, §11.4).

// Lock states, parking states, alarms and actions (ykc.md §6 0x61, 0x62).
const (
	LockNotInPosition uint8 = 0x00
	LockRaised        uint8 = 0x55
	LockLowered       uint8 = 0xFF

	ParkingFree     uint8 = 0x00
	ParkingOccupied uint8 = 0xFF

	LockAlarmNone       uint8 = 0x00
	LockAlarmArmStuck   uint8 = 0x55
	LockAlarmArmDamaged uint8 = 0xFF

	LockActionRaise uint8 = 0x55
	LockActionLower uint8 = 0xFF
)

// LockStatus is a parking lock's state, 0x61 up on every change and every
// 5 min (ykc.md §6 0x61).
type LockStatus struct {
	PileCode string
	Gun      string
	State    uint8 // LockNotInPosition, LockRaised, LockLowered
	Parking  uint8 // ParkingFree, ParkingOccupied
	Battery  uint8 // lock battery, %
	Alarm    uint8 // LockAlarm*
	Reserved [4]byte
}

// FrameType returns TypeLockStatus.
func (*LockStatus) FrameType() Type { return TypeLockStatus }

// decodeBody reads §6 0x61: P, G, lock state, parking, battery, alarm,
// reserved 4 (16 bytes).
func (m *LockStatus) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.PileCode, m.Gun, off, err = readPileGun(b, off); err != nil {
		return off, err
	}
	if m.State, off, err = readU8(b, off, "lock_state"); err != nil {
		return off, err
	}
	if m.Parking, off, err = readU8(b, off, "parking_state"); err != nil {
		return off, err
	}
	if m.Battery, off, err = readU8(b, off, "lock_battery_pct"); err != nil {
		return off, err
	}
	if m.Alarm, off, err = readU8(b, off, "alarm"); err != nil {
		return off, err
	}
	return readInto(b, off, m.Reserved[:], "reserved")
}

func (m *LockStatus) appendBody(w *writer) {
	w.pileGun(m.PileCode, m.Gun)
	w.u8(m.State)
	w.u8(m.Parking)
	w.u8(m.Battery)
	w.u8(m.Alarm)
	w.bytes(m.Reserved[:])
}

func (m *LockStatus) fields(f map[string]any) {
	putPileGun(f, m.PileCode, m.Gun)
	f["lock_state"] = int(m.State)
	f["parking_state"] = int(m.Parking)
	f["lock_battery_pct"] = int(m.Battery)
	f["alarm"] = int(m.Alarm)
}

// LockControl raises or lowers a parking lock, 0x62 down; the pile answers
// with LockControlResult (ykc.md §6 0x62).
type LockControl struct {
	PileCode string
	Gun      string
	Action   uint8 // LockActionRaise, LockActionLower
	Reserved [4]byte
}

// FrameType returns TypeLockControl.
func (*LockControl) FrameType() Type { return TypeLockControl }

// decodeBody reads §6 0x62: P, G, action, reserved 4 (13 bytes).
func (m *LockControl) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.PileCode, m.Gun, off, err = readPileGun(b, off); err != nil {
		return off, err
	}
	if m.Action, off, err = readU8(b, off, "action"); err != nil {
		return off, err
	}
	return readInto(b, off, m.Reserved[:], "reserved")
}

func (m *LockControl) appendBody(w *writer) {
	w.pileGun(m.PileCode, m.Gun)
	w.u8(m.Action)
	w.bytes(m.Reserved[:])
}

func (m *LockControl) fields(f map[string]any) {
	putPileGun(f, m.PileCode, m.Gun)
	f["action"] = int(m.Action)
}

// LockControlResult answers LockControl, 0x63 up (ykc.md §6 0x63).
type LockControlResult struct {
	PileCode string
	Gun      string
	Result   uint8 // 1 ok, 0 failed
	Reserved [4]byte
}

// FrameType returns TypeLockControlResult.
func (*LockControlResult) FrameType() Type { return TypeLockControlResult }

// decodeBody reads §6 0x63: P, G, result, reserved 4 (13 bytes).
func (m *LockControlResult) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.PileCode, m.Gun, off, err = readPileGun(b, off); err != nil {
		return off, err
	}
	if m.Result, off, err = readU8(b, off, "result"); err != nil {
		return off, err
	}
	return readInto(b, off, m.Reserved[:], "reserved")
}

func (m *LockControlResult) appendBody(w *writer) {
	w.pileGun(m.PileCode, m.Gun)
	w.u8(m.Result)
	w.bytes(m.Reserved[:])
}

func (m *LockControlResult) fields(f map[string]any) {
	putPileGun(f, m.PileCode, m.Gun)
	f["result"] = int(m.Result)
}
