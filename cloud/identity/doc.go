// Package identity owns who may use the cloud's operator API: tenants,
// users with their passwords (argon2id), one-time tokens (email
// verification, password reset, invitations), login sessions and API keys,
// and Authenticate, which turns a bearer token into an access.Principal.
//
// Postgres (migrations/0003_identity) is the system of record. Redis holds
// what every replica must see at once: login sessions (only sha256 of the
// token is a key), the per-user set of session ids that lets a password
// change or DisableUser end them all, and a short-lived cache of API keys.
// Revoking a key or disabling a user overwrites the cache entry in the
// shared Redis, so the refusal is immediate on every replica.
//
// Secrets never leave the package in clear except once, to the caller that
// created them (session tokens, API keys) or through the Mailer (verification
// and reset tokens). Authorization (which role may call what) is not here:
// it is cloud/access and the interceptor in cloud/api.
package identity
