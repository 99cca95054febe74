// Package presencetest gives tests a private corner of the real Redis
// (TEST_REDIS_URL, default redis://127.0.0.1:6379/0): a unique key prefix
// whose keys are deleted when the test ends.
//
// Test code only: production code never imports this package.
package presencetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultURL is used when TEST_REDIS_URL is unset.
const DefaultURL = "redis://127.0.0.1:6379/0"

// URL returns TEST_REDIS_URL or DefaultURL.
func URL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// MustRedis returns a client of the test Redis (closed when the test ends)
// and a key prefix no other test uses; every key under the prefix is deleted
// when the test ends. It fails the test, saying how to start Redis, when
// Redis does not answer.
func MustRedis(tb testing.TB) (*redis.Client, string) {
	tb.Helper()
	opts, err := redis.ParseURL(URL())
	if err != nil {
		tb.Fatalf("presencetest: TEST_REDIS_URL %q: %v", URL(), err)
	}
	rdb := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		tb.Fatalf("presencetest: Redis is not reachable at %s (TEST_REDIS_URL): %v\n"+
			"Start it (for example `service redis-server start`) or point TEST_REDIS_URL at one.", opts.Addr, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	prefix := "cptest:" + hex.EncodeToString(b) + ":"
	tb.Cleanup(func() {
		defer func() { _ = rdb.Close() }()
		if err := DeletePrefix(context.Background(), rdb, prefix); err != nil {
			tb.Errorf("presencetest: delete keys %s*: %v", prefix, err)
		}
	})
	return rdb, prefix
}

// DeletePrefix deletes every key starting with prefix. prefix must hold no
// glob characters (*?[\).
func DeletePrefix(ctx context.Context, rdb *redis.Client, prefix string) error {
	iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			if err := rdb.Del(ctx, batch...).Err(); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return rdb.Del(ctx, batch...).Err()
	}
	return nil
}
