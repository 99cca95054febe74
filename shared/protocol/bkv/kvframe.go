package bkv

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// BKV commands, carried in key 0x01 of a 0x1000 payload (§5, §8.2). Each
// exists in both directions: a report or command one way and its reply or
// ack the other.
const (
	BKVFeeEnd     uint16 = 0x1004 // up: fee-mode charge end; down: ack
	BKVFeeStart   uint16 = 0x1007 // down: start with electricity + service fee
	BKVEvent      uint16 = 0x1010 // up: exception event; down: ack
	BKVParamSet   uint16 = 0x1011 // down: set socket parameters; up: result
	BKVParamQuery uint16 = 0x1012 // down: query socket parameters; up: values
	BKVReconnect  uint16 = 0x1013 // up: undocumented report sent after reconnect [C]
	BKVStatus     uint16 = 0x1017 // up: socket status report; down: ack
)

// Keys of the BKV key dictionary (§8.4, §7.8–§7.10).
const (
	keyCommand       = 0x01
	keySeq           = 0x02
	keyGateway       = 0x03
	keyTemperature   = 0x07
	keyPort          = 0x08
	keyStatus        = 0x09
	keyBusinessNo    = 0x0A
	keyPower         = 0x0B
	keyCurrent       = 0x0C
	keyEnergy        = 0x0D
	keyMinutes       = 0x0E
	keyResult        = 0x0F
	keyChargeMode    = 0x12
	keySwitch        = 0x13
	keyEndTime       = 0x2E
	keyEndReason     = 0x2F
	keyFirmware      = 0x3E
	keyControlType   = 0x47
	keySocket        = 0x4A
	keyPortList      = 0x5B
	keyFeeBasis      = 0x80
	keyFeePeriods    = 0x83
	keyPeriodUsage   = 0x84
	keyElecAmount    = 0x85
	keyServiceAmount = 0x86
	keyPaidAmount    = 0x88
	keyPeriodCount   = 0x89
	keySocketList    = 0x94
	keyVoltage       = 0x95
	keyRSSI          = 0x96
)

// kvMessage is a message carried in a 0x1000 payload.
type kvMessage interface {
	Message
	// BKVCommand is the BKV command of key 0x01 (§8.2).
	BKVCommand() uint16
	seq() *uint64
	// extras are the items Append puts back between the known ones.
	extras() []Extra
	decodeItems(l *kvList) error
	appendItems(w *kvWriter)
}

// newKV returns an empty message for BKV command cmd travelling in direction
// d, or nil when the pair is not documented (§5).
func newKV(d Direction, cmd uint16) kvMessage {
	if d == Up {
		switch cmd {
		case BKVStatus:
			return &StatusReport{}
		case BKVFeeEnd:
			return &FeeEnd{}
		case BKVEvent:
			return &ExceptionEvent{}
		case BKVParamSet:
			return &ParamSetResult{}
		case BKVParamQuery:
			return &ParamQueryResult{}
		case BKVReconnect:
			return &ReconnectReport{}
		}
		return nil
	}
	switch cmd {
	case BKVStatus:
		return &StatusReportAck{}
	case BKVFeeStart:
		return &FeeStart{}
	case BKVFeeEnd:
		return &FeeEndAck{}
	case BKVEvent:
		return &ExceptionEventAck{}
	case BKVParamSet:
		return &ParamSet{}
	case BKVParamQuery:
		return &ParamQuery{}
	}
	return nil
}

// decodeKVHead reads the fixed head: key 0x01 BKV command (2), key 0x02
// sequence (8), key 0x03 gateway id (7), in that order (§8.2). The gateway
// id must be the frame's (the guide's §2.2.7 mislabels it "socket MAC", §12
// item 11); Append writes the frame's, so the head holds no state of its own
// beyond the sequence.
func decodeKVHead(l *kvList, gw GatewayID) (cmd uint16, seq uint64, err error) {
	head := [...]struct {
		key   uint64
		size  int
		field string
	}{
		{keyCommand, 2, "bkv command"},
		{keySeq, 8, "bkv sequence"},
		{keyGateway, 7, "bkv gateway id"},
	}
	for i, h := range head {
		at := l.off
		it, ok, err := l.next()
		if err != nil {
			return 0, 0, err
		}
		if !ok {
			return 0, 0, errAt(at, h.field, fmt.Errorf("%w: payload ends before key 0x%02x", ErrKVHead, h.key))
		}
		if k, num := it.number(); !num || k != h.key || len(it.value()) != h.size {
			return 0, 0, errAt(it.start, h.field, fmt.Errorf("%w: want key 0x%02x with %d value bytes first", ErrKVHead, h.key, h.size))
		}
		v := it.value()
		switch i {
		case 0:
			cmd = binary.BigEndian.Uint16(v)
		case 1:
			seq = binary.BigEndian.Uint64(v)
		case 2:
			if !bytes.Equal(v, gw[:]) {
				return 0, 0, errAt(it.off, h.field, fmt.Errorf("%w: %x is not the frame's gateway id %v", ErrKVHead, v, gw))
			}
		}
	}
	l.n = 0 // Extra indexes count from the first item after the head
	return cmd, seq, nil
}

func decodeKV(f *Frame, b []byte) (Message, error) {
	l := kvList{b: b, off: payloadOff}
	cmd, seq, err := decodeKVHead(&l, f.GatewayID)
	if err != nil {
		return nil, err
	}
	m := newKV(f.Direction, cmd)
	if m == nil {
		m = &RawKV{Command: cmd}
	}
	*m.seq() = seq
	if err := m.decodeItems(&l); err != nil {
		return nil, err
	}
	return m, nil
}

func appendKV(dst []byte, f *Frame, m kvMessage) ([]byte, error) {
	w := kvWriter{dst: dst}
	w.u16(keyCommand, m.BKVCommand())
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], *m.seq())
	w.put(keySeq, seq[:])
	w.put(keyGateway, f.GatewayID[:])
	w.n = 0
	w.extra = m.extras()
	m.appendItems(&w)
	return w.finish()
}

// RawKV is a 0x1000 payload whose BKV command (in this direction) this
// package does not know, for example a reply the guide does not show (the
// gateway's answer to 0x1007, §14). Items are every item after the fixed
// head, in order.
type RawKV struct {
	Command uint16 // BKV command, key 0x01
	Seq     uint64 // key 0x02 (§4)
	Items   []Item
}

func (*RawKV) dir() Direction { return 0 }

// BKVCommand returns m.Command.
func (m *RawKV) BKVCommand() uint16 { return m.Command }

func (m *RawKV) seq() *uint64 { return &m.Seq }

func (*RawKV) extras() []Extra { return nil }

func (m *RawKV) decodeItems(l *kvList) error {
	for {
		it, ok, err := l.next()
		if err != nil || !ok {
			return err
		}
		m.Items = append(m.Items, it.item())
	}
}

func (m *RawKV) appendItems(w *kvWriter) {
	for _, it := range m.Items {
		w.item(it)
	}
}
