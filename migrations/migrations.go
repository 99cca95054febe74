// Package migrations holds the cloud's Postgres schema as numbered plain SQL
// files, NNNN_name.up.sql and NNNN_name.down.sql, embedded into the binary.
//
// cloud/postgres.Migrate applies the pending up files in version order, each
// in its own transaction; the down files are for operators rolling back by
// hand and are never run automatically. A file, once released, is never
// edited: a schema change is a new pair of files with the next number.
package migrations

import "embed"

// FS holds every migration file of this directory.
//
//go:embed *.sql
var FS embed.FS //nolint:gochecknoglobals // go:embed needs a package-level variable; it is read-only.
