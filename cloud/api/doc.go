// Package api serves the cloud's Connect-RPC services (JSON and protobuf,
// over HTTP/1.1 and h2c) from one handler struct per service, built with the
// stores it reads:
//
//   - SyncService, the edges' API: Handshake, PushSessions (the session
//     ledger, cloud/ledger) and PullConfig (site config, cloud/site);
//   - EdgeService and SiteConfigService, for operators: edges and their
//     credentials, tariffs, unknown-card policy, cards and balances; every
//     config change is hinted to the edges it affects (cloud/hint);
//   - SessionService (session history) and ChargerService (fleet, presence);
//   - AuthService, TenantService, UserService and APIKeyService: logins,
//     tenants, users and API keys (cloud/identity).
//
// Cross-cutting concerns are set once, in New: panic recovery
// (connect.WithRecover), per-procedure metrics, and the mapping of errors to
// Connect codes, which happens in exactly one function (connectError in
// errors.go). Handlers return domain errors; only texts written for clients
// (FieldError, site.InvalidError, the not-found/already-exists/credential
// errors of cloud/site) and generic messages reach clients, and anything
// unexpected is logged and answered with CodeInternal. WithRequestLog gives
// every HTTP request an id and a log line.
//
// SyncService is mounted behind one interceptor, edgeAuth (auth.go): every
// call carries the edge's credential as "Authorization: Bearer …", which
// must be the current credential of a non-revoked edge, and the request's
// edge_id must be that edge.
//
// Every other service (the operator API) is mounted behind authz (authz.go):
// the bearer token, a login session or an API key, becomes an
// access.Principal in the context (cloud/identity), the procedure's rule in
// the policy table (policy.go) is checked, and the caller's rate limit is
// counted in Redis. Handlers take the caller with access.Caller and the
// tenant they act on with Principal.Tenant (callerScope), so every query is
// scoped to the caller's tenant; a driver's ListSessions is further
// restricted to the driver's own sessions. AuthService, TenantService,
// UserService and APIKeyService (identity.go) manage the identities.
//
// REST (rest.go) is a resource-URL face on the operator services for
// integrators: each call becomes one in-process Connect call, so authz,
// rate limits and error mapping apply unchanged. LiveEvents (sse.go) serves
// the live stream to browsers as Server-Sent Events.
package api
