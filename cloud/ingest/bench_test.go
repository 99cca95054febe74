package ingest_test

import (
	"fmt"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/cloud/cloudtest"
	"github.com/chargeplane/chargeplane/cloud/server"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/mqtttest"
	"github.com/chargeplane/chargeplane/shared/topic"
)

// BenchmarkIngest measures the whole path: b.N events published to the real
// broker in EventBatch messages of eventsPerMessage, consumed, committed to
// Postgres and presence, and acknowledged. It reports committed events/s.
//
//	go test -run '^$' -bench BenchmarkIngest -benchtime 200000x ./cloud/ingest/
//
// The publisher keeps at most maxAhead messages beyond what the cloud has
// taken, so a broker with Mosquitto's default max_queued_messages (1000)
// never drops any.
func BenchmarkIngest(b *testing.B) {
	const (
		eventsPerMessage = 100
		chargers         = 200
		maxAhead         = 400
	)
	c := cloudtest.Start(b, cloudtest.WithConfig(func(cfg *server.Config) {
		cfg.Ingest = server.DefaultConfig().Ingest // production batching
	}))
	pub := mqtttest.MustConnect(b, c.Config.MQTT.URL, fmt.Sprintf("bench-%d", time.Now().UnixNano()))
	name := c.Space.Stream("t1", "e1", topic.Up, topic.KindEvents)
	now := time.Now()

	// Encode everything first: the benchmark measures the cloud, not the publisher.
	var payloads [][]byte
	for first := 0; first < b.N; first += eventsPerMessage {
		batch := &chargeplanev1.EventBatch{}
		for seq := first + 1; seq <= min(first+eventsPerMessage, b.N); seq++ {
			batch.Events = append(batch.Events, &chargeplanev1.Event{
				EdgeId: "e1", Seq: uint64(seq), ChargerId: fmt.Sprintf("c%03d", seq%chargers), Protocol: "bkv",
				OccurredAt: timestamppb.New(now),
				Kind:       &chargeplanev1.Event_Heartbeat{Heartbeat: &chargeplanev1.Heartbeat{Firmware: "v1", Signal: 20}},
			})
		}
		p, err := proto.Marshal(batch)
		if err != nil {
			b.Fatal(err)
		}
		payloads = append(payloads, p)
	}

	b.ResetTimer()
	start := time.Now()
	tokens := make([]paho.Token, 0, len(payloads))
	for i, p := range payloads {
		if i%50 == 0 {
			for float64(i)-c.Metric("chargeplane_ingest_messages_total", "kind", "events") > maxAhead {
				time.Sleep(time.Millisecond)
			}
		}
		tokens = append(tokens, pub.Publish(name, 1, false, p))
	}
	for _, tok := range tokens {
		if err := mqtttest.Wait(tok); err != nil {
			b.Fatalf("publish: %v", err)
		}
	}
	deadline := time.Now().Add(30*time.Second + time.Duration(b.N)*100*time.Microsecond)
	for c.Metric("chargeplane_ingest_events_total", "result", "stored") < float64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("only %v of %d events stored in time", c.Metric("chargeplane_ingest_events_total", "result", "stored"), b.N)
		}
		time.Sleep(2 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(0, "ns/op")
}
