package bkv

// ReconnectReport is the undocumented BKV command 0x1013 (up, msg id 0) that
// the captured gateway sends after every (re)connect [C] (§2, §5, vectors
// bkv-1013-up-1, bkv-1013-up-2). Only key 0x4A (socket) is interpreted. The
// rest is kept in Extra: 0x08 = 0x7F, 0x06 (looks like a BCD date-time [I])
// and 0x5A are not understood (§14). No reply has been seen.
type ReconnectReport struct {
	Seq    uint64 // key 0x02: zero for gateway reports (§4)
	Socket uint8  // key 0x4A
	Extra  []Extra
}

func (*ReconnectReport) dir() Direction { return Up }

// BKVCommand returns BKVReconnect.
func (*ReconnectReport) BKVCommand() uint16 { return BKVReconnect }

func (m *ReconnectReport) seq() *uint64 { return &m.Seq }

func (m *ReconnectReport) extras() []Extra { return m.Extra }

func (m *ReconnectReport) decodeItems(l *kvList) error {
	var seen keySet
	for {
		it, ok, err := l.next()
		if err != nil || !ok {
			return err
		}
		switch it.key() {
		case keySocket:
			m.Socket, err = it.u8("socket")
		default:
			m.Extra = append(m.Extra, it.extra())
			continue
		}
		if err == nil {
			err = seen.once(&it)
		}
		if err != nil {
			return err
		}
	}
}

func (m *ReconnectReport) appendItems(w *kvWriter) {
	w.u8(keySocket, m.Socket)
}
