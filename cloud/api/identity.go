package api

import (
	"context"
	"log/slog"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/cloud/access"
	"github.com/chargeplane/chargeplane/cloud/identity"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// AuthService serves chargeplane.v1.AuthService: sign-up, login sessions
// and passwords (cloud/identity).
type AuthService struct {
	ident  *identity.Store
	logger *slog.Logger
}

// Register signs a driver up to an existing tenant; the verification token
// goes through the mailer.
func (s *AuthService) Register(ctx context.Context, req *connect.Request[chargeplanev1.RegisterRequest]) (*connect.Response[chargeplanev1.RegisterResponse], error) {
	msg := req.Msg
	u, err := s.ident.Register(ctx, msg.GetTenantId(), msg.GetEmail(), msg.GetPassword(), msg.GetDisplayName())
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "user registered", "tenant_id", u.TenantID, "user_id", u.ID, "request_id", RequestID(ctx))
	return connect.NewResponse(&chargeplanev1.RegisterResponse{User: userProto(u)}), nil
}

// VerifyEmail confirms an email with its mailed token.
func (s *AuthService) VerifyEmail(ctx context.Context, req *connect.Request[chargeplanev1.VerifyEmailRequest]) (*connect.Response[chargeplanev1.VerifyEmailResponse], error) {
	if err := s.ident.VerifyEmail(ctx, req.Msg.GetToken()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.VerifyEmailResponse{}), nil
}

// Login opens a session.
func (s *AuthService) Login(ctx context.Context, req *connect.Request[chargeplanev1.LoginRequest]) (*connect.Response[chargeplanev1.LoginResponse], error) {
	sess, err := s.ident.Login(ctx, req.Msg.GetEmail(), req.Msg.GetPassword())
	if err != nil {
		return nil, err
	}
	u, err := s.ident.GetUser(ctx, sess.Principal.TenantID, sess.Principal.UserID)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.LoginResponse{
		Token: sess.Token, ExpiresAt: timestamppb.New(sess.ExpiresAt), User: userProto(u),
	}), nil
}

// Logout ends the caller's session.
func (s *AuthService) Logout(ctx context.Context, _ *connect.Request[chargeplanev1.LogoutRequest]) (*connect.Response[chargeplanev1.LogoutResponse], error) {
	p, err := access.Caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.ident.Logout(ctx, p); err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.LogoutResponse{}), nil
}

// ChangePassword sets a new password and ends the caller's other sessions.
func (s *AuthService) ChangePassword(ctx context.Context, req *connect.Request[chargeplanev1.ChangePasswordRequest]) (*connect.Response[chargeplanev1.ChangePasswordResponse], error) {
	p, err := access.Caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.ident.ChangePassword(ctx, p, req.Msg.GetOldPassword(), req.Msg.GetNewPassword()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.ChangePasswordResponse{}), nil
}

// RequestPasswordReset mails a reset token when the email is a user's; the
// answer is the same either way.
func (s *AuthService) RequestPasswordReset(ctx context.Context, req *connect.Request[chargeplanev1.RequestPasswordResetRequest]) (*connect.Response[chargeplanev1.RequestPasswordResetResponse], error) {
	if err := s.ident.RequestPasswordReset(ctx, req.Msg.GetEmail()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.RequestPasswordResetResponse{}), nil
}

// ResetPassword sets a password with a reset or invitation token.
func (s *AuthService) ResetPassword(ctx context.Context, req *connect.Request[chargeplanev1.ResetPasswordRequest]) (*connect.Response[chargeplanev1.ResetPasswordResponse], error) {
	if err := s.ident.ResetPassword(ctx, req.Msg.GetToken(), req.Msg.GetNewPassword()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.ResetPasswordResponse{}), nil
}

// WhoAmI describes the caller.
func (s *AuthService) WhoAmI(ctx context.Context, _ *connect.Request[chargeplanev1.WhoAmIRequest]) (*connect.Response[chargeplanev1.WhoAmIResponse], error) {
	p, err := access.Caller(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.WhoAmIResponse{
		UserId: p.UserID, TenantId: p.TenantID, Role: RoleProto(p.Role), ApiKeyId: p.APIKeyID,
	}), nil
}

// TenantService serves chargeplane.v1.TenantService.
type TenantService struct {
	ident  *identity.Store
	logger *slog.Logger
}

// CreateTenant creates a tenant.
func (s *TenantService) CreateTenant(ctx context.Context, req *connect.Request[chargeplanev1.CreateTenantRequest]) (*connect.Response[chargeplanev1.CreateTenantResponse], error) {
	t, err := s.ident.CreateTenant(ctx, req.Msg.GetTenantId(), req.Msg.GetName())
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "tenant created", "tenant_id", t.ID, "request_id", RequestID(ctx))
	return connect.NewResponse(&chargeplanev1.CreateTenantResponse{Tenant: tenantProto(t)}), nil
}

// ListTenants pages through tenants in id order.
func (s *TenantService) ListTenants(ctx context.Context, req *connect.Request[chargeplanev1.ListTenantsRequest]) (*connect.Response[chargeplanev1.ListTenantsResponse], error) {
	list := func(ctx context.Context, after string, limit int) ([]identity.Tenant, error) {
		return s.ident.ListTenants(ctx, after, limit)
	}
	ts, next, err := pageByID(ctx, req.Msg, list, func(t identity.Tenant) string { return t.ID }, tenantProto)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.ListTenantsResponse{Tenants: ts, NextPageToken: next}), nil
}

// GetTenant returns the caller's tenant, or any for a platform admin.
func (s *TenantService) GetTenant(ctx context.Context, req *connect.Request[chargeplanev1.GetTenantRequest]) (*connect.Response[chargeplanev1.GetTenantResponse], error) {
	tenant, err := scope(ctx, req.Msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	t, err := s.ident.GetTenant(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.GetTenantResponse{Tenant: tenantProto(t)}), nil
}

// UserService serves chargeplane.v1.UserService: a tenant's users.
type UserService struct {
	ident  *identity.Store
	logger *slog.Logger
}

// CreateUser invites a user, or creates one with a password.
func (s *UserService) CreateUser(ctx context.Context, req *connect.Request[chargeplanev1.CreateUserRequest]) (*connect.Response[chargeplanev1.CreateUserResponse], error) {
	msg := req.Msg
	p, err := access.Caller(ctx)
	if err != nil {
		return nil, err
	}
	role, err := roleOf("role", msg.GetRole())
	if err != nil {
		return nil, err
	}
	tenant := ""
	if role != access.RolePlatformAdmin {
		if tenant, err = p.Tenant(msg.GetTenantId()); err != nil {
			return nil, err
		}
	}
	u, err := s.ident.CreateUser(ctx, p, tenant, msg.GetEmail(), msg.GetDisplayName(), role, msg.GetPassword())
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "user created", "tenant_id", u.TenantID, "user_id", u.ID, "role", string(u.Role),
		"by", p.Subject(), "request_id", RequestID(ctx))
	return connect.NewResponse(&chargeplanev1.CreateUserResponse{User: userProto(u)}), nil
}

// ListUsers pages through a tenant's users.
func (s *UserService) ListUsers(ctx context.Context, req *connect.Request[chargeplanev1.ListUsersRequest]) (*connect.Response[chargeplanev1.ListUsersResponse], error) {
	tenant, err := scope(ctx, req.Msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	list := func(ctx context.Context, after string, limit int) ([]identity.User, error) {
		return s.ident.ListUsers(ctx, tenant, after, limit)
	}
	us, next, err := pageByID(ctx, req.Msg, list, func(u identity.User) string { return u.ID }, userProto)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.ListUsersResponse{Users: us, NextPageToken: next}), nil
}

// SetUserRole changes a user's role; their sessions end.
func (s *UserService) SetUserRole(ctx context.Context, req *connect.Request[chargeplanev1.SetUserRoleRequest]) (*connect.Response[chargeplanev1.SetUserRoleResponse], error) {
	p, tenant, err := callerScope(ctx, req.Msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	role, err := roleOf("role", req.Msg.GetRole())
	if err != nil {
		return nil, err
	}
	u, err := s.ident.SetUserRole(ctx, p, tenant, req.Msg.GetUserId(), role)
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "user role set", "tenant_id", tenant, "user_id", u.ID, "role", string(role),
		"by", p.Subject(), "request_id", RequestID(ctx))
	return connect.NewResponse(&chargeplanev1.SetUserRoleResponse{User: userProto(u)}), nil
}

// DisableUser disables a user: sessions and the keys they created stop
// working at once.
func (s *UserService) DisableUser(ctx context.Context, req *connect.Request[chargeplanev1.DisableUserRequest]) (*connect.Response[chargeplanev1.DisableUserResponse], error) {
	p, tenant, err := callerScope(ctx, req.Msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	u, err := s.ident.DisableUser(ctx, p, tenant, req.Msg.GetUserId())
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "user disabled", "tenant_id", tenant, "user_id", u.ID, "by", p.Subject(), "request_id", RequestID(ctx))
	return connect.NewResponse(&chargeplanev1.DisableUserResponse{User: userProto(u)}), nil
}

// APIKeyService serves chargeplane.v1.APIKeyService: a tenant's API keys.
type APIKeyService struct {
	ident  *identity.Store
	logger *slog.Logger
}

// CreateAPIKey creates a key and returns it, once.
func (s *APIKeyService) CreateAPIKey(ctx context.Context, req *connect.Request[chargeplanev1.CreateAPIKeyRequest]) (*connect.Response[chargeplanev1.CreateAPIKeyResponse], error) {
	p, tenant, err := callerScope(ctx, req.Msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	role, err := roleOf("role", req.Msg.GetRole())
	if err != nil {
		return nil, err
	}
	k, secret, err := s.ident.CreateAPIKey(ctx, p, tenant, req.Msg.GetName(), role)
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "api key created", "tenant_id", tenant, "api_key_id", k.ID, "role", string(role),
		"by", p.Subject(), "request_id", RequestID(ctx))
	return connect.NewResponse(&chargeplanev1.CreateAPIKeyResponse{ApiKey: apiKeyProto(k), Key: secret}), nil
}

// ListAPIKeys pages through a tenant's keys.
func (s *APIKeyService) ListAPIKeys(ctx context.Context, req *connect.Request[chargeplanev1.ListAPIKeysRequest]) (*connect.Response[chargeplanev1.ListAPIKeysResponse], error) {
	tenant, err := scope(ctx, req.Msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	list := func(ctx context.Context, after string, limit int) ([]identity.APIKey, error) {
		return s.ident.ListAPIKeys(ctx, tenant, after, limit)
	}
	ks, next, err := pageByID(ctx, req.Msg, list, func(k identity.APIKey) string { return k.ID }, apiKeyProto)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&chargeplanev1.ListAPIKeysResponse{ApiKeys: ks, NextPageToken: next}), nil
}

// RevokeAPIKey makes a key stop working at once.
func (s *APIKeyService) RevokeAPIKey(ctx context.Context, req *connect.Request[chargeplanev1.RevokeAPIKeyRequest]) (*connect.Response[chargeplanev1.RevokeAPIKeyResponse], error) {
	p, tenant, err := callerScope(ctx, req.Msg.GetTenantId())
	if err != nil {
		return nil, err
	}
	k, err := s.ident.RevokeAPIKey(ctx, tenant, req.Msg.GetKeyId())
	if err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "api key revoked", "tenant_id", tenant, "api_key_id", k.ID, "by", p.Subject(), "request_id", RequestID(ctx))
	return connect.NewResponse(&chargeplanev1.RevokeAPIKeyResponse{ApiKey: apiKeyProto(k)}), nil
}

// callerScope returns the caller and the tenant the call acts on: the
// caller's own, or the one a platform admin names (access.Principal.Tenant).
func callerScope(ctx context.Context, requested string) (access.Principal, string, error) {
	p, err := access.Caller(ctx)
	if err != nil {
		return access.Principal{}, "", err
	}
	if err := checkID("tenant_id", requested, false); err != nil {
		return access.Principal{}, "", err
	}
	if requested == "" && p.Role == access.RolePlatformAdmin {
		// Not a refusal: the request is incomplete.
		return access.Principal{}, "", &FieldError{Field: "tenant_id", Reason: "required for a platform admin"}
	}
	tenant, err := p.Tenant(requested)
	if err != nil {
		return access.Principal{}, "", err
	}
	return p, tenant, nil
}

// scope returns the tenant the call acts on.
func scope(ctx context.Context, requested string) (string, error) {
	_, tenant, err := callerScope(ctx, requested)
	return tenant, err
}

// idPage reads the page size and token of a list ordered by one id: the
// token is the last id of the previous page.
func idPage(pageSizeReq int32, token string) (int, string, error) {
	size, err := pageSize(pageSizeReq)
	if err != nil {
		return 0, "", err
	}
	var after string
	if _, err := decodeToken(token, &after, func() bool { return after != "" }); err != nil {
		return 0, "", err
	}
	return size, after, nil
}

// pageRequest is a list request paged by an id cursor.
type pageRequest interface {
	GetPageSize() int32
	GetPageToken() string
}

// pageByID answers one page of a list kept in id order: list returns up to
// limit rows after the id cursor; one row more than the page tells that
// there is a next page, whose token is the last id shown.
func pageByID[T, P any](ctx context.Context, req pageRequest, list func(ctx context.Context, after string, limit int) ([]T, error),
	id func(T) string, conv func(T) P,
) ([]P, string, error) {
	size, after, err := idPage(req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, "", err
	}
	rows, err := list(ctx, after, size+1)
	if err != nil {
		return nil, "", err
	}
	var next string
	if len(rows) > size {
		rows = rows[:size]
		next = encodeToken(id(rows[len(rows)-1]))
	}
	out := make([]P, len(rows))
	for i, r := range rows {
		out[i] = conv(r)
	}
	return out, next, nil
}

// roleOf converts a request's role; ROLE_UNSPECIFIED and unknown values are
// refused.
func roleOf(field string, r chargeplanev1.Role) (access.Role, error) {
	switch r {
	case chargeplanev1.Role_ROLE_PLATFORM_ADMIN:
		return access.RolePlatformAdmin, nil
	case chargeplanev1.Role_ROLE_TENANT_ADMIN:
		return access.RoleTenantAdmin, nil
	case chargeplanev1.Role_ROLE_OPERATOR:
		return access.RoleOperator, nil
	case chargeplanev1.Role_ROLE_INSTALLER:
		return access.RoleInstaller, nil
	case chargeplanev1.Role_ROLE_VIEWER:
		return access.RoleViewer, nil
	case chargeplanev1.Role_ROLE_DRIVER:
		return access.RoleDriver, nil
	}
	return "", &FieldError{Field: field, Reason: "required: one of ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN, ROLE_OPERATOR, ROLE_INSTALLER, ROLE_VIEWER, ROLE_DRIVER"}
}

// RoleProto is r as the API names it.
func RoleProto(r access.Role) chargeplanev1.Role {
	switch r {
	case access.RolePlatformAdmin:
		return chargeplanev1.Role_ROLE_PLATFORM_ADMIN
	case access.RoleTenantAdmin:
		return chargeplanev1.Role_ROLE_TENANT_ADMIN
	case access.RoleOperator:
		return chargeplanev1.Role_ROLE_OPERATOR
	case access.RoleInstaller:
		return chargeplanev1.Role_ROLE_INSTALLER
	case access.RoleViewer:
		return chargeplanev1.Role_ROLE_VIEWER
	case access.RoleDriver:
		return chargeplanev1.Role_ROLE_DRIVER
	}
	return chargeplanev1.Role_ROLE_UNSPECIFIED
}

// optionalTime is nil for the zero time.
func optionalTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func userProto(u identity.User) *chargeplanev1.User {
	return &chargeplanev1.User{
		UserId: u.ID, TenantId: u.TenantID, Email: u.Email, DisplayName: u.DisplayName, Role: RoleProto(u.Role),
		EmailVerifiedAt: optionalTime(u.EmailVerifiedAt), DisabledAt: optionalTime(u.DisabledAt),
		LockedUntil: optionalTime(u.LockedUntil), CreatedAt: timestamppb.New(u.CreatedAt),
	}
}

func tenantProto(t identity.Tenant) *chargeplanev1.Tenant {
	return &chargeplanev1.Tenant{TenantId: t.ID, Name: t.Name, CreatedAt: timestamppb.New(t.CreatedAt)}
}

func apiKeyProto(k identity.APIKey) *chargeplanev1.APIKey {
	return &chargeplanev1.APIKey{
		KeyId: k.ID, TenantId: k.TenantID, Role: RoleProto(k.Role), Name: k.Name, CreatedBy: k.CreatedBy,
		CreatedAt: timestamppb.New(k.CreatedAt), LastUsedAt: optionalTime(k.LastUsedAt), RevokedAt: optionalTime(k.RevokedAt),
	}
}
