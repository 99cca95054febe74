// Package access holds who is calling the cloud's operator API and what
// each role may do: the Principal that authentication puts in the request
// context, the roles, the per-procedure Rule table the authorization
// interceptor (cloud/api) checks, and tenant scoping. It does no I/O.
package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Role is what a user or API key may do. Roles are not nested: a Rule
// lists every role it allows.
type Role string

// The roles, from the platform's operator down to the person charging.
const (
	// RolePlatformAdmin runs the platform: acts across tenants.
	RolePlatformAdmin Role = "platform_admin"
	// RoleTenantAdmin administers one tenant: users, keys, fleet, billing.
	RoleTenantAdmin Role = "tenant_admin"
	// RoleOperator is the tenant's operations staff: fleet, remote control,
	// history, cards.
	RoleOperator Role = "operator"
	// RoleInstaller provisions sites, edges and chargers.
	RoleInstaller Role = "installer"
	// RoleViewer reads the tenant's fleet and history.
	RoleViewer Role = "viewer"
	// RoleDriver charges: sees only their own sessions.
	RoleDriver Role = "driver"
)

// Roles lists every role, platform admin first.
func Roles() []Role {
	return []Role{RolePlatformAdmin, RoleTenantAdmin, RoleOperator, RoleInstaller, RoleViewer, RoleDriver}
}

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if slices.Contains(Roles(), r) {
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q: want one of platform_admin, tenant_admin, operator, installer, viewer, driver", s)
}

// Principal is the authenticated caller.
type Principal struct {
	// UserID is the user the call acts for; for an API key, the user who
	// created it.
	UserID string
	// TenantID is the caller's tenant; empty only for a platform admin.
	TenantID string
	Role     Role
	// SessionID is set when the caller used a login session token.
	SessionID string
	// APIKeyID is set when the caller used an API key.
	APIKeyID string
}

// Subject names the caller for audit records and rate-limit keys:
// "key:<id>" for an API key, "user:<id>" otherwise.
func (p Principal) Subject() string {
	if p.APIKeyID != "" {
		return "key:" + p.APIKeyID
	}
	return "user:" + p.UserID
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the caller put in ctx by authentication.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// ErrDenied is wrapped by every authorization refusal; cloud/api maps it to
// connect.CodePermissionDenied.
var ErrDenied = errors.New("permission denied")

// ErrUnauthenticated is wrapped when a call needs a caller and has none;
// cloud/api maps it to connect.CodeUnauthenticated.
var ErrUnauthenticated = errors.New("unauthenticated")

// Caller returns the principal in ctx or an ErrUnauthenticated error.
func Caller(ctx context.Context) (Principal, error) {
	p, ok := FromContext(ctx)
	if !ok {
		return Principal{}, fmt.Errorf("no credential: send \"Authorization: Bearer <session token or API key>\": %w", ErrUnauthenticated)
	}
	return p, nil
}

// Tenant resolves the tenant a call acts on. requested is the tenant the
// request names ("" when it names none). A platform admin may name any
// tenant and must name one; everyone else acts on their own tenant, and
// naming another is refused.
func (p Principal) Tenant(requested string) (string, error) {
	if p.Role == RolePlatformAdmin {
		if requested == "" {
			return "", fmt.Errorf("tenant_id is required for a platform admin: %w", ErrDenied)
		}
		return requested, nil
	}
	if p.TenantID == "" {
		return "", fmt.Errorf("caller has no tenant: %w", ErrDenied)
	}
	if requested != "" && requested != p.TenantID {
		return "", fmt.Errorf("tenant %q is not the caller's: %w", requested, ErrDenied)
	}
	return p.TenantID, nil
}

// Rule says who may call one procedure.
type Rule struct {
	// Public procedures need no caller (login, registration, password
	// reset). Everything else needs an authenticated caller.
	Public bool
	// Roles allowed to call; ignored when Public.
	Roles []Role
}

// Policy maps a Connect procedure ("/chargeplane.v1.SessionService/ListSessions")
// to its rule. A procedure missing from the policy is refused to everyone:
// a new method is closed until someone decides who may call it.
type Policy map[string]Rule

// Check decides one call. p is nil when the call carried no credential.
func (pol Policy) Check(procedure string, p *Principal) error {
	rule, ok := pol[procedure]
	if !ok {
		return fmt.Errorf("%s has no access rule: %w", procedure, ErrDenied)
	}
	if rule.Public {
		return nil
	}
	if p == nil {
		return fmt.Errorf("%s needs a credential: send \"Authorization: Bearer <session token or API key>\": %w", procedure, ErrUnauthenticated)
	}
	if !slices.Contains(rule.Roles, p.Role) {
		return fmt.Errorf("role %s may not call %s: %w", p.Role, procedure, ErrDenied)
	}
	return nil
}

// Merge joins policies; a procedure present in two is a wiring bug and
// makes Merge fail.
func Merge(parts ...Policy) (Policy, error) {
	out := Policy{}
	for _, part := range parts {
		for proc, r := range part {
			if _, dup := out[proc]; dup {
				return nil, fmt.Errorf("procedure %s has two access rules", proc)
			}
			out[proc] = r
		}
	}
	return out, nil
}

// Role sets for rules, so the policy table reads as a matrix. They are
// functions so that no caller can change a shared slice.

// Staff are the tenant's people who read its fleet and history.
func Staff() []Role {
	return []Role{RolePlatformAdmin, RoleTenantAdmin, RoleOperator, RoleInstaller, RoleViewer}
}

// Operators may change the fleet's state (remote control, cards, tariffs).
func Operators() []Role { return []Role{RolePlatformAdmin, RoleTenantAdmin, RoleOperator} }

// Installers may provision sites, edges and chargers.
func Installers() []Role {
	return []Role{RolePlatformAdmin, RoleTenantAdmin, RoleOperator, RoleInstaller}
}

// Admins administer a tenant (users, API keys).
func Admins() []Role { return []Role{RolePlatformAdmin, RoleTenantAdmin} }

// Platform is the platform admin alone (tenants).
func Platform() []Role { return []Role{RolePlatformAdmin} }

// Everyone is every authenticated role, drivers included.
func Everyone() []Role { return Roles() }
