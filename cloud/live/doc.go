// Package live carries what happens at a tenant's chargers to the people
// watching it, and keeps the current status of every connector.
//
// Hub is the fan-out across cloud replicas: updates (chargeplane.v1.LiveUpdate)
// are published on a Redis pub/sub channel per tenant ({prefix}live:{tenant}),
// and each replica holds one Redis subscription connection that it shares
// between all of its local watchers. Delivery is best effort and at least
// once towards a watcher that keeps up: a watcher whose buffer fills is ended
// with ErrSlowSubscriber instead of slowing publishing down, and every watcher
// of a tenant is ended with ErrFeedLost when the Redis connection was lost
// (messages published meanwhile are gone). Either way the client reloads the
// current state (Statuses) and watches again.
//
// Statuses owns the connector_status table: the newest status of every
// connector, written from events by Feed (an ingest observer) in one
// statement per batch, seq-guarded so that late or replayed events never
// roll a connector back. It is derived data: Rebuild recomputes it from the
// events table.
package live
