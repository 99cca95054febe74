// Package inspect decodes charger frames of any supported protocol for
// people: the frame inspection tool and the edge's raw-frame log. It maps a
// protocol name to that codec's Split and Inspect and reads error offsets.
package inspect

import (
	"errors"
	"fmt"

	"github.com/chargeplane/chargeplane/shared/protocol/ap3000"
	"github.com/chargeplane/chargeplane/shared/protocol/bkv"
	"github.com/chargeplane/chargeplane/shared/protocol/ykc"
)

// Protocols lists the protocol names this package knows.
func Protocols() []string { return []string{"bkv", "ap3000", "ykc"} }

// ErrUnknownProtocol reports a protocol name not in Protocols.
var ErrUnknownProtocol = errors.New("unknown protocol")

// Codec is the part of a protocol codec that inspection needs.
type Codec struct {
	Split   func([]byte) (int, error)
	Inspect func(frame []byte, dir string) (map[string]any, error)
}

// For returns the codec of a protocol.
func For(protocol string) (Codec, error) {
	switch protocol {
	case "bkv":
		return Codec{bkv.Split, bkv.Inspect}, nil
	case "ap3000":
		return Codec{ap3000.Split, ap3000.Inspect}, nil
	case "ykc":
		return Codec{ykc.Split, ykc.Inspect}, nil
	}
	return Codec{}, fmt.Errorf("%q: %w", protocol, ErrUnknownProtocol)
}

// Offset returns the byte offset a codec error points at.
func Offset(err error) (int, bool) {
	var (
		be *bkv.Error
		ae *ap3000.Error
		ye *ykc.Error
	)
	switch {
	case errors.As(err, &be):
		return be.Offset, true
	case errors.As(err, &ae):
		return ae.Offset, true
	case errors.As(err, &ye):
		return ye.Offset, true
	}
	return 0, false
}
