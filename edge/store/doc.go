// Package store is the edge agent's durable store: the event outbox and the
// per-edge event sequence, the session ledger, and the durable state of
// edge/control, kept in Badger (ARCHITECTURE.md, "Edge data flow", point 4).
// An adapter appends a fact here and acknowledges the charger only after
// Append returns; uplink reads the outbox with Pending and removes what the
// cloud confirmed with Ack, and uploads ended sessions from the ledger with
// PendingSessions and MarkSessionsSynced. The store decides nothing about
// events: it numbers them, keeps them and hands them back in order.
//
// # Durability and group commit
//
// Append and Write return only after the group holding them is on disk
// (Config.Durable). Writers do not commit themselves: they enqueue on a
// bounded channel and one committer goroutine takes everything queued (up to
// Config.MaxBatch events), builds it in a Badger transaction, appends one
// record of every change the transaction made to the store's journal and
// fdatasyncs it, and only then commits the transaction to Badger with
// SyncWrites=false (journal.go): one sync for the whole group. One fsync per
// write caps near 2,400 writes/s on the reference VM; one sync per group is
// what makes durability cheap. Ack, MarkSessionsSynced and Compact go
// through the same committer and are journaled the same way, so every change
// to the store has one writer and one order.
//
// The journal, not Badger's own log, is what a group waits for: Badger's
// memtable log is a sparse mapped file, and syncing it (db.Sync) waits for a
// filesystem journal commit that also waits for Badger's background flushes;
// the journal's segments are preallocated and written in place. Badger is
// made durable by itself only at checkpoints, when a journal segment is full
// (db.Sync and the memtable logs Badger rotated out since the last
// checkpoint, memwal.go), in the background, after which the segment is
// recycled. Open replays the journal's valid records into Badger and
// checkpoints before anything else reads the store, so a power cut loses
// nothing that was acknowledged.
//
// A Write is atomic: its events, their ledger entries and its ctl/ puts and
// deletes land in one Badger transaction and one journal record (a group
// may need several transactions, each with its own record, but never splits a
// Write), Badger replays a transaction whole or not at all, a journal record
// is replayed whole or not at all (its CRC), and Badger never holds a
// transaction whose record is not synced. So control's state can never
// disagree with the events it decided on, even after a crash.
//
// Sequences: each event gets seq = last seq + 1 in the order the committer
// takes it, so seqs are per-edge, strictly increasing, consecutive within one
// Write and start at 1. The last assigned seq (meta/seq) is written in the
// same transaction and journal record as the events it covers, so after a
// crash the recovered meta/seq is at least every stored event's seq and no
// seq can be handed out twice. Pending and PendingSessions never return an
// event before the group holding it is synced, so no seq reaches the cloud
// that a crash could still take back and reuse.
//
// If a commit or a sync fails the store stops accepting writes (ErrFailed):
// after a failed fsync the state of the page cache is unknown, and only a
// restart, which recovers from what is on disk, is safe.
//
// # Session ledger
//
// Every SessionEnded event written (by Append or Write) is also entered, in
// the same transaction, in the ledger (ledger/<seq>) and, when it has a
// session ref, in the ref index (sref/...). The outbox and the ledger are
// independent: Ack removes the outbox copy once the MQTT stream has it, the
// ledger entry stays until the cloud confirms the session through the sync
// API (MarkSessionsSynced), which moves it to synced/<seq> stamped with the
// time. SessionByRef finds pending and synced sessions, so a repeated end
// report is recognised for Config.Retention after the cloud confirmed it;
// Compact (run every Config.CompactEvery by the store itself, and callable
// directly) then removes synced entries older than that and their ref index
// entries. Unconfirmed sessions are never removed.
//
// When a ref is written twice (a caller that did not check SessionByRef), both
// sessions are kept in the ledger and both are uploaded; the ref index keeps
// the first.
//
// # Disk bound
//
// The store measures its directory every Config.SizeCheckEvery (and at Open),
// summing the blocks its files occupy (DiskBytes). It does not use
// badger.DB.Size: that is refreshed only once a minute, reads expvar metrics
// that these options disable (so it returns 0), counts apparent file sizes,
// and Badger preallocates value-log files (128 MiB) and memtable WAL files
// (16 MiB) sparse, so apparent sizes are far from the disk in use; and it
// leaves out the WAL files altogether.
// The journal's two segments (16 MiB each, written in full when created)
// are part of the measured size.
//
// When the size crosses Config.WarnRatio × Config.MaxBytes upward the store
// writes one Alarm event itself (code store_nearly_full, severity warning;
// charger id "", connector 0) and, when it falls back under, one
// store_space_ok (severity info). The alarm state is stored with the alarm
// (meta/space_alarm), so a restart does not repeat it.
//
// While the size is at or above Config.MaxBytes, heartbeats and meter reports
// are dropped inside Write: they get no seq (Seq stays 0), Write still
// returns nil, they are counted in chargeplane_edge_store_dropped_events_total
// {kind} and a warning is logged at most once a minute. They are periodic and
// superseded by the next one. Everything else — sessions (unsynced sessions
// are never dropped), status changes, cards, command results, alarms — and
// control's ctl/ state is always stored: the bound protects the disk from
// chatter while the cloud is unreachable, not from what must be billed. The
// store can therefore grow past MaxBytes by what those events need.
//
// # Key layout (version 3)
//
// All keys are ASCII prefixes; integers are big-endian so that byte order is
// numeric order.
//
//	meta/version              uint64, key-layout version (currently 2)
//	meta/seq                  uint64, last assigned seq
//	meta/space_alarm          uint64, 1 after a store_nearly_full alarm, 0 after store_space_ok (absent: 0)
//	outbox/<uint64 seq>       protobuf chargeplane.v1.Event, not yet acknowledged (Ack)
//	ledger/<uint64 seq>       SessionEnded Event, same bytes as its outbox entry, not yet confirmed by the cloud
//	synced/<uint64 seq>       uint64 synced-at Unix nanos, then the SessionEnded Event bytes: confirmed, kept
//	                          for dedupe by ref until Compact
//	sref/<uvarint len><charger id><uint32 connector><session ref>
//	                          uint64 seq of the ledger or synced entry of that session (the first one written)
//	ctl/...                   owned by edge/control (Write.Put/Delete, Get, Scan); its sub-layout is
//	                          documented in edge/control
//
// A seq is in ledger/ or synced/, never both: MarkSessionsSynced moves it in
// one transaction. The charger id in sref/ is length-prefixed so that no
// charger id can make two sessions share a key.
//
// Beside Badger's files the store directory holds journal/, the segments of
// the store's journal (journal.go documents their format).
//
// Open writes meta/version into an empty store, migrates an older layout in
// place and refuses a store whose version is newer than this code knows
// (ErrNewerVersion). Version 1 had only meta/version, meta/seq and outbox/;
// every key space version 2 adds starts empty, so migrating from 1 is writing
// the new version (sessions stored by version 1 reach the cloud through the
// outbox only). Version 3 adds the journal: a version 2 store has none, so
// migrating is writing the new version, and a release that knows only
// version 2 refuses a version 3 store instead of ignoring acknowledged writes
// that may exist only in its journal. A change to this layout must raise the
// version and teach Open to migrate the older one.
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
// cache, a 4 MiB index cache, two compactors, 512 KiB tables on every level,
// 64 MiB value-log files, and values of up to 64 KiB kept inline in the LSM
// tree so that acknowledged events are reclaimed by compaction. Flushes and
// compactions allocate table builder buffers of about twice the table size
// while they run, a dozen or so at a time: small tables of one size keep that
// bounded however large the backlog (badger.go).
// Measured: about 70 MiB of Go heap (175 MiB RSS for the whole test binary,
// 1,000 writer goroutines included) right after 500,000 events were written
// at full speed; far less when the edge is idle or writes at charger pace.
// Value-log GC runs every few minutes for the rare large value. Badger logs
// through the injected slog logger at Warn and Error only.
package store
