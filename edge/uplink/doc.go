// Package uplink carries the edge's stored events to the cloud: it drains the
// store's outbox to MQTT in batches (QoS 1, retained
// online/offline state with the offline one as last will) and acknowledges
// events in the store only after the broker confirmed them, so nothing is
// lost across outages or restarts; the cloud de-duplicates by (edge_id, seq).
// It also performs the Connect-RPC handshake with the cloud's SyncService.
package uplink
