package identity

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Allow counts one request of subject (e.g. "user:usr_…" or "ip:192.0.2.1")
// in a fixed window of length window and reports whether it is within
// limit; when not, retryAfter is the time until the window ends. It costs
// one Redis round trip (INCR and EXPIRE in one MULTI), shared by every
// replica.
func (s *Store) Allow(ctx context.Context, subject string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error) {
	now := s.now()
	idx := now.UnixNano() / int64(window)
	end := time.Unix(0, (idx+1)*int64(window))
	key := s.cfg.Prefix + "rl:" + subject + ":" + strconv.FormatInt(idx, 10)
	var incr *redis.IntCmd
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		incr = p.Incr(ctx, key)
		// A little longer than the window so that a clock skew between
		// replicas does not restart the count.
		p.Expire(ctx, key, window+time.Second)
		return nil
	})
	if err != nil {
		return false, 0, fmt.Errorf("rate limit: %w", err)
	}
	if incr.Val() > int64(limit) {
		return false, end.Sub(now), nil
	}
	return true, 0, nil
}
