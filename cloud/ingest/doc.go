// Package ingest consumes what edges publish over MQTT and makes it durable:
// EventBatch payloads from the shared subscription {root}/+/+/up/# and the
// retained online/offline messages on {root}/+/+/state.
//
// One paho client (persistent session, manual acknowledgement, ordered
// delivery) hands every message to a bounded queue; when the queue is full
// the client stops reading, which is the backpressure that reaches the
// broker. A batcher takes what is waiting, up to Config.BatchEvents events
// and for at most Config.BatchWait (group commit: an idle stream is written
// at once, a busy one in batches that grow while the previous one is being
// written) and then, in this order:
//
//  1. writes the events and the chargers they mention to Postgres in one
//     transaction (fleet.Store.WriteEvents; an event seen before is skipped
//     and counted as a duplicate);
//  2. updates presence in Redis (presence.Store; idempotent, seq-guarded);
//  3. hands the newly stored events to the Observers (connector status,
//     command results, live updates), each once per batch; an observer's
//     error is logged and counted, never retried: the events are stored and
//     what observers derive from them can be rebuilt;
//  4. acknowledges the MQTT messages, in the order they arrived.
//
// After the commit of step 1, chargeplane_ingest_lag_seconds observes for
// every newly stored event how long after occurred_at it was committed.
//
// A message is acknowledged only after its effect is committed, so a crash
// anywhere means redelivery, never loss; (edge_id, seq) makes redelivery
// harmless. Steps 1 and 2 are retried with backoff until they succeed or the
// consumer stops. A message that can never succeed (undecodable, events of
// another edge, data Postgres refuses) is logged with its topic, counted in
// chargeplane_ingest_invalid_messages_total and acknowledged, so it cannot
// stall the stream.
package ingest
