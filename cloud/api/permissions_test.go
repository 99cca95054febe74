package api_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/chargeplane/chargeplane/cloud/access"
	"github.com/chargeplane/chargeplane/cloud/cloudtest"
	"github.com/chargeplane/chargeplane/cloud/server"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1/chargeplanev1connect"
)

// wantMatrix is who may call what, written out independently of
// policy.go so that a slip there fails this test: "public", or the roles
// by letter: P platform admin, A tenant admin, O operator, I installer,
// V viewer, D driver.
func wantMatrix() map[string]string {
	return map[string]string{
		"AuthService/Register": "public", "AuthService/VerifyEmail": "public", "AuthService/Login": "public",
		"AuthService/RequestPasswordReset": "public", "AuthService/ResetPassword": "public",
		"AuthService/Logout": "PAOIVD", "AuthService/ChangePassword": "PAOIVD", "AuthService/WhoAmI": "PAOIVD",

		"TenantService/CreateTenant": "P", "TenantService/ListTenants": "P", "TenantService/GetTenant": "PAOIVD",

		"UserService/CreateUser": "PA", "UserService/ListUsers": "PA", "UserService/SetUserRole": "PA", "UserService/DisableUser": "PA",
		"APIKeyService/CreateAPIKey": "PA", "APIKeyService/ListAPIKeys": "PA", "APIKeyService/RevokeAPIKey": "PA",

		"ChargerService/ListChargers": "PAOIV", "ChargerService/ListChargerEvents": "PAOIV",
		"EdgeService/CreateEdge": "PAOI", "EdgeService/RotateEdgeCredential": "PAOI", "EdgeService/RevokeEdge": "PAOI",
		"EdgeService/ListEdges": "PAOIV",

		"SiteConfigService/GetSiteConfig": "PAOIV", "SiteConfigService/SetTariff": "PAO",
		"SiteConfigService/SetUnknownCardPolicy": "PAO", "SiteConfigService/PutCards": "PAO",
		"SiteConfigService/TopUpCard": "PAO", "SiteConfigService/DeleteCards": "PAO",

		"SessionService/ListSessions": "PAOIVD",

		"SiteService/CreateSite": "PAOI", "SiteService/UpdateSite": "PAOI", "SiteService/DeleteSite": "PAOI",
		"SiteService/AttachEdge": "PAOI", "SiteService/GetSite": "PAOIV", "SiteService/ListSites": "PAOIV",

		"FleetService/RegisterCharger": "PAOI", "FleetService/AcceptCharger": "PAOI", "FleetService/RejectCharger": "PAOI",
		"FleetService/ImportChargers": "PAOI", "FleetService/GetCharger": "PAOIV",
		"FleetService/ListRegisteredChargers": "PAOIV", "FleetService/ListPendingChargers": "PAOIV",

		"CommandService/StartCharging": "PAO", "CommandService/StopCharging": "PAO", "CommandService/SetParameters": "PAO",
		"CommandService/Reboot": "PAO", "CommandService/QueryStatus": "PAO",
		"CommandService/GetCommand": "PAOIV", "CommandService/ListCommands": "PAOIV",

		"LiveService/Watch": "PAOIV", "LiveService/GetConnectorStatus": "PAOIV", "LiveService/ListConnectorStatus": "PAOIV",
	}
}

// wantRule returns the matrix's rule for a procedure.
func wantRule(t *testing.T, proc string) access.Rule {
	t.Helper()
	cell, ok := wantMatrix()[strings.TrimPrefix(proc, "/chargeplane.v1.")]
	if !ok {
		t.Fatalf("%s is not in wantMatrix: decide who may call it", proc)
	}
	if cell == "public" {
		return access.Rule{Public: true}
	}
	letters := map[rune]access.Role{'P': access.RolePlatformAdmin, 'A': access.RoleTenantAdmin, 'O': access.RoleOperator,
		'I': access.RoleInstaller, 'V': access.RoleViewer, 'D': access.RoleDriver}
	var r access.Rule
	for _, l := range cell {
		r.Roles = append(r.Roles, letters[l])
	}
	return r
}

// caller is one kind of caller of the permission matrix.
type caller struct {
	name  string
	token string
	// role is what the policy sees; "" for a caller that must be refused
	// as unauthenticated whatever the procedure (none, revoked).
	role access.Role
	// apiKey callers have no session: Logout and ChangePassword refuse them.
	apiKey bool
	// otherTenant callers belong to tenant B but the requests name A.
	otherTenant bool
}

// fixture is tenant A ("ta") with an edge, a victim user and a victim key
// the mutating procedures act on, so no caller of the matrix loses its own
// credential on the way.
type fixture struct {
	victimUser, victimKey string
	loginEmail, loginPW   string
}

const tenantA, tenantB = "ta", "tb"

// invoke calls procedure with a request built from its descriptor: every
// field the matrix knows (tenant_id, edge_id, …) is set to tenant A's
// resources. It returns the call's error (nil on success).
func invoke(ctx context.Context, c *cloudtest.Cloud, md protoreflect.MethodDescriptor, token string, f fixture) error {
	in := dynamicpb.NewMessage(md.Input())
	set := func(name string, v protoreflect.Value) {
		if fd := md.Input().Fields().ByName(protoreflect.Name(name)); fd != nil {
			in.Set(fd, v)
		}
	}
	str := protoreflect.ValueOfString
	set("tenant_id", str(tenantA))
	set("edge_id", str("ea1"))
	set("charger_id", str("c1"))
	set("site_id", str("s1"))
	set("card_id", str("card1"))
	set("user_id", str(f.victimUser))
	set("key_id", str(f.victimKey))
	set("token", str("not-a-token"))
	set("old_password", str("not the password"))
	set("new_password", str("a new password"))
	set("name", str("matrix"))
	// CreateSite and UpdateSite carry the tenant inside the site.
	if fd := md.Input().Fields().ByName("site"); fd != nil && fd.Kind() == protoreflect.MessageKind {
		site := in.Mutable(fd).Message()
		for name, v := range map[string]string{"tenant_id": tenantA, "site_id": "s1", "name": "matrix", "timezone": "UTC"} {
			site.Set(site.Descriptor().Fields().ByName(protoreflect.Name(name)), str(v))
		}
	}
	if fd := md.Input().Fields().ByName("role"); fd != nil && fd.Kind() == protoreflect.EnumKind {
		in.Set(fd, protoreflect.ValueOfEnum(protoreflect.EnumNumber(chargeplanev1.Role_ROLE_DRIVER)))
	}
	switch string(md.Name()) {
	case "Login":
		set("email", str(f.loginEmail))
		set("password", str(f.loginPW))
	case "Register", "CreateUser", "RequestPasswordReset":
		set("email", str("m-"+strings.ToLower(randomID())+"@example.com"))
		set("password", str("a long enough password"))
	}
	proc := "/" + string(md.Parent().FullName()) + "/" + string(md.Name())
	opts := []connect.ClientOption{
		connect.WithSchema(md),
		connect.WithResponseInitializer(func(_ connect.Spec, msg any) error {
			*msg.(*dynamicpb.Message) = *dynamicpb.NewMessage(md.Output())
			return nil
		}),
	}
	if token != "" {
		opts = append(opts, cloudtest.Bearer(token))
	}
	client := connect.NewClient[dynamicpb.Message, dynamicpb.Message](http.DefaultClient, c.URL+proc, opts...)
	if md.IsStreamingServer() {
		// A stream that is let in waits for events: the first message or
		// a quiet second both mean it was not refused.
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		stream, err := client.CallServerStream(sctx, connect.NewRequest(in))
		if err != nil {
			return err
		}
		defer func() { _ = stream.Close() }()
		stream.Receive()
		if err := stream.Err(); err != nil && connect.CodeOf(err) != connect.CodeDeadlineExceeded && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return nil
	}
	_, err := client.CallUnary(ctx, connect.NewRequest(in))
	return err
}

func randomID() string {
	return strings.ReplaceAll(time.Now().Format("150405.000000000"), ".", "")
}

// methods returns every operator procedure of proto/gen (SyncService is the
// edges'), Logout last: it ends the caller's session.
func methods(t *testing.T) []protoreflect.MethodDescriptor {
	t.Helper()
	var out []protoreflect.MethodDescriptor
	_ = chargeplanev1connect.SyncServiceName // links every generated file
	protoregistry.GlobalFiles.RangeFilesByPackage("chargeplane.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			if string(sd.FullName()) == chargeplanev1connect.SyncServiceName {
				continue
			}
			for j := range sd.Methods().Len() {
				out = append(out, sd.Methods().Get(j))
			}
		}
		return true
	})
	slices.SortStableFunc(out, func(a, b protoreflect.MethodDescriptor) int {
		return boolInt(a.Name() == "Logout") - boolInt(b.Name() == "Logout")
	})
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func procedure(md protoreflect.MethodDescriptor) string {
	return "/" + string(md.Parent().FullName()) + "/" + string(md.Name())
}

func TestPermissionMatrix(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	ctx := t.Context()
	c.ProvisionEdge(t, tenantA, "ea1")
	c.ProvisionEdge(t, tenantB, "eb1")
	login := c.CreateUser(t, tenantA, access.RoleViewer)
	f := fixture{
		victimUser: c.CreateUser(t, tenantA, access.RoleDriver).ID,
		loginEmail: login.Email, loginPW: login.Password,
	}
	victimKey := c.CreateAPIKey(t, tenantA, access.RoleViewer)
	f.victimKey = strings.SplitN(strings.TrimPrefix(victimKey, "cpk_"), "_", 2)[0]

	revokedToken := c.CreateTenantUser(t, tenantA, access.RoleOperator)
	if _, err := c.AuthClient(c.ClientOptions(revokedToken)).Logout(ctx, connect.NewRequest(&chargeplanev1.LogoutRequest{})); err != nil {
		t.Fatal(err)
	}
	revokedKey := c.CreateAPIKey(t, tenantA, access.RoleOperator)
	if _, err := c.APIKeyClient().RevokeAPIKey(ctx, connect.NewRequest(&chargeplanev1.RevokeAPIKeyRequest{
		TenantId: tenantA, KeyId: strings.SplitN(strings.TrimPrefix(revokedKey, "cpk_"), "_", 2)[0],
	})); err != nil {
		t.Fatal(err)
	}

	callers := []caller{
		// Sessions of their own: every caller's Logout ends it.
		{name: "platform admin", token: adminLogin(t, c), role: access.RolePlatformAdmin},
		{name: "tenant admin", token: c.CreateTenantUser(t, tenantA, access.RoleTenantAdmin), role: access.RoleTenantAdmin},
		{name: "operator", token: c.CreateTenantUser(t, tenantA, access.RoleOperator), role: access.RoleOperator},
		{name: "installer", token: c.CreateTenantUser(t, tenantA, access.RoleInstaller), role: access.RoleInstaller},
		{name: "viewer", token: c.CreateTenantUser(t, tenantA, access.RoleViewer), role: access.RoleViewer},
		{name: "driver", token: c.CreateTenantUser(t, tenantA, access.RoleDriver), role: access.RoleDriver},
		{name: "B's tenant admin", token: c.CreateTenantUser(t, tenantB, access.RoleTenantAdmin), role: access.RoleTenantAdmin, otherTenant: true},
		{name: "operator API key", token: c.CreateAPIKey(t, tenantA, access.RoleOperator), role: access.RoleOperator, apiKey: true},
		{name: "unauthenticated"},
		{name: "revoked session", token: revokedToken},
		{name: "revoked API key", token: revokedKey},
	}

	// Services another change mounts are skipped until they are: a
	// procedure the cloud does not serve answers Unimplemented (404).
	mounted := map[string]bool{}
	probe := adminLogin(t, c)
	for _, md := range methods(t) {
		proc := procedure(md)
		err := invoke(ctx, c, md, probe, f)
		mounted[proc] = connect.CodeOf(err) != connect.CodeUnimplemented
		if !mounted[proc] {
			t.Logf("skipping %s: not mounted in this cloud (%v)", proc, err)
		}
	}
	if !mounted[chargeplanev1connect.SessionServiceListSessionsProcedure] || !mounted[chargeplanev1connect.UserServiceCreateUserProcedure] {
		t.Fatal("the probe finds core services unmounted: it is broken")
	}

	for _, cl := range callers {
		t.Run(cl.name, func(t *testing.T) {
			for _, md := range methods(t) {
				proc := procedure(md)
				if !mounted[proc] {
					continue
				}
				rule := wantRule(t, proc)
				err := invoke(ctx, c, md, cl.token, f)
				code := connect.CodeOf(err)
				switch {
				case rule.Public:
					if cloudtest.IsDenied(err) && md.Name() != "Login" {
						t.Errorf("%s is public but refused %s: %v", proc, cl.name, err)
					}
				case cl.role == "":
					if code != connect.CodeUnauthenticated {
						t.Errorf("%s by %s = %v, want unauthenticated", proc, cl.name, err)
					}
				case cl.otherTenant && namesTenant(md) && slices.Contains(rule.Roles, cl.role):
					// Naming tenant A: refused, never served.
					if code != connect.CodePermissionDenied {
						t.Errorf("%s by %s naming tenant %s = %v, want permission_denied", proc, cl.name, tenantA, err)
					}
				case cl.otherTenant && slices.Contains(rule.Roles, cl.role) && namesResource(md):
					// A's resource ids in B's tenant: never found.
					if err == nil {
						t.Errorf("%s by %s with tenant %s's ids succeeded", proc, cl.name, tenantA)
					}
				case cl.apiKey && (md.Name() == "Logout" || md.Name() == "ChangePassword"):
					if code != connect.CodePermissionDenied {
						t.Errorf("%s with an API key = %v, want permission_denied (keys have no session)", proc, err)
					}
				case slices.Contains(rule.Roles, cl.role):
					if cloudtest.IsDenied(err) {
						t.Errorf("%s by %s refused: %v", proc, cl.name, err)
					}
				default:
					if code != connect.CodePermissionDenied {
						t.Errorf("%s by %s = %v, want permission_denied", proc, cl.name, err)
					}
				}
			}
		})
	}
}

// adminLogin opens a new session of the bootstrapped platform admin.
func adminLogin(t *testing.T, c *cloudtest.Cloud) string {
	t.Helper()
	return c.Login(t, c.Config.Auth.BootstrapAdmin.Email, c.Config.Auth.BootstrapAdmin.Password)
}

// namesTenant reports whether a request names its tenant: tenant_id, or
// the tenant_id of the site it carries (CreateSite, UpdateSite).
func namesTenant(md protoreflect.MethodDescriptor) bool {
	return md.Input().Fields().ByName("tenant_id") != nil || md.Input().Fields().ByName("site") != nil
}

// namesResource reports whether a request without tenant_id points at an
// existing thing by id (so that B's admin sending A's ids must not succeed);
// creating and listing act on B's own tenant and may.
func namesResource(md protoreflect.MethodDescriptor) bool {
	name := string(md.Name())
	for _, verb := range []string{"Create", "Register", "Import", "List", "WhoAmI", "Logout", "ChangePassword", "Watch"} {
		if strings.HasPrefix(name, verb) {
			return false
		}
	}
	f := md.Input().Fields()
	for _, id := range []string{"edge_id", "site_id", "user_id", "key_id", "card_id", "charger_id"} {
		if f.ByName(protoreflect.Name(id)) != nil {
			return true
		}
	}
	return false
}

func TestTenantScoping(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	ctx := t.Context()
	c.ProvisionEdge(t, tenantA, "ea1")
	c.ProvisionEdge(t, tenantB, "eb1")
	opA := c.ClientOptions(c.CreateTenantUser(t, tenantA, access.RoleOperator))

	// A tenant's caller sees its own tenant without naming it…
	edges, err := c.EdgeClient(opA).ListEdges(ctx, connect.NewRequest(&chargeplanev1.ListEdgesRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if got := edges.Msg.GetEdges(); len(got) != 1 || got[0].GetEdgeId() != "ea1" {
		t.Fatalf("A's operator lists %v, want only ea1", got)
	}
	// …never another tenant's, by naming it or by its ids.
	_, err = c.EdgeClient(opA).ListEdges(ctx, connect.NewRequest(&chargeplanev1.ListEdgesRequest{TenantId: tenantB}))
	wantCode(t, "ListEdges naming B", err, connect.CodePermissionDenied, `tenant "tb" is not the caller's: permission denied`)
	_, err = c.SiteConfigClient(opA).SetTariff(ctx, connect.NewRequest(&chargeplanev1.SetTariffRequest{EdgeId: "eb1"}))
	wantCode(t, "SetTariff of B's edge", err, connect.CodeNotFound, `edge "eb1" of tenant "ta": not found`)
	_, err = c.EdgeClient(opA).RevokeEdge(ctx, connect.NewRequest(&chargeplanev1.RevokeEdgeRequest{EdgeId: "eb1"}))
	wantCode(t, "RevokeEdge of B's edge", err, connect.CodeNotFound, `edge "eb1" of tenant "ta": not found`)
	// A platform admin names the tenant it acts on.
	_, err = c.EdgeClient().ListEdges(ctx, connect.NewRequest(&chargeplanev1.ListEdgesRequest{}))
	wantCode(t, "platform admin without tenant", err, connect.CodeInvalidArgument, "tenant_id: required for a platform admin")

	// Nobody grants above their own role, and a tenant admin manages
	// only their tenant.
	adminA := c.ClientOptions(c.CreateTenantUser(t, tenantA, access.RoleTenantAdmin))
	_, err = c.UserClient(opA).CreateUser(ctx, connect.NewRequest(&chargeplanev1.CreateUserRequest{
		Email: "x@example.com", Role: chargeplanev1.Role_ROLE_VIEWER,
	}))
	wantCode(t, "operator creates a user", err, connect.CodePermissionDenied,
		"role operator may not call /chargeplane.v1.UserService/CreateUser: permission denied")
	_, err = c.UserClient(adminA).CreateUser(ctx, connect.NewRequest(&chargeplanev1.CreateUserRequest{
		Email: "boss@example.com", Role: chargeplanev1.Role_ROLE_PLATFORM_ADMIN,
	}))
	wantCode(t, "tenant admin creates a platform admin", err, connect.CodePermissionDenied,
		"role tenant_admin may not grant role platform_admin: permission denied")
	bUser := c.CreateUser(t, tenantB, access.RoleViewer)
	_, err = c.UserClient(adminA).DisableUser(ctx, connect.NewRequest(&chargeplanev1.DisableUserRequest{UserId: bUser.ID}))
	wantCode(t, "A's admin disables B's user", err, connect.CodeNotFound, `user "`+bUser.ID+`": not found`)
	created, err := c.UserClient(adminA).CreateUser(ctx, connect.NewRequest(&chargeplanev1.CreateUserRequest{
		TenantId: tenantA, Email: "New.Op@Example.com", Role: chargeplanev1.Role_ROLE_OPERATOR,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if u := created.Msg.GetUser(); u.GetTenantId() != tenantA || u.GetEmail() != "new.op@example.com" || u.GetEmailVerifiedAt() != nil {
		t.Errorf("invited user %v: want tenant %s, lowercased email, unverified", u, tenantA)
	}
}

func TestDriverSeesOwnSessions(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	ctx := t.Context()
	driver := c.CreateUser(t, "t1", access.RoleDriver)
	cred := c.ProvisionEdge(t, "t1", "e1")
	var events []*chargeplanev1.Event
	for i, user := range []string{driver.ID, "someone-else", driver.ID, ""} {
		ev := ended(uint64(i+1), "", 10)
		ev.GetSessionEnded().UserId = user
		events = append(events, ev)
	}
	push(t, c.SyncClient(cred), events...)

	mine := c.SessionClient(c.ClientOptions(driver.Token))
	var seqs []uint64
	req := &chargeplanev1.ListSessionsRequest{PageSize: 1}
	for {
		res, err := mine.ListSessions(ctx, connect.NewRequest(req))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range res.Msg.GetSessions() {
			seqs = append(seqs, s.GetSeq())
		}
		if res.Msg.GetNextPageToken() == "" || len(seqs) > 10 {
			break
		}
		req.PageToken = res.Msg.GetNextPageToken()
	}
	if !slices.Equal(seqs, []uint64{3, 1}) {
		t.Errorf("driver's sessions (paged by 1) = %v, want [3 1]", seqs)
	}
	all, err := c.SessionClient().ListSessions(ctx, connect.NewRequest(&chargeplanev1.ListSessionsRequest{TenantId: "t1"}))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(all.Msg.GetSessions()); n != 4 {
		t.Errorf("platform admin sees %d sessions, want 4", n)
	}
}

func TestRevocationIsImmediateOnEveryReplica(t *testing.T) {
	t.Parallel()
	c1 := cloudtest.Start(t)
	c2 := cloudtest.Start(t, cloudtest.WithShared(c1))
	ctx := t.Context()
	whoAmI := func(c *cloudtest.Cloud, token string) error {
		_, err := c.AuthClient(c.ClientOptions(token)).WhoAmI(ctx, connect.NewRequest(&chargeplanev1.WhoAmIRequest{}))
		return err
	}

	u := c1.CreateUser(t, "t1", access.RoleOperator)
	if err := whoAmI(c2, u.Token); err != nil {
		t.Fatalf("replica 2 refuses a session of replica 1: %v", err)
	}
	if _, err := c1.AuthClient(c1.ClientOptions(u.Token)).Logout(ctx, connect.NewRequest(&chargeplanev1.LogoutRequest{})); err != nil {
		t.Fatal(err)
	}
	if err := whoAmI(c2, u.Token); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("replica 2 after logout on 1: %v, want unauthenticated", err)
	}

	key := c1.CreateAPIKey(t, "t1", access.RoleViewer)
	res, err := c2.AuthClient(c2.ClientOptions(key)).WhoAmI(ctx, connect.NewRequest(&chargeplanev1.WhoAmIRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	keyID := res.Msg.GetApiKeyId()
	if keyID == "" || res.Msg.GetRole() != chargeplanev1.Role_ROLE_VIEWER || res.Msg.GetTenantId() != "t1" {
		t.Fatalf("WhoAmI with a key = %v", res.Msg)
	}
	if _, err := c1.APIKeyClient().RevokeAPIKey(ctx, connect.NewRequest(&chargeplanev1.RevokeAPIKeyRequest{TenantId: "t1", KeyId: keyID})); err != nil {
		t.Fatal(err)
	}
	if err := whoAmI(c2, key); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("replica 2 after key revocation on 1: %v, want unauthenticated", err)
	}

	// Disabling a user on replica 2 ends their session on replica 1.
	v := c1.CreateUser(t, "t1", access.RoleViewer)
	if _, err := c2.UserClient().DisableUser(ctx, connect.NewRequest(&chargeplanev1.DisableUserRequest{TenantId: "t1", UserId: v.ID})); err != nil {
		t.Fatal(err)
	}
	if err := whoAmI(c1, v.Token); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("replica 1 after DisableUser on 2: %v, want unauthenticated", err)
	}
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t, cloudtest.WithConfig(func(cfg *server.Config) {
		cfg.Auth.RateLimit = server.RateLimitConfig{UserPerMinute: 10, KeyPerMinute: 5, PublicPerMinute: 1000}
	}))
	ctx := t.Context()
	key := c.CreateAPIKey(t, "t1", access.RoleViewer)
	user := c.CreateUser(t, "t1", access.RoleViewer)
	call := func(token string) error {
		_, err := c.AuthClient(c.ClientOptions(token)).WhoAmI(ctx, connect.NewRequest(&chargeplanev1.WhoAmIRequest{}))
		return err
	}
	// The limit counts in fixed one-minute windows: a window may end
	// during the loop and restart the count once, so the refusal comes
	// after at least limit and at most 2×limit calls.
	check := func(name, token string, limit int) {
		t.Helper()
		for i := range 2*limit + 1 {
			err := call(token)
			if err == nil {
				continue
			}
			var cerr *connect.Error
			if !errors.As(err, &cerr) || cerr.Code() != connect.CodeResourceExhausted {
				t.Fatalf("%s call %d = %v, want ok or resource_exhausted", name, i+1, err)
			}
			if i < limit {
				t.Fatalf("%s refused at call %d, within the limit of %d", name, i+1, limit)
			}
			if !strings.HasPrefix(cerr.Message(), "rate limit exceeded for ") || cerr.Meta().Get("Retry-After") == "" {
				t.Errorf("%s refusal %q, Retry-After %q: want a message and the header", name, cerr.Message(), cerr.Meta().Get("Retry-After"))
			}
			return
		}
		t.Fatalf("%s never refused in %d calls with a limit of %d", name, 2*limit+1, limit)
	}
	check("user", user.Token, 10)
	check("api key", key, 5)
}
