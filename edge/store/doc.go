// Package store is the edge agent's durable store: the event outbox and the
// per-edge event sequence, kept in Badger (ARCHITECTURE.md, "Edge data flow",
// point 4). An adapter appends a fact here and acknowledges the charger only
// after Append returns; uplink reads the outbox with Pending and removes what
// the cloud confirmed with Ack. The store decides nothing about events: it
// numbers them, keeps them and hands them back in order.
//
// # Durability and group commit
//
// Append returns only after the Badger write holding the events has been
// fsynced (Config.Durable). Writers do not commit themselves: they enqueue on a
// bounded channel and one committer goroutine takes everything queued (up to
// Config.MaxBatch events), writes it with SyncWrites=false and then calls
// db.Sync() once for the whole group. One fsync per write caps near 2,400
// writes/s on the reference VM, and Badger's own SyncWrites=true still syncs once
// per transaction; one sync per group is what makes durability cheap. Ack goes
// through the same committer and is synced the same way.
//
// Sequences: each event gets seq = last seq + 1 in the order the committer
// takes it, so seqs are per-edge, strictly increasing, consecutive within one
// Append and start at 1. The last assigned seq (meta/seq) is written in the
// same Badger transaction as the events it covers; Badger replays a
// transaction whole or not at all, so after a crash the recovered meta/seq is
// at least every stored event's seq and no seq can be handed out twice.
// Pending never returns an event before the group holding it is synced, so no
// seq reaches the cloud that a crash could still take back and reuse.
//
// If a commit or a sync fails the store stops accepting writes (ErrFailed):
// after a failed fsync the state of the page cache is unknown, and only a
// restart, which recovers from what is on disk, is safe.
//
// # Key layout (version 1)
//
// All keys are ASCII prefixes; integers are 8-byte big-endian so that byte
// order is numeric order.
//
//	meta/version              uint64, key-layout version (currently 1)
//	meta/seq                  uint64, last assigned seq
//	outbox/<uint64 seq>       protobuf chargeplane.v1.Event, not yet acknowledged
//
// Open writes meta/version into an empty store and refuses a store whose
// version is newer than this code knows (ErrNewerVersion). A change to this
// layout must raise the version and teach Open to migrate the older one.
//
// Event values are the protobuf encoding of the Event with edge_id set and the
// seq field (2) appended by the committer after the rest of the message;
// protobuf parsers accept fields in any order, so this is an ordinary Event
// encoding, and it lets writers marshal in parallel instead of in the
// committer.
//
// # Memory
//
// The Badger options suit a small gateway rather than a server: 8 MiB
// memtables with at most two waiting to flush (Badger allocates about 1.3 ×
// the memtable size per memtable, so about 31 MiB at worst), an 8 MiB block
// cache, a 4 MiB index cache, two compactors, 64 MiB value-log files, and
// values of up to 64 KiB kept inline in the LSM tree so that acknowledged
// events are reclaimed by compaction. Flushes and compactions allocate table
// builder buffers of about twice the target table size while they run.
// Measured: about 70 MiB of Go heap (175 MiB RSS for the whole test binary,
// 1,000 writer goroutines included) right after 500,000 events were written
// at full speed; far less when the edge is idle or writes at charger pace.
// Value-log GC runs every few minutes for the rare large value. Badger logs
// through the injected slog logger at Warn and Error only.
package store
