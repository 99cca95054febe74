package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// checkService fails with a message naming the service and how to start it
// when nothing answers at the host:port of rawURL.
func checkService(name, rawURL, howToStart string) error {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s URL %q: want scheme://host:port/…", name, rawURL)
	}
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", u.Host)
	if err != nil {
		return fmt.Errorf("%s is not answering at %s (%w); start it: %s", name, u.Host, err, howToStart)
	}
	_ = c.Close()
	return nil
}

// databaseURL is adminURL with its database replaced by name.
func databaseURL(adminURL, name string) (string, error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", fmt.Errorf("postgres URL: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// dropDatabase drops name, disconnecting whoever still uses it.
func dropDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect %s: %w", redactURL(adminURL), err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// cloudConfigVersion is the edge's effective config version as the cloud
// computes it (migrations/0002: greatest of the edge's own version and the
// newest card of its tenant).
func (h *harness) cloudConfigVersion(ctx context.Context) (int64, error) {
	conn, err := pgx.Connect(ctx, h.dbURL)
	if err != nil {
		return 0, fmt.Errorf("connect %s: %w", h.dbName, err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	var v int64
	err = conn.QueryRow(ctx, `SELECT greatest(e.config_version, coalesce((SELECT max(version) FROM cards c WHERE c.tenant_id = e.tenant_id), 0))
		FROM edges e WHERE e.edge_id = $1`, h.edgeID).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("config version of edge %s: %w", h.edgeID, err)
	}
	return v, nil
}

// cloudRecords reads the edge's sessions of the given chargers and the
// balances of the given cards.
func (h *harness) cloudRecords(ctx context.Context, chargers map[string]bool, cards []string, initial int64) ([]cloudSession, []cardBalance, error) {
	conn, err := pgx.Connect(ctx, h.dbURL)
	if err != nil {
		return nil, nil, fmt.Errorf("connect %s: %w", h.dbName, err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	ids := make([]string, 0, len(chargers))
	for id := range chargers {
		ids = append(ids, id)
	}
	rows, err := conn.Query(ctx, `SELECT seq, charger_id, connector, session_ref, energy_mwh, amount_fen, electricity_fen,
			service_fen, card_id, offline
		FROM sessions WHERE edge_id = $1 AND charger_id = ANY($2)`, h.edgeID, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("query sessions: %w", err)
	}
	sessions, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (cloudSession, error) {
		var s cloudSession
		var conn int32
		err := r.Scan(&s.Seq, &s.ChargerID, &conn, &s.SessionRef, &s.EnergyMWh, &s.AmountFen, &s.ElectricityFen,
			&s.ServiceFen, &s.CardID, &s.Offline)
		s.Connector = uint32(max(conn, 0)) //nolint:gosec // non-negative by the table's CHECK
		return s, err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read sessions: %w", err)
	}
	balances := make([]cardBalance, 0, len(cards))
	for _, c := range cards {
		b := cardBalance{CardID: c, Initial: initial}
		err := conn.QueryRow(ctx, `SELECT balance_fen FROM cards WHERE tenant_id = $1 AND card_id = $2`, h.tenant, c).Scan(&b.Balance)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil, fmt.Errorf("card %s is not in the cloud's cards table", c)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("balance of card %s: %w", c, err)
		}
		balances = append(balances, b)
	}
	return sessions, balances, nil
}

// deleteRedisKeys removes the run's keys (the cloud's presence state).
func deleteRedisKeys(ctx context.Context, rawURL, prefix string) error {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return fmt.Errorf("redis URL: %w", err)
	}
	rdb := redis.NewClient(opts)
	defer func() { _ = rdb.Close() }()
	it := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
	var keys []string
	for it.Next(ctx) {
		keys = append(keys, it.Val())
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("scan %s*: %w", prefix, err)
	}
	for len(keys) > 0 {
		n := min(len(keys), 500)
		if err := rdb.Del(ctx, keys[:n]...).Err(); err != nil {
			return fmt.Errorf("delete %s*: %w", prefix, err)
		}
		keys = keys[n:]
	}
	return nil
}
