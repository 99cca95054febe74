package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Config says how to reach Postgres.
type Config struct {
	// URL is a libpq connection string or URL
	// (postgres://user:pass@host:5432/db?sslmode=disable).
	URL string
	// MaxConns caps the pool; 0 keeps pgx's default (max(4, GOMAXPROCS)).
	MaxConns int32
}

// Open opens a pool and checks that the server answers. The caller closes
// the pool.
func Open(ctx context.Context, cfg Config) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		// The parse error can quote the URL, password included: say only what failed.
		return nil, errors.New("parse postgres url: invalid connection string")
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	if pc.ConnConfig.ConnectTimeout == 0 {
		pc.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open postgres pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping postgres %s:%d/%s: %w", pc.ConnConfig.Host, pc.ConnConfig.Port, pc.ConnConfig.Database, err)
	}
	return pool, nil
}

// InTx runs fn in a transaction on pool and commits if fn returns nil; on an
// error or a panic it rolls back.
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	return InTxOptions(ctx, pool, pgx.TxOptions{}, fn)
}

// InTxOptions is InTx with transaction options (isolation level, read only).
func InTxOptions(ctx context.Context, pool *pgxpool.Pool, opts pgx.TxOptions, fn func(pgx.Tx) error) (err error) {
	tx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		// The rollback error adds nothing: the connection is reset either way.
		if p := recover(); p != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// EnsureDatabase creates the database named in url if it does not exist yet,
// connecting to the "postgres" database of the same server with the same
// credentials. It reports whether it created it. Two callers racing are
// fine: the loser sees the database as existing.
func EnsureDatabase(ctx context.Context, url string) (created bool, err error) {
	cc, err := pgx.ParseConfig(url)
	if err != nil {
		return false, errors.New("parse postgres url: invalid connection string")
	}
	name := cc.Database
	if name == "" {
		return false, errors.New("postgres url names no database")
	}
	cc.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return false, fmt.Errorf("connect to %s:%d/postgres: %w", cc.Host, cc.Port, err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()

	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return false, fmt.Errorf("look up database %q: %w", name, err)
	}
	if exists {
		return false, nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		var pgErr *pgconn.PgError
		// 42P04 duplicate_database, 23505 when two CREATEs race on pg_database's unique index.
		if errors.As(err, &pgErr) && (pgErr.Code == "42P04" || pgErr.Code == "23505") {
			return false, nil
		}
		return false, fmt.Errorf("create database %q: %w", name, err)
	}
	return true, nil
}

// Retryable reports whether err ended a transaction in a way that running
// the same transaction again can get past: a deadlock (SQLSTATE 40P01) or a
// serialization failure (40001), which Postgres resolves by aborting one of
// the transactions involved.
func Retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}
