package devicelog

import (
	"errors"
	"time"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// ErrNotFound: the tenant has no such charger on that edge (a charger of
// another tenant is not found either). Errors wrapping it name only the
// ids the caller gave.
var ErrNotFound = errors.New("not found")

// Query selects a page of one charger's log. TenantID, EdgeID and
// ChargerID are required.
type Query struct {
	TenantID  string
	EdgeID    string
	ChargerID string
	// Kinds keeps only events of these kinds (events.kind values, see
	// cloud/fleet); empty keeps all.
	Kinds []string
	// From and To keep events with From <= occurred_at < To; zero means
	// unbounded.
	From, To time.Time
	// BeforeSeq continues a listing: only events with a lower seq; 0 starts
	// from the newest.
	BeforeSeq uint64
	// Limit is the most events returned; at least 1.
	Limit int
}

// Entry is one event of the log.
type Entry struct {
	Seq        uint64
	Kind       string
	Connector  uint32
	OccurredAt time.Time
	ReceivedAt time.Time
	// Event is the stored payload decoded; nil when it cannot be decoded
	// (Summary says so).
	Event   *chargeplanev1.Event
	Summary string
}
