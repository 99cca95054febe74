package control

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/edge/command"
	"github.com/chargeplane/chargeplane/edge/store"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// Auth methods of a session (SessionEnded.auth_method).
const (
	AuthCard    = "card"
	AuthRemote  = "remote"
	AuthLocal   = "local"
	AuthCharger = "charger"
)

// Params of a start command that the Book reads (and removes before the
// command reaches the charger).
const (
	ParamCardID = "card_id"
	ParamUserID = "user_id"
	ParamSource = "source" // "local": started from the installer's page
	SourceLocal = "local"
)

// Timing of the Book's own work.
const (
	// cardMemoTTL is how long a card decision waits for the SessionStarted
	// of the session it authorized (a swipe is followed by the start within
	// seconds; the charger may retry for a while).
	cardMemoTTL = 10 * time.Minute
	// maxCardMemos bounds the remembered decisions.
	maxCardMemos = 4096
	// stopTimeout bounds one limit stop (the executor has its own retries).
	stopTimeout = 2 * time.Minute
	// stopRetryAfter is how long after a failed limit stop the next meter
	// reading may try again.
	stopRetryAfter = 30 * time.Second
)

// BookConfig is the edge's local billing configuration.
type BookConfig struct {
	// Fallback is the card policy and list used until the first SiteConfig
	// arrives from the cloud (and forever on an edge with no cloud).
	Fallback AuthConfig `yaml:"authorization"`
	// Tariff is the fallback tariff, used until the cloud sends one.
	Tariff TariffConfig `yaml:"tariff"`
}

// DefaultBookConfig refuses unknown cards and charges nothing.
func DefaultBookConfig() BookConfig {
	return BookConfig{Fallback: DefaultAuthConfig(), Tariff: DefaultTariffConfig()}
}

// Validate reports every problem, each naming its key.
func (c BookConfig) Validate() error { return errors.Join(c.Fallback.Validate(), c.Tariff.Validate()) }

// BookDeps are the Book's collaborators.
type BookDeps struct {
	Store *store.Store
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Location is the site's zone, in which tariff periods are read
	// (default UTC).
	Location *time.Location
	Logger   *slog.Logger
	// Registerer receives the Book's metrics (default: none kept).
	Registerer prometheus.Registerer
	// Online reports whether the cloud is reachable now (the uplink); nil
	// means always offline.
	Online func() bool
}

// Executor carries a command to a charger (adapter.Registry).
type Executor interface {
	Do(ctx context.Context, chargerID, protocol string, cmd command.Command) (command.Result, error)
}

// Refuser closes the live connections of the given chargers. An Executor
// that is also a Refuser (the adapter Registry) hears of the chargers a new
// site config refuses, so a charger rejected while connected is cut off at
// once rather than at its next connection.
type Refuser interface {
	Refuse(chargerIDs []string) int
}

// OpenSession is a session the edge has seen start and not yet end.
type OpenSession struct {
	ChargerID  string    `json:"charger_id"`
	Connector  uint32    `json:"connector"`
	SessionRef string    `json:"session_ref"`
	StartedAt  time.Time `json:"started_at"`
	CardID     string    `json:"card_id,omitempty"`
	UserID     string    `json:"user_id,omitempty"`
	AuthMethod string    `json:"auth_method"`
	// EnergyMWh is the energy metered so far; AmountFen its price.
	EnergyMWh int64 `json:"energy_mwh"`
	AmountFen int64 `json:"amount_fen"`
	// LimitFen is the amount at which the Book stops the session (0: none).
	LimitFen int64 `json:"limit_fen"`
	Offline  bool  `json:"offline"`
}

// ErrNoExecutor is returned by Execute before SetExecutor was called.
var ErrNoExecutor = errors.New("control: no executor set")

// openSession is the Book's state of one open session: its stored record
// and what is kept in memory only. An openSession reachable from Book.open
// is changed only with both its connector lock and Book.mu held; Append
// works on a clone and publishes it after the store write.
type openSession struct {
	key    sessKey
	rec    openRecord
	tariff *chargeplanev1.Tariff // rec.Tariff, for pricing; never changed
	// retryStopAt: a failed limit stop may be retried from then on.
	retryStopAt time.Time
}

func (s *openSession) clone() *openSession {
	c := *s
	c.rec.EnergyMWh = slices.Clone(s.rec.EnergyMWh)
	return &c
}

// amount prices the energy attributed so far.
func (s *openSession) amount() int64 {
	e, sv := price(s.tariff, s.rec.EnergyMWh)
	return e + sv
}

func (s *openSession) view() OpenSession {
	energy := s.rec.LastMeterMWh
	var attributed int64
	for _, e := range s.rec.EnergyMWh {
		attributed += e
	}
	return OpenSession{
		ChargerID: s.key.charger, Connector: s.key.connector, SessionRef: s.key.ref, StartedAt: s.rec.StartedAt,
		CardID: s.rec.CardID, UserID: s.rec.UserID, AuthMethod: s.rec.AuthMethod,
		EnergyMWh: max(energy, attributed), AmountFen: s.amount(), LimitFen: s.rec.LimitFen, Offline: s.rec.Offline,
	}
}

// pendingStart is a start command on its way to the charger.
type pendingStart struct {
	authMethod, cardID, userID, commandID string
	limitFen                              int64
	offline                               bool
}

// cardMemo is a card decision waiting for its SessionStarted.
type cardMemo struct {
	decision Decision
	at       time.Time
}

// debit is a card's local debit: the amount of a session the snapshot in
// force does not include yet.
type debit struct {
	rec debitRecord
	seq uint64 // the session's ledger seq; 0 once synced or not yet known
}

// Book is the edge's session state machine and local billing. See the
// package documentation. Its methods are safe for concurrent use.
type Book struct {
	st       *store.Store
	now      func() time.Time
	loc      *time.Location
	log      *slog.Logger
	online   func() bool
	fallback *chargeplanev1.Tariff
	m        *bookMetrics

	locks connLocks
	// cfgMu serializes ApplyConfig and MarkSessionsSynced: both decide a
	// debit's fate from the config version held.
	cfgMu sync.Mutex

	mu          sync.Mutex
	exec        Executor
	cache       *cardCache
	open        map[sessKey]*openSession
	debits      map[string]*debit // by key
	debitBySeq  map[uint64]string
	debitByCard map[string]int64 // lowercase card id → Σ debits
	pending     map[connKey]*pendingStart
	memos       map[string]cardMemo
	closed      bool // no more limit stops are started

	life   context.Context //nolint:containedctx // the Book's own lifetime, ended by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // limit stops
}

// NewBook builds the Book over st, loading its ctl/ state: the SiteConfig,
// open sessions and local debits.
func NewBook(ctx context.Context, cfg BookConfig, deps BookDeps) (*Book, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new book: %w", err)
	}
	if deps.Store == nil {
		return nil, errors.New("new book: store required")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Location == nil {
		deps.Location = time.UTC
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Registerer == nil {
		deps.Registerer = prometheus.NewRegistry()
	}
	b := &Book{
		st: deps.Store, now: deps.Now, loc: deps.Location, log: deps.Logger.With("component", "control"),
		online: deps.Online, fallback: cfg.Tariff.Proto(),
		cache: fallbackCache(cfg.Fallback, cfg.Tariff),
		open:  map[sessKey]*openSession{}, debits: map[string]*debit{}, debitBySeq: map[uint64]string{},
		debitByCard: map[string]int64{}, pending: map[connKey]*pendingStart{}, memos: map[string]cardMemo{},
	}
	if err := b.load(ctx); err != nil {
		return nil, fmt.Errorf("new book: %w", err)
	}
	m, err := newBookMetrics(deps.Registerer, b)
	if err != nil {
		return nil, fmt.Errorf("new book: %w", err)
	}
	b.m = m
	b.life, b.cancel = context.WithCancel(context.Background())
	b.log.Info("session book loaded", "config_version", b.cache.version, "open_sessions", len(b.open), "debits", len(b.debits))
	return b, nil
}

// load reads the ctl/ state and links unsynced debits to their sessions'
// ledger seqs.
func (b *Book) load(ctx context.Context) error {
	raw, found, err := b.st.Get(ctx, []byte(keyConfig))
	if err != nil {
		return err //nolint:wrapcheck // store errors name the key
	}
	if found {
		sc := &chargeplanev1.SiteConfig{}
		if err := proto.Unmarshal(raw, sc); err != nil {
			return fmt.Errorf("decode %s: %w", keyConfig, err)
		}
		c, err := siteCache(sc, b.fallback)
		if err != nil {
			return fmt.Errorf("stored %s: %w", keyConfig, err)
		}
		b.cache = c
	}
	err = b.st.Scan(ctx, []byte(openPrefix), func(key, val []byte) error {
		k, err := parseOpenKey(key)
		if err != nil {
			return err
		}
		s := &openSession{key: k}
		if err := decodeRecord(key, val, &s.rec, &s.rec.V); err != nil {
			return err
		}
		s.tariff = s.rec.Tariff.proto()
		if err := validateTariff(s.tariff); err != nil || len(s.rec.EnergyMWh) != len(s.tariff.GetPeriods()) {
			return fmt.Errorf("decode %q: bad tariff or energy periods (%w)", key, err)
		}
		b.open[k] = s
		return nil
	})
	if err != nil {
		return err //nolint:wrapcheck // names the key
	}
	unlinked := map[string]bool{}
	err = b.st.Scan(ctx, []byte(debitPrefix), func(key, val []byte) error {
		if _, _, err := parseDebitKey(key); err != nil {
			return err
		}
		d := &debit{}
		if err := decodeRecord(key, val, &d.rec, &d.rec.V); err != nil {
			return err
		}
		b.debits[string(key)] = d
		b.debitByCard[cardKey(d.rec.CardID)] += d.rec.Amount
		if d.rec.Covered == 0 {
			unlinked[string(key)] = true
		}
		return nil
	})
	if err != nil {
		return err //nolint:wrapcheck // names the key
	}
	if len(unlinked) == 0 {
		return nil
	}
	// An uncovered debit's session is still in the ledger, unsynced (the
	// debit is covered before the session is marked synced): find its seq.
	evs, err := b.st.PendingSessions(ctx, int(b.st.PendingSessionCount())+1)
	if err != nil {
		return fmt.Errorf("link debits to sessions: %w", err)
	}
	for _, ev := range evs {
		se := ev.GetSessionEnded()
		k := debitKey(sessKey{ev.GetChargerId(), ev.GetConnector(), se.GetSessionRef()}, se.GetEndedAt().AsTime())
		if d := b.debits[string(k)]; d != nil && unlinked[string(k)] {
			d.seq = ev.GetSeq()
			b.debitBySeq[d.seq] = string(k)
			delete(unlinked, string(k))
		}
	}
	if len(unlinked) > 0 {
		// Only a store edited by hand gets here; the debit still counts.
		b.log.Warn("local debits without an unsynced session", "count", len(unlinked))
	}
	return nil
}

// Close waits for limit stops in flight (cancelling them) and unregisters
// the metrics. It is safe to call twice.
func (b *Book) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	b.wg.Wait()
	b.m.unregister()
	return nil
}

// SetExecutor sets where commands go (the adapter Registry). Call it before
// chargers connect.
func (b *Book) SetExecutor(e Executor) {
	b.mu.Lock()
	b.exec = e
	b.mu.Unlock()
}

func (b *Book) executor() Executor {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.exec
}

func (b *Book) isOnline() bool { return b.online != nil && b.online() }

// Authorize decides a card swipe from the card cache (see the package
// documentation) and remembers an acceptance for the session it starts.
func (b *Book) Authorize(cardID string) Decision {
	online := b.isOnline()
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.cache.decide(cardID, b.debitByCard[cardKey(cardID)], online)
	if d.Accepted {
		b.rememberLocked(cardKey(cardID), d)
	}
	return d
}

func (b *Book) rememberLocked(card string, d Decision) {
	now := b.now()
	if len(b.memos) >= maxCardMemos {
		for k, m := range b.memos {
			if now.Sub(m.at) > cardMemoTTL {
				delete(b.memos, k)
			}
		}
		for k := range b.memos {
			if len(b.memos) < maxCardMemos {
				break
			}
			delete(b.memos, k)
		}
	}
	b.memos[card] = cardMemo{decision: d, at: now}
}

// Balance returns cardID's effective balance: the snapshot's balance less
// local debits it does not include yet (0 for an unknown card).
func (b *Book) Balance(cardID string) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	card, ok := b.cache.cards[cardKey(cardID)]
	if !ok {
		return 0
	}
	return card.balance - b.debitByCard[cardKey(cardID)]
}

// Refused reports whether the site config in force refuses chargerID: an
// operator rejected it in the cloud. Adapters close such a charger's
// connection as soon as it identifies itself.
func (b *Book) Refused(chargerID string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cache.refused[chargerID]
}

// ConfigVersion is the version of the SiteConfig in force (0: the fallback).
func (b *Book) ConfigVersion() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cache.version
}

// ApplyConfig makes cfg the card cache and tariff if it is newer than the
// one held, persisting it and deleting the local debits it includes (those
// covered by a version ≤ cfg.Version), in one store write. An older or
// equal version is ignored. Open sessions keep the tariff they started with.
func (b *Book) ApplyConfig(ctx context.Context, cfg *chargeplanev1.SiteConfig) error {
	if cfg == nil {
		return errors.New("apply config: nil config")
	}
	c, err := siteCache(cfg, b.fallback)
	if err != nil {
		return fmt.Errorf("apply config: %w", err)
	}
	raw, err := proto.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("apply config: %w", err)
	}
	b.cfgMu.Lock()
	defer b.cfgMu.Unlock()
	b.mu.Lock()
	held := b.cache.version
	var covered [][]byte
	for k, d := range b.debits {
		if d.rec.Covered != 0 && d.rec.Covered <= cfg.GetVersion() {
			covered = append(covered, []byte(k))
		}
	}
	b.mu.Unlock()
	if cfg.GetVersion() <= held {
		b.log.Debug("config not newer than the one held, ignored", "version", cfg.GetVersion(), "held", held)
		return nil
	}
	if _, err := b.st.Write(ctx, store.Write{Put: []store.KV{{Key: []byte(keyConfig), Value: raw}}, Delete: covered}); err != nil {
		return fmt.Errorf("apply config version %d: %w", cfg.GetVersion(), err)
	}
	b.mu.Lock()
	b.cache = c
	for _, k := range covered {
		b.dropDebitLocked(string(k))
	}
	b.mu.Unlock()
	b.log.Info("site config applied", "version", cfg.GetVersion(), "cards", len(cfg.GetCards()),
		"tariff", c.tariff.GetId(), "debits_included", len(covered), "refused_chargers", len(cfg.GetRefusedChargers()))
	if r, ok := b.executor().(Refuser); ok && len(cfg.GetRefusedChargers()) > 0 {
		if n := r.Refuse(cfg.GetRefusedChargers()); n > 0 {
			b.log.Warn("closed the connections of refused chargers", "count", n)
		}
	}
	return nil
}

func (b *Book) dropDebitLocked(key string) {
	d := b.debits[key]
	if d == nil {
		return
	}
	delete(b.debits, key)
	if d.seq != 0 && b.debitBySeq[d.seq] == key {
		delete(b.debitBySeq, d.seq)
	}
	ck := cardKey(d.rec.CardID)
	if b.debitByCard[ck] -= d.rec.Amount; b.debitByCard[ck] == 0 {
		delete(b.debitByCard, ck)
	}
}

// PendingSessions returns up to limit sessions not yet confirmed by the
// cloud, in seq order.
func (b *Book) PendingSessions(ctx context.Context, limit int) ([]*chargeplanev1.Event, error) {
	return b.st.PendingSessions(ctx, limit) //nolint:wrapcheck // store errors say what failed
}

// PendingSessionCount is the number of sessions not yet confirmed.
func (b *Book) PendingSessionCount() int64 { return b.st.PendingSessionCount() }

// MarkSessionsSynced records that the cloud stored the sessions seqs (or had
// them already), with configVersion the first config version whose
// balances include them. Their debits are deleted at once when the config
// held is already that recent, else marked covered by configVersion (and
// deleted by the ApplyConfig that reaches it); only then are the sessions
// marked synced in the store, so a crash in between leaves them pending,
// to be pushed and confirmed again, never a debit that no config will
// cover. configVersion 0 (the cloud holds no config for this edge) covers
// nothing: those debits stay.
func (b *Book) MarkSessionsSynced(ctx context.Context, seqs []uint64, configVersion uint64) error {
	b.cfgMu.Lock()
	defer b.cfgMu.Unlock()
	var (
		w       store.Write
		covered = map[string]uint64{}
	)
	b.mu.Lock()
	held := b.cache.version
	for _, seq := range seqs {
		key, ok := b.debitBySeq[seq]
		if !ok || configVersion == 0 {
			continue
		}
		d := b.debits[key]
		switch {
		case d == nil:
		case configVersion <= held:
			w.Delete = append(w.Delete, []byte(key))
		case d.rec.Covered == 0 || configVersion < d.rec.Covered:
			rec := d.rec
			rec.Covered = configVersion
			covered[key] = configVersion
			w.Put = append(w.Put, store.KV{Key: []byte(key), Value: encodeRecord(rec)})
		}
	}
	b.mu.Unlock()
	if len(w.Put)+len(w.Delete) > 0 {
		if _, err := b.st.Write(ctx, w); err != nil {
			return fmt.Errorf("mark debits covered: %w", err)
		}
		b.mu.Lock()
		for _, k := range w.Delete {
			b.dropDebitLocked(string(k))
		}
		for k, v := range covered {
			if d := b.debits[k]; d != nil {
				d.rec.Covered = v
			}
		}
		b.mu.Unlock()
	}
	if err := b.st.MarkSessionsSynced(ctx, seqs); err != nil {
		return fmt.Errorf("mark sessions synced: %w", err)
	}
	b.mu.Lock()
	for _, seq := range seqs {
		if key, ok := b.debitBySeq[seq]; ok {
			delete(b.debitBySeq, seq)
			if d := b.debits[key]; d != nil {
				d.seq = 0
			}
		}
	}
	b.mu.Unlock()
	return nil
}

// OpenSessions lists the open sessions by charger, connector and ref.
func (b *Book) OpenSessions() []OpenSession {
	b.mu.Lock()
	out := make([]OpenSession, 0, len(b.open))
	for _, s := range b.open {
		out = append(out, s.view())
	}
	b.mu.Unlock()
	slices.SortFunc(out, func(x, y OpenSession) int {
		if c := strings.Compare(x.ChargerID, y.ChargerID); c != 0 {
			return c
		}
		if c := cmp.Compare(x.Connector, y.Connector); c != 0 {
			return c
		}
		return strings.Compare(x.SessionRef, y.SessionRef)
	})
	return out
}

// Execute runs a command through control. A start is authorized first
// (params card_id or user_id; with neither it is an operator start, auth
// "remote", or "local" with params source=local) and remembered, so that
// the SessionStarted the charger's confirmation produces is linked to it;
// an amount limit is kept by the Book, which stops the session when its
// amount reaches it, and the charger is started without a limit. A stop
// records that the operator stopped the session. Other kinds go straight to
// the executor. A start the Book refuses is stored as a rejected
// CommandResult and returned as such, with no error.
func (b *Book) Execute(ctx context.Context, chargerID, protocol string, cmd command.Command) (command.Result, error) {
	ex := b.executor()
	if ex == nil {
		return command.Result{}, ErrNoExecutor
	}
	switch cmd.Kind {
	case command.Start:
		return b.start(ctx, ex, chargerID, protocol, cmd)
	case command.Stop:
		return b.stop(ctx, ex, chargerID, protocol, cmd)
	default:
		return ex.Do(ctx, chargerID, protocol, cmd) //nolint:wrapcheck // the executor's errors are the command's
	}
}

func (b *Book) start(ctx context.Context, ex Executor, chargerID, protocol string, cmd command.Command) (command.Result, error) {
	ps := &pendingStart{authMethod: AuthRemote, commandID: cmd.ID, offline: !b.isOnline()}
	if cmd.Params[ParamSource] == SourceLocal {
		ps.authMethod = AuthLocal
	}
	card, user := cmd.Params[ParamCardID], cmd.Params[ParamUserID]
	if amount, ok := cmd.Limit.GetKind().(*chargeplanev1.Limit_AmountFen); ok {
		if amount.AmountFen <= 0 {
			// Stored like the registry stores a command it cannot send.
			err := fmt.Errorf("%w: amount limit %d fen must be positive", command.ErrInvalidCommand, amount.AmountFen)
			res, serr := b.refuse(ctx, chargerID, protocol, cmd, err.Error())
			return res, errors.Join(err, serr)
		}
		ps.limitFen = amount.AmountFen
		cmd.Limit = nil // the Book enforces it; chargers start "until full" or their longest
	}
	b.mu.Lock()
	if card == "" && user != "" {
		card, _ = b.cache.userCard(user)
	}
	if card != "" {
		d := b.cache.decide(card, b.debitByCard[cardKey(card)], !ps.offline)
		if !d.Accepted {
			b.mu.Unlock()
			return b.refuse(ctx, chargerID, protocol, cmd, "card "+card+" refused: "+d.Reason)
		}
		ps.cardID = card
		if user == "" {
			user = b.cache.cards[cardKey(card)].userID
		}
		if d.LimitFen > 0 && (ps.limitFen == 0 || d.LimitFen < ps.limitFen) {
			ps.limitFen = d.LimitFen
		}
	}
	ps.userID = user
	ck := connKey{chargerID, cmd.Connector}
	if b.pending[ck] != nil {
		b.mu.Unlock()
		return b.refuse(ctx, chargerID, protocol, cmd, "another start is in progress on this connector")
	}
	b.pending[ck] = ps
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		if b.pending[ck] == ps {
			delete(b.pending, ck)
		}
		b.mu.Unlock()
	}()
	if len(cmd.Params) > 0 {
		params := make(map[string]string, len(cmd.Params))
		for k, v := range cmd.Params {
			if k != ParamCardID && k != ParamUserID && k != ParamSource {
				params[k] = v
			}
		}
		cmd.Params = params
	}
	return ex.Do(ctx, chargerID, protocol, cmd) //nolint:wrapcheck // the executor's errors are the command's
}

// refuse stores a rejected CommandResult for a command control will not
// send, and returns that result.
func (b *Book) refuse(ctx context.Context, chargerID, protocol string, cmd command.Command, detail string) (command.Result, error) {
	res := command.Result{Status: command.ResultRejected, Detail: detail}
	ev := &chargeplanev1.Event{
		OccurredAt: timestamppb.New(b.now()), ChargerId: chargerID, Connector: cmd.Connector, Protocol: protocol,
		Kind: &chargeplanev1.Event_CommandResult{CommandResult: &chargeplanev1.CommandResult{
			CommandId: cmd.ID, Command: cmd.Kind, Status: res.Status, Detail: detail,
		}},
	}
	if _, err := b.st.Write(ctx, store.Write{Events: []*chargeplanev1.Event{ev}}); err != nil {
		return res, fmt.Errorf("store command result: %w", err)
	}
	return res, nil
}

func (b *Book) stop(ctx context.Context, ex Executor, chargerID, protocol string, cmd command.Command) (command.Result, error) {
	ref := cmd.Params["session_ref"]
	marked := b.setOperatorStop(chargerID, cmd.Connector, func(k sessKey) bool { return ref == "" || k.ref == ref }, true)
	res, err := ex.Do(ctx, chargerID, protocol, cmd)
	if (err != nil || res.Status != command.ResultAccepted) && len(marked) > 0 {
		b.setOperatorStop(chargerID, cmd.Connector, func(k sessKey) bool { return slices.Contains(marked, k) }, false)
	}
	return res, err //nolint:wrapcheck // the executor's errors are the command's
}

// setOperatorStop sets the operator-stop flag of the open sessions on a
// connector that pick selects to on, and returns those it changed. The
// flag only decides the end reason, so it is kept in memory (and stored
// with the session's next write).
func (b *Book) setOperatorStop(chargerID string, connector uint32, pick func(sessKey) bool, on bool) []sessKey {
	release := b.locks.lock([]connKey{{chargerID, connector}})
	defer release()
	b.mu.Lock()
	defer b.mu.Unlock()
	var changed []sessKey
	for k, s := range b.open {
		if k.charger == chargerID && k.connector == connector && pick(k) && s.rec.OperatorStop != on {
			s.rec.OperatorStop = on
			changed = append(changed, k)
		}
	}
	return changed
}
