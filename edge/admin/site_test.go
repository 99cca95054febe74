package admin

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chargeplane/chargeplane/edge/adapter"
	"github.com/chargeplane/chargeplane/edge/control"
	"github.com/chargeplane/chargeplane/edge/gateway"
	"github.com/chargeplane/chargeplane/edge/sim"
	"github.com/chargeplane/chargeplane/edge/station"
	"github.com/chargeplane/chargeplane/edge/store"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// The agent wires control.Book as the Executor and adapter.Registry as the
// Connections; keep both satisfied.
var (
	_ Executor    = (*control.Book)(nil)
	_ Connections = (*adapter.Registry)(nil)
)

// waitFor polls cond until it holds, failing after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestInstallerFlow runs the installer's steps against a simulated BKV
// gateway over TCP, wired as the agent wires it: gateway → adapter →
// station → control.Book → store, commands through the Book into the
// registry. The gateway shows up, its socket is paired from the commands
// route, a test start runs and is stopped (and is recorded as a local
// start), and when the gateway goes away its connectors show offline.
func TestInstallerFlow(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	scfg := store.DefaultConfig()
	scfg.Dir, scfg.Durable = t.TempDir(), false
	st, err := store.Open(scfg, "edge-admin", logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	book, err := control.NewBook(context.Background(), control.DefaultBookConfig(), control.BookDeps{Store: st, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	metrics := prometheus.NewRegistry()
	state := station.New(book, time.Now, metrics)
	deps := adapter.Deps{
		Store: state, Now: time.Now, Location: time.UTC, Logger: logger, Registerer: prometheus.NewRegistry(),
		Authorizer: book, CommandTimeout: 2 * time.Second, CommandRetries: 1,
	}
	deps.Registry = adapter.NewRegistry(deps)
	book.SetExecutor(deps.Registry)
	gcfg := gateway.DefaultConfig()
	gcfg.Addr, gcfg.ShutdownTimeout = "127.0.0.1:0", time.Second
	gw := gateway.New(gcfg, []gateway.Protocol{adapter.NewBKV(deps).Protocol()}, logger, prometheus.NewRegistry())
	addr, err := gw.Listen()
	if err != nil {
		t.Fatal(err)
	}
	gwCtx, stopGW := context.WithCancel(context.Background())
	gwDone := make(chan error, 1)
	go func() { gwDone <- gw.Run(gwCtx) }()
	t.Cleanup(func() {
		stopGW()
		if err := <-gwDone; err != nil {
			t.Errorf("gateway: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Errorf("store: %v", err)
		}
	})
	base := start(t, nil, ChargerRoutes(state, deps.Registry, book, time.Now)...)

	g, err := sim.NewBKVGateway(sim.BKVGatewayConfig{
		Addr: addr.String(), IDBase: 7700, Sockets: 1, Heartbeat: time.Minute, StatusEvery: 100 * time.Millisecond,
		Minute: 50 * time.Millisecond,
	}, logger)
	if err != nil {
		t.Fatal(err)
	}
	simCtx, stopSim := context.WithCancel(context.Background())
	simDone := make(chan error, 1)
	go func() { simDone <- g.Run(simCtx) }()
	simRunning := true
	stopSimulator := func() {
		if simRunning {
			stopSim()
			if err := <-simDone; err != nil {
				t.Errorf("simulated gateway: %v", err)
			}
			simRunning = false
		}
	}
	defer stopSimulator()
	id := g.ID()
	charger := func() chargerJSON {
		var c chargerJSON
		get(t, base+"/chargers/"+id, &c)
		return c
	}

	// An unpaired gateway: connected, no connectors yet.
	waitFor(t, "the gateway listed as connected", func() bool { c := charger(); return c.Connected && c.Protocol == "bkv" })
	if c := charger(); len(c.Connectors) != 0 {
		t.Fatalf("unpaired gateway shows connectors: %+v", c.Connectors)
	}

	url := base + "/chargers/" + id + "/commands"
	code, res := post(t, url, "application/json", `{"kind":"pair","params":{"socket":"1","mac":"`+g.MACs()[0]+`"}}`)
	if code != http.StatusOK || res["status"] != "accepted" {
		t.Fatalf("pair: %d %v", code, res)
	}
	waitFor(t, "both ports of the paired socket available", func() bool {
		c := charger()
		return len(c.Connectors) == 2 && c.Connectors[0].Status == "available" && c.Connectors[1].Status == "available"
	})

	code, res = post(t, url, "application/json", `{"kind":"start","connector":1,"limit":{"duration_s":36000}}`)
	ref, _ := res["session_ref"].(string)
	if code != http.StatusOK || res["status"] != "accepted" || ref == "" {
		t.Fatalf("start: %d %v", code, res)
	}
	if c := charger(); c.Connectors[0].Status != "charging" || c.Connectors[0].SessionRef != ref {
		t.Fatalf("connector 1 right after the accepted start: %+v", c.Connectors[0])
	}
	waitFor(t, "live power on connector 1", func() bool {
		m := charger().Connectors[0].Meter
		return m != nil && m.PowerW > 0
	})

	code, res = post(t, url, "application/json", `{"kind":"stop","connector":1}`)
	if code != http.StatusOK || res["status"] != "accepted" {
		t.Fatalf("stop: %d %v", code, res)
	}
	type ended struct {
		Connectors []struct {
			SessionRef  string `json:"session_ref"`
			LastSession *struct {
				SessionRef string `json:"session_ref"`
				Reason     string `json:"reason"`
			} `json:"last_session"`
		} `json:"connectors"`
	}
	var last ended
	waitFor(t, "the stopped session ended on connector 1", func() bool {
		last = ended{} // decoding leaves fields the JSON omits untouched
		get(t, base+"/chargers/"+id, &last)
		c := last.Connectors[0]
		return c.SessionRef == "" && c.LastSession != nil && c.LastSession.SessionRef == ref
	})
	if r := last.Connectors[0].LastSession.Reason; r != "remote" {
		t.Fatalf("end reason = %q, want remote", r)
	}
	evs, err := st.Pending(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var ends []*chargeplanev1.SessionEnded
	for _, ev := range evs {
		if se := ev.GetSessionEnded(); se != nil {
			ends = append(ends, se)
		}
	}
	if len(ends) != 1 || ends[0].GetSessionRef() != ref || ends[0].GetAuthMethod() != "local" {
		t.Fatalf("stored session ends = %v, want one for %s authorized \"local\"", ends, ref)
	}

	// The gateway goes away: still listed, offline, and commands are refused.
	stopSimulator()
	waitFor(t, "the gateway listed as disconnected", func() bool { return !charger().Connected })
	for _, c := range charger().Connectors {
		if c.Status != "offline" {
			t.Fatalf("connector %d of a disconnected gateway: %s", c.Connector, c.Status)
		}
	}
	if code, res := post(t, url, "application/json", `{"kind":"stop","connector":1}`); code != http.StatusConflict {
		t.Fatalf("stop on a disconnected gateway: %d %v", code, res)
	}
	if got := gauge(t, metrics, "chargeplane_edge_chargers_connected"); got != 0 {
		t.Fatalf("chargers connected gauge = %v", got)
	}
}

// gauge reads one unlabelled gauge from g.
func gauge(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not gathered", name)
	return 0
}
