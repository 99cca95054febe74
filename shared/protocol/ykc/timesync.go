package ykc

import "time"

// TimeSync sets the pile's clock, 0x56 down, daily; the pile echoes the time
// in TimeSyncResult (ykc.md §6 0x56, §8). Time is the pile's wall clock as a
// time.Time whose fields are written as they are (see cp56.go): to set a
// pile in China to 17:14:47 local, send a time whose Hour() is 17.
type TimeSync struct {
	PileCode string
	Time     time.Time
}

// FrameType returns TypeTimeSync.
func (*TimeSync) FrameType() Type { return TypeTimeSync }

// decodeBody reads §6 0x56: P, time 7 CP56 (14 bytes).
func (m *TimeSync) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.PileCode, off, err = readBCD(b, off, pileCodeSize, "pile_code"); err != nil {
		return off, err
	}
	m.Time, off, err = readCP56(b, off, "time")
	return off, err
}

func (m *TimeSync) appendBody(w *writer) {
	w.bcd(m.PileCode, pileCodeSize, "pile_code")
	w.cp56(m.Time, "time")
}

func (m *TimeSync) fields(f map[string]any) {
	f["pile_code"] = m.PileCode
	f["time"] = formatTime(m.Time)
}

// TimeSyncResult is the pile's echo of TimeSync, 0x55 up (ykc.md §6 0x55).
type TimeSyncResult struct {
	PileCode string
	Time     time.Time
}

// FrameType returns TypeTimeSyncResult.
func (*TimeSyncResult) FrameType() Type { return TypeTimeSyncResult }

// decodeBody reads §6 0x55: P, time 7 CP56 (14 bytes).
func (m *TimeSyncResult) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.PileCode, off, err = readBCD(b, off, pileCodeSize, "pile_code"); err != nil {
		return off, err
	}
	m.Time, off, err = readCP56(b, off, "time")
	return off, err
}

func (m *TimeSyncResult) appendBody(w *writer) {
	w.bcd(m.PileCode, pileCodeSize, "pile_code")
	w.cp56(m.Time, "time")
}

func (m *TimeSyncResult) fields(f map[string]any) {
	f["pile_code"] = m.PileCode
	f["time"] = formatTime(m.Time)
}
