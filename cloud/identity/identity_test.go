package identity_test

import (
	"context"
	"errors"

	"log/slog"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/chargeplane/chargeplane/cloud/access"
	"github.com/chargeplane/chargeplane/cloud/identity"
	"github.com/chargeplane/chargeplane/cloud/postgres/pgtest"
	"github.com/chargeplane/chargeplane/cloud/presence/presencetest"
)

// mailbox captures what a Store mails, standing in for LogMailer.
type mailbox struct {
	mu   sync.Mutex
	sent []identity.Mail
}

func (m *mailbox) Send(_ context.Context, mail identity.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, mail)
	return nil
}

// last returns the last mail to, failing when there is none of kind.
func (m *mailbox) last(t *testing.T, to, kind string) identity.Mail {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.sent) - 1; i >= 0; i-- {
		if m.sent[i].To == to && m.sent[i].Kind == kind {
			return m.sent[i]
		}
	}
	t.Fatalf("no %s mail to %s among %d mails", kind, to, len(m.sent))
	return identity.Mail{}
}

func (m *mailbox) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sent)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one Postgres database and Redis prefix with two Stores on them:
// two replicas of the cloud.
type env struct {
	a, b  *identity.Store
	mail  *mailbox
	clock *clock
	cfg   identity.Config
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pool := pgtest.MustPool(t, pgtest.MustDB(t))
	rdb, prefix := presencetest.MustRedis(t)
	cfg := identity.DefaultConfig()
	cfg.Prefix = prefix
	// Cheap hashing: the tests check the flows, not argon2's cost.
	cfg.Argon2 = identity.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}
	cfg.LockoutAfter = 3
	e := &env{mail: &mailbox{}, clock: &clock{t: time.Now().UTC()}, cfg: cfg}
	e.a = identity.New(pool, rdb, cfg, e.mail, e.clock.now)
	e.b = identity.New(pool, rdb, cfg, e.mail, e.clock.now)
	if _, err := e.a.CreateTenant(t.Context(), "t1", "Tenant One"); err != nil {
		t.Fatal(err)
	}
	return e
}

const pw = "correct horse battery"

// admin is a platform admin principal for store calls that need a caller.
func (e *env) admin(t *testing.T) access.Principal {
	t.Helper()
	u, err := e.a.BootstrapAdmin(t.Context(), "root@example.com", pw, "Root")
	if err != nil && !errors.Is(err, identity.ErrAlreadyExists) {
		t.Fatal(err)
	}
	s, err := e.a.Login(t.Context(), "root@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "" && s.Principal.UserID != u.ID {
		t.Fatalf("login principal %+v, want user %s", s.Principal, u.ID)
	}
	return s.Principal
}

// user creates a user of t1 with role and a password and logs them in.
func (e *env) user(t *testing.T, email string, role access.Role) identity.Session {
	t.Helper()
	if _, err := e.a.CreateUser(t.Context(), e.admin(t), "t1", email, "", role, pw); err != nil {
		t.Fatal(err)
	}
	s, err := e.a.Login(t.Context(), email, pw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func TestRegisterVerifyLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()

	u, err := e.a.Register(ctx, "t1", " Dora@Example.COM ", pw, "Dora")
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "dora@example.com" || u.Role != access.RoleDriver || u.TenantID != "t1" || !u.EmailVerifiedAt.IsZero() {
		t.Fatalf("registered %+v", u)
	}
	_, err = e.a.Login(ctx, "dora@example.com", pw)
	wantErr(t, err, identity.ErrEmailNotVerified)

	_, err = e.a.Register(ctx, "t1", "dora@example.com", pw, "")
	wantErr(t, err, identity.ErrAlreadyExists)
	_, err = e.a.Register(ctx, "nope", "eve@example.com", pw, "")
	wantErr(t, err, identity.ErrNotFound)
	_, err = e.a.Register(ctx, "t1", "eve@example.com", "short", "")
	var invalid *identity.InvalidError
	if !errors.As(err, &invalid) || invalid.Field != "password" {
		t.Fatalf("short password: err = %v, want InvalidError on password", err)
	}

	mail := e.mail.last(t, "dora@example.com", identity.MailVerifyEmail)
	if mail.UserID != u.ID || mail.Token == "" {
		t.Fatalf("verification mail %+v", mail)
	}
	wantErr(t, e.a.VerifyEmail(ctx, "not-a-token"), identity.ErrInvalidToken)
	if err := e.a.VerifyEmail(ctx, mail.Token); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.a.VerifyEmail(ctx, mail.Token), identity.ErrInvalidToken) // once only

	s, err := e.a.Login(ctx, "DORA@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	if !s.ExpiresAt.Equal(e.clock.now().Add(e.cfg.SessionTTL)) {
		t.Errorf("expires_at %s, want now + %s", s.ExpiresAt, e.cfg.SessionTTL)
	}
	// The replica that did not log the user in authenticates the token.
	p, err := e.b.Authenticate(ctx, s.Token)
	if err != nil {
		t.Fatal(err)
	}
	if p.UserID != u.ID || p.TenantID != "t1" || p.Role != access.RoleDriver || p.SessionID == "" || p.APIKeyID != "" {
		t.Fatalf("principal %+v", p)
	}
	_, err = e.a.Authenticate(ctx, s.Token+"x")
	wantErr(t, err, access.ErrUnauthenticated)
}

func TestLoginFailuresLockTheAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	e.user(t, "op@example.com", access.RoleOperator)

	// Unknown email and wrong password are the same error.
	_, err := e.a.Login(ctx, "nobody@example.com", pw)
	wantErr(t, err, identity.ErrBadCredentials)
	for range e.cfg.LockoutAfter {
		_, err := e.a.Login(ctx, "op@example.com", "wrong password!")
		wantErr(t, err, identity.ErrBadCredentials)
	}
	// Locked: even the right password is refused, on every replica.
	_, err = e.b.Login(ctx, "op@example.com", pw)
	wantErr(t, err, identity.ErrLocked)

	e.clock.add(e.cfg.LockoutFor + time.Second)
	if _, err := e.b.Login(ctx, "op@example.com", pw); err != nil {
		t.Fatalf("login after the lock ended: %v", err)
	}
}

func TestChangePasswordEndsOtherSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	s1 := e.user(t, "v@example.com", access.RoleViewer)
	s2, err := e.a.Login(ctx, "v@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}

	var invalid *identity.InvalidError
	if err := e.a.ChangePassword(ctx, s1.Principal, "not the password", "a new password!"); !errors.As(err, &invalid) || invalid.Field != "old_password" {
		t.Fatalf("wrong old password: err = %v", err)
	}
	if err := e.a.ChangePassword(ctx, s1.Principal, pw, "a new password!"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.Authenticate(ctx, s1.Token); err != nil {
		t.Errorf("the changing session must stay: %v", err)
	}
	_, err = e.b.Authenticate(ctx, s2.Token)
	wantErr(t, err, access.ErrUnauthenticated)
	_, err = e.a.Login(ctx, "v@example.com", pw)
	wantErr(t, err, identity.ErrBadCredentials)
	if _, err := e.a.Login(ctx, "v@example.com", "a new password!"); err != nil {
		t.Fatal(err)
	}
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	s := e.user(t, "i@example.com", access.RoleInstaller)

	before := e.mail.count()
	if err := e.a.RequestPasswordReset(ctx, "unknown@example.com"); err != nil {
		t.Fatal(err)
	}
	if e.mail.count() != before {
		t.Fatal("a reset of an unknown email sent mail")
	}
	if err := e.a.RequestPasswordReset(ctx, "I@example.com"); err != nil {
		t.Fatal(err)
	}
	tok := e.mail.last(t, "i@example.com", identity.MailResetPassword).Token
	if err := e.a.ResetPassword(ctx, tok, "reset password!!"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.a.ResetPassword(ctx, tok, "another password"), identity.ErrInvalidToken)
	_, err := e.b.Authenticate(ctx, s.Token)
	wantErr(t, err, access.ErrUnauthenticated) // a reset ends every session
	if _, err := e.a.Login(ctx, "i@example.com", "reset password!!"); err != nil {
		t.Fatal(err)
	}

	// An expired token is refused.
	if err := e.a.RequestPasswordReset(ctx, "i@example.com"); err != nil {
		t.Fatal(err)
	}
	tok = e.mail.last(t, "i@example.com", identity.MailResetPassword).Token
	e.clock.add(e.cfg.ResetTTL + time.Second)
	wantErr(t, e.a.ResetPassword(ctx, tok, "too late password"), identity.ErrInvalidToken)
}

func TestInvitation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	u, err := e.a.CreateUser(ctx, e.admin(t), "t1", "new@example.com", "New", access.RoleOperator, "")
	if err != nil {
		t.Fatal(err)
	}
	// No password yet: nothing logs in, not even the empty password.
	_, err = e.a.Login(ctx, "new@example.com", "")
	wantErr(t, err, identity.ErrBadCredentials)
	invite := e.mail.last(t, "new@example.com", identity.MailInvite)
	if invite.UserID != u.ID {
		t.Fatalf("invitation %+v for user %s", invite, u.ID)
	}
	if err := e.a.ResetPassword(ctx, invite.Token, pw); err != nil {
		t.Fatal(err)
	}
	s, err := e.a.Login(ctx, "new@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	if s.Principal.Role != access.RoleOperator || s.Principal.TenantID != "t1" {
		t.Fatalf("principal %+v", s.Principal)
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	s := e.user(t, "d@example.com", access.RoleDriver)
	if err := e.a.Logout(ctx, s.Principal); err != nil {
		t.Fatal(err)
	}
	_, err := e.b.Authenticate(ctx, s.Token)
	wantErr(t, err, access.ErrUnauthenticated)
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	op := e.user(t, "op@example.com", access.RoleOperator).Principal

	_, _, err := e.a.CreateAPIKey(ctx, op, "t1", "too high", access.RoleTenantAdmin)
	wantErr(t, err, access.ErrDenied)
	var invalid *identity.InvalidError
	if _, _, err := e.a.CreateAPIKey(ctx, e.admin(t), "t1", "platform", access.RolePlatformAdmin); !errors.As(err, &invalid) {
		t.Fatalf("platform admin key: err = %v, want InvalidError", err)
	}

	k, secret, err := e.a.CreateAPIKey(ctx, op, "t1", "billing export", access.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^cpk_([0-9a-f]+)_[A-Za-z0-9_-]{43}$`).FindStringSubmatch(secret)
	if m == nil || m[1] != k.ID {
		t.Fatalf("key %q does not look like cpk_<%s>_<secret>", secret, k.ID)
	}
	if !k.LastUsedAt.IsZero() || k.CreatedBy != op.UserID {
		t.Fatalf("new key %+v", k)
	}
	p, err := e.b.Authenticate(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	want := access.Principal{UserID: op.UserID, TenantID: "t1", Role: access.RoleViewer, APIKeyID: k.ID}
	if p != want {
		t.Fatalf("principal %+v, want %+v", p, want)
	}
	keys, err := e.a.ListAPIKeys(ctx, "t1", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].LastUsedAt.IsZero() {
		t.Fatalf("keys after use %+v: want last_used_at set", keys)
	}
	// A wrong secret with the right id is refused, cached or not.
	_, err = e.a.Authenticate(ctx, "cpk_"+k.ID+"_"+"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	wantErr(t, err, access.ErrUnauthenticated)

	// Both replicas have it cached; revoking on one refuses on both at once.
	if _, err := e.a.Authenticate(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.RevokeAPIKey(ctx, "t2", k.ID); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("revoke through another tenant: err = %v, want ErrNotFound", err)
	}
	revoked, err := e.a.RevokeAPIKey(ctx, "t1", k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if revoked.RevokedAt.IsZero() {
		t.Fatalf("revoked key %+v", revoked)
	}
	for name, s := range map[string]*identity.Store{"a": e.a, "b": e.b} {
		_, err := s.Authenticate(ctx, secret)
		if !errors.Is(err, access.ErrUnauthenticated) {
			t.Errorf("replica %s after revoke: err = %v, want ErrUnauthenticated", name, err)
		}
	}
}

func TestDisableUserEndsSessionsAndKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	admin := e.user(t, "ta@example.com", access.RoleTenantAdmin).Principal
	op := e.user(t, "op@example.com", access.RoleOperator)
	_, key, err := e.a.CreateAPIKey(ctx, op.Principal, "t1", "", access.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.Authenticate(ctx, key); err != nil { // cached on b
		t.Fatal(err)
	}

	// Admins manage users at most their own role, never themselves.
	var invalid *identity.InvalidError
	if _, err := e.a.DisableUser(ctx, admin, "t1", admin.UserID); !errors.As(err, &invalid) {
		t.Fatalf("disable self: err = %v", err)
	}
	u, err := e.a.DisableUser(ctx, admin, "t1", op.Principal.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if u.DisabledAt.IsZero() {
		t.Fatalf("disabled user %+v", u)
	}
	_, err = e.b.Authenticate(ctx, op.Token)
	wantErr(t, err, access.ErrUnauthenticated)
	_, err = e.b.Authenticate(ctx, key)
	wantErr(t, err, access.ErrUnauthenticated)
	_, err = e.a.Login(ctx, "op@example.com", pw)
	wantErr(t, err, identity.ErrDisabled)
}

func TestSetUserRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	op := e.user(t, "op@example.com", access.RoleOperator)
	viewer := e.user(t, "v@example.com", access.RoleViewer)

	_, err := e.a.SetUserRole(ctx, op.Principal, "t1", viewer.Principal.UserID, access.RoleTenantAdmin)
	wantErr(t, err, access.ErrDenied) // above the caller's own role
	_, err = e.a.CreateUser(ctx, op.Principal, "t1", "x@example.com", "", access.RoleTenantAdmin, "")
	wantErr(t, err, access.ErrDenied)

	u, err := e.a.SetUserRole(ctx, op.Principal, "t1", viewer.Principal.UserID, access.RoleInstaller)
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != access.RoleInstaller {
		t.Fatalf("user %+v", u)
	}
	_, err = e.b.Authenticate(ctx, viewer.Token)
	wantErr(t, err, access.ErrUnauthenticated) // the old role's session ended
	s, err := e.a.Login(ctx, "v@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	if s.Principal.Role != access.RoleInstaller {
		t.Fatalf("role after login %s", s.Principal.Role)
	}
}

func TestAllowIsSharedAcrossReplicas(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	for i, s := range []*identity.Store{e.a, e.b, e.a} {
		ok, _, err := s.Allow(ctx, "user:u1", 3, time.Minute)
		if err != nil || !ok {
			t.Fatalf("call %d: ok=%v err=%v, want allowed", i+1, ok, err)
		}
	}
	ok, retry, err := e.b.Allow(ctx, "user:u1", 3, time.Minute)
	if err != nil || ok {
		t.Fatalf("4th call: ok=%v err=%v, want refused", ok, err)
	}
	if retry <= 0 || retry > time.Minute {
		t.Fatalf("retry after %s, want within the window", retry)
	}
	// Another subject has its own count.
	if ok, _, err := e.b.Allow(ctx, "user:u2", 3, time.Minute); err != nil || !ok {
		t.Fatalf("other subject: ok=%v err=%v", ok, err)
	}
}

func TestLogMailerLogsTheToken(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	m := identity.LogMailer{Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	if err := m.Send(t.Context(), identity.Mail{To: "a@example.com", Kind: identity.MailInvite, Token: "tok123"}); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); !regexp.MustCompile(`kind=invite to=a@example.com .*token=tok123`).MatchString(got) {
		t.Fatalf("log %q lacks the mail", got)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
