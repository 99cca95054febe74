package inspect

import (
	"encoding/hex"
	"errors"
	"testing"
)

func TestForEachProtocol(t *testing.T) {
	frames := map[string]string{
		"bkv":    "fcfe002e0000000000000182200520004869383938363034363331313230373033313934313763562e31723436001fcafcee",
		"ap3000": "444e590a003b37ab04b9000100d002",
	}
	for _, p := range Protocols() {
		c, err := For(p)
		if err != nil {
			t.Fatalf("For(%s): %v", p, err)
		}
		h, ok := frames[p]
		if !ok {
			continue
		}
		raw, _ := hex.DecodeString(h)
		if n, err := c.Split(raw); err != nil || n != len(raw) {
			t.Errorf("%s Split = %d, %v", p, n, err)
		}
		if _, err := c.Inspect(raw, ""); err != nil {
			t.Errorf("%s Inspect: %v", p, err)
		}
		raw[len(raw)-3] ^= 0xff
		_, err = c.Inspect(raw, "")
		if _, ok := Offset(err); err == nil || !ok {
			t.Errorf("%s corrupted frame: err %v, want an error with an offset", p, err)
		}
	}
	if _, err := For("ocpp"); !errors.Is(err, ErrUnknownProtocol) {
		t.Errorf("For(ocpp) = %v", err)
	}
}
