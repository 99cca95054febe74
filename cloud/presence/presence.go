package presence

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Edge states, as the edge publishes them on its retained state topic.
const (
	EdgeOnline  = "online"
	EdgeOffline = "offline"
)

// ErrBadState reports an edge state that is neither EdgeOnline nor EdgeOffline.
var ErrBadState = errors.New("edge state must be online or offline")

// Config is the presence part of the cloud's configuration.
type Config struct {
	// Prefix starts every key, so that several deployments (or tests) can
	// share one Redis.
	Prefix string
	// Timeout is how long after it was last heard from a connected charger
	// still counts as online.
	Timeout time.Duration
}

// Update is one charger's presence as of one event.
type Update struct {
	EdgeID    string
	ChargerID string
	// Seq of the event; the update applies only if it is newer than the
	// stored one.
	Seq       uint64
	Connected bool
	// LastSeen is when the event happened.
	LastSeen time.Time
}

// Key names a charger.
type Key struct {
	EdgeID    string
	ChargerID string
}

// Store reads and writes presence in Redis.
type Store struct {
	rdb    *redis.Client
	cfg    Config
	now    func() time.Time
	update *redis.Script
}

// applyScript sets a charger's presence if seq is newer than the stored one.
// Seqs travel as 20-digit strings compared as two 10-digit halves: Lua
// numbers are doubles and would lose precision above 2^53.
//
// KEYS[1] charger hash, KEYS[2] the edge's connected set.
// ARGV[1] seq, ARGV[2] connected "1"|"0", ARGV[3] last_seen ms, ARGV[4] charger id.
const applyScript = `
local cur = redis.call('HGET', KEYS[1], 'seq')
if cur then
  local ch, cl = tonumber(string.sub(cur, 1, 10)), tonumber(string.sub(cur, 11, 20))
  local nh, nl = tonumber(string.sub(ARGV[1], 1, 10)), tonumber(string.sub(ARGV[1], 11, 20))
  if nh < ch or (nh == ch and nl <= cl) then
    return 0
  end
end
redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'connected', ARGV[2], 'last_seen', ARGV[3])
if ARGV[2] == '1' then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
else
  redis.call('ZREM', KEYS[2], ARGV[4])
end
return 1
`

// New returns a Store on rdb. now is the clock reads are judged by.
func New(rdb *redis.Client, cfg Config, now func() time.Time) *Store {
	return &Store{rdb: rdb, cfg: cfg, now: now, update: redis.NewScript(applyScript)}
}

func (s *Store) chargerKey(edge, charger string) string {
	return s.cfg.Prefix + "charger/" + edge + "/" + charger
}

func (s *Store) connectedKey(edge string) string { return s.cfg.Prefix + "connected/" + edge }

func (s *Store) edgeKey(edge string) string { return s.cfg.Prefix + "edge/" + edge }

// Apply applies updates in one round trip and returns how many were newer
// than what was stored (the others changed nothing). Applying the same
// updates again is harmless, which is what lets ingest retry freely.
func (s *Store) Apply(ctx context.Context, updates []Update) (int, error) {
	if len(updates) == 0 {
		return 0, nil
	}
	now := s.now()
	run := func() ([]*redis.Cmd, error) {
		cmds := make([]*redis.Cmd, len(updates))
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, u := range updates {
				seen := u.LastSeen
				if seen.After(now) {
					seen = now // an edge clock ahead must not keep a charger online
				}
				connected := "0"
				if u.Connected {
					connected = "1"
				}
				cmds[i] = s.update.EvalSha(ctx, p,
					[]string{s.chargerKey(u.EdgeID, u.ChargerID), s.connectedKey(u.EdgeID)},
					fmt.Sprintf("%020d", u.Seq), connected, seen.UnixMilli(), u.ChargerID)
			}
			return nil
		})
		return cmds, err
	}
	cmds, err := run()
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		// First use on this server (or its script cache was flushed).
		if err := s.update.Load(ctx, s.rdb).Err(); err != nil {
			return 0, fmt.Errorf("load presence script: %w", err)
		}
		cmds, err = run()
	}
	if err != nil {
		return 0, fmt.Errorf("apply %d presence updates: %w", len(updates), err)
	}
	applied := 0
	for _, c := range cmds {
		n, err := c.Int()
		if err != nil {
			return 0, fmt.Errorf("apply presence update: %w", err)
		}
		applied += n
	}
	return applied, nil
}

// SetEdgeState records an edge's state, EdgeOnline or EdgeOffline. The state
// topic is retained and ordered per edge by the broker, so the last write wins.
func (s *Store) SetEdgeState(ctx context.Context, edgeID, state string) error {
	if state != EdgeOnline && state != EdgeOffline {
		return fmt.Errorf("edge %q state %q: %w", edgeID, state, ErrBadState)
	}
	if err := s.rdb.Set(ctx, s.edgeKey(edgeID), state, 0).Err(); err != nil {
		return fmt.Errorf("set edge %q state: %w", edgeID, err)
	}
	return nil
}

// Chargers returns the presence of each key, in order, in one round trip.
func (s *Store) Chargers(ctx context.Context, keys []Key) ([]Status, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	now := s.now()
	chargers := make([]*redis.SliceCmd, len(keys))
	edges := map[string]*redis.StringCmd{}
	cmds, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			chargers[i] = p.HMGet(ctx, s.chargerKey(k.EdgeID, k.ChargerID), "connected", "last_seen")
			if _, ok := edges[k.EdgeID]; !ok {
				edges[k.EdgeID] = p.Get(ctx, s.edgeKey(k.EdgeID))
			}
		}
		return nil
	})
	if err := pipelineErr(cmds, err); err != nil {
		return nil, fmt.Errorf("read presence of %d chargers: %w", len(keys), err)
	}
	out := make([]Status, len(keys))
	for i, k := range keys {
		vals := chargers[i].Val()
		st := Status{EdgeOffline: edges[k.EdgeID].Val() == EdgeOffline}
		if len(vals) == 2 && vals[0] != nil && vals[1] != nil {
			c, _ := vals[0].(string)
			ms, perr := strconv.ParseInt(fmt.Sprint(vals[1]), 10, 64)
			if perr == nil {
				st.Known = true
				st.Connected = c == "1"
				st.LastSeen = time.UnixMilli(ms).UTC()
			}
		}
		st.Online = st.Known && IsOnline(st.Connected, st.EdgeOffline, st.LastSeen, now, s.cfg.Timeout)
		out[i] = st
	}
	return out, nil
}

// OnlineCount returns how many chargers of edges are online now: one ZCOUNT
// per edge that is not offline, in one round trip.
func (s *Store) OnlineCount(ctx context.Context, edges []string) (int, error) {
	counts, err := s.OnlineByEdge(ctx, edges)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	return n, nil
}

// OnlineByEdge returns how many chargers of each edge are online now, in
// the order of edges (0 for an offline edge): one GET and one ZCOUNT per
// edge, all in one round trip.
func (s *Store) OnlineByEdge(ctx context.Context, edges []string) ([]int, error) {
	if len(edges) == 0 {
		return nil, nil
	}
	// Scores are last_seen in ms: online means last_seen >= now - timeout.
	since := strconv.FormatInt(s.now().Add(-s.cfg.Timeout).UnixMilli(), 10)
	states := make([]*redis.StringCmd, len(edges))
	counts := make([]*redis.IntCmd, len(edges))
	cmds, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, e := range edges {
			states[i] = p.Get(ctx, s.edgeKey(e))
			counts[i] = p.ZCount(ctx, s.connectedKey(e), since, "+inf")
		}
		return nil
	})
	if err := pipelineErr(cmds, err); err != nil {
		return nil, fmt.Errorf("count online chargers of %d edges: %w", len(edges), err)
	}
	out := make([]int, len(edges))
	for i := range edges {
		if states[i].Val() != EdgeOffline {
			out[i] = int(counts[i].Val())
		}
	}
	return out, nil
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// pipelineErr returns the first error of a pipeline other than redis.Nil (a
// missing key, which reads as "nothing known"). Pipelined itself reports only
// the first failed command, which may be a harmless redis.Nil hiding a real
// error behind it, so every command is checked.
func pipelineErr(cmds []redis.Cmder, err error) error {
	for _, c := range cmds {
		if e := c.Err(); e != nil && !errors.Is(e, redis.Nil) {
			return e
		}
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	return nil
}
