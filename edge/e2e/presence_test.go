package e2e_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/chargeplane/chargeplane/cloud/cloudtest"
	"github.com/chargeplane/chargeplane/edge/edgetest"
	"github.com/chargeplane/chargeplane/edge/sim"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1/chargeplanev1connect"
)

// counts asks the cloud how many of the tenant's chargers it knows and how
// many are online.
func counts(ctx context.Context, t *testing.T, client chargeplanev1connect.ChargerServiceClient, tenant string) (total, online int32) {
	t.Helper()
	resp, err := client.ListChargers(ctx, connect.NewRequest(&chargeplanev1.ListChargersRequest{TenantId: tenant, PageSize: 1000}))
	if err != nil {
		t.Fatalf("ListChargers: %v", err)
	}
	return resp.Msg.GetTotalCount(), resp.Msg.GetOnlineCount()
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// TestChargersOnlineThenOffline is the walking skeleton: BKV chargers connect
// to an edge, their heartbeats travel edge → MQTT → cloud → Postgres/Redis,
// the cloud API reports them online; when their connections die the cloud
// reports them offline within the presence timeout.
func TestChargersOnlineThenOffline(t *testing.T) {
	const (
		tenant          = "tenant-e2e"
		chargers        = 25
		presenceTimeout = 5 * time.Second
	)
	cloud := cloudtest.Start(t, cloudtest.WithPresenceTimeout(presenceTimeout))
	edge := edgetest.Start(t, tenant, "edge-e2e-1", cloud.Space.Root(), cloud.URL, edgetest.WithCredential(cloud.ProvisionEdge(t, tenant, "edge-e2e-1")))

	fleet, err := sim.New(sim.Config{
		Protocol: "bkv", Chargers: chargers, Addr: edge.ChargerAddr,
		Heartbeat: time.Second, Ramp: 200 * time.Millisecond, ReplyTimeout: 5 * time.Second,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stopFleet := context.WithCancel(context.Background())
	defer stopFleet()
	fleetDone := make(chan sim.Summary, 1)
	go func() { fleetDone <- fleet.Run(ctx) }()

	client := cloud.ChargerClient()
	took := waitUntil(t, 30*time.Second, fmt.Sprintf("%d chargers online", chargers), func() bool {
		total, online := counts(ctx, t, client, tenant)
		return total == chargers && online == chargers
	})
	t.Logf("all %d chargers online in the cloud after %s", chargers, took.Round(time.Millisecond))

	// The listing names exactly the simulated chargers, with their edge.
	resp, err := client.ListChargers(ctx, connect.NewRequest(&chargeplanev1.ListChargersRequest{TenantId: tenant, PageSize: 1000}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for i := range chargers {
		want[fleet.ChargerID(i)] = true
	}
	for _, c := range resp.Msg.GetChargers() {
		if !want[c.GetChargerId()] || c.GetEdgeId() != "edge-e2e-1" || c.GetProtocol() != "bkv" || !c.GetOnline() {
			t.Errorf("unexpected charger %v", c)
		}
		delete(want, c.GetChargerId())
	}
	if len(want) != 0 {
		t.Errorf("chargers missing from the listing: %v", want)
	}

	// Kill every charger connection.
	stopFleet()
	summary := <-fleetDone
	if summary.Answered == 0 || summary.Errors != 0 {
		t.Errorf("fleet summary %s: want heartbeats answered and no errors", summary)
	}
	took = waitUntil(t, presenceTimeout+5*time.Second, "all chargers offline", func() bool {
		_, online := counts(context.Background(), t, client, tenant)
		return online == 0
	})
	t.Logf("all chargers offline in the cloud %s after their connections closed (presence timeout %s)", took.Round(time.Millisecond), presenceTimeout)
	if took > presenceTimeout {
		t.Errorf("chargers went offline after %s, beyond the configured timeout %s", took, presenceTimeout)
	}
	if total, _ := counts(context.Background(), t, client, tenant); total != chargers {
		t.Errorf("total = %d after disconnect, want %d (chargers stay known)", total, chargers)
	}
}

// TestSilentChargerGoesOffline: a charger whose connection stays open but
// that stops sending (no disconnect event ever reaches the cloud) is shown
// offline once its last heartbeat is older than the presence timeout.
func TestSilentChargerGoesOffline(t *testing.T) {
	const tenant = "tenant-e2e-silent"
	presenceTimeout := 2 * time.Second
	cloud := cloudtest.Start(t, cloudtest.WithPresenceTimeout(presenceTimeout))
	edge := edgetest.Start(t, tenant, "edge-e2e-2", cloud.Space.Root(), cloud.URL, edgetest.WithCredential(cloud.ProvisionEdge(t, tenant, "edge-e2e-2")))

	// One heartbeat, then silence (interval far beyond the test).
	fleet, err := sim.New(sim.Config{
		Protocol: "bkv", Chargers: 3, Addr: edge.ChargerAddr, IDBase: 1000,
		Heartbeat: time.Hour, ReplyTimeout: 5 * time.Second,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stopFleet := context.WithCancel(context.Background())
	defer stopFleet()
	go fleet.Run(ctx)

	client := cloud.ChargerClient()
	waitUntil(t, 30*time.Second, "3 chargers online", func() bool {
		_, online := counts(ctx, t, client, tenant)
		return online == 3
	})
	seenOnline := time.Now()
	took := waitUntil(t, 3*presenceTimeout+5*time.Second, "silent chargers offline", func() bool {
		_, online := counts(ctx, t, client, tenant)
		return online == 0
	})
	if fleet.Connected() != 3 {
		t.Fatalf("connections dropped (%d open): the test must keep them open and silent", fleet.Connected())
	}
	t.Logf("silent chargers offline %s after being seen online (timeout %s)", time.Since(seenOnline).Round(time.Millisecond), presenceTimeout)
	if took < presenceTimeout/2 {
		t.Errorf("went offline after %s, before the timeout could have expired", took)
	}
}
