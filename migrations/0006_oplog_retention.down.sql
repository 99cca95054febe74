DROP INDEX IF EXISTS commands_requested_idx;
DROP INDEX IF EXISTS events_received_idx;
DROP INDEX IF EXISTS events_charger_seq_idx;
