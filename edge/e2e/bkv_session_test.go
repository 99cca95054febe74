package e2e_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/chargeplane/chargeplane/cloud/cloudtest"
	"github.com/chargeplane/chargeplane/edge/command"
	"github.com/chargeplane/chargeplane/edge/edgetest"
	"github.com/chargeplane/chargeplane/edge/sim"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// cloudEvents reads the events of one kind (the Event oneof field name, as
// the cloud stores it in events.kind) that also satisfy is.
func cloudEvents(ctx context.Context, t *testing.T, conn *pgx.Conn, kind string, is func(*chargeplanev1.Event) bool) []*chargeplanev1.Event {
	t.Helper()
	rows, err := conn.Query(ctx, `SELECT payload FROM events WHERE kind = $1 ORDER BY seq`, kind)
	if err != nil {
		t.Fatalf("query events: %v", err)
	}
	payloads, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		t.Fatalf("read events: %v", err)
	}
	var evs []*chargeplanev1.Event
	for _, p := range payloads {
		ev := &chargeplanev1.Event{}
		if err := proto.Unmarshal(p, ev); err != nil {
			t.Fatalf("decode event payload: %v", err)
		}
		if is(ev) {
			evs = append(evs, ev)
		}
	}
	return evs
}

// TestBKVCardSessionReachesCloud: an operator provisions an edge, puts a
// card with a balance and sets a tariff in the cloud; the edge pulls them. A
// simulated BKV gateway with four unpaired sockets connects; the test pairs
// them through the edge's command registry, the gateway reports status, a
// card swipe starts a timed charge and the charge ends. The session's
// SessionEnded reaches the cloud's events with the energy and duration the
// device delivered, and its ledger record (PushSessions) is in the cloud's
// history, billed at the edge by the tariff, with the card debited once.
func TestBKVCardSessionReachesCloud(t *testing.T) {
	const (
		tenant  = "tenant-e2e-bkv"
		edgeID  = "edge-e2e-bkv"
		card    = "0000000000c3"
		balance = 200_000
	)
	cloud := cloudtest.Start(t)
	cred := cloud.ProvisionEdge(t, tenant, edgeID)
	ctx0 := context.Background()
	// 0.6523 + 0.40 yuan/kWh, all day.
	tariff := &chargeplanev1.Tariff{Id: "e2e", Periods: []*chargeplanev1.TariffPeriod{{
		StartMinute: 0, ElectricityMfenPerKwh: 65230, ServiceMfenPerKwh: 40000,
	}}}
	if _, err := cloud.SiteConfigClient().SetTariff(ctx0, connect.NewRequest(&chargeplanev1.SetTariffRequest{TenantId: tenant, EdgeId: edgeID, Tariff: tariff})); err != nil {
		t.Fatalf("set tariff: %v", err)
	}
	if _, err := cloud.SiteConfigClient().PutCards(ctx0, connect.NewRequest(&chargeplanev1.PutCardsRequest{
		TenantId: tenant, Cards: []*chargeplanev1.CardEntry{{CardId: card, BalanceFen: balance}},
	})); err != nil {
		t.Fatalf("put card: %v", err)
	}
	edge := edgetest.Start(t, tenant, edgeID, cloud.Space.Root(), cloud.URL, edgetest.WithCredential(cred))

	edge.WaitConfig(t)
	// One simulated minute lasts 5 ms: the card order's 240 minutes take
	// 1.2 s, and unplugging may end a session sooner.
	gw, err := sim.NewBKVGateway(sim.BKVGatewayConfig{
		Addr: edge.ChargerAddr, IDBase: 4200, Sockets: 4, Minute: 5 * time.Millisecond,
		CardEvery: 100 * time.Millisecond, Cards: []string{card}, UnplugChance: 0.01,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	gwDone := make(chan error, 1)
	go func() { gwDone <- gw.Run(ctx) }()
	defer func() {
		stop()
		if err := <-gwDone; err != nil {
			t.Errorf("gateway sim: %v", err)
		}
	}()

	db, err := pgx.Connect(ctx, cloud.Config.Postgres.URL)
	if err != nil {
		t.Fatalf("connect to the cloud's Postgres: %v", err)
	}
	defer func() { _ = db.Close(context.Background()) }()

	waitUntil(t, 10*time.Second, "gateway connected to the edge", func() bool {
		_, ok := edge.Commands.Protocol(gw.ID())
		return ok
	})
	for i, mac := range gw.MACs() {
		res, err := edge.Commands.Do(ctx, gw.ID(), "bkv", command.Command{
			ID: "pair-" + strconv.Itoa(i+1), Kind: command.Pair,
			Params: map[string]string{"socket": strconv.Itoa(i + 1), "mac": mac},
		})
		if err != nil || res.Status != command.ResultAccepted {
			t.Fatalf("pair socket %d: %+v, %v", i+1, res, err)
		}
	}
	if gw.Paired() != 4 {
		t.Fatalf("%d sockets paired, want 4", gw.Paired())
	}

	// Paired sockets report their ports; the statuses reach the cloud.
	waitUntil(t, 15*time.Second, "status of 8 connectors in the cloud", func() bool {
		seen := map[uint32]bool{}
		for _, ev := range cloudEvents(ctx, t, db, "connector_status", func(e *chargeplanev1.Event) bool { return e.GetConnectorStatus() != nil }) {
			if ev.GetChargerId() == gw.ID() {
				seen[ev.GetConnector()] = true
			}
		}
		return len(seen) == 8
	})

	waitUntil(t, 15*time.Second, "a card session ended on the device", func() bool { return len(gw.Ended()) > 0 })
	done := gw.Ended()[0]
	if done.Card != card {
		t.Fatalf("device session %+v, want a session of card %s", done, card)
	}
	connector := uint32(done.Socket)*2 + uint32(done.Port) - 1
	ref := strconv.Itoa(int(done.BusinessNo))

	var got *chargeplanev1.Event
	waitUntil(t, 15*time.Second, "the session's end in the cloud", func() bool {
		for _, ev := range cloudEvents(ctx, t, db, "session_ended", func(e *chargeplanev1.Event) bool { return e.GetSessionEnded() != nil }) {
			if ev.GetChargerId() == gw.ID() && ev.GetConnector() == connector && ev.GetSessionEnded().GetSessionRef() == ref {
				got = ev
				return true
			}
		}
		return false
	})
	se := got.GetSessionEnded()
	if se.GetEnergyMwh() != int64(done.EnergyWh)*1000 || se.GetDurationS() != int64(done.Minutes)*60 || se.GetCardId() != card {
		t.Fatalf("cloud has %v; the device delivered %d Wh in %d min for card %s", se, done.EnergyWh, done.Minutes, done.Card)
	}
	if done.Minutes == 0 || done.Minutes > 240 {
		t.Errorf("device charged %d minutes, want 1–240 (the card order's limit)", done.Minutes)
	}
	if got.GetEdgeId() != "edge-e2e-bkv" || got.GetProtocol() != "bkv" {
		t.Errorf("event envelope %v", got)
	}

	// The ledger record: pushed once, billed at the edge by the cloud's tariff.
	var rec *chargeplanev1.Session
	waitUntil(t, 15*time.Second, "the session in the cloud's history", func() bool {
		resp, err := cloud.SessionClient().ListSessions(ctx, connect.NewRequest(&chargeplanev1.ListSessionsRequest{
			TenantId: tenant, ChargerId: gw.ID(), PageSize: 100,
		}))
		if err != nil {
			t.Fatalf("list sessions: %v", err)
		}
		n := 0
		for _, s := range resp.Msg.GetSessions() {
			if s.GetConnector() == connector && s.GetSessionRef() == ref {
				rec = s
				n++
			}
		}
		if n > 1 {
			t.Fatalf("session %s stored %d times in the cloud", ref, n)
		}
		return n == 1
	})
	energy := int64(done.EnergyWh) * 1000
	wantElec := (energy*65230 + 500_000_000) / 1_000_000_000
	wantServ := (energy*40000 + 500_000_000) / 1_000_000_000
	if rec.GetEnergyMwh() != energy || rec.GetElectricityFen() != wantElec || rec.GetServiceFen() != wantServ ||
		rec.GetAmountFen() != wantElec+wantServ || rec.GetCardId() != card || rec.GetAuthMethod() != "card" {
		t.Fatalf("cloud history has %v; want %d mWh billed %d+%d fen to card %s", rec, energy, wantElec, wantServ, card)
	}
	// Every session the device finished by now is billed to the card once.
	waitUntil(t, 15*time.Second, "the card debited by every billed session", func() bool {
		cfg, err := cloud.SiteConfigClient().GetSiteConfig(ctx, connect.NewRequest(&chargeplanev1.GetSiteConfigRequest{TenantId: tenant, EdgeId: edgeID}))
		if err != nil {
			t.Fatalf("get site config: %v", err)
		}
		resp, err := cloud.SessionClient().ListSessions(ctx, connect.NewRequest(&chargeplanev1.ListSessionsRequest{TenantId: tenant, CardId: card, PageSize: 1000}))
		if err != nil {
			t.Fatalf("list sessions: %v", err)
		}
		var billed int64
		for _, s := range resp.Msg.GetSessions() {
			billed += s.GetAmountFen()
		}
		for _, c := range cfg.Msg.GetConfig().GetCards() {
			if c.GetCardId() == card {
				return c.GetBalanceFen() == balance-billed
			}
		}
		return false
	})
	t.Logf("session %s on connector %d: %d Wh in %d min reached the cloud, billed %d fen", ref, connector, done.EnergyWh, done.Minutes, rec.GetAmountFen())
}
