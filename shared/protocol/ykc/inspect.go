package ykc

import (
	"encoding/hex"
	"fmt"
	"reflect"
	"time"
)

// Inspect decodes one whole frame and returns its fields under the names
// used in the vectors' `expect` objects (ykc.md §13), for the
// frame-inspection tool and raw-frame logs. Values are JSON-ready: integers
// as int, unit-converted values as float64 (voltage_v, current_a,
// energy_kwh, _yuan), BCD ids and byte strings as lowercase hex digits,
// times as "YYYY-MM-DD hh:mm:ss.mmm" (wall clock, "" when unset), lists as
// []any. Besides the vector fields it adds "direction" and "message" (the Go
// type name), and "body_hex" for *Raw bodies.
//
// dir is "up", "down" or "": the frame type says which way a frame travels
// (odd up, even down, ykc.md §2), so "" infers it and a contradicting dir is
// an error (ErrDirection).
func Inspect(frame []byte, dir string) (map[string]any, error) {
	if dir != "" && dir != "up" && dir != "down" {
		return nil, newError(0, "direction", ErrDirection)
	}
	f, err := Decode(frame)
	if err != nil {
		return nil, err
	}
	t := Type(frame[offType])
	want := "down"
	if t.FromPile() {
		want = "up"
	}
	if dir != "" && dir != want {
		return nil, newError(offType, "direction", ErrDirection)
	}
	out := map[string]any{
		"direction":  want,
		"message":    reflect.TypeOf(f.Body).Elem().Name(),
		"frame_type": t.String(),
		"length":     int(frame[offLength]),
		"seq":        int(f.Seq),
		"encrypted":  int(frame[offFlag]),
		"crc":        fmt.Sprintf("0x%04x", uint16(frame[len(frame)-2])|uint16(frame[len(frame)-1])<<8),
	}
	f.Body.fields(out)
	return out, nil
}

// Unit conversions for Inspect only; wire structs keep wire units.

// scaled returns v / 10^d. One correctly rounded division gives the float64
// nearest the decimal value, the same number a JSON parser makes of it.
func scaled(v uint64, d int) float64 {
	div := 1.0
	for range d {
		div *= 10
	}
	return float64(v) / div
}

// gbtCurrent converts a GB/T 27930 current, 0.1 A with a −400 A offset
// (ykc.md §6 BMS messages), to amperes.
func gbtCurrent(v uint16) float64 { return float64(int(v)-4000) / 10 }

func hexString(b []byte) string { return hex.EncodeToString(b) }

func hexByte(v uint8) string { return fmt.Sprintf("0x%02x", v) }

// formatTime prints a wall-clock time as the vectors do; the zero time
// (an all-zero CP56Time2a) prints as "".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02 15:04:05.000")
}
