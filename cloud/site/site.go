package site

import (
	"errors"
	"time"
)

// Unknown-card policies: what an edge does with a card that is not in its
// list.
const (
	PolicyAccept = "accept"
	PolicyReject = "reject"
)

// Limits of stored values.
const (
	// MaxIDLen bounds tenant, edge, card and user ids.
	MaxIDLen = 128
	// MaxNameLen bounds an edge's display name.
	MaxNameLen = 200
	// MaxAmountFen bounds balances, limits and top-ups (10^13 fen is 100
	// billion yuan), far from bigint overflow however often they are added.
	MaxAmountFen = 10_000_000_000_000
	// MaxCardsPerCall bounds PutCards and DeleteCards.
	MaxCardsPerCall = 10_000
)

// Errors callers branch on. The text of an error wrapping ErrNotFound or
// ErrAlreadyExists names only ids the caller gave, so cloud/api shows it to
// clients as is.
var (
	// ErrNotFound: no such edge (in that tenant) or card.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: the edge id is taken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInvalidCredential: the credential is malformed, unknown or not the
	// edge's current one.
	ErrInvalidCredential = errors.New("invalid edge credential")
	// ErrRevoked: the credential was the edge's, but the edge is revoked.
	ErrRevoked = errors.New("edge credential revoked")
)

// InvalidError reports a value that breaks a rule of this package. Its text
// names the field and says what is expected; it is written for clients.
type InvalidError struct {
	Field  string
	Reason string
}

// Error returns "field: reason".
func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }

// Edge is an edge as provisioned.
type Edge struct {
	ID                  string
	TenantID            string
	Name                string
	CreatedAt           time.Time
	CredentialCreatedAt time.Time
	// RevokedAt is zero unless the edge is revoked.
	RevokedAt time.Time
	// ConfigVersion is the edge's effective config version.
	ConfigVersion uint64
}

// Revoked reports whether the edge's credential was revoked.
func (e Edge) Revoked() bool { return !e.RevokedAt.IsZero() }

// Tariff prices energy by time of day in the site's zone, in milli-fen per
// kWh (chargeplane.v1.Tariff). The JSON form is how edges.tariff stores it.
type Tariff struct {
	ID      string         `json:"id"`
	Periods []TariffPeriod `json:"periods"`
}

// TariffPeriod runs from StartMinute until the next period starts (or
// midnight).
type TariffPeriod struct {
	StartMinute           uint32 `json:"start_minute"`
	ElectricityMfenPerKWh int64  `json:"electricity_mfen_per_kwh"`
	ServiceMfenPerKWh     int64  `json:"service_mfen_per_kwh"`
}

// Card is a card of a tenant with its wallet.
type Card struct {
	// ID is stored lowercase; PutCards and TopUpCard lowercase what they get.
	ID              string
	BalanceFen      int64
	OfflineLimitFen int64
	Blocked         bool
	UserID          string
	// Version is the config version of the card's last change (read only).
	Version uint64
}

// Config is what an edge pulls (chargeplane.v1.SiteConfig).
type Config struct {
	Version      uint64
	UnknownCards string
	// Tariff is nil when none was set.
	Tariff *Tariff
	Cards  []Card
	// RefusedChargers are the ids of the chargers rejected at this edge
	// (cloud/fleet's registry), sorted.
	RefusedChargers []string
}

// Target is an edge that must hear of a change.
type Target struct {
	TenantID string
	EdgeID   string
}

// Change says what a write changed: the config version it took and the
// (not revoked) edges whose config it changed, whose effective version is
// now Version. A zero Version means nothing changed.
type Change struct {
	Version uint64
	Edges   []Target
}
