package bkv

import (
	"encoding/hex"
	"fmt"
)

// GatewayID is the 7-byte id of a gateway (DTU), the same in every frame
// header (§1, §3). It prints as 14 lowercase hex digits ("82200520004869").
type GatewayID [7]byte

func (g GatewayID) String() string { return hex.EncodeToString(g[:]) }

// ParseGatewayID parses the 14 hex digits of a gateway id.
func ParseGatewayID(s string) (GatewayID, error) {
	var g GatewayID
	if len(s) != 2*len(g) {
		return g, fmt.Errorf("bkv: parse gateway id %q: %w: want %d hex digits", s, ErrBadValue, 2*len(g))
	}
	if _, err := hex.Decode(g[:], []byte(s)); err != nil {
		return GatewayID{}, fmt.Errorf("bkv: parse gateway id %q: %w: %w", s, ErrBadValue, err)
	}
	return g, nil
}

// MAC is a socket's 6-byte factory MAC, printed on its back (§1). It prints
// as 12 lowercase hex digits.
type MAC [6]byte

func (m MAC) String() string { return hex.EncodeToString(m[:]) }

// CardNo is a 6-byte card number (§6.2). It is kept as the 12 hex digits
// ("000000298352"); whether the printed card number is those digits read as
// decimal is not stated.
type CardNo [6]byte

func (c CardNo) String() string { return hex.EncodeToString(c[:]) }
