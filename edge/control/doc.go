// Package control holds the edge's charging decisions — who may charge and
// on what terms — and the session book that bills at the edge.
//
// The pure rules live in files that do no I/O: pricing (tariff.go), the
// card cache's decisions (cache.go) and the static Authorizer
// (authorize.go). The Book (book.go, append.go) applies them to the events
// the adapters record and keeps its state in the store, in the same writes
// as those events.
//
// # The Book
//
// One Book per edge sits between the adapters and the store. Adapters
// record events through Book.Append and decide card swipes through
// Book.Authorize, as they would with a *store.Store and a static
// Authorizer; commands from the cloud and the installer's page go through
// Book.Execute to the adapter registry (SetExecutor). Close waits for the
// stops the Book sent itself; call it before closing the store.
//
// Card cache. The SiteConfig the cloud sends (ApplyConfig) is the snapshot
// of cards, balances, offline limits, the unknown-card policy and the
// tariff; until one has arrived (ConfigVersion 0) the fallback from the
// edge's own configuration applies (BookConfig: the yaml "authorization"
// card list and policy, and "tariff"). A card's effective balance is its
// snapshot balance less the local debits the snapshot does not include yet.
// Authorize decides:
//
//   - card not listed: the site policy, "unknown_accepted" (no amount
//     limit) or "unknown_card";
//   - blocked: refused, "blocked";
//   - online (BookDeps.Online): accepted ("listed") when the effective
//     balance is > 0, and it may spend that balance;
//   - offline: accepted when effective balance + offline_limit_fen > 0, and
//     it may spend that sum;
//   - otherwise "no_balance".
//
// Decision.LimitFen is what the card may spend and Decision.Offline says the
// cloud was unreachable; both follow the session the swipe starts.
//
// Sessions. Append observes the events before they are stored, and stores
// them with the Book's own state changes in one store.Write, atomically:
//
//   - SessionStarted opens a session under (charger, connector,
//     session_ref). The same ref already open is a resume (a charger that
//     reconnected): the session is kept as it is. A start is linked to the
//     pending Execute start on that connector (auth "remote" or "local",
//     user, card, command id, amount limit), else to its card ("card", with
//     the swipe's decision), else it is "charger" (started without the edge
//     deciding). A start the adapter itself marks "remote"/"local" without
//     going through Execute keeps that.
//   - A MeterReport or ConnectorStatusChanged with a meter and a
//     session_ref attributes the meter's progress (energy_mwh is the
//     session's cumulative energy) to the tariff period in force at the
//     event's time, in the site's zone. When the session's amount reaches
//     its limit the Book sends one stop through the executor, in a
//     goroutine (Append never waits for a charger); a stop that fails may be
//     sent again by a reading 30 s later. The session's record is rewritten
//     only on its first reading, when energy moves to another period, and
//     when the limit stop is sent.
//   - SessionEnded: when the session is open, the end is settled from it
//     (tariff locked at the start, energy per period, auth method, user,
//     card, offline, start command id, start time when the report lacks
//     one) and the open session is deleted. When none is open and the
//     ledger already holds an end for the ref (store.SessionByRef), it is a
//     repeat — a charger re-sending its end report after a reconnect — and
//     is left out of the write; the adapter still acknowledges it. Otherwise
//     it is a session the edge never saw start: auth "card" when it names a
//     card, else "charger", priced entirely at the period of its start.
//     Work on one connector is serialized, so two connections of the same
//     charger cannot both record one end.
//
// Billing follows the edge's pricing rule: each part is
// round_half_up(Σ energy_mwh_in_period × milli-fen/kWh ÷ 1e9); the end
// report's energy is authoritative: energy no reading attributed goes to the
// period of ended_at (or of started_at when the session had no readings that
// moved the meter); readings that summed to more give the excess back from
// that period first. A session with a card and a positive amount adds a
// local debit to the card.
//
// Debits and sync. The uplink pushes PendingSessions to the cloud and calls
// MarkSessionsSynced(seqs, v), where v is the first config version whose
// balances include those sessions. Their debits are then marked covered by
// v (or deleted at once when the config held is already ≥ v) before the
// store marks the sessions synced, so a crash in between leaves the sessions
// pending to be confirmed again, never an orphaned debit. ApplyConfig(V)
// deletes the debits covered by a version ≤ V, in the same write that
// stores the config: a debit counts exactly until the snapshot includes it.
// v = 0 covers nothing.
//
// Commands. Execute authorizes a start (params card_id or user_id — the
// card holding the user's wallet —; with neither an operator start, auth
// "remote", or "local" with params source=local for the installer's page),
// remembers it as the connector's pending start until the executor returns
// (a start the charger never confirms leaves nothing open), and keeps an
// amount limit (Limit.amount_fen, and the card's spendable amount) itself:
// the charger is started without a limit. A refused start is stored as a
// rejected CommandResult. A stop marks the session as stopped by the
// operator (its end reason becomes "remote" when the charger gives none).
//
// # Key layout under ctl/ (store.CtlPrefix)
//
// The store documents its own keys; edge/control owns everything below
// ctl/. Integers are big-endian; <session> is
// charger_id \x00 connector (4 bytes) \x00 session_ref.
//
//	ctl/config                        protobuf chargeplane.v1.SiteConfig: the snapshot in force
//	ctl/open/<session>                JSON open session (record "v": 1): start, auth, card, user,
//	                                  limit, the tariff locked at the start, energy per period,
//	                                  last meter reading, limit stop sent
//	ctl/debit/<session>\x00<u64 ended_at Unix ns>
//	                                  JSON debit ("v": 1): card_id, amount_fen, covered_version
//	                                  (0: not yet confirmed by the cloud)
//
// A debit's ledger seq is not stored: NewBook finds it among the pending
// sessions (an uncovered debit's session is always still pending).
// Records carry "v"; NewBook refuses a version it does not know.
package control
