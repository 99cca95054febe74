package bkv

import "time"

// Heartbeat is the gateway's heartbeat (command 0x0000 up, msg id 0), sent
// after connecting and every minute (§2, §7.1). Answer it with a
// HeartbeatReply.
type Heartbeat struct {
	ICCID    string // SIM ICCID, 20 ASCII bytes (§7.1); trailing NULs dropped
	Firmware string // gateway firmware, 8 ASCII bytes NUL-padded (§7.1): "cV.1r46", "200.1.17"
	Signal   uint8  // signal strength 0–31, raw (§6.2, §7.1)
}

func (*Heartbeat) dir() Direction { return Up }

func (m *Heartbeat) decode(c *cursor) {
	m.ICCID = c.text("iccid", 20)
	m.Firmware = c.text("firmware", 8)
	m.Signal = c.u8("signal")
}

func (m *Heartbeat) append(dst []byte) ([]byte, error) {
	dst, err := appendText(dst, "iccid", m.ICCID, 20)
	if err != nil {
		return dst, err
	}
	if dst, err = appendText(dst, "firmware", m.Firmware, 8); err != nil {
		return dst, err
	}
	return append(dst, m.Signal), nil
}

// HeartbeatReply is the platform's answer to a heartbeat (command 0x0000
// down, msg id 0): the current time as 7 BCD bytes YYYY MM DD hh mm ss
// (§7.1, §11). The guide's examples use Beijing wall-clock time.
//
// Time is a wall-clock value: Decode returns the device's fields in time.UTC
// without zone conversion, and Append writes Time's own wall-clock fields (in
// whatever location it carries), so pass time.Now().In(siteLocation).
type HeartbeatReply struct {
	Time time.Time
}

func (*HeartbeatReply) dir() Direction { return Down }

func (m *HeartbeatReply) decode(c *cursor) {
	m.Time = c.bcdTime("time")
}

func (m *HeartbeatReply) append(dst []byte) ([]byte, error) {
	return appendBCDTime(dst, "time", m.Time)
}
