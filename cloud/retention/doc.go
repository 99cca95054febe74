// Package retention keeps the cloud's logs bounded: every replica runs a
// Pruner that, every Config.Interval, deletes events (the chargers'
// operation log) received longer ago than Config.Events and commands
// requested longer ago than Config.Commands.
//
// It deletes in small batches, one short statement each, so it never holds
// many row locks or a long transaction against ingest. Batches take their
// rows with FOR UPDATE SKIP LOCKED, so replicas pruning at the same time
// split the work and delete each row once.
//
// It touches only those two tables. Sessions, wallet entries and cards are
// money records and are kept; chargers and connector_status hold current
// state, which deleting old events does not change.
package retention
