package e2e_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/chargeplane/chargeplane/cloud/cloudtest"
	"github.com/chargeplane/chargeplane/edge/edgetest"
	"github.com/chargeplane/chargeplane/edge/sim"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/protocol/ap3000"
)

// ap3000SessionEnded returns the SessionEnded events the cloud stored for
// sessionRef (kind is the event's oneof field name).
func ap3000SessionEnded(ctx context.Context, t *testing.T, conn *pgx.Conn, sessionRef string) []*chargeplanev1.Event {
	t.Helper()
	rows, err := conn.Query(ctx, `SELECT payload FROM events WHERE kind = 'session_ended'`)
	if err != nil {
		t.Fatalf("query events: %v", err)
	}
	payloads, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		t.Fatalf("read events: %v", err)
	}
	var out []*chargeplanev1.Event
	for _, p := range payloads {
		ev := &chargeplanev1.Event{}
		if err := proto.Unmarshal(p, ev); err != nil {
			t.Fatalf("decode event payload: %v", err)
		}
		if ev.GetSessionEnded().GetSessionRef() == sessionRef {
			out = append(out, ev)
		}
	}
	return out
}

// TestAP3000CardSessionReachesCloud: a simulated AP3000 dual socket
// connects to an edge (ICCID preamble, registration, heartbeats), its card
// is swiped, the edge authorizes it from the site's card list and starts a
// 240-minute charge by time (the device runs 7200x fast), the charge ends at
// its limit, and the settlement reaches the cloud's Postgres as a
// SessionEnded with the energy and duration the device itself reported.
func TestAP3000CardSessionReachesCloud(t *testing.T) {
	const (
		tenant = "tenant-e2e-ap3000"
		idBase = 4242
	)
	fcfg := sim.Config{
		Protocol: "ap3000", Chargers: 1, Addr: "pending", IDBase: idBase,
		Heartbeat: time.Second, ReplyTimeout: 2 * time.Second,
		AP3000: sim.AP3000Options{Sessions: true, CardRate: 100 * time.Millisecond, MaxCardSwipes: 1, Speed: 7200},
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	probe, err := sim.New(fcfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	card := probe.AP3000Card(0)

	cloud := cloudtest.Start(t)
	cred := cloud.ProvisionEdge(t, tenant, "edge-e2e-ap3000")
	// The card is the cloud's: the edge's own card list applies only until
	// the first site config arrives.
	if _, err := cloud.SiteConfigClient().PutCards(context.Background(), connect.NewRequest(&chargeplanev1.PutCardsRequest{
		TenantId: tenant, Cards: []*chargeplanev1.CardEntry{{CardId: card, BalanceFen: 10000}},
	})); err != nil {
		t.Fatalf("put card: %v", err)
	}
	edge := edgetest.Start(t, tenant, "edge-e2e-ap3000", cloud.Space.Root(), cloud.URL, edgetest.WithCredential(cred))

	edge.WaitConfig(t)
	fcfg.Addr = edge.ChargerAddr
	fleet, err := sim.New(fcfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stopFleet := context.WithCancel(context.Background())
	fleetDone := make(chan sim.Summary, 1)
	go func() { fleetDone <- fleet.Run(ctx) }()
	defer func() {
		stopFleet()
		<-fleetDone
	}()

	waitUntil(t, 15*time.Second, "the device's settlement acknowledged by the edge", func() bool {
		return len(fleet.AP3000Settlements()) == 1
	})
	s := fleet.AP3000Settlements()[0]
	if s.StopReason != ap3000.StopPresetTime || s.Duration != 240*60 || s.Card != card || s.Energy == 0 {
		t.Fatalf("device settlement %+v: want a 240 min card session ended by its time limit", s)
	}

	db, err := pgx.Connect(ctx, cloud.Config.Postgres.URL)
	if err != nil {
		t.Fatalf("connect to the cloud's Postgres: %v", err)
	}
	defer func() { _ = db.Close(context.Background()) }()
	var ended []*chargeplanev1.Event
	waitUntil(t, 15*time.Second, "the SessionEnded in the cloud", func() bool {
		ended = ap3000SessionEnded(ctx, t, db, s.SessionRef)
		return len(ended) > 0
	})
	if len(ended) != 1 {
		t.Errorf("%d SessionEnded events for %s in the cloud, want 1", len(ended), s.SessionRef)
	}
	ev := ended[0]
	se := ev.GetSessionEnded()
	if ev.GetChargerId() != fleet.ChargerID(0) || ev.GetProtocol() != "ap3000" || ev.GetConnector() != s.Connector || ev.GetEdgeId() != "edge-e2e-ap3000" {
		t.Errorf("event envelope %v, want charger %s connector %d", ev, fleet.ChargerID(0), s.Connector)
	}
	if se.GetEnergyMwh() != s.EnergyMWh() || se.GetDurationS() != int64(s.Duration) {
		t.Errorf("cloud has energy %d mWh over %d s, device delivered %d mWh over %d s",
			se.GetEnergyMwh(), se.GetDurationS(), s.EnergyMWh(), s.Duration)
	}
	if se.GetReason() != chargeplanev1.EndReason_END_REASON_LIMIT_REACHED || se.GetRawReason() != "0x03" || se.GetCardId() != card {
		t.Errorf("session ended %v: want limit reached (0x03) for card %s", se, card)
	}
}
