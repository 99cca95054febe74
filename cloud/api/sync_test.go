package api_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/cloud/cloudtest"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1/chargeplanev1connect"
)

var t0 = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC) //nolint:gochecknoglobals // test fixture.

// ended builds a session_ended event of edge e1's charger c1, connector 1,
// started seq minutes after t0 and named "ref<seq>".
func ended(seq uint64, card string, amountFen int64) *chargeplanev1.Event {
	start := t0.Add(time.Duration(seq) * time.Minute)
	return &chargeplanev1.Event{
		Seq:        seq,
		ChargerId:  "c1",
		Connector:  1,
		Protocol:   "bkv",
		OccurredAt: timestamppb.New(start.Add(30 * time.Second)),
		Kind: &chargeplanev1.Event_SessionEnded{SessionEnded: &chargeplanev1.SessionEnded{
			SessionRef:     fmt.Sprintf("ref%d", seq),
			StartedAt:      timestamppb.New(start),
			EndedAt:        timestamppb.New(start.Add(30 * time.Second)),
			EnergyMwh:      int64(seq) * 1000,
			DurationS:      30,
			Reason:         chargeplanev1.EndReason_END_REASON_LIMIT_REACHED,
			AmountFen:      amountFen,
			ElectricityFen: amountFen / 2,
			ServiceFen:     amountFen - amountFen/2,
			CardId:         card,
			AuthMethod:     "card",
			Tariff:         &chargeplanev1.Tariff{Id: "flat", Periods: []*chargeplanev1.TariffPeriod{{ElectricityMfenPerKwh: 65230, ServiceMfenPerKwh: 40000}}},
		}},
	}
}

func push(t *testing.T, client chargeplanev1connect.SyncServiceClient, events ...*chargeplanev1.Event) *chargeplanev1.PushSessionsResponse {
	t.Helper()
	res, err := client.PushSessions(t.Context(), connect.NewRequest(&chargeplanev1.PushSessionsRequest{EdgeId: "e1", Sessions: events}))
	if err != nil {
		t.Fatalf("PushSessions: %v", err)
	}
	return res.Msg
}

func pull(t *testing.T, client chargeplanev1connect.SyncServiceClient, edge string, have uint64) *chargeplanev1.PullConfigResponse {
	t.Helper()
	res, err := client.PullConfig(t.Context(), connect.NewRequest(&chargeplanev1.PullConfigRequest{EdgeId: edge, HaveVersion: have}))
	if err != nil {
		t.Fatalf("PullConfig(%s, %d): %v", edge, have, err)
	}
	return res.Msg
}

func putCards(t *testing.T, c *cloudtest.Cloud, tenant string, cards ...*chargeplanev1.CardEntry) uint64 {
	t.Helper()
	res, err := c.SiteConfigClient().PutCards(t.Context(), connect.NewRequest(&chargeplanev1.PutCardsRequest{TenantId: tenant, Cards: cards}))
	if err != nil {
		t.Fatalf("PutCards: %v", err)
	}
	return res.Msg.GetConfigVersion()
}

func balances(t *testing.T, c *cloudtest.Cloud, tenant, edge string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	res, err := c.SiteConfigClient().GetSiteConfig(t.Context(), connect.NewRequest(&chargeplanev1.GetSiteConfigRequest{TenantId: tenant, EdgeId: edge}))
	if err != nil {
		t.Fatalf("GetSiteConfig(%s): %v", edge, err)
	}
	for _, card := range res.Msg.GetConfig().GetCards() {
		out[card.GetCardId()] = card.GetBalanceFen()
	}
	return out
}

// count runs a count(*) query on the cloud's database.
func count(t *testing.T, c *cloudtest.Cloud, sql string, args ...any) int {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, c.Config.Postgres.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	var n int
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func wantCode(t *testing.T, what string, err error, code connect.Code, msg string) {
	t.Helper()
	var cerr *connect.Error
	if !errors.As(err, &cerr) || cerr.Code() != code || (msg != "" && cerr.Message() != msg) {
		t.Errorf("%s = %v, want %v %q", what, err, code, msg)
	}
}

func TestSyncServiceAuthentication(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	e1 := c.ProvisionEdge(t, "t1", "e1")
	e2 := c.ProvisionEdge(t, "t1", "e2")
	revoked := c.ProvisionEdge(t, "t1", "e3")
	if _, err := c.EdgeClient().RevokeEdge(t.Context(), connect.NewRequest(&chargeplanev1.RevokeEdgeRequest{TenantId: "t1", EdgeId: "e3"})); err != nil {
		t.Fatal(err)
	}
	// A credential in the right format for e1 with another secret.
	forged := "cpe1." + base64.RawURLEncoding.EncodeToString([]byte("e1")) + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 32))

	headerClient := func(header string) chargeplanev1connect.SyncServiceClient {
		return c.SyncClient("", connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
			return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
				req.Header().Set("Authorization", header)
				return next(ctx, req)
			}
		})))
	}
	cases := []struct {
		name   string
		client chargeplanev1connect.SyncServiceClient
		edge   string
		code   connect.Code
		msg    string
	}{
		{"no credential", c.SyncClient(""), "e1", connect.CodeUnauthenticated,
			`missing credential: send the edge credential as "Authorization: Bearer <credential>"`},
		{"another scheme", headerClient("Basic " + e1), "e1", connect.CodeUnauthenticated, `Authorization header: want "Bearer <edge credential>"`},
		{"not a credential", c.SyncClient("hunter2"), "e1", connect.CodeUnauthenticated, "invalid edge credential"},
		{"wrong secret", c.SyncClient(forged), "e1", connect.CodeUnauthenticated, "invalid edge credential"},
		{"unknown edge", c.SyncClient(e1[:5] + base64.RawURLEncoding.EncodeToString([]byte("zz")) + e1[5+len(base64.RawURLEncoding.EncodeToString([]byte("e1"))):]), "zz",
			connect.CodeUnauthenticated, "invalid edge credential"},
		{"revoked edge", c.SyncClient(revoked), "e3", connect.CodeUnauthenticated, `edge "e3": edge credential revoked`},
		{"another edge's credential", c.SyncClient(e2), "e1", connect.CodePermissionDenied, `the credential is edge "e2"'s; it cannot act for edge "e1"`},
		{"scheme in lowercase is fine, other edge still denied", headerClient("bearer " + e2), "e1", connect.CodePermissionDenied, ""},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.client.Handshake(t.Context(), connect.NewRequest(&chargeplanev1.HandshakeRequest{EdgeId: tt.edge, TenantId: "t1"}))
			wantCode(t, "Handshake", err, tt.code, tt.msg)
			_, err = tt.client.PushSessions(t.Context(), connect.NewRequest(&chargeplanev1.PushSessionsRequest{EdgeId: tt.edge, Sessions: []*chargeplanev1.Event{ended(1, "", 0)}}))
			wantCode(t, "PushSessions", err, tt.code, tt.msg)
			_, err = tt.client.PullConfig(t.Context(), connect.NewRequest(&chargeplanev1.PullConfigRequest{EdgeId: tt.edge}))
			wantCode(t, "PullConfig", err, tt.code, tt.msg)
		})
	}
	if n := count(t, c, `SELECT count(*) FROM sessions`); n != 0 {
		t.Errorf("refused pushes stored %d sessions", n)
	}

	t.Run("rotation invalidates the old credential at once", func(t *testing.T) {
		res, err := c.EdgeClient().RotateEdgeCredential(t.Context(), connect.NewRequest(&chargeplanev1.RotateEdgeCredentialRequest{TenantId: "t1", EdgeId: "e1"}))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.SyncClient(e1).PullConfig(t.Context(), connect.NewRequest(&chargeplanev1.PullConfigRequest{EdgeId: "e1"}))
		wantCode(t, "PullConfig with the old credential", err, connect.CodeUnauthenticated, "invalid edge credential")
		if got := pull(t, c.SyncClient(res.Msg.GetCredential()), "e1", 0); !got.GetChanged() {
			t.Errorf("PullConfig with the new credential = %v, want a config", got)
		}
	})
	t.Run("rotation enables a revoked edge with a new credential only", func(t *testing.T) {
		res, err := c.EdgeClient().RotateEdgeCredential(t.Context(), connect.NewRequest(&chargeplanev1.RotateEdgeCredentialRequest{TenantId: "t1", EdgeId: "e3"}))
		if err != nil {
			t.Fatal(err)
		}
		if res.Msg.GetEdge().GetRevokedAt() != nil {
			t.Errorf("rotated edge still revoked: %v", res.Msg.GetEdge())
		}
		_, err = c.SyncClient(revoked).PullConfig(t.Context(), connect.NewRequest(&chargeplanev1.PullConfigRequest{EdgeId: "e3"}))
		wantCode(t, "PullConfig with the revoked credential", err, connect.CodeUnauthenticated, "invalid edge credential")
		pull(t, c.SyncClient(res.Msg.GetCredential()), "e3", 0)
	})
	if got := cloudtest.Gather(t, c.Registry, "chargeplane_api_requests_total", "code", "unauthenticated"); got < 3*6 {
		t.Errorf("unauthenticated requests counted = %v, want at least %d", got, 3*6)
	}
}

func TestPushSessionsStoresAndDebitsOnce(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	client := c.SyncClient(c.ProvisionEdge(t, "t1", "e1"))
	c.ProvisionEdge(t, "t2", "other")
	putCards(t, c, "t1", &chargeplanev1.CardEntry{CardId: "AA01", BalanceFen: 1000}, &chargeplanev1.CardEntry{CardId: "bb02", BalanceFen: 500})
	// Another tenant's card of the same id is not touched.
	putCards(t, c, "t2", &chargeplanev1.CardEntry{CardId: "aa01", BalanceFen: 1000})
	before := pull(t, client, "e1", 0).GetConfig().GetVersion()

	batch := []*chargeplanev1.Event{
		ended(1, "aa01", 100),
		ended(2, "AA01", 50), // card ids match whatever their case
		ended(3, "ffff", 70), // unknown card: stored, no debit
		ended(4, "", 0),      // no card
		ended(5, "bb02", 0),  // free session: no debit
	}
	first := push(t, client, batch...)
	if diff := cmp.Diff([]uint64{1, 2, 3, 4, 5}, first.GetStoredSeqs()); diff != "" {
		t.Errorf("first push stored (-want +got):\n%s", diff)
	}
	if len(first.GetDuplicateSeqs()) != 0 {
		t.Errorf("first push duplicates = %v, want none", first.GetDuplicateSeqs())
	}
	if first.GetConfigVersion() <= before {
		t.Errorf("config_version after a debit = %d, want above %d", first.GetConfigVersion(), before)
	}
	cfg := pull(t, client, "e1", before).GetConfig()
	if cfg.GetVersion() != first.GetConfigVersion() {
		t.Errorf("pulled version %d, push said %d", cfg.GetVersion(), first.GetConfigVersion())
	}
	want := map[string]int64{"aa01": 850, "bb02": 500}
	if diff := cmp.Diff(want, balances(t, c, "t1", "e1")); diff != "" {
		t.Errorf("balances after the first push (-want +got):\n%s", diff)
	}

	// The same batch again, and the same session as seq 1 under seq 9.
	again := ended(1, "aa01", 100)
	again.Seq = 9
	second := push(t, client, append(batch, again)...)
	if len(second.GetStoredSeqs()) != 0 {
		t.Errorf("second push stored %v, want nothing", second.GetStoredSeqs())
	}
	if diff := cmp.Diff([]uint64{1, 2, 3, 4, 5, 9}, second.GetDuplicateSeqs()); diff != "" {
		t.Errorf("second push duplicates (-want +got):\n%s", diff)
	}
	if second.GetConfigVersion() != first.GetConfigVersion() {
		t.Errorf("config_version moved on a push of duplicates: %d, then %d", first.GetConfigVersion(), second.GetConfigVersion())
	}
	if diff := cmp.Diff(want, balances(t, c, "t1", "e1")); diff != "" {
		t.Errorf("balances after pushing duplicates (-want +got):\n%s", diff)
	}
	if got := balances(t, c, "t2", "other")["aa01"]; got != 1000 {
		t.Errorf("t2's card aa01 = %d fen, want 1000 untouched", got)
	}
	if n := count(t, c, `SELECT count(*) FROM sessions WHERE edge_id = 'e1'`); n != 5 {
		t.Errorf("sessions stored = %d, want 5", n)
	}
	if n := count(t, c, `SELECT count(*) FROM wallet_entries WHERE tenant_id = 't1' AND card_id = 'aa01' AND amount_fen IN (100, 50)`); n != 2 {
		t.Errorf("wallet entries of aa01 = %d, want 2", n)
	}
	if n := count(t, c, `SELECT count(*) FROM wallet_entries`); n != 2 {
		t.Errorf("wallet entries = %d, want 2 (unknown cards and free sessions record none)", n)
	}
	// The stored payload is the event with the edge id filled in.
	if n := count(t, c, `SELECT count(*) FROM sessions WHERE edge_id = 'e1' AND seq = 1 AND card_id = 'aa01' AND reason = 'limit_reached' AND tariff_id = 'flat'`); n != 1 {
		t.Errorf("session 1 columns not as uploaded")
	}
}

func TestPushSessionsConcurrentOverlappingBatches(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	cred := c.ProvisionEdge(t, "t1", "e1")
	const start = 1_000_000
	putCards(t, c, "t1", &chargeplanev1.CardEntry{CardId: "aa01", BalanceFen: start})

	const rounds = 5
	stored := map[uint64]int{}
	total := int64(0)
	for r := range rounds {
		base := uint64(r * 100)
		batches := [][]*chargeplanev1.Event{{}, {}}
		for seq := base + 1; seq <= base+90; seq++ {
			total += int64(seq)
			if seq <= base+60 {
				batches[0] = append(batches[0], ended(seq, "aa01", int64(seq)))
			}
			if seq > base+30 {
				batches[1] = append(batches[1], ended(seq, "aa01", int64(seq)))
			}
		}
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			results [][]uint64
			gate    = make(chan struct{})
		)
		for _, b := range batches {
			client := c.SyncClient(cred)
			wg.Go(func() {
				<-gate
				res, err := client.PushSessions(context.Background(), connect.NewRequest(&chargeplanev1.PushSessionsRequest{EdgeId: "e1", Sessions: b}))
				if err != nil {
					t.Errorf("PushSessions: %v", err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				results = append(results, res.Msg.GetStoredSeqs())
				for _, s := range slices.Concat(res.Msg.GetStoredSeqs(), res.Msg.GetDuplicateSeqs()) {
					if s <= base || s > base+90 {
						t.Errorf("seq %d answered, never sent", s)
					}
				}
				if n := len(res.Msg.GetStoredSeqs()) + len(res.Msg.GetDuplicateSeqs()); n != len(b) {
					t.Errorf("push of %d sessions answered %d seqs", len(b), n)
				}
			})
		}
		close(gate)
		wg.Wait()
		for _, res := range results {
			for _, s := range res {
				stored[s]++
			}
		}
	}
	for seq, n := range stored {
		if n != 1 {
			t.Errorf("seq %d stored by %d pushes, want 1", seq, n)
		}
	}
	if len(stored) != rounds*90 {
		t.Errorf("%d seqs stored, want %d", len(stored), rounds*90)
	}
	if got := balances(t, c, "t1", "e1")["aa01"]; got != start-total {
		t.Errorf("balance = %d, want %d (each session debited once)", got, start-total)
	}
	if n := count(t, c, `SELECT count(*) FROM wallet_entries`); n != rounds*90 {
		t.Errorf("wallet entries = %d, want %d", n, rounds*90)
	}
}

func TestPushSessionsValidation(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	client := c.SyncClient(c.ProvisionEdge(t, "t1", "e1"))
	c.ProvisionEdge(t, "t1", "e2")

	heartbeat := &chargeplanev1.Event{Seq: 2, ChargerId: "c1", Kind: &chargeplanev1.Event_Heartbeat{Heartbeat: &chargeplanev1.Heartbeat{}}}
	otherEdge := ended(2, "", 0)
	otherEdge.EdgeId = "e2"
	noStart := ended(2, "", 0)
	noStart.GetSessionEnded().StartedAt = nil
	noCharger := ended(2, "", 0)
	noCharger.ChargerId = ""
	zeroSeq := ended(2, "", 0)
	zeroSeq.Seq = 0
	bigConnector := ended(2, "", 0)
	bigConnector.Connector = 1 << 31
	badTime := ended(2, "", 0)
	badTime.GetSessionEnded().EndedAt = &timestamppb.Timestamp{Seconds: -1e12}
	nulRef := ended(2, "", 0)
	nulRef.GetSessionEnded().SessionRef = "a\x00b"
	// Full sessions with a half-hourly tariff copy: 1000 of them are more
	// than 1 MiB, which a push must still take.
	tou := &chargeplanev1.Tariff{Id: "tou"}
	for m := uint32(0); m < 1440; m += 15 {
		tou.Periods = append(tou.Periods, &chargeplanev1.TariffPeriod{StartMinute: m, ElectricityMfenPerKwh: 65230 + int64(m), ServiceMfenPerKwh: 40000})
	}
	tooMany := make([]*chargeplanev1.Event, 1001)
	for i := range tooMany {
		tooMany[i] = ended(uint64(i+1), "", 0)
		tooMany[i].GetSessionEnded().Tariff = tou
	}
	tests := []struct {
		name   string
		events []*chargeplanev1.Event
		want   string
	}{
		{"not a session", []*chargeplanev1.Event{ended(1, "", 0), heartbeat}, "sessions[1].kind: must be session_ended, got heartbeat"},
		{"no kind", []*chargeplanev1.Event{ended(1, "", 0), {Seq: 2}}, "sessions[1].kind: must be session_ended, got none"},
		{"another edge", []*chargeplanev1.Event{ended(1, "", 0), otherEdge}, `sessions[1].edge_id: must be empty or "e1", got "e2"`},
		{"no start", []*chargeplanev1.Event{ended(1, "", 0), noStart}, "sessions[1].session_ended.started_at: required"},
		{"no charger", []*chargeplanev1.Event{ended(1, "", 0), noCharger}, "sessions[1].charger_id: required"},
		{"seq zero", []*chargeplanev1.Event{ended(1, "", 0), zeroSeq}, "sessions[1].seq: must be at least 1"},
		{"connector too big", []*chargeplanev1.Event{ended(1, "", 0), bigConnector}, "sessions[1].connector: must be at most 2147483647, got 2147483648"},
		{"timestamp out of range", []*chargeplanev1.Event{ended(1, "", 0), badTime}, "sessions[1].session_ended.ended_at: not a valid timestamp (years 1 to 9999, nanos below 1e9)"},
		{"NUL in a text", []*chargeplanev1.Event{ended(1, "", 0), nulRef}, "sessions[1].session_ended.session_ref: must not contain NUL"},
		{"too many", tooMany, "sessions: at most 1000 per call, got 1001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.PushSessions(t.Context(), connect.NewRequest(&chargeplanev1.PushSessionsRequest{EdgeId: "e1", Sessions: tt.events}))
			wantCode(t, "PushSessions", err, connect.CodeInvalidArgument, tt.want)
		})
	}
	if n := count(t, c, `SELECT count(*) FROM sessions`); n != 0 {
		t.Errorf("rejected batches stored %d sessions, want 0: a bad session rejects its whole batch", n)
	}
	// Exactly 1000 is fine; sessions without an edge id get the caller's.
	if size := proto.Size(&chargeplanev1.PushSessionsRequest{EdgeId: "e1", Sessions: tooMany[:1000]}); size <= 1<<20 {
		t.Fatalf("the batch of 1000 is only %d bytes: make the sessions bigger", size)
	}
	res := push(t, client, tooMany[:1000]...)
	if len(res.GetStoredSeqs()) != 1000 {
		t.Errorf("push of 1000 stored %d", len(res.GetStoredSeqs()))
	}
	if n := count(t, c, `SELECT count(*) FROM sessions WHERE edge_id = 'e1'`); n != 1000 {
		t.Errorf("sessions of e1 = %d, want 1000", n)
	}
}
