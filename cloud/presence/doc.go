// Package presence keeps, in Redis, what the cloud knows right now about
// which chargers are online: per charger whether its edge last reported it
// connected, when it was last heard from and the seq of the event that last
// changed it; per edge whether it is online or offline (its MQTT state).
//
// "Online" is decided at read time (online.go): connected, heard from within
// Config.Timeout, and its edge not offline. Nothing is kept per replica, so
// every replica answers the same. Updates carry the event seq and a Lua
// script applies one only if it is newer than the stored one, so events
// arriving late or twice never move a charger back in time.
//
// Key layout under Config.Prefix (edge ids contain no '/', see shared/topic):
//
//	{prefix}charger/{edge}/{charger}  hash: seq (20 digits), connected (0|1), last_seen (unix ms)
//	{prefix}connected/{edge}          sorted set: connected chargers of the edge, scored by last_seen
//	{prefix}edge/{edge}               string: "online" | "offline"
//
// The sorted set lets online counts cost one ZCOUNT per edge rather than one
// read per charger. All keys of one update are on one node only without
// Redis Cluster; cluster support would need hash tags.
//
// OnlineCollector (collector.go) exports chargeplane_chargers_online{tenant}
// at every scrape. It is the one part that reads Postgres: which edges each
// tenant's chargers are on, from the chargers table cloud/fleet writes.
package presence
