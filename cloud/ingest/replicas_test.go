package ingest_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/chargeplane/chargeplane/cloud/cloudtest"
	"github.com/chargeplane/chargeplane/cloud/postgres/pgtest"
	"github.com/chargeplane/chargeplane/cloud/server"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1/chargeplanev1connect"
)

// TestTwoReplicasShareIngestAndSurviveAStop: two cloud replicas on one
// Postgres, Redis and broker split the edges' messages (shared
// subscription) and both serve the API. One replica is stopped while edges
// keep publishing and comes back later under its client id: every event is
// stored exactly once — the other replica took the new messages, and what
// the broker held for the stopped one's persistent session arrives when it
// returns.
func TestTwoReplicasShareIngestAndSurviveAStop(t *testing.T) {
	const (
		tenant   = "t-replicas"
		edges    = 20
		messages = 30 // per edge
		perMsg   = 10 // events per message
		total    = edges * messages * perMsg
	)
	a := cloudtest.Start(t)
	b := cloudtest.Start(t, cloudtest.WithShared(a))
	pool := pgtest.MustPool(t, a.Config.Postgres.URL)

	pubs := make([]*cloudtest.Edge, edges)
	for i := range pubs {
		pubs[i] = a.Edge(tenant, fmt.Sprintf("e%02d", i))
	}
	now := time.Now()
	publish := func(from, to int) {
		t.Helper()
		for m := from; m < to; m++ {
			for _, e := range pubs {
				evs := make([]*chargeplanev1.Event, perMsg)
				for k := range evs {
					evs[k] = e.Event(uint64(m*perMsg+k+1), "c1", now, heartbeat())
				}
				e.Publish(evs...)
			}
		}
	}
	stored := func(c *cloudtest.Cloud) float64 {
		return c.Metric("chargeplane_ingest_events_total", "result", "stored")
	}

	publish(0, messages/2)
	a.Eventually("the first half stored", func() bool { return countEvents(t, pool) == total/2 })
	if stored(a) == 0 || stored(b) == 0 {
		t.Fatalf("one replica took all the load: a stored %v, b stored %v", stored(a), stored(b))
	}
	// Both replicas serve the API and see the same fleet.
	for name, c := range map[string]*cloudtest.Cloud{"a": a, "b": b} {
		res, err := chargeplanev1connect.NewChargerServiceClient(http.DefaultClient, c.URL, c.ClientOptions(a.AdminToken)).
			ListChargers(t.Context(), connect.NewRequest(&chargeplanev1.ListChargersRequest{TenantId: tenant, PageSize: 100}))
		if err != nil {
			t.Fatalf("replica %s ListChargers with the other replica's admin token: %v", name, err)
		}
		if n := len(res.Msg.GetChargers()); n != edges {
			t.Errorf("replica %s lists %d chargers, want %d", name, n, edges)
		}
	}

	a.Stop()
	publish(messages/2, messages)
	// A replacement of a, with a's client id: the broker resumes its session.
	a2 := cloudtest.Start(t, cloudtest.WithShared(a), cloudtest.WithConfig(func(c *server.Config) {
		c.MQTT.ClientID = a.Config.MQTT.ClientID
	}))
	b.Eventually("every event stored", func() bool { return countEvents(t, pool) >= total })
	if n := countEvents(t, pool); n != total {
		t.Fatalf("%d events stored, want exactly %d", n, total)
	}
	// Redelivered messages count as duplicates, never as stored twice.
	if sum := stored(a) + stored(b) + stored(a2); sum != total {
		t.Errorf("replicas counted %v events stored, want %d", sum, total)
	}
	t.Logf("stored by a %v, b %v, a's replacement %v", stored(a), stored(b), stored(a2))
}
