package api

import (
	"github.com/chargeplane/chargeplane/cloud/access"
	"github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1/chargeplanev1connect"
)

// The access policy of the operator API, one Policy per service so that the
// table reads as a matrix: procedure → who may call it. Handlers then scope
// every call to the caller's tenant (access.Principal.Tenant); the roles
// here only say which kinds of caller get that far. A procedure missing
// from the policy is refused to everyone (access.Policy.Check), and a test
// walks every service of proto/gen to make sure none is missing.
//
// SyncService is not here: edges authenticate with their own credential
// (auth.go), never with a user session or API key.

// Policy returns the whole operator API's policy.
func Policy() (access.Policy, error) {
	return access.Merge(
		authPolicy(), tenantPolicy(), userPolicy(), apiKeyPolicy(),
		chargerPolicy(), edgePolicy(), siteConfigPolicy(), sessionPolicy(),
		sitePolicy(), fleetPolicy(), commandPolicy(), livePolicy(),
	)
}

// public needs no caller; allow lets the given roles call.
func public() access.Rule                   { return access.Rule{Public: true} }
func allow(roles []access.Role) access.Rule { return access.Rule{Roles: roles} }

func authPolicy() access.Policy {
	return access.Policy{
		chargeplanev1connect.AuthServiceRegisterProcedure:             public(),
		chargeplanev1connect.AuthServiceVerifyEmailProcedure:          public(),
		chargeplanev1connect.AuthServiceLoginProcedure:                public(),
		chargeplanev1connect.AuthServiceRequestPasswordResetProcedure: public(),
		chargeplanev1connect.AuthServiceResetPasswordProcedure:        public(),
		chargeplanev1connect.AuthServiceLogoutProcedure:               allow(access.Everyone()),
		chargeplanev1connect.AuthServiceChangePasswordProcedure:       allow(access.Everyone()),
		chargeplanev1connect.AuthServiceWhoAmIProcedure:               allow(access.Everyone()),
	}
}

func tenantPolicy() access.Policy {
	return access.Policy{
		chargeplanev1connect.TenantServiceCreateTenantProcedure: allow(access.Platform()),
		chargeplanev1connect.TenantServiceListTenantsProcedure:  allow(access.Platform()),
		// Everyone may read their own tenant (the handler scopes it); only
		// a platform admin may name another.
		chargeplanev1connect.TenantServiceGetTenantProcedure: allow(access.Everyone()),
	}
}

func userPolicy() access.Policy {
	return access.Policy{
		chargeplanev1connect.UserServiceCreateUserProcedure:  allow(access.Admins()),
		chargeplanev1connect.UserServiceListUsersProcedure:   allow(access.Admins()),
		chargeplanev1connect.UserServiceSetUserRoleProcedure: allow(access.Admins()),
		chargeplanev1connect.UserServiceDisableUserProcedure: allow(access.Admins()),
	}
}

func apiKeyPolicy() access.Policy {
	return access.Policy{
		chargeplanev1connect.APIKeyServiceCreateAPIKeyProcedure: allow(access.Admins()),
		chargeplanev1connect.APIKeyServiceListAPIKeysProcedure:  allow(access.Admins()),
		chargeplanev1connect.APIKeyServiceRevokeAPIKeyProcedure: allow(access.Admins()),
	}
}

func chargerPolicy() access.Policy {
	return access.Policy{
		chargeplanev1connect.ChargerServiceListChargersProcedure:      allow(access.Staff()),
		chargeplanev1connect.ChargerServiceListChargerEventsProcedure: allow(access.Staff()),
	}
}

func edgePolicy() access.Policy {
	return access.Policy{
		chargeplanev1connect.EdgeServiceCreateEdgeProcedure:           allow(access.Installers()),
		chargeplanev1connect.EdgeServiceRotateEdgeCredentialProcedure: allow(access.Installers()),
		chargeplanev1connect.EdgeServiceRevokeEdgeProcedure:           allow(access.Installers()),
		chargeplanev1connect.EdgeServiceListEdgesProcedure:            allow(access.Staff()),
	}
}

func siteConfigPolicy() access.Policy {
	return access.Policy{
		chargeplanev1connect.SiteConfigServiceGetSiteConfigProcedure:        allow(access.Staff()),
		chargeplanev1connect.SiteConfigServiceSetTariffProcedure:            allow(access.Operators()),
		chargeplanev1connect.SiteConfigServiceSetUnknownCardPolicyProcedure: allow(access.Operators()),
		chargeplanev1connect.SiteConfigServicePutCardsProcedure:             allow(access.Operators()),
		chargeplanev1connect.SiteConfigServiceTopUpCardProcedure:            allow(access.Operators()),
		chargeplanev1connect.SiteConfigServiceDeleteCardsProcedure:          allow(access.Operators()),
	}
}

func sessionPolicy() access.Policy {
	return access.Policy{
		// Drivers too: the handler forces a driver's filter to their own
		// user id.
		chargeplanev1connect.SessionServiceListSessionsProcedure: allow(access.Everyone()),
	}
}

func sitePolicy() access.Policy {
	return access.Policy{
		chargeplanev1connect.SiteServiceCreateSiteProcedure: allow(access.Installers()),
		chargeplanev1connect.SiteServiceUpdateSiteProcedure: allow(access.Installers()),
		chargeplanev1connect.SiteServiceDeleteSiteProcedure: allow(access.Installers()),
		chargeplanev1connect.SiteServiceAttachEdgeProcedure: allow(access.Installers()),
		chargeplanev1connect.SiteServiceGetSiteProcedure:    allow(access.Staff()),
		chargeplanev1connect.SiteServiceListSitesProcedure:  allow(access.Staff()),
	}
}

func fleetPolicy() access.Policy {
	return access.Policy{
		chargeplanev1connect.FleetServiceRegisterChargerProcedure:        allow(access.Installers()),
		chargeplanev1connect.FleetServiceAcceptChargerProcedure:          allow(access.Installers()),
		chargeplanev1connect.FleetServiceRejectChargerProcedure:          allow(access.Installers()),
		chargeplanev1connect.FleetServiceImportChargersProcedure:         allow(access.Installers()),
		chargeplanev1connect.FleetServiceGetChargerProcedure:             allow(access.Staff()),
		chargeplanev1connect.FleetServiceListRegisteredChargersProcedure: allow(access.Staff()),
		chargeplanev1connect.FleetServiceListPendingChargersProcedure:    allow(access.Staff()),
	}
}

func commandPolicy() access.Policy {
	return access.Policy{
		chargeplanev1connect.CommandServiceStartChargingProcedure: allow(access.Operators()),
		chargeplanev1connect.CommandServiceStopChargingProcedure:  allow(access.Operators()),
		chargeplanev1connect.CommandServiceSetParametersProcedure: allow(access.Operators()),
		chargeplanev1connect.CommandServiceRebootProcedure:        allow(access.Operators()),
		chargeplanev1connect.CommandServiceQueryStatusProcedure:   allow(access.Operators()),
		chargeplanev1connect.CommandServiceGetCommandProcedure:    allow(access.Staff()),
		chargeplanev1connect.CommandServiceListCommandsProcedure:  allow(access.Staff()),
	}
}

func livePolicy() access.Policy {
	return access.Policy{
		chargeplanev1connect.LiveServiceWatchProcedure:               allow(access.Staff()),
		chargeplanev1connect.LiveServiceGetConnectorStatusProcedure:  allow(access.Staff()),
		chargeplanev1connect.LiveServiceListConnectorStatusProcedure: allow(access.Staff()),
	}
}
