package identity

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/chargeplane/chargeplane/cloud/access"
)

// Redis keys, all under Config.Prefix:
//
//	auth:sess:<session id>   principal JSON of a login; TTL SessionTTL
//	auth:usess:<user id>     set of the user's session ids (RevokeSessions)
//	auth:key:<key id>        cached API key JSON, or "revoked"; TTL KeyCacheTTL
//	auth:keyused:<key id>    present while last_used_at is fresh (1 min)
//	rl:<subject>:<window>    rate-limit counters (Allow)
//
// A session id is hex(sha256(token)): Redis never holds a usable token.
func (s *Store) sessKey(id string) string     { return s.cfg.Prefix + "auth:sess:" + id }
func (s *Store) userSessKey(id string) string { return s.cfg.Prefix + "auth:usess:" + id }

// storedPrincipal is what a session key holds.
type storedPrincipal struct {
	UserID   string `json:"u"`
	TenantID string `json:"t,omitempty"`
	Role     string `json:"r"`
}

// Login checks email and password and opens a session. Unknown email and
// wrong password give the same ErrBadCredentials (and cost the same argon2
// work); LockoutAfter failures in a row lock the account for LockoutFor,
// which ErrLocked then says. Only a correct password learns that the email
// is unverified or the account disabled.
func (s *Store) Login(ctx context.Context, email, password string) (Session, error) {
	e, err := NormalizeEmail("email", email)
	if err != nil {
		return Session{}, err
	}
	if len(password) > MaxPasswordBytes {
		return Session{}, ErrBadCredentials
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, e))
	if errors.Is(err, pgx.ErrNoRows) {
		VerifyPassword(password, s.dummyHash)
		return Session{}, ErrBadCredentials
	}
	if err != nil {
		return Session{}, fmt.Errorf("login: %w", err)
	}
	now := s.now().UTC()
	if now.Before(u.LockedUntil) {
		return Session{}, fmt.Errorf("too many failed logins; try again after %s: %w", u.LockedUntil.Format(time.RFC3339), ErrLocked)
	}
	if !VerifyPassword(password, u.hash) {
		// Counting in SQL keeps concurrent failures from being lost.
		_, err := s.pool.Exec(ctx, `UPDATE users SET
			locked_until  = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END,
			failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END
			WHERE user_id = $1`, u.ID, s.cfg.LockoutAfter, now.Add(s.cfg.LockoutFor))
		if err != nil {
			return Session{}, fmt.Errorf("login: count failure: %w", err)
		}
		return Session{}, ErrBadCredentials
	}
	switch {
	case !u.DisabledAt.IsZero():
		return Session{}, ErrDisabled
	case u.EmailVerifiedAt.IsZero():
		return Session{}, fmt.Errorf("follow the link sent to %s first: %w", u.Email, ErrEmailNotVerified)
	}
	if u.failedLogins > 0 || !u.LockedUntil.IsZero() {
		if _, err := s.pool.Exec(ctx, `UPDATE users SET failed_logins = 0, locked_until = NULL WHERE user_id = $1`, u.ID); err != nil {
			return Session{}, fmt.Errorf("login: reset failures: %w", err)
		}
	}

	tok := randomToken()
	id := hex.EncodeToString(sha(tok))
	raw, err := json.Marshal(storedPrincipal{UserID: u.ID, TenantID: u.TenantID, Role: string(u.Role)})
	if err != nil {
		return Session{}, fmt.Errorf("login: %w", err)
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.sessKey(id), raw, s.cfg.SessionTTL)
		p.SAdd(ctx, s.userSessKey(u.ID), id)
		// The set lives as long as the newest session; stale ids in it
		// are harmless (their keys have expired).
		p.Expire(ctx, s.userSessKey(u.ID), s.cfg.SessionTTL)
		return nil
	})
	if err != nil {
		return Session{}, fmt.Errorf("login: store session: %w", err)
	}
	// A DisableUser or SetUserRole that committed between the read above
	// and the session write revoked the set before this session joined it:
	// look again, now that the session is in the set.
	var (
		disabled *time.Time
		role     string
	)
	if err := s.pool.QueryRow(ctx, `SELECT disabled_at, role FROM users WHERE user_id = $1`, u.ID).Scan(&disabled, &role); err != nil {
		return Session{}, fmt.Errorf("login: recheck: %w", err)
	}
	if disabled != nil || role != string(u.Role) {
		if err := s.rdb.Del(ctx, s.sessKey(id)).Err(); err != nil {
			return Session{}, fmt.Errorf("login: drop session: %w", err)
		}
		return Session{}, fmt.Errorf("login: account changed during login: %w", ErrBadCredentials)
	}
	return Session{
		Token:     tok,
		ExpiresAt: now.Add(s.cfg.SessionTTL),
		Principal: access.Principal{UserID: u.ID, TenantID: u.TenantID, Role: u.Role, SessionID: id},
	}, nil
}

// Logout ends the caller's session.
func (s *Store) Logout(ctx context.Context, caller access.Principal) error {
	if caller.SessionID == "" {
		return fmt.Errorf("an API key has no session to log out of; revoke the key instead: %w", access.ErrDenied)
	}
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, s.sessKey(caller.SessionID))
		p.SRem(ctx, s.userSessKey(caller.UserID), caller.SessionID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// revokeScript deletes every session of a user but ARGV[2] ("" keeps
// none), atomically, so no replica sees half a revocation.
const revokeScript = `
local ids = redis.call('SMEMBERS', KEYS[1])
local n = 0
for _, id in ipairs(ids) do
  if id ~= ARGV[2] then
    redis.call('DEL', ARGV[1] .. id)
    redis.call('SREM', KEYS[1], id)
    n = n + 1
  end
end
return n`

// RevokeSessions ends every session of userID except keep ("" ends all).
func (s *Store) RevokeSessions(ctx context.Context, userID, keep string) error {
	err := s.rdb.Eval(ctx, revokeScript, []string{s.userSessKey(userID)}, s.cfg.Prefix+"auth:sess:", keep).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("revoke sessions of %s: %w", userID, err)
	}
	return nil
}

// Authenticate returns the principal of a bearer token: a login session
// token or an API key ("cpk_…"). Anything else, and expired, revoked or
// disabled credentials, give an error wrapping access.ErrUnauthenticated
// whose text does not say which.
func (s *Store) Authenticate(ctx context.Context, bearer string) (access.Principal, error) {
	if strings.HasPrefix(bearer, apiKeyPrefix) {
		return s.authenticateKey(ctx, bearer)
	}
	id := hex.EncodeToString(sha(bearer))
	raw, err := s.rdb.Get(ctx, s.sessKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return access.Principal{}, fmt.Errorf("session token unknown or expired: log in again: %w", access.ErrUnauthenticated)
	}
	if err != nil {
		return access.Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	var sp storedPrincipal
	if err := json.Unmarshal(raw, &sp); err != nil {
		return access.Principal{}, fmt.Errorf("authenticate: session %s: %w", id[:8], err)
	}
	return access.Principal{UserID: sp.UserID, TenantID: sp.TenantID, Role: access.Role(sp.Role), SessionID: id}, nil
}

// equalHash compares two hashes in constant time.
func equalHash(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
