package ap3000

import (
	"encoding/binary"
	"reflect"
	"time"
)

// Inspect decodes one whole frame and returns its fields under the names
// used in the vectors' `expect` objects (ap3000.md §14), for the
// frame-inspection tool and raw-frame logs. Values are JSON-ready: integers
// as int, unit-converted values as float64 (voltage_v, power_w, energy_kwh,
// current_a), ids and byte strings as lowercase hex, lists as []any.
// Besides the vector fields it adds "direction" and "message" (the Go type
// name), and "extra_hex" when a message carries bytes this package does not
// know.
//
// dir is "up", "down" or "". With "" the direction is inferred: the layout
// of the side that starts the exchange (the device for 0x01–0x06,
// 0x20–0x22, 0x41–0x44; the server otherwise) is used if the data fits it
// exactly, else the other side's layout if that fits exactly, else whichever
// decodes. Request and reply can be byte-identical (0x8D, 0x97 with 0),
// in which case the initiator wins.
func Inspect(frame []byte, dir string) (map[string]any, error) {
	var f *Frame
	var err error
	switch dir {
	case "up":
		f, err = DecodeDir(frame, Up)
	case "down":
		f, err = DecodeDir(frame, Down)
	case "":
		f, err = decodeInferred(frame)
	default:
		return nil, newError(0, "direction", ErrDirection)
	}
	if err != nil {
		return nil, err
	}
	out := map[string]any{
		"direction": f.Body.Direction().String(),
		"message":   messageName(f.Body),
	}
	switch f.Body.(type) {
	case *ICCID, *Link:
		f.Body.fields(out)
		return out, nil
	}
	out["phy_id"] = f.PhysicalID.String()
	out["device_code"] = int(f.PhysicalID.DeviceCode())
	out["device_no"] = int(f.PhysicalID.DeviceNumber())
	out["msg_id"] = int(f.MessageID)
	out["command"] = f.Command.String()
	out["length"] = int(binary.LittleEndian.Uint16(frame[offLength:]))
	out["checksum"] = "0x" + hexString([]byte{frame[len(frame)-1], frame[len(frame)-2]})
	f.Body.fields(out)
	return out, nil
}

// decodeInferred decodes frame in the direction inferred as Inspect
// documents.
func decodeInferred(frame []byte) (*Frame, error) {
	if len(frame) <= offCmd || decodePreamble(frame) != nil {
		return Decode(frame)
	}
	first := Command(frame[offCmd]).initiator()
	second := Up
	if first == Up {
		second = Down
	}
	f1, err1 := DecodeDir(frame, first)
	if err1 == nil && exact(f1.Body) {
		return f1, nil
	}
	f2, err2 := DecodeDir(frame, second)
	if err2 == nil && exact(f2.Body) {
		return f2, nil
	}
	if err1 == nil {
		return f1, nil
	}
	if err2 == nil {
		return f2, nil
	}
	return nil, err1
}

// exact reports whether a body used all data bytes: no Extra, and not Raw.
func exact(m Message) bool {
	if _, ok := m.(*Raw); ok {
		return false
	}
	v := reflect.ValueOf(m).Elem().FieldByName("Extra")
	return !v.IsValid() || v.Len() == 0
}

func messageName(m Message) string { return reflect.TypeOf(m).Elem().Name() }

// Unit conversions for Inspect only; wire structs keep wire units (§6).

func deci(v uint16) float64  { return float64(v) / 10 }
func centi(v uint16) float64 { return float64(v) / 100 }
func milli(v uint16) float64 { return float64(v) / 1000 }

func putTemp(f map[string]any, key string, t Temperature) {
	f[key+"_raw"] = int(t)
	if c, ok := t.Celsius(); ok {
		f[key+"_c"] = c
	}
}

func putTime(f map[string]any, key string, t time.Time) {
	f[key] = int(t.Unix())
	f[key+"_utc"] = t.UTC().Format(time.RFC3339)
}

func putOptU8(f map[string]any, key string, v *uint8) {
	if v != nil {
		f[key] = int(*v)
	}
}

func putExtra(f map[string]any, extra []byte) {
	if len(extra) > 0 {
		f["extra_hex"] = hexString(extra)
	}
}
