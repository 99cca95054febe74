// Package fleet is the cloud's record of a tenant's chargers and where they
// are:
//
//   - what edges reported (store.go): the events table (every event once,
//     keyed by (edge_id, seq)) and the chargers table (one row per charger
//     ever heard of, with its protocol, firmware and first and last
//     sighting);
//   - sites (SiteStore, sitestore.go): a tenant's physical locations and
//     which site each edge serves (edges.site_id);
//   - the charger registry (Registry, registrystore.go): what the tenant
//     registered, accepted or rejected, with vendor ids and connectors, and
//     the pending chargers (reported, not registered); CSV import
//     (import.go) registers many at once, all or nothing.
//
// Pure rules (validation, the import format) live in sites.go, registry.go
// and import.go, which do no I/O; the SQL is in the *store.go files. Every
// SiteStore and Registry call is scoped to one tenant, and a row of another
// tenant is ErrNotFound. Consuming MQTT is ingest's job, live presence is
// presence's, and turning requests into queries is api's. docs/fleet.md
// describes the registry states and the import format.
package fleet
