package presence

import "time"

// Status is what the cloud knows about one charger's presence.
type Status struct {
	// Known is false when no event of the charger reached presence yet.
	Known bool
	// Connected is the charger's state after its newest event.
	Connected bool
	// LastSeen is when the charger was last heard from (capped at the time
	// the cloud learnt of it).
	LastSeen time.Time
	// EdgeOffline is true while the charger's edge is offline (its MQTT will).
	EdgeOffline bool
	// Online combines them at the time of the read: see IsOnline.
	Online bool
}

// IsOnline is the rule for a charger being online at now: its newest event
// left it connected, its edge is not offline, and it was heard from within
// timeout (the BKV heartbeat is every minute; the default timeout is three).
func IsOnline(connected, edgeOffline bool, lastSeen, now time.Time, timeout time.Duration) bool {
	return connected && !edgeOffline && now.Sub(lastSeen) <= timeout
}
