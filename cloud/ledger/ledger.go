package ledger

import (
	"errors"
	"time"
)

// Limits of a Push.
const (
	// MaxPush is the most sessions one Push takes.
	MaxPush = 1000
	// MaxSeq is the largest seq the sessions table holds (bigint).
	MaxSeq = 1<<63 - 1
	// MaxConnector is the largest connector number it holds (integer).
	MaxConnector = 1<<31 - 1
)

// ErrInvalidSession reports a session that can never be stored. Callers
// validate requests first, so seeing it means their validation missed a case.
var ErrInvalidSession = errors.New("invalid session")

// Session is one finished charging session, as stored.
type Session struct {
	EdgeID     string
	Seq        uint64
	TenantID   string
	ChargerID  string
	Connector  uint32
	SessionRef string
	StartedAt  time.Time
	EndedAt    time.Time
	EnergyMWh  int64
	DurationS  int64
	// Reason is the chargeplane.v1.EndReason name without its prefix,
	// lowercase ("local", "limit_reached").
	Reason           string
	RawReason        string
	AmountFen        int64
	ElectricityFen   int64
	ServiceFen       int64
	ChargerAmountFen int64
	// CardID is lowercase ("" when no card started the session).
	CardID         string
	UserID         string
	AuthMethod     string
	Offline        bool
	TariffID       string
	StartCommandID string
	// Payload is the chargeplane.v1.Event as uploaded; Push stores it, List
	// does not return it.
	Payload []byte
	// ReceivedAt is when the cloud stored it (set by Push, returned by List).
	ReceivedAt time.Time
}

// Filter restricts List. TenantID is required; other empty fields match
// everything. From is inclusive, To exclusive, both on StartedAt.
type Filter struct {
	TenantID  string
	EdgeID    string
	ChargerID string
	CardID    string
	// UserID: only the sessions billed to this user (a driver's own).
	UserID string
	// SiteID: only sessions at the edges attached to this site.
	SiteID string
	From   time.Time
	To     time.Time
}

// Cursor is the position after which List continues: the sort key of the
// last session of the previous page.
type Cursor struct {
	StartedAt time.Time
	EdgeID    string
	Seq       uint64
}
