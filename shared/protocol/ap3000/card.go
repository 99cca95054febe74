package ap3000

import "time"

// CardSwipe is a card on a port, or a balance query when Port is 0xFF,
// 0x02 up (ap3000.md §5, §7.1, §9 "Card swipe charging").
type CardSwipe struct {
	CardID   CardID
	CardType CardType // §8 "Card type"
	Port     uint8    // 0-based (§4); 0xFF = balance query
	Balance  uint16   // card balance, fen (§7.1)
	// Optional (§7.1, after the |). The guide's example stops before them
	// (vector ap3000-02-up-1).
	Timestamp *time.Time // debug only
	// Card2 is the second card number (the social-security number for
	// CardSocialSecurity), length-prefixed on the wire. nil means the length
	// byte is absent; an empty non-nil slice means it is present and 0.
	Card2 []byte
	Extra []byte
}

// Command returns CmdCardSwipe.
func (*CardSwipe) Command() Command { return CmdCardSwipe }

// Direction returns Up.
func (*CardSwipe) Direction() Direction { return Up }

func decodeCardSwipe(b []byte) (*CardSwipe, error) {
	m := &CardSwipe{}
	off := HeaderSize
	var err error
	if m.CardID, off, err = readCardID(b, off, "card_id"); err != nil {
		return nil, err
	}
	var u uint8
	if u, off, err = readU8(b, off, "card_type"); err != nil {
		return nil, err
	}
	m.CardType = CardType(u)
	if m.Port, off, err = readU8(b, off, "port"); err != nil {
		return nil, err
	}
	if m.Balance, off, err = readU16(b, off, "balance"); err != nil {
		return nil, err
	}
	ok := true
	m.Timestamp, off, ok = optTime(b, off, ok)
	if ok && off < len(b) {
		// §7.1: card-2 length 1, then card-2 N. A length byte that promises
		// more than the frame holds is malformed, not an older layout.
		var n uint8
		if n, off, err = readU8(b, off, "card2_len"); err != nil {
			return nil, err
		}
		if m.Card2, off, err = readBytes(b, off, int(n), "card2"); err != nil {
			return nil, err
		}
	}
	m.Extra = rest(b, off)
	return m, nil
}

func (m *CardSwipe) appendData(dst []byte) ([]byte, error) {
	if err := checkTail("timestamp", m.Extra, opt(m.Timestamp != nil, 4), opt(m.Card2 != nil, 1)); err != nil {
		return dst, err
	}
	if len(m.Card2) > 0xFF {
		return dst, encodeError("card2", "longer than 255 bytes")
	}
	dst = append(dst, m.CardID[:]...)
	dst = append(dst, byte(m.CardType), m.Port)
	dst = appendU16(dst, m.Balance)
	if m.Timestamp != nil {
		var err error
		if dst, err = appendTime(dst, *m.Timestamp, "timestamp"); err != nil {
			return dst, err
		}
	}
	if m.Card2 != nil {
		dst = append(dst, byte(len(m.Card2)))
		dst = append(dst, m.Card2...)
	}
	return append(dst, m.Extra...), nil
}

func (m *CardSwipe) fields(f map[string]any) {
	f["card_id"] = m.CardID.String()
	f["card_id_dec"] = int(m.CardID.Uint32())
	f["card_type"] = int(m.CardType)
	f["port"] = int(m.Port)
	f["balance_fen"] = int(m.Balance)
	if m.Timestamp != nil {
		putTime(f, "timestamp", *m.Timestamp)
	}
	if m.Card2 != nil {
		f["card2"] = hexString(m.Card2)
	}
	putExtra(f, m.Extra)
}

// CardReply is the server's answer to CardSwipe, 0x02 down; send it before
// any 0x82 start on that port (ap3000.md §7.2, §9).
type CardReply struct {
	CardID          CardID
	Status          AccountStatus // §8 "Account status"; each value has a voice prompt
	RateMode        RateMode
	BalanceOrExpiry BalanceOrExpiry // for the voice prompt only (§7.3)
	Port            uint8           // echo the request's port (0xFF for a balance query)
	Extra           []byte
}

// Command returns CmdCardSwipe.
func (*CardReply) Command() Command { return CmdCardSwipe }

// Direction returns Down.
func (*CardReply) Direction() Direction { return Down }

func decodeCardReply(b []byte) (*CardReply, error) {
	m := &CardReply{}
	off := HeaderSize
	var err error
	if m.CardID, off, err = readCardID(b, off, "card_id"); err != nil {
		return nil, err
	}
	var u uint8
	if u, off, err = readU8(b, off, "account_status"); err != nil {
		return nil, err
	}
	m.Status = AccountStatus(u)
	if u, off, err = readU8(b, off, "rate_mode"); err != nil {
		return nil, err
	}
	m.RateMode = RateMode(u)
	var v uint32
	if v, off, err = readU32(b, off, "balance_or_expiry"); err != nil {
		return nil, err
	}
	m.BalanceOrExpiry = BalanceOrExpiry(v)
	if m.Port, off, err = readU8(b, off, "port"); err != nil {
		return nil, err
	}
	m.Extra = rest(b, off)
	return m, nil
}

func (m *CardReply) appendData(dst []byte) ([]byte, error) {
	dst = append(dst, m.CardID[:]...)
	dst = append(dst, byte(m.Status), byte(m.RateMode))
	dst = appendU32(dst, uint32(m.BalanceOrExpiry))
	dst = append(dst, m.Port)
	return append(dst, m.Extra...), nil
}

func (m *CardReply) fields(f map[string]any) {
	f["card_id"] = m.CardID.String()
	f["account_status"] = int(m.Status)
	f["rate_mode"] = int(m.RateMode)
	f["balance_or_expiry"] = int(m.BalanceOrExpiry)
	f["port"] = int(m.Port)
	putExtra(f, m.Extra)
}
