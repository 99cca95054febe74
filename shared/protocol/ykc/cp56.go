package ykc

import "time"

// CP56Time2a (ykc.md §3), 7 bytes:
//
//	0–1  milliseconds within the minute (seconds × 1000 + ms, 0–59999), LE
//	2    minute in bits 0–5; bit 7 is the "invalid" flag
//	3    hour in bits 0–4; bit 7 is the summer-time flag
//	4    day of month in bits 0–4; day of week in bits 5–7
//	5    month in bits 0–3
//	6    year − 2000 in bits 0–6
//
// The pile's clock is a wall clock with no zone on the wire. Decoding puts
// those wall-clock fields into a time.Time in time.UTC without any zone
// conversion: 17:14:47 on the wire is 17:14:47 UTC in Go, whatever zone the
// pile stands in. Encoding writes the wall-clock fields of the time.Time as it
// is (t.Hour() in t's own location), so a value decoded here encodes back to
// the same fields. The flag bits and the day of week are not kept; Append
// writes them as 0, as the spec's own example does (ykc.md §3, vector
// ykc-56-down-1). Sub-millisecond precision is truncated.
//
// An all-zero time (every field 0, as piles send for "not set") decodes to the
// zero time.Time, and the zero time.Time encodes to seven zero bytes.

const cp56Size = 7

func readCP56(b []byte, off int, field string) (time.Time, int, error) {
	if err := need(b, off, cp56Size, field); err != nil {
		return time.Time{}, off, err
	}
	p := b[off : off+cp56Size]
	ms := int(p[0]) | int(p[1])<<8
	minute := int(p[2] & 0x3F)
	hour := int(p[3] & 0x1F)
	day := int(p[4] & 0x1F)
	month := int(p[5] & 0x0F)
	year := 2000 + int(p[6]&0x7F)
	if ms == 0 && minute == 0 && hour == 0 && day == 0 && month == 0 && year == 2000 {
		return time.Time{}, off + cp56Size, nil
	}
	if ms > 59999 || minute > 59 || hour > 23 || month < 1 || month > 12 ||
		day < 1 || day > daysIn(time.Month(month), year) {
		return time.Time{}, off, newError(off, field, ErrBadTime)
	}
	t := time.Date(year, time.Month(month), day, hour, minute, ms/1000, (ms%1000)*int(time.Millisecond), time.UTC)
	return t, off + cp56Size, nil
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// cp56 writes t's wall-clock fields as CP56Time2a.
func (w *writer) cp56(t time.Time, field string) {
	if w.err != nil {
		return
	}
	if t.IsZero() {
		w.b = append(w.b, 0, 0, 0, 0, 0, 0, 0)
		return
	}
	y := t.Year() - 2000
	if y < 0 || y > 127 {
		w.err = encodeError(field, "year outside 2000–2127")
		return
	}
	ms := t.Second()*1000 + t.Nanosecond()/int(time.Millisecond)
	w.b = append(w.b, byte(ms), byte(ms>>8), byte(t.Minute()), byte(t.Hour()),
		byte(t.Day()), byte(t.Month()), byte(y))
}
