package site

import (
	"fmt"
	"strings"
)

// This file holds the pure rules of the package: no I/O.

// MinutesPerDay bounds TariffPeriod.StartMinute.
const MinutesPerDay = 24 * 60

// MaxPriceMfenPerKWh bounds a tariff price: 10^9 milli-fen is 10,000 yuan per
// kWh, far above any real price, and keeps energy × price within int64 for
// sessions of up to 9 GWh.
const MaxPriceMfenPerKWh = 1_000_000_000

// maxPeriods bounds a tariff: half-hour periods all day are 48.
const maxPeriods = 96

// CheckTariff checks t as the edge's pricing rule needs it (shared contract
// "Pricing rule"): at least one period, the first at minute 0, start
// minutes strictly increasing and below 1440, prices from 0 to
// MaxPriceMfenPerKWh. field prefixes the InvalidError's field.
func CheckTariff(field string, t Tariff) error {
	bad := func(f, format string, args ...any) error {
		return &InvalidError{Field: field + f, Reason: fmt.Sprintf(format, args...)}
	}
	if err := checkText(field+".id", t.ID, MaxIDLen); err != nil {
		return err
	}
	switch {
	case len(t.Periods) == 0:
		return bad(".periods", "at least one period is required")
	case len(t.Periods) > maxPeriods:
		return bad(".periods", "at most %d periods, got %d", maxPeriods, len(t.Periods))
	}
	for i, p := range t.Periods {
		f := fmt.Sprintf(".periods[%d]", i)
		switch {
		case i == 0 && p.StartMinute != 0:
			return bad(f+".start_minute", "the first period must start at minute 0, got %d", p.StartMinute)
		case p.StartMinute >= MinutesPerDay:
			return bad(f+".start_minute", "must be below %d (minutes of a day), got %d", MinutesPerDay, p.StartMinute)
		case i > 0 && p.StartMinute <= t.Periods[i-1].StartMinute:
			return bad(f+".start_minute", "periods must be sorted by start minute without repeats: %d follows %d",
				p.StartMinute, t.Periods[i-1].StartMinute)
		}
		if err := checkPrice(field+f+".electricity_mfen_per_kwh", p.ElectricityMfenPerKWh); err != nil {
			return err
		}
		if err := checkPrice(field+f+".service_mfen_per_kwh", p.ServiceMfenPerKWh); err != nil {
			return err
		}
	}
	return nil
}

func checkPrice(field string, v int64) error {
	if v < 0 || v > MaxPriceMfenPerKWh {
		return &InvalidError{Field: field, Reason: fmt.Sprintf("must be between 0 and %d, got %d", MaxPriceMfenPerKWh, v)}
	}
	return nil
}

// CheckPolicy checks an unknown-card policy.
func CheckPolicy(field, policy string) error {
	if policy != PolicyAccept && policy != PolicyReject {
		return &InvalidError{Field: field, Reason: fmt.Sprintf("must be %q or %q, got %q", PolicyAccept, PolicyReject, policy)}
	}
	return nil
}

// NormalizeCardID returns the stored form of a card id: lowercase. Cards
// are matched case-insensitively because protocols print the same UID in
// either case.
func NormalizeCardID(id string) string { return strings.ToLower(id) }

// checkID checks a required id: non-empty, bounded and printable (no
// control characters).
func checkID(field, v string) error {
	switch {
	case v == "":
		return &InvalidError{Field: field, Reason: "required"}
	case len(v) > MaxIDLen:
		return &InvalidError{Field: field, Reason: fmt.Sprintf("at most %d bytes, got %d", MaxIDLen, len(v))}
	case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return &InvalidError{Field: field, Reason: "must not contain control characters"}
	}
	return nil
}

// checkText checks an optional free-text value: bounded, and without NUL,
// which Postgres text cannot hold.
func checkText(field, v string, max int) error {
	switch {
	case len(v) > max:
		return &InvalidError{Field: field, Reason: fmt.Sprintf("at most %d bytes, got %d", max, len(v))}
	case strings.ContainsRune(v, 0):
		return &InvalidError{Field: field, Reason: "must not contain NUL"}
	}
	return nil
}

func checkAmount(field string, v int64, min int64) error {
	if v < min || v > MaxAmountFen {
		return &InvalidError{Field: field, Reason: fmt.Sprintf("must be between %d and %d, got %d", min, MaxAmountFen, v)}
	}
	return nil
}

// checkCards checks the cards of a PutCards call and returns them with
// their ids normalized.
func checkCards(cards []Card) ([]Card, error) {
	switch {
	case len(cards) == 0:
		return nil, &InvalidError{Field: "cards", Reason: "at least one card is required"}
	case len(cards) > MaxCardsPerCall:
		return nil, &InvalidError{Field: "cards", Reason: fmt.Sprintf("at most %d per call, got %d", MaxCardsPerCall, len(cards))}
	}
	out := make([]Card, len(cards))
	seen := make(map[string]int, len(cards))
	for i, c := range cards {
		f := fmt.Sprintf("cards[%d]", i)
		c.ID = NormalizeCardID(c.ID)
		if err := checkID(f+".card_id", c.ID); err != nil {
			return nil, err
		}
		if j, dup := seen[c.ID]; dup {
			return nil, &InvalidError{Field: f + ".card_id", Reason: fmt.Sprintf("%q repeats cards[%d]", c.ID, j)}
		}
		seen[c.ID] = i
		if err := checkAmount(f+".balance_fen", c.BalanceFen, -MaxAmountFen); err != nil {
			return nil, err
		}
		if err := checkAmount(f+".offline_limit_fen", c.OfflineLimitFen, 0); err != nil {
			return nil, err
		}
		if err := checkText(f+".user_id", c.UserID, MaxIDLen); err != nil {
			return nil, err
		}
		c.Version = 0
		out[i] = c
	}
	return out, nil
}

// checkCardIDs checks the ids of a DeleteCards call and returns them
// normalized and without repeats.
func checkCardIDs(ids []string) ([]string, error) {
	switch {
	case len(ids) == 0:
		return nil, &InvalidError{Field: "card_ids", Reason: "at least one card id is required"}
	case len(ids) > MaxCardsPerCall:
		return nil, &InvalidError{Field: "card_ids", Reason: fmt.Sprintf("at most %d per call, got %d", MaxCardsPerCall, len(ids))}
	}
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		id = NormalizeCardID(id)
		if err := checkID(fmt.Sprintf("card_ids[%d]", i), id); err != nil {
			return nil, err
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// ParseYuanPerKWh parses a price in yuan per kWh written as a decimal
// ("0.6523", "1", ".4") into milli-fen per kWh, exactly: at most five
// decimals (1 yuan = 100,000 milli-fen), no sign, no exponent.
func ParseYuanPerKWh(s string) (int64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	bad := fmt.Errorf("price %q: want yuan per kWh as a decimal with at most 5 decimals, like 0.6523", s)
	if whole == "" && frac == "" || len(frac) > 5 || len(whole) > 9 {
		return 0, bad
	}
	var v int64
	for _, r := range whole + frac + strings.Repeat("0", 5-len(frac)) {
		if r < '0' || r > '9' {
			return 0, bad
		}
		v = v*10 + int64(r-'0')
	}
	if v > MaxPriceMfenPerKWh {
		return 0, fmt.Errorf("price %q: at most %d yuan per kWh", s, MaxPriceMfenPerKWh/100_000)
	}
	return v, nil
}
