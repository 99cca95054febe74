package ykc

// Identifier fields (ykc.md §3). Ids are kept as the digit strings the spec
// prints: BCD fields as their digits, the BIN physical card as its hex digits.
const (
	pileCodeSize   = 7  // pile code, 7 BCD, issued by the platform
	gunSize        = 1  // gun number, 1 BCD ("01")
	tradeNoSize    = 16 // transaction number, 16 BCD
	cardSize       = 8  // physical card (8 BIN) or logical card (8 BCD)
	modelCodeSize  = 2  // billing model number, 2 BCD
	parallelNoSize = 6  // parallel-charge id, 6 BCD YYMMDDhhmmss (§6 0xA1–0xA4)
	simSize        = 10 // SIM number, 10 BCD (20 digits)
	vinSize        = 17 // VIN, 17 ASCII
)

// readPileGun reads the pile code and gun number that open many bodies.
func readPileGun(b []byte, off int) (pile, gun string, next int, err error) {
	if pile, off, err = readBCD(b, off, pileCodeSize, "pile_code"); err != nil {
		return "", "", off, err
	}
	if gun, off, err = readBCD(b, off, gunSize, "gun_no"); err != nil {
		return "", "", off, err
	}
	return pile, gun, off, nil
}

// readSession reads transaction number, pile code and gun number ("T, P, G"
// in ykc.md §6), which open the session messages.
func readSession(b []byte, off int) (trade, pile, gun string, next int, err error) {
	if trade, off, err = readBCD(b, off, tradeNoSize, "trade_no"); err != nil {
		return "", "", "", off, err
	}
	if pile, gun, off, err = readPileGun(b, off); err != nil {
		return "", "", "", off, err
	}
	return trade, pile, gun, off, nil
}

func (w *writer) pileGun(pile, gun string) {
	w.bcd(pile, pileCodeSize, "pile_code")
	w.bcd(gun, gunSize, "gun_no")
}

func (w *writer) session(trade, pile, gun string) {
	w.bcd(trade, tradeNoSize, "trade_no")
	w.pileGun(pile, gun)
}

func putPileGun(f map[string]any, pile, gun string) {
	f["pile_code"] = pile
	f["gun_no"] = gun
}

func putSession(f map[string]any, trade, pile, gun string) {
	f["trade_no"] = trade
	putPileGun(f, pile, gun)
}
