package access_test

import (
	"errors"
	"testing"

	"github.com/chargeplane/chargeplane/cloud/access"
)

func TestTenant(t *testing.T) {
	t.Parallel()
	admin := access.Principal{UserID: "u0", Role: access.RolePlatformAdmin}
	op := access.Principal{UserID: "u1", TenantID: "t1", Role: access.RoleOperator}
	orphan := access.Principal{UserID: "u2", Role: access.RoleViewer}
	tests := []struct {
		name      string
		p         access.Principal
		requested string
		want      string
		wantErr   error
	}{
		{"admin names a tenant", admin, "t9", "t9", nil},
		{"admin must name one", admin, "", "", access.ErrDenied},
		{"own tenant by default", op, "", "t1", nil},
		{"own tenant named", op, "t1", "t1", nil},
		{"another tenant", op, "t2", "", access.ErrDenied},
		{"no tenant at all", orphan, "", "", access.ErrDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.Tenant(tt.requested)
			if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("Tenant(%q) = %q, %v; want %q, %v", tt.requested, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	pol := access.Policy{
		"/s/Public": {Public: true},
		"/s/Admins": {Roles: access.Admins()},
	}
	viewer := &access.Principal{UserID: "u", TenantID: "t", Role: access.RoleViewer}
	admin := &access.Principal{UserID: "a", TenantID: "t", Role: access.RoleTenantAdmin}
	tests := []struct {
		name      string
		procedure string
		p         *access.Principal
		wantErr   error
	}{
		{"public without caller", "/s/Public", nil, nil},
		{"public with caller", "/s/Public", viewer, nil},
		{"no caller", "/s/Admins", nil, access.ErrUnauthenticated},
		{"role not listed", "/s/Admins", viewer, access.ErrDenied},
		{"role listed", "/s/Admins", admin, nil},
		{"procedure without rule is closed", "/s/New", admin, access.ErrDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := pol.Check(tt.procedure, tt.p)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("Check = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestMergeRefusesDuplicates(t *testing.T) {
	t.Parallel()
	a := access.Policy{"/s/A": {Public: true}}
	b := access.Policy{"/s/B": {Roles: access.Platform()}}
	m, err := access.Merge(a, b)
	if err != nil || len(m) != 2 {
		t.Fatalf("Merge = %v, %v", m, err)
	}
	if _, err := access.Merge(a, b, access.Policy{"/s/A": {Roles: access.Everyone()}}); err == nil {
		t.Fatal("Merge accepted two rules for /s/A")
	}
}

func TestParseRoleAndSubject(t *testing.T) {
	t.Parallel()
	for _, r := range access.Roles() {
		got, err := access.ParseRole(string(r))
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, err)
		}
	}
	if _, err := access.ParseRole("root"); err == nil {
		t.Error("ParseRole(root) succeeded")
	}
	if s := (access.Principal{UserID: "u1", APIKeyID: "k1"}).Subject(); s != "key:k1" {
		t.Errorf("key subject %q", s)
	}
	if s := (access.Principal{UserID: "u1", SessionID: "s"}).Subject(); s != "user:u1" {
		t.Errorf("user subject %q", s)
	}
	if _, err := access.Caller(t.Context()); !errors.Is(err, access.ErrUnauthenticated) {
		t.Errorf("Caller without principal: %v", err)
	}
	p := access.Principal{UserID: "u1", TenantID: "t1", Role: access.RoleDriver}
	got, err := access.Caller(access.WithPrincipal(t.Context(), p))
	if err != nil || got != p {
		t.Errorf("Caller = %+v, %v", got, err)
	}
}
