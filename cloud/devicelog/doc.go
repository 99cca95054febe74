// Package devicelog reads a charger's operation log: the events its edge
// uploaded (status changes, sessions, alarms, command results, connects and
// disconnects), newest first, a page at a time, with a one-line summary of
// each for people (summary.go, pure).
//
// It only reads: ingest writes the events table (through cloud/fleet) and
// cloud/retention deletes what is older than the configured retention.
// Every call is scoped to one tenant, and a charger of another tenant is
// ErrNotFound. Turning requests into queries and errors into codes is
// cloud/api's job.
package devicelog
