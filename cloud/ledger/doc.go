// Package ledger is the cloud's session ledger: the sessions table (every
// finished session an edge uploaded, once) and wallet_entries (the audit of
// the card debits those sessions caused).
//
// Push stores a batch of sessions in one transaction: sessions already
// stored, under the same (edge_id, seq) or as the same session (charger,
// connector, session_ref, started_at) under another seq, are reported as
// duplicates and change nothing; each newly stored session with a card and
// an amount debits the tenant's card through site.DebitCards, so a session
// is debited exactly once however often it is uploaded. List pages through
// the history newest first by keyset.
//
// The edges and cards tables are cloud/site's; this package changes card
// balances only through site.DebitCards, inside its own transaction.
package ledger
