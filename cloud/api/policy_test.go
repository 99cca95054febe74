package api

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/chargeplane/chargeplane/cloud/access"
	"github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1/chargeplanev1connect"
)

// TestPolicyCoversEveryProcedure walks every service the generated code
// registers under chargeplane.v1 and requires a rule for each of its
// methods: a new RPC must not be reachable (or silently closed) before
// someone decides who may call it. SyncService is the edges' API, behind
// edge credentials instead.
func TestPolicyCoversEveryProcedure(t *testing.T) {
	t.Parallel()
	pol, err := Policy()
	if err != nil {
		t.Fatal(err)
	}
	// Importing chargeplanev1connect links every generated file, so the
	// global registry holds all services.
	_ = chargeplanev1connect.SyncServiceName
	seen := map[string]bool{}
	services := 0
	protoregistry.GlobalFiles.RangeFilesByPackage("chargeplane.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			if string(sd.FullName()) == chargeplanev1connect.SyncServiceName {
				continue
			}
			services++
			for j := range sd.Methods().Len() {
				proc := "/" + string(sd.FullName()) + "/" + string(sd.Methods().Get(j).Name())
				seen[proc] = true
				if _, ok := pol[proc]; !ok {
					t.Errorf("%s has no access rule in policy.go", proc)
				}
			}
		}
		return true
	})
	if services < 12 {
		t.Errorf("found %d operator services in proto/gen, want at least 12: is the registry walked?", services)
	}
	for proc := range pol {
		if !seen[proc] {
			t.Errorf("policy rule for %s, which no service has", proc)
		}
	}
}

func TestPolicyRules(t *testing.T) {
	t.Parallel()
	pol, err := Policy()
	if err != nil {
		t.Fatal(err)
	}
	// Every rule allows platform admins (they run the platform), no rule
	// lists nobody, and drivers reach only their own things.
	driverMay := []string{
		chargeplanev1connect.AuthServiceLogoutProcedure,
		chargeplanev1connect.AuthServiceChangePasswordProcedure,
		chargeplanev1connect.AuthServiceWhoAmIProcedure,
		chargeplanev1connect.TenantServiceGetTenantProcedure,
		chargeplanev1connect.SessionServiceListSessionsProcedure,
	}
	for proc, rule := range pol {
		if rule.Public {
			if !strings.HasPrefix(proc, "/chargeplane.v1.AuthService/") {
				t.Errorf("%s is public; only sign-up, login and password reset may be", proc)
			}
			continue
		}
		if !slices.Contains(rule.Roles, access.RolePlatformAdmin) {
			t.Errorf("%s refuses platform admins", proc)
		}
		if got := slices.Contains(rule.Roles, access.RoleDriver); got != slices.Contains(driverMay, proc) {
			t.Errorf("%s: driver allowed = %v, want %v", proc, got, !got)
		}
	}
	for _, proc := range []string{
		chargeplanev1connect.AuthServiceRegisterProcedure, chargeplanev1connect.AuthServiceLoginProcedure,
		chargeplanev1connect.AuthServiceVerifyEmailProcedure, chargeplanev1connect.AuthServiceRequestPasswordResetProcedure,
		chargeplanev1connect.AuthServiceResetPasswordProcedure,
	} {
		if !pol[proc].Public {
			t.Errorf("%s must be public", proc)
		}
	}
}
