package ingest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chargeplane/chargeplane/cloud/cloudtest"
	"github.com/chargeplane/chargeplane/cloud/postgres/pgtest"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1/chargeplanev1connect"
	"github.com/chargeplane/chargeplane/shared/mqtttest"
	"github.com/chargeplane/chargeplane/shared/topic"
)

func countEvents(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&n); err != nil {
		t.Fatalf("count events: %v", err)
	}
	return n
}

func heartbeat() *chargeplanev1.Heartbeat { return &chargeplanev1.Heartbeat{Firmware: "v1"} }

func TestSameEventsTwiceAreStoredOnce(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	pool := pgtest.MustPool(t, c.Config.Postgres.URL)
	e := c.Edge("t1", "e1")
	now := time.Now()
	first := []*chargeplanev1.Event{
		e.Event(1, "c1", now, &chargeplanev1.ChargerConnected{}),
		e.Event(2, "c1", now, heartbeat()),
		e.Event(3, "c1", now, heartbeat()),
	}
	e.Publish(first...)
	e.Publish(first...)
	// Overlapping: 3 again, 4 and 5 new.
	e.Publish(e.Event(3, "c1", now, heartbeat()), e.Event(4, "c1", now, heartbeat()), e.Event(5, "c1", now, heartbeat()))

	c.Eventually("three messages to be applied", func() bool {
		return c.Metric("chargeplane_ingest_events_total") == 9
	})
	if n := countEvents(t, pool); n != 5 {
		t.Errorf("events stored = %d, want 5", n)
	}
	if got := c.Metric("chargeplane_ingest_events_total", "result", "duplicate"); got != 4 {
		t.Errorf("duplicates counted = %v, want 4", got)
	}
	if got := c.Metric("chargeplane_ingest_events_total", "result", "stored"); got != 5 {
		t.Errorf("stored counted = %v, want 5", got)
	}
	var seqs []int64
	rows, err := pool.Query(t.Context(), `SELECT seq FROM events WHERE edge_id = 'e1' ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, s)
	}
	if len(seqs) != 5 || seqs[0] != 1 || seqs[4] != 5 {
		t.Errorf("stored seqs = %v, want 1..5", seqs)
	}
}

func TestGarbageDoesNotStopTheConsumer(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	pool := pgtest.MustPool(t, c.Config.Postgres.URL)
	e := c.Edge("t1", "e1")
	now := time.Now()

	e.PublishRaw([]byte("this is not protobuf \xff\xff"))
	// An event claiming another edge: the whole message is refused.
	foreign := e.Event(1, "c1", now, heartbeat())
	foreign.EdgeId = "e2"
	e.Publish(foreign)
	// Valid for the decoder, refused by Postgres (connector beyond integer):
	// only this message is dropped, not the good one batched with it.
	huge := e.Event(2, "c1", now, heartbeat())
	huge.Connector = 4_000_000_000
	e.Publish(huge)
	e.Publish(e.Event(3, "c1", now, heartbeat()))

	c.Eventually("the valid event to be stored", func() bool { return countEvents(t, pool) == 1 })
	c.Eventually("the Postgres refusal to be counted", func() bool {
		return c.Metric("chargeplane_ingest_invalid_messages_total", "reason", "store") == 1
	})
	for reason, want := range map[string]float64{"decode": 1, "event": 1, "store": 1} {
		if got := c.Metric("chargeplane_ingest_invalid_messages_total", "reason", reason); got != want {
			t.Errorf("invalid messages (%s) = %v, want %v", reason, got, want)
		}
	}
}

// TestPresenceThroughTheAPI drives a charger through its presence states
// with MQTT messages and reads them back with ListChargers.
func TestPresenceThroughTheAPI(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	client := chargeplanev1connect.NewChargerServiceClient(http.DefaultClient, c.URL, c.ClientOptions(c.AdminToken))
	e := c.Edge("t1", "e1")
	online := func() (bool, int32) {
		t.Helper()
		res, err := client.ListChargers(t.Context(), connect.NewRequest(&chargeplanev1.ListChargersRequest{TenantId: "t1", EdgeId: "e1"}))
		if err != nil {
			t.Fatalf("ListChargers: %v", err)
		}
		if len(res.Msg.GetChargers()) != 1 {
			return false, -1
		}
		return res.Msg.GetChargers()[0].GetOnline(), res.Msg.GetOnlineCount()
	}
	applied := 0.0
	step := func(name string, want bool, publish func()) {
		t.Helper()
		publish()
		applied++
		c.Eventually(name+": message applied", func() bool {
			return c.Metric("chargeplane_ingest_messages_total") >= applied
		})
		// Presence is written after Postgres commits, before the ack that
		// the metric above does not wait for: poll the API itself.
		wantCount := int32(0)
		if want {
			wantCount = 1
		}
		c.Eventually(name, func() bool {
			got, count := online()
			return got == want && count == wantCount
		})
	}
	now := time.Now()
	step("connect makes it online", true, func() { e.Publish(e.Event(10, "c1", now, &chargeplanev1.ChargerConnected{})) })
	step("an older disconnect arriving late changes nothing", true, func() {
		e.Publish(e.Event(9, "c1", now, &chargeplanev1.ChargerDisconnected{Reason: "eof"}))
	})
	step("disconnect makes it offline", false, func() {
		e.Publish(e.Event(11, "c1", now, &chargeplanev1.ChargerDisconnected{Reason: "eof"}))
	})
	step("a heartbeat makes it online again", true, func() { e.Publish(e.Event(12, "c1", time.Now(), heartbeat())) })
	step("edge offline takes it offline", false, func() { e.SetState(topic.StateOffline) })
	step("edge online brings it back", true, func() { e.SetState(topic.StateOnline) })
	step("a heartbeat from long ago is stale", false, func() {
		e.Publish(e.Event(13, "c1", time.Now().Add(-10*time.Minute), heartbeat()))
	})
}

func TestConsumerCarriesOnAfterBrokerRestart(t *testing.T) {
	t.Parallel()
	b := mqtttest.Start(t)
	c := cloudtest.Start(t, cloudtest.WithMQTTURL(b.URL()))
	pool := pgtest.MustPool(t, c.Config.Postgres.URL)
	now := time.Now()

	e := c.Edge("t1", "e1")
	e.Publish(e.Event(1, "c1", now, heartbeat()))
	c.Eventually("event 1 stored", func() bool { return countEvents(t, pool) == 1 })

	// The new broker has no sessions: until the consumer has reconnected and
	// subscribed again, what edges publish reaches no one. Edges publish
	// again until the cloud has it (Handshake's last_stored_seq), so does
	// this test.
	b.Restart()
	e = c.Edge("t1", "e1")
	var last time.Time
	c.Eventually("event 2 stored", func() bool {
		if time.Since(last) > 200*time.Millisecond {
			e.Publish(e.Event(2, "c1", now, heartbeat()))
			last = time.Now()
		}
		return countEvents(t, pool) == 2
	})
}
