package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/chargeplane/chargeplane/cloud/access"
	"github.com/chargeplane/chargeplane/shared/topic"
)

// Input bounds.
const (
	maxTenantIDLen = 128
	maxNameBytes   = 200
	maxEmailBytes  = 254 // RFC 5321 section 4.5.3.1.3, a path less its brackets
)

// Store is the identity store on Postgres and Redis. It is safe for
// concurrent use; several Stores (replicas) may share one Postgres and one
// Redis.
type Store struct {
	pool   *pgxpool.Pool
	rdb    *redis.Client
	cfg    Config
	mailer Mailer
	now    func() time.Time
	// dummyHash is verified against when the email is unknown, so an
	// unknown email costs the same argon2 work as a wrong password and
	// timing does not tell which it was.
	dummyHash string
}

// New returns a Store. now is the clock (tests move it to expire locks).
func New(pool *pgxpool.Pool, rdb *redis.Client, cfg Config, mailer Mailer, now func() time.Time) *Store {
	return &Store{
		pool: pool, rdb: rdb, cfg: cfg, mailer: mailer, now: now,
		dummyHash: HashPassword(randomToken(), cfg.Argon2),
	}
}

// randomToken returns 32 random bytes, base64url without padding.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomID(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	return prefix + hex.EncodeToString(b)
}

func sha(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func isFKViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}

// CheckTenantID checks a tenant id: it is an MQTT topic level.
func CheckTenantID(field, id string) error {
	switch {
	case id == "":
		return &InvalidError{Field: field, Reason: "required"}
	case len(id) > maxTenantIDLen:
		return &InvalidError{Field: field, Reason: fmt.Sprintf("at most %d bytes, got %d", maxTenantIDLen, len(id))}
	case !topic.ValidSegment(id):
		return &InvalidError{Field: field, Reason: "must not contain '/', '+', '#' or NUL"}
	}
	return nil
}

// NormalizeEmail lowercases and trims an email and checks its shape
// (local@domain, no spaces or control characters); delivery proves the rest.
func NormalizeEmail(field, email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	local, domain, ok := strings.Cut(e, "@")
	switch {
	case e == "":
		return "", &InvalidError{Field: field, Reason: "required"}
	case len(e) > maxEmailBytes:
		return "", &InvalidError{Field: field, Reason: fmt.Sprintf("at most %d bytes", maxEmailBytes)}
	case !ok || local == "" || domain == "" || strings.Contains(domain, "@") || !strings.Contains(domain, "."):
		return "", &InvalidError{Field: field, Reason: "must be an email address (name@example.com)"}
	case strings.ContainsFunc(e, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return "", &InvalidError{Field: field, Reason: "must not contain spaces or control characters"}
	}
	return e, nil
}

func checkName(field, name string) error {
	if len(name) > maxNameBytes {
		return &InvalidError{Field: field, Reason: fmt.Sprintf("at most %d bytes, got %d", maxNameBytes, len(name))}
	}
	if strings.ContainsRune(name, 0) {
		return &InvalidError{Field: field, Reason: "must not contain NUL"}
	}
	return nil
}

// --- Tenants ---

// CreateTenant creates a tenant; name defaults to the id.
func (s *Store) CreateTenant(ctx context.Context, id, name string) (Tenant, error) {
	if err := CheckTenantID("tenant_id", id); err != nil {
		return Tenant{}, err
	}
	if err := checkName("name", name); err != nil {
		return Tenant{}, err
	}
	if name == "" {
		name = id
	}
	t := Tenant{ID: id, Name: name, CreatedAt: s.now().UTC()}
	tag, err := s.pool.Exec(ctx, `INSERT INTO tenants (tenant_id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		t.ID, t.Name, t.CreatedAt)
	if err != nil {
		return Tenant{}, fmt.Errorf("create tenant: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return Tenant{}, fmt.Errorf("tenant %q: %w", id, ErrAlreadyExists)
	}
	return t, nil
}

// GetTenant returns one tenant.
func (s *Store) GetTenant(ctx context.Context, id string) (Tenant, error) {
	var t Tenant
	err := s.pool.QueryRow(ctx, `SELECT tenant_id, name, created_at FROM tenants WHERE tenant_id = $1`, id).
		Scan(&t.ID, &t.Name, &t.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Tenant{}, fmt.Errorf("tenant %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Tenant{}, fmt.Errorf("get tenant: %w", err)
	}
	return t, nil
}

// ListTenants returns up to limit tenants in id order after the id after.
func (s *Store) ListTenants(ctx context.Context, after string, limit int) ([]Tenant, error) {
	rows, err := s.pool.Query(ctx, `SELECT tenant_id, name, created_at FROM tenants WHERE tenant_id > $1 ORDER BY tenant_id LIMIT $2`,
		after, limit)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Tenant, error) {
		var t Tenant
		return t, r.Scan(&t.ID, &t.Name, &t.CreatedAt)
	})
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return out, nil
}

// --- Users ---

const userColumns = `user_id, coalesce(tenant_id, ''), email, display_name, role, password_hash,
	email_verified_at, disabled_at, failed_logins, locked_until, created_at`

// userRow is a users row with the secret columns a User does not expose.
type userRow struct {
	User
	hash         string
	failedLogins int
}

func scanUser(r pgx.Row) (userRow, error) {
	var (
		u                          userRow
		role                       string
		verified, disabled, locked *time.Time
	)
	err := r.Scan(&u.ID, &u.TenantID, &u.Email, &u.DisplayName, &role, &u.hash,
		&verified, &disabled, &u.failedLogins, &locked, &u.CreatedAt)
	if err != nil {
		return u, err
	}
	u.Role = access.Role(role)
	u.EmailVerifiedAt = deref(verified)
	u.DisabledAt = deref(disabled)
	u.LockedUntil = deref(locked)
	return u, nil
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// insertUser adds u with the password hash (may be "") in tx.
func (s *Store) insertUser(ctx context.Context, tx pgx.Tx, u User, hash string) error {
	_, err := tx.Exec(ctx, `INSERT INTO users (user_id, tenant_id, email, display_name, role, password_hash, email_verified_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		u.ID, nullString(u.TenantID), u.Email, u.DisplayName, string(u.Role), hash, nullTime(u.EmailVerifiedAt), u.CreatedAt)
	switch {
	case isUniqueViolation(err):
		return fmt.Errorf("email %q: %w", u.Email, ErrAlreadyExists)
	case isFKViolation(err):
		return fmt.Errorf("tenant %q: %w", u.TenantID, ErrNotFound)
	case err != nil:
		return fmt.Errorf("insert user: %w", err)
	}
	return nil
}

// insertToken stores sha256 of a new one-time token for user and returns
// the token.
func (s *Store) insertToken(ctx context.Context, tx pgx.Tx, userID, purpose string, ttl time.Duration) (string, error) {
	tok := randomToken()
	now := s.now().UTC()
	_, err := tx.Exec(ctx, `INSERT INTO user_tokens (token_hash, user_id, purpose, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)`,
		sha(tok), userID, purpose, now.Add(ttl), now)
	if err != nil {
		return "", fmt.Errorf("insert %s token: %w", purpose, err)
	}
	return tok, nil
}

// newUser validates the common fields of a user to be created.
func newUser(tenantID, email, displayName string, role access.Role, now time.Time) (User, error) {
	var errs []error
	e, err := NormalizeEmail("email", email)
	errs = append(errs, err, checkName("display_name", displayName))
	if role != access.RolePlatformAdmin {
		errs = append(errs, CheckTenantID("tenant_id", tenantID))
	}
	if err := errors.Join(errs...); err != nil {
		return User{}, firstInvalid(errs)
	}
	return User{ID: randomID("usr_", 10), TenantID: tenantID, Email: e, DisplayName: displayName, Role: role, CreatedAt: now}, nil
}

// firstInvalid returns the first non-nil error: clients fix one field at a
// time, and the message names it.
func firstInvalid(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// Register signs a driver up to a tenant (self-service). The user cannot
// log in until VerifyEmail with the token sent through the Mailer.
func (s *Store) Register(ctx context.Context, tenantID, email, password, displayName string) (User, error) {
	u, err := newUser(tenantID, email, displayName, access.RoleDriver, s.now().UTC())
	if err != nil {
		return User{}, err
	}
	if err := CheckPassword("password", password); err != nil {
		return User{}, err
	}
	hash := HashPassword(password, s.cfg.Argon2)
	var tok string
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.insertUser(ctx, tx, u, hash); err != nil {
			return err
		}
		tok, err = s.insertToken(ctx, tx, u.ID, "verify_email", s.cfg.VerifyTTL)
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("register: %w", err)
	}
	if err := s.mailer.Send(ctx, Mail{To: u.Email, UserID: u.ID, Kind: MailVerifyEmail, Token: tok}); err != nil {
		return User{}, fmt.Errorf("send verification: %w", err)
	}
	return u, nil
}

// consumeToken marks a valid token of purpose used and returns its user.
func (s *Store) consumeToken(ctx context.Context, tx pgx.Tx, token, purpose string) (string, error) {
	var userID string
	err := tx.QueryRow(ctx, `UPDATE user_tokens SET used_at = $3
		WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 RETURNING user_id`,
		sha(token), purpose, s.now().UTC()).Scan(&userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrInvalidToken
	}
	if err != nil {
		return "", fmt.Errorf("consume token: %w", err)
	}
	return userID, nil
}

// VerifyEmail marks the email of the token's user verified.
func (s *Store) VerifyEmail(ctx context.Context, token string) error {
	if token == "" {
		return &InvalidError{Field: "token", Reason: "required"}
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		userID, err := s.consumeToken(ctx, tx, token, "verify_email")
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE users SET email_verified_at = coalesce(email_verified_at, $2) WHERE user_id = $1`, userID, s.now().UTC())
		if err != nil {
			return fmt.Errorf("verify email: %w", err)
		}
		return nil
	})
}

// BootstrapAdmin creates a platform admin with a verified email: how the
// first admin comes to exist (chargeplane-cloud admin create).
func (s *Store) BootstrapAdmin(ctx context.Context, email, password, displayName string) (User, error) {
	now := s.now().UTC()
	u, err := newUser("", email, displayName, access.RolePlatformAdmin, now)
	if err != nil {
		return User{}, err
	}
	if err := CheckPassword("password", password); err != nil {
		return User{}, err
	}
	u.EmailVerifiedAt = now
	hash := HashPassword(password, s.cfg.Argon2)
	if err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return s.insertUser(ctx, tx, u, hash) }); err != nil {
		return User{}, fmt.Errorf("create platform admin: %w", err)
	}
	return u, nil
}

// CreateUser creates a user in tenantID with role. With an empty password
// the user is invited: they have no password until they follow the
// invitation (a reset token with InviteTTL, sent through the Mailer), which
// also verifies their email. With a password, the user can log in at once
// (an admin vouches for the email) and no mail is sent. caller may grant at
// most its own role, and only a platform admin creates platform admins (who
// belong to no tenant).
func (s *Store) CreateUser(ctx context.Context, caller access.Principal, tenantID, email, displayName string, role access.Role, password string) (User, error) {
	if err := checkGrant(caller, role); err != nil {
		return User{}, err
	}
	if role == access.RolePlatformAdmin {
		tenantID = ""
	}
	now := s.now().UTC()
	u, err := newUser(tenantID, email, displayName, role, now)
	if err != nil {
		return User{}, err
	}
	hash := ""
	if password != "" {
		if err := CheckPassword("password", password); err != nil {
			return User{}, err
		}
		hash = HashPassword(password, s.cfg.Argon2)
		u.EmailVerifiedAt = now
	}
	var tok string
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := s.insertUser(ctx, tx, u, hash); err != nil {
			return err
		}
		if hash != "" {
			return nil
		}
		tok, err = s.insertToken(ctx, tx, u.ID, "reset_password", s.cfg.InviteTTL)
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	if tok == "" {
		return u, nil
	}
	if err := s.mailer.Send(ctx, Mail{To: u.Email, UserID: u.ID, Kind: MailInvite, Token: tok}); err != nil {
		return User{}, fmt.Errorf("send invitation: %w", err)
	}
	return u, nil
}

// GetUser returns a user of tenantID ("" for a platform admin).
func (s *Store) GetUser(ctx context.Context, tenantID, userID string) (User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE user_id = $1 AND tenant_id IS NOT DISTINCT FROM $2`,
		userID, nullString(tenantID)))
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, fmt.Errorf("user %q: %w", userID, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("get user: %w", err)
	}
	return u.User, nil
}

// ListUsers returns up to limit users of tenantID in id order after the id
// after.
func (s *Store) ListUsers(ctx context.Context, tenantID, after string, limit int) ([]User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users WHERE tenant_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3`,
		tenantID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (User, error) {
		u, err := scanUser(r)
		return u.User, err
	})
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// target loads a tenant user that caller may manage: one whose role is at
// most caller's own, and not caller itself.
func (s *Store) target(ctx context.Context, caller access.Principal, tenantID, userID string) (User, error) {
	u, err := s.GetUser(ctx, tenantID, userID)
	if err != nil {
		return User{}, err
	}
	if u.ID == caller.UserID {
		return User{}, &InvalidError{Field: "user_id", Reason: "is the caller: ask another admin"}
	}
	if !RoleAtMost(u.Role, caller.Role) {
		return User{}, fmt.Errorf("user %q has a higher role than the caller: %w", userID, access.ErrDenied)
	}
	return u, nil
}

// SetUserRole changes a user's role and ends the user's sessions, so the
// new role applies from the next login on every replica.
func (s *Store) SetUserRole(ctx context.Context, caller access.Principal, tenantID, userID string, role access.Role) (User, error) {
	if err := checkGrant(caller, role); err != nil {
		return User{}, err
	}
	if role == access.RolePlatformAdmin {
		return User{}, &InvalidError{Field: "role", Reason: "platform_admin belongs to no tenant: create a platform admin instead"}
	}
	u, err := s.target(ctx, caller, tenantID, userID)
	if err != nil {
		return User{}, err
	}
	if _, err := s.pool.Exec(ctx, `UPDATE users SET role = $2 WHERE user_id = $1`, u.ID, string(role)); err != nil {
		return User{}, fmt.Errorf("set role: %w", err)
	}
	u.Role = role
	if err := s.RevokeSessions(ctx, u.ID, ""); err != nil {
		return User{}, err
	}
	return u, nil
}

// DisableUser disables a user: their sessions end at once and the API keys
// they created stop working, on every replica.
func (s *Store) DisableUser(ctx context.Context, caller access.Principal, tenantID, userID string) (User, error) {
	u, err := s.target(ctx, caller, tenantID, userID)
	if err != nil {
		return User{}, err
	}
	now := s.now().UTC()
	if _, err := s.pool.Exec(ctx, `UPDATE users SET disabled_at = coalesce(disabled_at, $2) WHERE user_id = $1`, u.ID, now); err != nil {
		return User{}, fmt.Errorf("disable user: %w", err)
	}
	if u.DisabledAt.IsZero() {
		u.DisabledAt = now
	}
	if err := s.RevokeSessions(ctx, u.ID, ""); err != nil {
		return User{}, err
	}
	rows, err := s.pool.Query(ctx, `SELECT key_id FROM api_keys WHERE created_by = $1 AND revoked_at IS NULL`, u.ID)
	if err != nil {
		return User{}, fmt.Errorf("disable user: keys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return User{}, fmt.Errorf("disable user: keys: %w", err)
	}
	if err := s.uncacheKeys(ctx, keys...); err != nil {
		return User{}, err
	}
	return u, nil
}

// --- Passwords ---

// ChangePassword sets a new password after checking the old one, and ends
// every other session of the user (the caller's own stays).
func (s *Store) ChangePassword(ctx context.Context, caller access.Principal, oldPassword, newPassword string) error {
	if caller.APIKeyID != "" || caller.SessionID == "" {
		return fmt.Errorf("change the password from a login session, not with an API key: %w", access.ErrDenied)
	}
	if err := CheckPassword("new_password", newPassword); err != nil {
		return err
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE user_id = $1`, caller.UserID))
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if !VerifyPassword(oldPassword, u.hash) {
		return &InvalidError{Field: "old_password", Reason: "does not match the current password"}
	}
	if _, err := s.pool.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE user_id = $1`, u.ID, HashPassword(newPassword, s.cfg.Argon2)); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	return s.RevokeSessions(ctx, u.ID, caller.SessionID)
}

// RequestPasswordReset mails a reset token when email belongs to an active
// user. It says nothing either way: callers answer OK whatever happened, so
// the call cannot probe which emails exist.
func (s *Store) RequestPasswordReset(ctx context.Context, email string) error {
	e, err := NormalizeEmail("email", email)
	if err != nil {
		return err
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, e))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("request reset: %w", err)
	}
	if !u.DisabledAt.IsZero() {
		return nil
	}
	var tok string
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tok, err = s.insertToken(ctx, tx, u.ID, "reset_password", s.cfg.ResetTTL)
		return err
	})
	if err != nil {
		return fmt.Errorf("request reset: %w", err)
	}
	if err := s.mailer.Send(ctx, Mail{To: u.Email, UserID: u.ID, Kind: MailResetPassword, Token: tok}); err != nil {
		return fmt.Errorf("send reset: %w", err)
	}
	return nil
}

// ResetPassword sets a new password with a reset (or invitation) token. It
// verifies the email (the token arrived there), lifts a lockout, voids the
// user's other reset tokens and ends all their sessions.
func (s *Store) ResetPassword(ctx context.Context, token, newPassword string) error {
	if token == "" {
		return &InvalidError{Field: "token", Reason: "required"}
	}
	if err := CheckPassword("new_password", newPassword); err != nil {
		return err
	}
	hash := HashPassword(newPassword, s.cfg.Argon2)
	now := s.now().UTC()
	var userID string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if userID, err = s.consumeToken(ctx, tx, token, "reset_password"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2, email_verified_at = coalesce(email_verified_at, $3),
			failed_logins = 0, locked_until = NULL WHERE user_id = $1`, userID, hash, now); err != nil {
			return fmt.Errorf("reset password: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE user_tokens SET used_at = $2 WHERE user_id = $1 AND purpose = 'reset_password' AND used_at IS NULL`, userID, now); err != nil {
			return fmt.Errorf("reset password: void other tokens: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.RevokeSessions(ctx, userID, "")
}
