package fleet

import (
	"errors"
	"time"
)

// Event kinds, as stored in events.kind.
const (
	KindChargerConnected    = "charger_connected"
	KindChargerDisconnected = "charger_disconnected"
	KindHeartbeat           = "heartbeat"
	KindConnectorStatus     = "connector_status"
	KindMeterReport         = "meter_report"
	KindSessionStarted      = "session_started"
	KindSessionEnded        = "session_ended"
	KindCardPresented       = "card_presented"
	KindAlarm               = "alarm"
	KindCommandResult       = "command_result"
	// KindUnknown is an event of a kind this cloud does not know yet (sent by
	// a newer edge). It is stored, payload and all, so that nothing is lost
	// and a later version can read it.
	KindUnknown = "unknown"
)

// Limits of what the events table can hold.
const (
	MaxSeq       = 1<<63 - 1 // bigint
	MaxConnector = 1<<31 - 1 // integer
)

// ErrInvalidEvent reports an event that can never be stored: a zero or
// out-of-range seq, or missing identity.
var ErrInvalidEvent = errors.New("invalid event")

// Event is one fact an edge reported, ready to store.
type Event struct {
	TenantID   string
	EdgeID     string
	Seq        uint64
	ChargerID  string
	Connector  uint32
	Kind       string
	OccurredAt time.Time
	// Protocol and Firmware update the charger's row when the event is the
	// newest the cloud has for that charger; empty means "not reported".
	Protocol string
	Firmware string
	// Payload is the event as the edge encoded it.
	Payload []byte
}

// WriteResult says what a write did with the events it was given.
type WriteResult struct {
	// Inserted events were new.
	Inserted int
	// Duplicates were already stored (or appeared twice in the write).
	Duplicates int
	// Stored names the events this write inserted (Inserted of them), so
	// that what follows the commit (observers, lag) sees each new event
	// once and no redelivered one.
	Stored map[EventKey]bool
}

// EventKey identifies an event: an edge's seq.
type EventKey struct {
	EdgeID string
	Seq    uint64
}

// Key returns e's key.
func (e Event) Key() EventKey { return EventKey{EdgeID: e.EdgeID, Seq: e.Seq} }

// Charger is a row of the chargers table.
type Charger struct {
	TenantID  string
	EdgeID    string
	ChargerID string
	Protocol  string
	Firmware  string
	FirstSeen time.Time
	LastSeen  time.Time
}

// Filter restricts a charger listing; empty fields match everything.
type Filter struct {
	TenantID string
	EdgeID   string
}

// Cursor is the position after which a listing continues: the key of the
// last charger of the previous page.
type Cursor struct {
	EdgeID    string
	ChargerID string
}

// EdgeCount is how many chargers of one edge match a filter.
type EdgeCount struct {
	EdgeID   string
	Chargers int
}
