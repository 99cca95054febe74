package sim_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chargeplane/chargeplane/edge/adapter"
	"github.com/chargeplane/chargeplane/edge/command"
	"github.com/chargeplane/chargeplane/edge/control"
	"github.com/chargeplane/chargeplane/edge/gateway"
	"github.com/chargeplane/chargeplane/edge/sim"
	"github.com/chargeplane/chargeplane/edge/store"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/protocol/ap3000"
)

// edgeAP3000 runs the AP3000 adapter behind a real gateway and store.
func edgeAP3000(t *testing.T, auth control.AuthConfig) (string, *store.Store, *adapter.Registry) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	scfg := store.DefaultConfig()
	scfg.Dir = t.TempDir()
	st, err := store.Open(scfg, "edge-sim", logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	deps := adapter.Deps{
		Store: st, Now: time.Now, Location: time.UTC, Logger: logger, Registerer: reg,
		Authorizer: control.NewAuthorizer(auth), CommandTimeout: 2 * time.Second, CommandRetries: 1,
	}
	deps.Registry = adapter.NewRegistry(deps)
	a := adapter.NewAP3000(deps)
	gcfg := gateway.DefaultConfig()
	gcfg.Addr = "127.0.0.1:0"
	gcfg.ShutdownTimeout = time.Second
	gw := gateway.New(gcfg, []gateway.Protocol{a.Protocol()}, logger, reg)
	addr, err := gw.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("store: %v", err)
		}
	})
	return addr.String(), st, deps.Registry
}

func sessionsEnded(t *testing.T, st *store.Store) map[string]*chargeplanev1.Event {
	t.Helper()
	evs, err := st.Pending(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*chargeplanev1.Event{}
	for _, ev := range evs {
		if se := ev.GetSessionEnded(); se != nil {
			if _, dup := out[se.GetSessionRef()]; dup {
				t.Errorf("session %s stored twice", se.GetSessionRef())
			}
			out[se.GetSessionRef()] = ev
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAP3000CardSessionsSettle: two dual sockets swipe their cards, the
// edge starts them for 240 min, sessions end by time or unplug at 3600x
// speed, and every settlement the devices saw acknowledged is stored once
// with the devices' own energy and duration.
func TestAP3000CardSessionsSettle(t *testing.T) {
	const chargers = 2
	fleet0, err := sim.New(sim.Config{Protocol: "ap3000", Chargers: chargers, Addr: "x", Heartbeat: time.Second, ReplyTimeout: time.Second, IDBase: 7}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	auth := control.AuthConfig{UnknownCards: control.UnknownReject}
	for i := range chargers {
		auth.Cards = append(auth.Cards, control.Card{ID: fleet0.AP3000Card(i), BalanceFen: 5000})
	}
	addr, st, _ := edgeAP3000(t, auth)
	fleet, err := sim.New(sim.Config{
		Protocol: "ap3000", Chargers: chargers, Addr: addr, Heartbeat: time.Second, ReplyTimeout: time.Second, IDBase: 7,
		AP3000: sim.AP3000Options{Sessions: true, CardRate: 50 * time.Millisecond, MaxCardSwipes: 2, Speed: 7200, UnplugChance: 0.5},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan sim.Summary, 1)
	go func() { done <- fleet.Run(ctx) }()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
	}()

	// Each device swipes twice, on two ports: four sessions.
	waitFor(t, "4 settlements", func() bool { return len(fleet.AP3000Settlements()) == 2*chargers })
	cancel()
	stopped = true
	if s := <-done; s.Errors != 0 || s.Answered == 0 {
		t.Errorf("fleet: %s", s)
	}
	ended := sessionsEnded(t, st)
	for _, s := range fleet.AP3000Settlements() {
		ev := ended[s.SessionRef]
		if ev == nil {
			t.Errorf("settlement %+v not stored", s)
			continue
		}
		se := ev.GetSessionEnded()
		if ev.GetChargerId() != s.ChargerID || ev.GetConnector() != s.Connector || se.GetEnergyMwh() != s.EnergyMWh() ||
			se.GetDurationS() != int64(s.Duration) || se.GetCardId() != s.Card || se.GetRawReason() == "" {
			t.Errorf("stored %v for device settlement %+v", se, s)
		}
		if s.StopReason != ap3000.StopPresetTime && s.StopReason != ap3000.StopUnplugged {
			t.Errorf("settlement %+v: want ended by the 240 min limit or unplug", s)
		}
		if s.StopReason == ap3000.StopPresetTime && s.Duration != 14400 {
			t.Errorf("settlement %+v: timed out before 240 min", s)
		}
	}
}

// TestAP3000PlatformStartStop: the platform starts a session by energy and
// stops it; the device settles with stop reason 7.
func TestAP3000PlatformStartStop(t *testing.T) {
	addr, st, reg := edgeAP3000(t, control.DefaultAuthConfig())
	fleet, err := sim.New(sim.Config{
		Protocol: "ap3000", Chargers: 1, Addr: addr, Heartbeat: time.Second, ReplyTimeout: time.Second, IDBase: 99,
		AP3000: sim.AP3000Options{Sessions: true, Speed: 1},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan sim.Summary, 1)
	go func() { done <- fleet.Run(ctx) }()
	defer func() { cancel(); <-done }()
	id := fleet.ChargerID(0)
	waitFor(t, "device connected", func() bool {
		_, ok := reg.Protocol(id)
		return ok
	})
	res, err := reg.Do(ctx, id, "ap3000", command.Command{ID: "s1", Kind: command.Start, Connector: 2,
		Limit: &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_EnergyMwh{EnergyMwh: 500_000}}})
	if err != nil || res.Status != command.ResultAccepted || res.SessionRef == "" {
		t.Fatalf("start: %+v, %v", res, err)
	}
	res2, err := reg.Do(ctx, id, "ap3000", command.Command{ID: "s2", Kind: command.Stop, Connector: 2})
	if err != nil || res2.Status != command.ResultAccepted || res2.SessionRef != res.SessionRef {
		t.Fatalf("stop: %+v, %v", res2, err)
	}
	waitFor(t, "settlement", func() bool { return len(fleet.AP3000Settlements()) == 1 })
	s := fleet.AP3000Settlements()[0]
	se := sessionsEnded(t, st)[res.SessionRef].GetSessionEnded()
	if s.StopReason != ap3000.StopServer || se.GetReason() != chargeplanev1.EndReason_END_REASON_REMOTE || se.GetDurationS() != int64(s.Duration) {
		t.Errorf("settlement %+v stored as %v", s, se)
	}
	q, err := reg.Do(ctx, id, "ap3000", command.Command{ID: "q", Kind: command.QueryParameters})
	if err != nil || q.Values["heartbeat_interval_s"] != "180" || q.Values["max_charge_time_s"] != "36000" {
		t.Errorf("query_parameters: %+v, %v", q, err)
	}
}
