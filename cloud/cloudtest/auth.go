package cloudtest

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"connectrpc.com/connect"

	"github.com/chargeplane/chargeplane/cloud/access"
	"github.com/chargeplane/chargeplane/cloud/api"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1/chargeplanev1connect"
)

// ClientOptions returns the client options that authenticate every call
// with token (a session token or an API key): pass them to any generated
// New…ServiceClient.
func (c *Cloud) ClientOptions(token string) connect.ClientOption {
	return Bearer(token)
}

// Login logs email in and returns the session token.
func (c *Cloud) Login(tb testing.TB, email, password string) string {
	tb.Helper()
	res, err := c.AuthClient().Login(context.Background(), connect.NewRequest(&chargeplanev1.LoginRequest{Email: email, Password: password}))
	if err != nil {
		tb.Fatalf("cloudtest: login %s: %v", email, err)
	}
	return res.Msg.GetToken()
}

// User is a user CreateTenantUser made.
type User struct {
	ID, Email, Password string
	// Token is a login session token of the user.
	Token string
}

// CreateTenantUser creates tenant (if new) and a user in it with role, as
// the platform admin, logs the user in and returns the session token.
func (c *Cloud) CreateTenantUser(tb testing.TB, tenant string, role access.Role) string {
	tb.Helper()
	return c.CreateUser(tb, tenant, role).Token
}

// CreateUser is CreateTenantUser returning the whole user.
func (c *Cloud) CreateUser(tb testing.TB, tenant string, role access.Role) User {
	tb.Helper()
	ctx := context.Background()
	if tenant != "" {
		c.CreateTenant(tb, tenant)
	}
	u := User{Email: string(role) + "-" + randomHex(6) + "@" + "cloudtest.example", Password: "pw-" + randomHex(12)}
	res, err := c.UserClient().CreateUser(ctx, connect.NewRequest(&chargeplanev1.CreateUserRequest{
		TenantId: tenant, Email: u.Email, Role: api.RoleProto(role), Password: u.Password,
	}))
	if err != nil {
		tb.Fatalf("cloudtest: create %s user in tenant %q: %v", role, tenant, err)
	}
	u.ID = res.Msg.GetUser().GetUserId()
	u.Token = c.Login(tb, u.Email, u.Password)
	return u
}

// CreateTenant creates tenant as the platform admin; an existing tenant is
// fine.
func (c *Cloud) CreateTenant(tb testing.TB, tenant string) {
	tb.Helper()
	_, err := c.TenantClient().CreateTenant(context.Background(), connect.NewRequest(&chargeplanev1.CreateTenantRequest{TenantId: tenant}))
	if err != nil && connect.CodeOf(err) != connect.CodeAlreadyExists {
		tb.Fatalf("cloudtest: create tenant %q: %v", tenant, err)
	}
}

// CreateAPIKey creates an API key of tenant with role, as the platform
// admin, and returns the key.
func (c *Cloud) CreateAPIKey(tb testing.TB, tenant string, role access.Role) string {
	tb.Helper()
	c.CreateTenant(tb, tenant)
	res, err := c.APIKeyClient().CreateAPIKey(context.Background(), connect.NewRequest(&chargeplanev1.CreateAPIKeyRequest{
		TenantId: tenant, Name: "cloudtest", Role: api.RoleProto(role),
	}))
	if err != nil {
		tb.Fatalf("cloudtest: create %s API key in tenant %q: %v", role, tenant, err)
	}
	return res.Msg.GetKey()
}

// withAdmin puts the admin's token first, so a Bearer option in opts
// (applied later, closer to the wire) replaces it.
func (c *Cloud) withAdmin(opts []connect.ClientOption) []connect.ClientOption {
	return append([]connect.ClientOption{Bearer(c.AdminToken)}, opts...)
}

// AuthClient returns an AuthService client (no credential: add
// ClientOptions(token) for Logout, ChangePassword and WhoAmI).
func (c *Cloud) AuthClient(opts ...connect.ClientOption) chargeplanev1connect.AuthServiceClient {
	return chargeplanev1connect.NewAuthServiceClient(http.DefaultClient, c.URL, opts...)
}

// TenantClient returns a TenantService client acting as the platform admin
// unless opts authenticate otherwise.
func (c *Cloud) TenantClient(opts ...connect.ClientOption) chargeplanev1connect.TenantServiceClient {
	return chargeplanev1connect.NewTenantServiceClient(http.DefaultClient, c.URL, c.withAdmin(opts)...)
}

// UserClient returns a UserService client acting as the platform admin
// unless opts authenticate otherwise.
func (c *Cloud) UserClient(opts ...connect.ClientOption) chargeplanev1connect.UserServiceClient {
	return chargeplanev1connect.NewUserServiceClient(http.DefaultClient, c.URL, c.withAdmin(opts)...)
}

// APIKeyClient returns an APIKeyService client acting as the platform
// admin unless opts authenticate otherwise.
func (c *Cloud) APIKeyClient(opts ...connect.ClientOption) chargeplanev1connect.APIKeyServiceClient {
	return chargeplanev1connect.NewAPIKeyServiceClient(http.DefaultClient, c.URL, c.withAdmin(opts)...)
}

// ChargerClient returns a ChargerService client acting as the platform
// admin unless opts authenticate otherwise.
func (c *Cloud) ChargerClient(opts ...connect.ClientOption) chargeplanev1connect.ChargerServiceClient {
	return chargeplanev1connect.NewChargerServiceClient(http.DefaultClient, c.URL, c.withAdmin(opts)...)
}

// IsDenied reports whether err refuses the caller: Unauthenticated or
// PermissionDenied.
func IsDenied(err error) bool {
	var cerr *connect.Error
	if !errors.As(err, &cerr) {
		return false
	}
	return cerr.Code() == connect.CodeUnauthenticated || cerr.Code() == connect.CodePermissionDenied
}
