package identity

import (
	"errors"
	"fmt"
	"time"

	"github.com/chargeplane/chargeplane/cloud/access"
)

// Sentinel errors. cloud/api maps each to one Connect code; the texts of
// errors wrapping them are written for clients.
var (
	// ErrNotFound: no such tenant, user or key (in the caller's tenant).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: the tenant id or email is taken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrBadCredentials: unknown email or wrong password; the two are
	// deliberately the same error.
	ErrBadCredentials = errors.New("wrong email or password")
	// ErrLocked: too many failed logins; the account is locked for a while.
	ErrLocked = errors.New("account locked")
	// ErrEmailNotVerified: the user has not followed the verification token.
	ErrEmailNotVerified = errors.New("email not verified")
	// ErrDisabled: an admin disabled the user.
	ErrDisabled = errors.New("account disabled")
	// ErrInvalidToken: a verification or reset token that is unknown,
	// used or expired.
	ErrInvalidToken = errors.New("invalid or expired token")
)

// InvalidError is bad input, naming the field; its text is for clients.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }

// Tenant is a customer of the platform; its id is an MQTT topic level.
type Tenant struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// User is a person who logs in. TenantID is empty for a platform admin.
type User struct {
	ID              string
	TenantID        string
	Email           string
	DisplayName     string
	Role            access.Role
	EmailVerifiedAt time.Time
	DisabledAt      time.Time
	LockedUntil     time.Time
	CreatedAt       time.Time
}

// APIKey describes a key; the key itself is shown only by CreateAPIKey.
type APIKey struct {
	ID         string
	TenantID   string
	Role       access.Role
	Name       string
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
}

// Session is a login: Token is the bearer secret, shown once.
type Session struct {
	Token     string
	ExpiresAt time.Time
	Principal access.Principal
}

// rank orders the roles for "a caller may only grant a role at most its
// own": platform_admin > tenant_admin > operator > installer > viewer >
// driver.
func rank(r access.Role) int {
	switch r {
	case access.RolePlatformAdmin:
		return 6
	case access.RoleTenantAdmin:
		return 5
	case access.RoleOperator:
		return 4
	case access.RoleInstaller:
		return 3
	case access.RoleViewer:
		return 2
	case access.RoleDriver:
		return 1
	}
	return 0
}

// RoleAtMost reports whether r is at or below limit in the role order.
func RoleAtMost(r, limit access.Role) bool {
	return rank(r) > 0 && rank(r) <= rank(limit)
}

// checkGrant refuses granting role r to someone in tenant by caller.
func checkGrant(caller access.Principal, r access.Role) error {
	if !RoleAtMost(r, caller.Role) {
		return fmt.Errorf("role %s may not grant role %s: %w", caller.Role, r, access.ErrDenied)
	}
	return nil
}

// Config tunes the store. Zero values are not defaults: the server's config
// supplies them (DefaultConfig).
type Config struct {
	// Prefix starts every Redis key (redis.prefix).
	Prefix string
	// SessionTTL is how long a login session lasts.
	SessionTTL time.Duration
	// LockoutAfter failed logins in a row lock the account for LockoutFor.
	LockoutAfter int
	LockoutFor   time.Duration
	Argon2       Argon2Params
	// KeyCacheTTL bounds how long an API key stays cached in Redis.
	KeyCacheTTL time.Duration
	// VerifyTTL, ResetTTL and InviteTTL are the lifetimes of the mailed
	// one-time tokens.
	VerifyTTL time.Duration
	ResetTTL  time.Duration
	InviteTTL time.Duration
}

// DefaultConfig returns production defaults: 12 h sessions, lock for 15 min
// after 5 failures, OWASP's argon2id parameters, 30 s key cache.
func DefaultConfig() Config {
	return Config{
		Prefix:       "cp:",
		SessionTTL:   12 * time.Hour,
		LockoutAfter: 5,
		LockoutFor:   15 * time.Minute,
		Argon2:       DefaultArgon2(),
		KeyCacheTTL:  30 * time.Second,
		VerifyTTL:    48 * time.Hour,
		ResetTTL:     time.Hour,
		InviteTTL:    7 * 24 * time.Hour,
	}
}
