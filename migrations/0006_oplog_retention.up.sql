-- A charger's operation log and its retention (cloud/devicelog,
-- cloud/retention). IF NOT EXISTS: on a large events table an operator may
-- build these beforehand with CREATE INDEX CONCURRENTLY under the same
-- names (docs/operations.md, Retention), and the migration then skips them.

-- ListChargerEvents pages one charger's events newest first by seq, by
-- keyset: an index range scan whatever the depth. (The primary key
-- (edge_id, seq) would read every charger of the edge.)
CREATE INDEX IF NOT EXISTS events_charger_seq_idx ON events (edge_id, charger_id, seq DESC);

-- Retention deletes the oldest rows a batch at a time. received_at is the
-- cloud's clock, so an edge with a wrong clock can neither have its events
-- deleted early nor kept forever. A b-tree, not BRIN: deleted space is
-- reused by new rows, which would widen every BRIN range over time.
CREATE INDEX IF NOT EXISTS events_received_idx ON events (received_at);
CREATE INDEX IF NOT EXISTS commands_requested_idx ON commands (requested_at);
