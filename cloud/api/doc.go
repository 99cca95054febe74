// Package api serves the cloud's Connect-RPC services (ChargerService,
// SyncService; JSON and protobuf, over HTTP/1.1 and h2c) from one handler
// struct per service, built with the stores it reads.
//
// Cross-cutting concerns are set once, in New: panic recovery
// (connect.WithRecover), per-procedure metrics, and the mapping of errors to
// Connect codes, which happens in exactly one function (connectError in
// errors.go). Handlers return domain errors; only FieldError text and
// generic messages reach clients, and anything unexpected is logged and
// answered with CodeInternal. WithRequestLog gives every HTTP request an id
// and a log line.
//
// Authentication is not done yet: it is a later issue (user sessions in
// Redis, API keys for integrations, per-tenant scoping). Until then every
// caller sees every tenant, which is why the cloud's HTTP server listens on
// loopback by default.
package api
