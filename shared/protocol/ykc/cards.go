package ykc

// Offline card lists on the pile (ykc.md §6 0x43–0x48). The spec's examples
// of all six carry wrong length bytes, and 0x45's omits the clear flag
// (vectors ykc-44-spec … ykc-48-spec, §11.4); the layouts below follow the
// tables, as the corrected vectors ykc-44-down-1 … ykc-47-up-1 do.

// Limits on list sizes (ykc.md §5).
const (
	MaxCardSync  = 15 // cards per 0x44
	MaxCardClear = 24 // cards per 0x46
	MaxCardQuery = 26 // cards per 0x48
)

// CardPair is one card of a CardSync.
type CardPair struct {
	LogicalCard  string // 8 BCD
	PhysicalCard string // 8 BIN, hex digits
}

// CardSync stores cards on the pile for offline use, 0x44 down
// (ykc.md §6 0x44: P, N, N × (logical 8, physical 8)).
type CardSync struct {
	PileCode string
	Cards    []CardPair // at most MaxCardSync
}

// FrameType returns TypeCardSync.
func (*CardSync) FrameType() Type { return TypeCardSync }

func (m *CardSync) decodeBody(b []byte, off int) (int, error) {
	var err error
	var n int
	if m.PileCode, off, err = readBCD(b, off, pileCodeSize, "pile_code"); err != nil {
		return off, err
	}
	if n, off, err = readCount(b, off, 2*cardSize); err != nil {
		return off, err
	}
	if n > 0 {
		m.Cards = make([]CardPair, n)
	}
	for i := range m.Cards {
		c := &m.Cards[i]
		if c.LogicalCard, off, err = readBCD(b, off, cardSize, "logical_card"); err != nil {
			return off, err
		}
		if c.PhysicalCard, off, err = readBCD(b, off, cardSize, "physical_card"); err != nil {
			return off, err
		}
	}
	return off, nil
}

func (m *CardSync) appendBody(w *writer) {
	w.bcd(m.PileCode, pileCodeSize, "pile_code")
	w.count(len(m.Cards), MaxCardSync, "card_count")
	for _, c := range m.Cards {
		w.bcd(c.LogicalCard, cardSize, "logical_card")
		w.bcd(c.PhysicalCard, cardSize, "physical_card")
	}
}

func (m *CardSync) fields(f map[string]any) {
	f["pile_code"] = m.PileCode
	f["card_count"] = len(m.Cards)
	cards := make([]any, len(m.Cards))
	for i, c := range m.Cards {
		cards[i] = map[string]any{"logical_card": c.LogicalCard, "physical_card": c.PhysicalCard}
	}
	f["cards"] = cards
}

// CardSyncResult answers CardSync, 0x43 up (ykc.md §6 0x43).
type CardSyncResult struct {
	PileCode   string
	Saved      uint8 // 0 fail, 1 ok
	FailReason uint8 // 1 bad card number, 2 storage full
}

// FrameType returns TypeCardSyncResult.
func (*CardSyncResult) FrameType() Type { return TypeCardSyncResult }

func (m *CardSyncResult) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.PileCode, off, err = readBCD(b, off, pileCodeSize, "pile_code"); err != nil {
		return off, err
	}
	if m.Saved, off, err = readU8(b, off, "result"); err != nil {
		return off, err
	}
	m.FailReason, off, err = readU8(b, off, "fail_reason")
	return off, err
}

func (m *CardSyncResult) appendBody(w *writer) {
	w.bcd(m.PileCode, pileCodeSize, "pile_code")
	w.u8(m.Saved)
	w.u8(m.FailReason)
}

func (m *CardSyncResult) fields(f map[string]any) {
	f["pile_code"] = m.PileCode
	f["result"] = int(m.Saved)
	f["fail_reason"] = int(m.FailReason)
}

// CardClear removes offline cards from the pile, 0x46 down
// (ykc.md §6 0x46: P, N, N × physical 8).
type CardClear struct {
	PileCode      string
	PhysicalCards []string // at most MaxCardClear
}

// FrameType returns TypeCardClear.
func (*CardClear) FrameType() Type { return TypeCardClear }

func (m *CardClear) decodeBody(b []byte, off int) (int, error) {
	var err error
	m.PileCode, m.PhysicalCards, off, err = readCardList(b, off)
	return off, err
}

func (m *CardClear) appendBody(w *writer) {
	w.cardList(m.PileCode, m.PhysicalCards, MaxCardClear)
}

func (m *CardClear) fields(f map[string]any) { putCardList(f, m.PileCode, m.PhysicalCards) }

// CardQuery asks whether cards are stored on the pile, 0x48 down
// (ykc.md §6 0x48: P, N, N × physical 8).
type CardQuery struct {
	PileCode      string
	PhysicalCards []string // at most MaxCardQuery
}

// FrameType returns TypeCardQuery.
func (*CardQuery) FrameType() Type { return TypeCardQuery }

func (m *CardQuery) decodeBody(b []byte, off int) (int, error) {
	var err error
	m.PileCode, m.PhysicalCards, off, err = readCardList(b, off)
	return off, err
}

func (m *CardQuery) appendBody(w *writer) {
	w.cardList(m.PileCode, m.PhysicalCards, MaxCardQuery)
}

func (m *CardQuery) fields(f map[string]any) { putCardList(f, m.PileCode, m.PhysicalCards) }

// CardClearEntry is one card of a CardClearResult.
type CardClearEntry struct {
	PhysicalCard string
	Cleared      uint8 // 0 fail, 1 ok
	FailReason   uint8 // 1 card not found
}

// CardClearResult answers CardClear, 0x45 up (ykc.md §6 0x45:
// P, N × (physical 8, cleared 1, reason 1); no count byte).
type CardClearResult struct {
	PileCode string
	Entries  []CardClearEntry
}

// FrameType returns TypeCardClearResult.
func (*CardClearResult) FrameType() Type { return TypeCardClearResult }

func (m *CardClearResult) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.PileCode, off, err = readBCD(b, off, pileCodeSize, "pile_code"); err != nil {
		return off, err
	}
	if n := entries(b, off, cardSize+2); n > 0 {
		m.Entries = make([]CardClearEntry, n)
	}
	for i := range m.Entries {
		e := &m.Entries[i]
		if e.PhysicalCard, off, err = readBCD(b, off, cardSize, "physical_card"); err != nil {
			return off, err
		}
		if e.Cleared, off, err = readU8(b, off, "cleared"); err != nil {
			return off, err
		}
		if e.FailReason, off, err = readU8(b, off, "fail_reason"); err != nil {
			return off, err
		}
	}
	return off, nil
}

func (m *CardClearResult) appendBody(w *writer) {
	w.bcd(m.PileCode, pileCodeSize, "pile_code")
	for _, e := range m.Entries {
		w.bcd(e.PhysicalCard, cardSize, "physical_card")
		w.u8(e.Cleared)
		w.u8(e.FailReason)
	}
}

func (m *CardClearResult) fields(f map[string]any) {
	f["pile_code"] = m.PileCode
	list := make([]any, len(m.Entries))
	for i, e := range m.Entries {
		list[i] = map[string]any{
			"physical_card": e.PhysicalCard,
			"cleared":       int(e.Cleared),
			"fail_reason":   int(e.FailReason),
		}
	}
	f["entries"] = list
}

// CardQueryEntry is one card of a CardQueryResult.
type CardQueryEntry struct {
	PhysicalCard string
	Exists       uint8 // 0 no, 1 yes
}

// CardQueryResult answers CardQuery, 0x47 up (ykc.md §6 0x47:
// P, N × (physical 8, exists 1); no count byte).
type CardQueryResult struct {
	PileCode string
	Entries  []CardQueryEntry
}

// FrameType returns TypeCardQueryResult.
func (*CardQueryResult) FrameType() Type { return TypeCardQueryResult }

func (m *CardQueryResult) decodeBody(b []byte, off int) (int, error) {
	var err error
	if m.PileCode, off, err = readBCD(b, off, pileCodeSize, "pile_code"); err != nil {
		return off, err
	}
	if n := entries(b, off, cardSize+1); n > 0 {
		m.Entries = make([]CardQueryEntry, n)
	}
	for i := range m.Entries {
		e := &m.Entries[i]
		if e.PhysicalCard, off, err = readBCD(b, off, cardSize, "physical_card"); err != nil {
			return off, err
		}
		if e.Exists, off, err = readU8(b, off, "exists"); err != nil {
			return off, err
		}
	}
	return off, nil
}

func (m *CardQueryResult) appendBody(w *writer) {
	w.bcd(m.PileCode, pileCodeSize, "pile_code")
	for _, e := range m.Entries {
		w.bcd(e.PhysicalCard, cardSize, "physical_card")
		w.u8(e.Exists)
	}
}

func (m *CardQueryResult) fields(f map[string]any) {
	f["pile_code"] = m.PileCode
	list := make([]any, len(m.Entries))
	for i, e := range m.Entries {
		list[i] = map[string]any{"physical_card": e.PhysicalCard, "exists": int(e.Exists)}
	}
	f["entries"] = list
}

// entries is the number of whole entries of size per from off to the end
// of b. The body size was checked against §5 before, so the division is
// exact.
func entries(b []byte, off, per int) int {
	if off >= len(b) {
		return 0
	}
	return (len(b) - off) / per
}

// readCount reads a count byte N and checks that exactly N entries of size
// per follow (ykc.md §6 0x44, 0x46, 0x48).
func readCount(b []byte, off, per int) (int, int, error) {
	n, next, err := readU8(b, off, "card_count")
	if err != nil {
		return 0, off, err
	}
	if int(n) != entries(b, next, per) || (len(b)-next)%per != 0 {
		return 0, off, newError(off, "card_count", ErrBadCount)
	}
	return int(n), next, nil
}

// readCardList reads P, N, N × physical 8 (ykc.md §6 0x46, 0x48).
func readCardList(b []byte, off int) (pile string, cards []string, next int, err error) {
	var n int
	if pile, off, err = readBCD(b, off, pileCodeSize, "pile_code"); err != nil {
		return "", nil, off, err
	}
	if n, off, err = readCount(b, off, cardSize); err != nil {
		return "", nil, off, err
	}
	if n > 0 {
		cards = make([]string, n)
	}
	for i := range cards {
		if cards[i], off, err = readBCD(b, off, cardSize, "physical_card"); err != nil {
			return "", nil, off, err
		}
	}
	return pile, cards, off, nil
}

// count writes a count byte, refusing more than limit entries.
func (w *writer) count(n, limit int, field string) {
	if w.err != nil {
		return
	}
	if n > limit {
		w.err = encodeError(field, "too many entries")
		return
	}
	w.u8(uint8(n))
}

func (w *writer) cardList(pile string, cards []string, limit int) {
	w.bcd(pile, pileCodeSize, "pile_code")
	w.count(len(cards), limit, "card_count")
	for _, c := range cards {
		w.bcd(c, cardSize, "physical_card")
	}
}

func putCardList(f map[string]any, pile string, cards []string) {
	f["pile_code"] = pile
	f["card_count"] = len(cards)
	list := make([]any, len(cards))
	for i, c := range cards {
		list[i] = c
	}
	f["physical_cards"] = list
}
