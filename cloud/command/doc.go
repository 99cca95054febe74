// Package command is the cloud's remote control of chargers: it records
// every command an operator sends (the commands table, which is also the
// audit: who, when, what, outcome), publishes it to the charger's edge and
// follows it to its final state.
//
// A command is stored queued, published as a chargeplane.v1.ChargerCommand
// on {root}/{tenant}/{edge}/down/commands with QoS 1 by the Sender (its own
// MQTT connection), and marked sent once the broker acknowledged it (PUBACK)
// or failed when the broker could not be reached. The edge runs it unless it
// arrives after expires_at and reports a CommandResult event, which ingest
// hands to Service.Observe: the command becomes accepted, rejected,
// timed_out or failed. The Sweeper marks commands still open at their
// deadline timed_out. A final state is never overwritten, so a late result,
// a replayed event or two replicas racing cannot change an outcome once
// recorded. Every change is published to the live hub (cloud/live).
package command
