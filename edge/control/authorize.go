package control

import (
	"errors"
	"fmt"
	"strings"
)

// Policies for cards not in the list.
const (
	UnknownAccept = "accept"
	UnknownReject = "reject"
)

// Card is one card the site knows.
type Card struct {
	// ID is the card number as the charger reports it (lowercase hex for BKV).
	ID string `yaml:"id"`
	// BalanceFen is the balance shown to the user, in fen.
	BalanceFen int64 `yaml:"balance_fen"`
	// Blocked cards are always refused.
	Blocked bool `yaml:"blocked"`
}

// AuthConfig is the site's card policy.
type AuthConfig struct {
	// UnknownCards is "accept" or "reject": what to do with a card not listed.
	UnknownCards string `yaml:"unknown_cards"`
	Cards        []Card `yaml:"cards"`
}

// DefaultAuthConfig refuses unknown cards: charging costs money.
func DefaultAuthConfig() AuthConfig { return AuthConfig{UnknownCards: UnknownReject} }

// Validate names the bad key.
func (c AuthConfig) Validate() error {
	var errs []error
	if c.UnknownCards != UnknownAccept && c.UnknownCards != UnknownReject {
		errs = append(errs, fmt.Errorf("authorization.unknown_cards: %q is not accept or reject", c.UnknownCards))
	}
	seen := map[string]bool{}
	for i, card := range c.Cards {
		id := strings.ToLower(card.ID)
		switch {
		case id == "":
			errs = append(errs, fmt.Errorf("authorization.cards[%d].id: required", i))
		case seen[id]:
			errs = append(errs, fmt.Errorf("authorization.cards[%d].id: %q listed twice", i, card.ID))
		}
		if card.BalanceFen < 0 {
			errs = append(errs, fmt.Errorf("authorization.cards[%d].balance_fen: must not be negative", i))
		}
		seen[id] = true
	}
	return errors.Join(errs...)
}

// Decision is the outcome of an authorization.
type Decision struct {
	Accepted bool
	// Reason says why: "listed", "unknown_accepted", "unknown_card", "blocked",
	// "no_balance".
	Reason string
	// BalanceFen is the balance to show the user (the Book's effective
	// balance: it may be negative after offline use).
	BalanceFen int64
	// Offline: decided while the cloud was unreachable (Book only).
	Offline bool
	// LimitFen is the amount the card may spend: its effective balance, plus
	// its offline limit when offline; 0 means no amount limit (unknown cards
	// accepted by policy). The static Authorizer sets none.
	LimitFen int64
}

// Authorizer decides card swipes from the site's card list alone: no
// balances debited, no cloud, no offline limits. The agent uses the Book;
// the Authorizer serves adapters run without one (tests, tools).
type Authorizer struct {
	unknownAccept bool
	cards         map[string]Card
}

// NewAuthorizer builds an authorizer from a validated config.
func NewAuthorizer(cfg AuthConfig) *Authorizer {
	a := &Authorizer{unknownAccept: cfg.UnknownCards == UnknownAccept, cards: make(map[string]Card, len(cfg.Cards))}
	for _, c := range cfg.Cards {
		a.cards[strings.ToLower(c.ID)] = c
	}
	return a
}

// Authorize decides whether cardID may start a session.
func (a *Authorizer) Authorize(cardID string) Decision {
	card, ok := a.cards[strings.ToLower(cardID)]
	switch {
	case !ok && a.unknownAccept:
		return Decision{Accepted: true, Reason: "unknown_accepted"}
	case !ok:
		return Decision{Reason: "unknown_card"}
	case card.Blocked:
		return Decision{Reason: "blocked", BalanceFen: card.BalanceFen}
	case card.BalanceFen <= 0:
		return Decision{Reason: "no_balance"}
	default:
		return Decision{Accepted: true, Reason: "listed", BalanceFen: card.BalanceFen}
	}
}

// Balance returns the balance to show for cardID (0 when unknown).
func (a *Authorizer) Balance(cardID string) int64 {
	return a.cards[strings.ToLower(cardID)].BalanceFen
}
