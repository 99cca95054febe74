// Package api serves the cloud's Connect-RPC services (JSON and protobuf,
// over HTTP/1.1 and h2c) from one handler struct per service, built with the
// stores it reads:
//
//   - SyncService, the edges' API: Handshake, PushSessions (the session
//     ledger, cloud/ledger) and PullConfig (site config, cloud/site);
//   - EdgeService and SiteConfigService, for operators: edges and their
//     credentials, tariffs, unknown-card policy, cards and balances; every
//     config change is hinted to the edges it affects (cloud/hint);
//   - SessionService (session history) and ChargerService (fleet, presence).
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
// edge_id must be that edge. The operator services do not authenticate yet:
// that is a later issue (user sessions in Redis, API keys, roles), which is
// why every operator request names its tenant and the cloud's HTTP server
// listens on loopback by default.
package api
