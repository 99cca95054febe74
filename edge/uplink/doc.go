// Package uplink is the edge's link to the cloud. It owns four loops, all run
// by Uplink.Run:
//
//   - Outbox drain (MQTT). The store's outbox is published in seq order in
//     batches (EventBatch, QoS 1) to {root}/{tenant}/{edge}/up/events, with up
//     to max_inflight batches awaiting their PUBACK at once: one in flight
//     caps a backlog catch-up at the broker's round trip, a window keeps the
//     link busy. The store is acknowledged in order only: up to the highest
//     seq whose batch and all earlier ones the broker confirmed, so an event
//     is never dropped from the outbox before the broker has it. When a
//     publish fails or times out, publishing starts again from the first
//     unacknowledged seq once the connection is back; the cloud drops the
//     duplicates this causes by (edge_id, seq). A retained online/offline
//     state is kept on {root}/{tenant}/{edge}/state, offline being the will.
//
//   - Session upload (Connect SyncService.PushSessions). Finished sessions
//     from the SessionSource (the edge's durable session ledger) are pushed
//     200 per call; exactly the seqs the cloud lists as stored or duplicate
//     are marked synced, with the config version the cloud returned. A
//     session the cloud lists as neither stays pending and is sent again.
//     Failures back off from retry_min to retry_max; a restart carries on from
//     the ledger.
//
//   - Config pull (SyncService.PullConfig). The site configuration (card
//     cache, unknown-card policy, tariff) is pulled at start, after every MQTT
//     reconnect, every config_poll and when a config-changed hint on
//     {root}/{tenant}/{edge}/down/config names a version newer than the one
//     the ConfigSink holds, and handed to the sink.
//
//   - Handshake (SyncService.Handshake) at start and after every reconnect.
//
// Every Connect call carries "Authorization: Bearer <credential>" and is
// retried by go-retryablehttp (all SyncService methods are idempotent);
// Online reports whether the last call succeeded and MQTT is up. The same
// credential is the default broker password (username = edge id), and one
// CA file (tls_ca_file) verifies both the cloud's and the broker's
// certificates.
//
// The downlink (commands) uses its own MQTT client and a persistent session;
// it takes its login and TLS settings from Config.MQTTCredentials and
// Config.TLSConfig.
package uplink
