// Package fleet is the cloud's record of what edges reported: the events
// table (every event once, keyed by (edge_id, seq)) and the chargers table
// (one row per charger ever heard of, with its protocol, firmware and first
// and last sighting).
//
// It owns the SQL for both tables (store.go) and nothing else: consuming MQTT
// is ingest's job, live presence is presence's, and turning requests into
// queries is api's.
package fleet
