// Package postgres owns the cloud's connection to Postgres: opening the pgx
// pool, running a function in a transaction, creating the database,
// applying the schema in migrations/, and Where, the condition builder
// of the stores' list queries.
//
// It holds no feature SQL: each feature package (fleet, and later billing,
// alarms, …) writes its own queries in its store.go against the *pgxpool.Pool
// opened here. Tests get a fresh migrated database from pgtest.MustDB.
package postgres
