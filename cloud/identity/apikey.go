package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/chargeplane/chargeplane/cloud/access"
)

// apiKeyPrefix starts every API key: "cpk_<key id>_<secret>". The key id
// is hex, so the first "_" after the prefix ends it.
const apiKeyPrefix = "cpk_"

// revokedMarker is cached in place of a key that must not authenticate.
// Cache fills use SET NX, so a fill that read Postgres before a revocation
// committed can never overwrite the marker.
const revokedMarker = "revoked"

// keyUsedEvery throttles last_used_at writes per key.
const keyUsedEvery = time.Minute

func (s *Store) keyCacheKey(id string) string { return s.cfg.Prefix + "auth:key:" + id }
func (s *Store) keyUsedKey(id string) string  { return s.cfg.Prefix + "auth:keyused:" + id }

// markerTTL keeps the revoked marker longer than any cache entry filled
// before the revocation could live.
func (s *Store) markerTTL() time.Duration { return max(2*s.cfg.KeyCacheTTL, time.Minute) }

// cachedKey is what the cache holds for a usable key.
type cachedKey struct {
	TenantID  string `json:"t"`
	Role      string `json:"r"`
	Hash      []byte `json:"h"`
	CreatedBy string `json:"u"`
}

// CreateAPIKey creates a key for tenantID acting with role, which may be
// at most caller's own role and not platform_admin (keys act in one
// tenant). The returned secret is the whole key, shown this once.
func (s *Store) CreateAPIKey(ctx context.Context, caller access.Principal, tenantID, name string, role access.Role) (APIKey, string, error) {
	if err := CheckTenantID("tenant_id", tenantID); err != nil {
		return APIKey{}, "", err
	}
	if err := checkName("name", name); err != nil {
		return APIKey{}, "", err
	}
	if role == access.RolePlatformAdmin {
		return APIKey{}, "", &InvalidError{Field: "role", Reason: "API keys act in one tenant: platform_admin is not allowed"}
	}
	if err := checkGrant(caller, role); err != nil {
		return APIKey{}, "", err
	}
	k := APIKey{ID: randomID("", 8), TenantID: tenantID, Role: role, Name: name, CreatedBy: caller.UserID, CreatedAt: s.now().UTC()}
	secret := apiKeyPrefix + k.ID + "_" + randomToken()
	_, err := s.pool.Exec(ctx, `INSERT INTO api_keys (key_id, tenant_id, role, name, hash, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, k.ID, k.TenantID, string(k.Role), k.Name, sha(secret), k.CreatedBy, k.CreatedAt)
	switch {
	case isFKViolation(err):
		return APIKey{}, "", fmt.Errorf("tenant %q: %w", tenantID, ErrNotFound)
	case err != nil:
		return APIKey{}, "", fmt.Errorf("create api key: %w", err)
	}
	return k, secret, nil
}

const keyColumns = `key_id, tenant_id, role, name, created_by, created_at, last_used_at, revoked_at`

func scanKey(r pgx.Row) (APIKey, error) {
	var (
		k          APIKey
		role       string
		used, revd *time.Time
	)
	err := r.Scan(&k.ID, &k.TenantID, &role, &k.Name, &k.CreatedBy, &k.CreatedAt, &used, &revd)
	k.Role = access.Role(role)
	k.LastUsedAt = deref(used)
	k.RevokedAt = deref(revd)
	return k, err
}

// ListAPIKeys returns up to limit keys of tenantID (revoked ones too) in
// id order after the id after.
func (s *Store) ListAPIKeys(ctx context.Context, tenantID, after string, limit int) ([]APIKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE tenant_id = $1 AND key_id > $2 ORDER BY key_id LIMIT $3`,
		tenantID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (APIKey, error) { return scanKey(r) })
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey revokes a key of tenantID. The refusal is immediate on every
// replica: the shared cache entry is replaced by the revoked marker.
// Revoking a revoked key changes nothing.
func (s *Store) RevokeAPIKey(ctx context.Context, tenantID, keyID string) (APIKey, error) {
	k, err := scanKey(s.pool.QueryRow(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, $3)
		WHERE key_id = $1 AND tenant_id = $2 RETURNING `+keyColumns, keyID, tenantID, s.now().UTC()))
	if errors.Is(err, pgx.ErrNoRows) {
		return APIKey{}, fmt.Errorf("api key %q: %w", keyID, ErrNotFound)
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("revoke api key: %w", err)
	}
	if err := s.uncacheKeys(ctx, k.ID); err != nil {
		return APIKey{}, err
	}
	return k, nil
}

// uncacheKeys replaces the cache entries of keys by the revoked marker.
func (s *Store) uncacheKeys(ctx context.Context, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			p.Set(ctx, s.keyCacheKey(id), revokedMarker, s.markerTTL())
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("uncache api keys: %w", err)
	}
	return nil
}

func badKey() error {
	return fmt.Errorf("API key unknown or revoked: %w", access.ErrUnauthenticated)
}

// authenticateKey checks an API key: from the Redis cache, else Postgres
// (then cached for KeyCacheTTL).
func (s *Store) authenticateKey(ctx context.Context, key string) (access.Principal, error) {
	id, secret, ok := strings.Cut(strings.TrimPrefix(key, apiKeyPrefix), "_")
	if !ok || id == "" || secret == "" || len(key) > 200 {
		return access.Principal{}, badKey()
	}
	raw, err := s.rdb.Get(ctx, s.keyCacheKey(id)).Result()
	var ck cachedKey
	switch {
	case errors.Is(err, redis.Nil):
		if ck, err = s.loadKey(ctx, id); err != nil {
			return access.Principal{}, err
		}
	case err != nil:
		return access.Principal{}, fmt.Errorf("authenticate key: %w", err)
	case raw == revokedMarker:
		return access.Principal{}, badKey()
	default:
		if err := json.Unmarshal([]byte(raw), &ck); err != nil {
			return access.Principal{}, fmt.Errorf("authenticate key %s: cache: %w", id, err)
		}
	}
	if !equalHash(sha(key), ck.Hash) {
		return access.Principal{}, badKey()
	}
	if err := s.touchKey(ctx, id); err != nil {
		return access.Principal{}, err
	}
	return access.Principal{UserID: ck.CreatedBy, TenantID: ck.TenantID, Role: access.Role(ck.Role), APIKeyID: id}, nil
}

// loadKey reads a key from Postgres and caches it (or the revoked marker
// when it is unknown, revoked or its creator disabled).
func (s *Store) loadKey(ctx context.Context, id string) (cachedKey, error) {
	var (
		ck   cachedKey
		val  any
		role string
	)
	err := s.pool.QueryRow(ctx, `SELECT k.tenant_id, k.role, k.hash, k.created_by FROM api_keys k
		JOIN users u ON u.user_id = k.created_by
		WHERE k.key_id = $1 AND k.revoked_at IS NULL AND u.disabled_at IS NULL`, id).Scan(&ck.TenantID, &role, &ck.Hash, &ck.CreatedBy)
	ck.Role = role
	ttl := s.cfg.KeyCacheTTL
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		val = revokedMarker
	case err != nil:
		return cachedKey{}, fmt.Errorf("authenticate key: %w", err)
	default:
		raw, err := json.Marshal(ck)
		if err != nil {
			return cachedKey{}, fmt.Errorf("authenticate key: %w", err)
		}
		val = raw
	}
	if err := s.rdb.SetNX(ctx, s.keyCacheKey(id), val, ttl).Err(); err != nil {
		return cachedKey{}, fmt.Errorf("authenticate key: cache: %w", err)
	}
	if val == revokedMarker {
		return cachedKey{}, badKey()
	}
	return ck, nil
}

// touchKey records use of a key at most once per keyUsedEvery, so the hot
// path costs one Redis SET NX and, rarely, one UPDATE.
func (s *Store) touchKey(ctx context.Context, id string) error {
	first, err := s.rdb.SetNX(ctx, s.keyUsedKey(id), 1, keyUsedEvery).Result()
	if err != nil {
		return fmt.Errorf("authenticate key: %w", err)
	}
	if !first {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE key_id = $1`, id, s.now().UTC()); err != nil {
		return fmt.Errorf("authenticate key: last used: %w", err)
	}
	return nil
}
