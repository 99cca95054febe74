// Package site owns what an operator provisions for each edge and what the
// edge pulls to decide on its own: the edges table (identity, tenant,
// credential, revocation, unknown-card policy, tariff), the cards table (the
// tenant's cards with their wallet balances) and the config version that
// covers both (config_version_seq).
//
// Versions: every change an edge must learn of takes the next value of
// config_version_seq while holding its tenant's config lock (a transaction
// advisory lock), so that for one tenant versions are taken in commit order.
// An edge's effective version is greatest(edges.config_version, max(cards.version)
// of its tenant); a config read in one snapshot at version V therefore holds
// every change numbered up to V, and PullConfig can answer "unchanged" by
// comparing numbers. Code outside this package that changes cards in its own
// transaction (ledger's debits) goes through DebitCards, which follows the
// same rule.
//
// Pure rules (tariff and card validation, credential format, yuan parsing)
// live in files that do no I/O; the SQL is in store.go. Turning requests into
// calls is cloud/api's job, publishing config-changed hints cloud/hint's.
package site
