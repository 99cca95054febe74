package e2e_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/chargeplane/chargeplane/cloud/cloudtest"
	"github.com/chargeplane/chargeplane/edge/edgetest"
	"github.com/chargeplane/chargeplane/edge/sim"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1/chargeplanev1connect"
)

// TestOperatorFlow is the cloud core end to end, through the public API
// only: a platform admin creates a tenant and its operator; the operator
// creates a site and an edge; the edge agent starts with the provisioned
// credential; a simulated AP3000 charger connects and shows up as pending;
// the operator accepts it, starts a charge through CommandService, and the
// session the device ran appears in history with the device's energy, while
// the live stream delivered the connector's status changes and the
// command's progress. Rejected afterwards, the charger is cut off by its
// edge.
func TestOperatorFlow(t *testing.T) {
	const (
		tenant = "tenant-flow"
		site   = "site-flow"
		edgeID = "edge-flow"
		email  = "ops@flow.example"
		pass   = "operator-password-1"
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cloud := cloudtest.Start(t)
	admin := cloudtest.Bearer(cloud.AdminToken)
	hc := http.DefaultClient

	if _, err := chargeplanev1connect.NewTenantServiceClient(hc, cloud.URL, admin).CreateTenant(ctx,
		connect.NewRequest(&chargeplanev1.CreateTenantRequest{TenantId: tenant, Name: "Flow Charging"})); err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	if _, err := chargeplanev1connect.NewUserServiceClient(hc, cloud.URL, admin).CreateUser(ctx,
		connect.NewRequest(&chargeplanev1.CreateUserRequest{TenantId: tenant, Email: email, Role: chargeplanev1.Role_ROLE_OPERATOR, Password: pass})); err != nil {
		t.Fatalf("create operator: %v", err)
	}
	login, err := chargeplanev1connect.NewAuthServiceClient(hc, cloud.URL).Login(ctx,
		connect.NewRequest(&chargeplanev1.LoginRequest{Email: email, Password: pass}))
	if err != nil {
		t.Fatalf("operator login: %v", err)
	}
	op := cloudtest.Bearer(login.Msg.GetToken())

	// The operator works in its own tenant without naming it.
	if _, err := chargeplanev1connect.NewSiteServiceClient(hc, cloud.URL, op).CreateSite(ctx, connect.NewRequest(&chargeplanev1.CreateSiteRequest{
		Site: &chargeplanev1.Site{SiteId: site, Name: "Depot", Address: "1 Flow Road", Timezone: "Asia/Shanghai"},
	})); err != nil {
		t.Fatalf("create site: %v", err)
	}
	created, err := chargeplanev1connect.NewEdgeServiceClient(hc, cloud.URL, op).CreateEdge(ctx,
		connect.NewRequest(&chargeplanev1.CreateEdgeRequest{EdgeId: edgeID, Name: "depot gateway"}))
	if err != nil {
		t.Fatalf("create edge: %v", err)
	}
	if _, err := chargeplanev1connect.NewSiteServiceClient(hc, cloud.URL, op).AttachEdge(ctx,
		connect.NewRequest(&chargeplanev1.AttachEdgeRequest{EdgeId: edgeID, SiteId: site})); err != nil {
		t.Fatalf("attach edge: %v", err)
	}

	// The live stream, opened before anything happens at the site.
	live := chargeplanev1connect.NewLiveServiceClient(hc, cloud.URL, op)
	stream, err := live.Watch(ctx, connect.NewRequest(&chargeplanev1.WatchRequest{EdgeId: edgeID}))
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	var (
		mu      sync.Mutex
		updates []*chargeplanev1.LiveUpdate
	)
	watchDone := make(chan error, 1)
	go func() {
		for stream.Receive() {
			if u := stream.Msg().GetUpdate(); u != nil {
				mu.Lock()
				updates = append(updates, u)
				mu.Unlock()
			}
		}
		watchDone <- stream.Err()
	}()
	defer func() {
		_ = stream.Close()
		cancel()
		if err := <-watchDone; err != nil && !errors.Is(err, context.Canceled) && connect.CodeOf(err) != connect.CodeCanceled {
			t.Errorf("live stream ended with %v", err)
		}
	}()

	edge := edgetest.Start(t, tenant, edgeID, cloud.Space.Root(), cloud.URL, edgetest.WithCredential(created.Msg.GetCredential()))
	edge.WaitConfig(t)

	fleetCfg := sim.Config{
		Protocol: "ap3000", Chargers: 1, Addr: edge.ChargerAddr, IDBase: 7373,
		Heartbeat: time.Second, ReplyTimeout: 5 * time.Second,
		AP3000: sim.AP3000Options{Sessions: true, Speed: 7200},
	}
	devices, err := sim.New(fleetCfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	simCtx, stopSim := context.WithCancel(ctx)
	simDone := make(chan sim.Summary, 1)
	go func() { simDone <- devices.Run(simCtx) }()
	defer func() { stopSim(); <-simDone }()
	charger := devices.ChargerID(0)

	fleet := chargeplanev1connect.NewFleetServiceClient(hc, cloud.URL, op)
	waitUntil(t, 20*time.Second, "the charger pending in the cloud", func() bool {
		res, err := fleet.ListPendingChargers(ctx, connect.NewRequest(&chargeplanev1.ListPendingChargersRequest{EdgeId: edgeID}))
		if err != nil {
			t.Fatalf("list pending chargers: %v", err)
		}
		for _, c := range res.Msg.GetChargers() {
			if c.GetRegistration().GetChargerId() == charger {
				return true
			}
		}
		return false
	})
	acc, err := fleet.AcceptCharger(ctx, connect.NewRequest(&chargeplanev1.AcceptChargerRequest{EdgeId: edgeID, ChargerId: charger}))
	if err != nil {
		t.Fatalf("accept charger: %v", err)
	}
	if acc.Msg.GetCharger().GetState() != chargeplanev1.RegistrationState_REGISTRATION_STATE_ACCEPTED ||
		acc.Msg.GetCharger().GetRegistration().GetSiteId() != site {
		t.Fatalf("accepted charger %v: want accepted at site %s", acc.Msg.GetCharger(), site)
	}

	// A 10-minute charge by time: the device runs 7200x fast.
	commands := chargeplanev1connect.NewCommandServiceClient(hc, cloud.URL, op)
	start, err := commands.StartCharging(ctx, connect.NewRequest(&chargeplanev1.StartChargingRequest{
		EdgeId: edgeID, ChargerId: charger, Connector: 1,
		Limit: &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_DurationS{DurationS: 600}},
	}))
	if err != nil {
		t.Fatalf("start charging: %v", err)
	}
	commandID := start.Msg.GetCommand().GetCommandId()
	var cmd *chargeplanev1.Command
	waitUntil(t, 20*time.Second, "the start command accepted", func() bool {
		res, err := commands.GetCommand(ctx, connect.NewRequest(&chargeplanev1.GetCommandRequest{CommandId: commandID}))
		if err != nil {
			t.Fatalf("get command: %v", err)
		}
		cmd = res.Msg.GetCommand()
		return cmd.GetState() != chargeplanev1.CommandState_COMMAND_STATE_QUEUED &&
			cmd.GetState() != chargeplanev1.CommandState_COMMAND_STATE_SENT
	})
	if cmd.GetState() != chargeplanev1.CommandState_COMMAND_STATE_ACCEPTED || cmd.GetRequestedBy() == "" || cmd.GetKind() != "start" {
		t.Fatalf("start command ended as %v", cmd)
	}

	waitUntil(t, 20*time.Second, "the device's settlement", func() bool { return len(devices.AP3000Settlements()) == 1 })
	done := devices.AP3000Settlements()[0]
	if done.Duration != 600 || done.Energy == 0 {
		t.Fatalf("device settlement %+v: want a 600 s session with energy", done)
	}

	sessions := chargeplanev1connect.NewSessionServiceClient(hc, cloud.URL, op)
	var rec *chargeplanev1.Session
	waitUntil(t, 20*time.Second, "the session in history", func() bool {
		res, err := sessions.ListSessions(ctx, connect.NewRequest(&chargeplanev1.ListSessionsRequest{ChargerId: charger, PageSize: 10}))
		if err != nil {
			t.Fatalf("list sessions: %v", err)
		}
		if n := len(res.Msg.GetSessions()); n > 1 {
			t.Fatalf("%d sessions in history, want 1", n)
		}
		if len(res.Msg.GetSessions()) == 1 {
			rec = res.Msg.GetSessions()[0]
		}
		return rec != nil
	})
	if rec.GetEnergyMwh() != done.EnergyMWh() || rec.GetSessionRef() != done.SessionRef || rec.GetConnector() != done.Connector {
		t.Fatalf("history has %v; the device delivered %d mWh in session %s on connector %d",
			rec, done.EnergyMWh(), done.SessionRef, done.Connector)
	}

	// The live stream carried the connector going to charging and back,
	// and the command reaching its final state.
	waitUntil(t, 20*time.Second, "status changes and the command on the live stream", func() bool {
		mu.Lock()
		defer mu.Unlock()
		var charging, after, accepted bool
		for _, u := range updates {
			if u.GetChargerId() != charger {
				continue
			}
			if st := u.GetConnectorStatus(); st != nil && u.GetConnector() == done.Connector {
				if st.GetStatus() == chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_CHARGING {
					charging = true
				} else if charging {
					after = true
				}
			}
			if c := u.GetCommand(); c.GetCommandId() == commandID && c.GetState() == chargeplanev1.CommandState_COMMAND_STATE_ACCEPTED {
				accepted = true
			}
		}
		return charging && after && accepted
	})
	t.Logf("session %s: %d mWh over %d s, command %s accepted; %d live updates", done.SessionRef, done.EnergyMWh(), done.Duration, commandID, len(updates))

	// The operator rejects the charger: its edge hears of it (config hint,
	// pull) and closes its connection, and the charger's operation log in
	// the cloud says why.
	if _, err := fleet.RejectCharger(ctx, connect.NewRequest(&chargeplanev1.RejectChargerRequest{EdgeId: edgeID, ChargerId: charger})); err != nil {
		t.Fatalf("reject charger: %v", err)
	}
	chargers := chargeplanev1connect.NewChargerServiceClient(hc, cloud.URL, op)
	waitUntil(t, 20*time.Second, "the edge closing the rejected charger's connection", func() bool {
		res, err := chargers.ListChargerEvents(ctx, connect.NewRequest(&chargeplanev1.ListChargerEventsRequest{
			EdgeId: edgeID, ChargerId: charger, Kinds: []string{"charger_disconnected"}, PageSize: 10,
		}))
		if err != nil {
			t.Fatalf("list charger events: %v", err)
		}
		for _, e := range res.Msg.GetEvents() {
			if e.GetEvent().GetChargerDisconnected().GetReason() == "refused" {
				return true
			}
		}
		return false
	})
}
