package e2e_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/chargeplane/chargeplane/cloud/cloudtest"
	"github.com/chargeplane/chargeplane/edge/agent"
	"github.com/chargeplane/chargeplane/edge/command"
	"github.com/chargeplane/chargeplane/edge/control"
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

// TestBKVCardSessionReachesCloud: a simulated BKV gateway with four
// unpaired sockets connects to an edge; the test pairs them through the
// edge's command registry, the gateway reports status, a card swipe starts
// a timed charge, the charge ends, and the session's SessionEnded reaches
// the cloud's Postgres with the energy and duration the device delivered.
func TestBKVCardSessionReachesCloud(t *testing.T) {
	const (
		tenant = "tenant-e2e-bkv"
		card   = "0000000000c3"
	)
	cloud := cloudtest.Start(t)
	edge := edgetest.Start(t, tenant, "edge-e2e-bkv", cloud.Space.Root(), cloud.URL, edgetest.WithConfig(func(c *agent.Config) {
		c.Authorization = control.AuthConfig{UnknownCards: control.UnknownReject, Cards: []control.Card{{ID: card, BalanceFen: 2000}}}
	}))

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
	t.Logf("session %s on connector %d: %d Wh in %d min reached the cloud", ref, connector, done.EnergyWh, done.Minutes)
}
