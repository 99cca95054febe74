package control

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// This file holds the card cache and its decisions. It does no I/O.

// cacheCard is what the edge knows of one card.
type cacheCard struct {
	balance      int64
	offlineLimit int64
	blocked      bool
	userID       string
}

// cardCache is one snapshot of the site's cards, policy and tariff: the
// cloud's SiteConfig, or the fallback configuration (version 0).
type cardCache struct {
	version       uint64
	unknownAccept bool
	cards         map[string]cacheCard // by lowercase card id
	byUser        map[string]string    // user id → lowercase card id (the smallest, if several)
	tariff        *chargeplanev1.Tariff
	refused       map[string]bool // charger ids an operator rejected (nil: none)
}

// cardKey is the form card ids are compared in: BKV reports lowercase hex,
// configurations may use either case.
func cardKey(id string) string { return strings.ToLower(id) }

func newCardCache() *cardCache {
	return &cardCache{cards: map[string]cacheCard{}, byUser: map[string]string{}}
}

// fallbackCache builds the cache from the site's own configuration.
func fallbackCache(auth AuthConfig, tariff TariffConfig) *cardCache {
	c := newCardCache()
	c.unknownAccept = auth.UnknownCards == UnknownAccept
	c.tariff = tariff.Proto()
	for _, card := range auth.Cards {
		c.cards[cardKey(card.ID)] = cacheCard{balance: card.BalanceFen, blocked: card.Blocked}
	}
	return c
}

// siteCache builds the cache from a SiteConfig, which must have a version.
// Without a tariff of its own the fallback tariff stays in force.
func siteCache(cfg *chargeplanev1.SiteConfig, fallbackTariff *chargeplanev1.Tariff) (*cardCache, error) {
	var errs []error
	if cfg.GetVersion() == 0 {
		errs = append(errs, errors.New("version: must be positive"))
	}
	c := newCardCache()
	c.version = cfg.GetVersion()
	switch cfg.GetUnknownCards() {
	case UnknownAccept:
		c.unknownAccept = true
	case UnknownReject, "":
	default:
		errs = append(errs, fmt.Errorf("unknown_cards: %q is not accept or reject", cfg.GetUnknownCards()))
	}
	c.tariff = fallbackTariff
	if cfg.GetTariff() != nil {
		if err := validateTariff(cfg.GetTariff()); err != nil {
			errs = append(errs, err)
		}
		c.tariff = proto.CloneOf(cfg.GetTariff())
	}
	for i, e := range cfg.GetCards() {
		id := cardKey(e.GetCardId())
		if id == "" {
			errs = append(errs, fmt.Errorf("cards[%d].card_id: required", i))
			continue
		}
		if _, dup := c.cards[id]; dup {
			errs = append(errs, fmt.Errorf("cards[%d].card_id: %q listed twice", i, e.GetCardId()))
		}
		if e.GetOfflineLimitFen() < 0 {
			errs = append(errs, fmt.Errorf("cards[%d].offline_limit_fen: must not be negative", i))
		}
		c.cards[id] = cacheCard{balance: e.GetBalanceFen(), offlineLimit: e.GetOfflineLimitFen(), blocked: e.GetBlocked(), userID: e.GetUserId()}
		if u := e.GetUserId(); u != "" {
			if prev, ok := c.byUser[u]; !ok || id < prev {
				c.byUser[u] = id
			}
		}
	}
	for _, id := range cfg.GetRefusedChargers() {
		if c.refused == nil {
			c.refused = map[string]bool{}
		}
		c.refused[id] = true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("site config version %d: %w", cfg.GetVersion(), err)
	}
	return c, nil
}

// decide authorizes card given what local sessions have debited from it
// and not yet seen in the snapshot, and whether the cloud is reachable now.
//
// Online, a listed card needs a positive effective balance; offline it may
// also spend its offline limit. LimitFen is what it may spend.
func (c *cardCache) decide(cardID string, debited int64, online bool) Decision {
	card, ok := c.cards[cardKey(cardID)]
	offline := !online
	switch {
	case !ok && c.unknownAccept:
		return Decision{Accepted: true, Reason: "unknown_accepted", Offline: offline}
	case !ok:
		return Decision{Reason: "unknown_card", Offline: offline}
	}
	eff := card.balance - debited
	spendable := eff
	if offline {
		spendable += card.offlineLimit
	}
	switch {
	case card.blocked:
		return Decision{Reason: "blocked", BalanceFen: eff, Offline: offline}
	case spendable <= 0:
		return Decision{Reason: "no_balance", BalanceFen: eff, Offline: offline}
	default:
		return Decision{Accepted: true, Reason: "listed", BalanceFen: eff, Offline: offline, LimitFen: spendable}
	}
}

// userCard returns the card holding userID's wallet, if the cache has one.
func (c *cardCache) userCard(userID string) (string, bool) {
	id, ok := c.byUser[userID]
	return id, ok
}
