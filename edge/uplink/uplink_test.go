package uplink

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/edge/store"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/topic"
)

func mqttURL() string {
	if u := os.Getenv("TEST_MQTT_URL"); u != "" {
		return u
	}
	return "tcp://127.0.0.1:1883"
}

// subscriber collects every event published under a topic root.
type subscriber struct {
	mu     sync.Mutex
	seqs   []uint64
	states []string
}

func subscribe(t *testing.T, space topic.Space) *subscriber {
	t.Helper()
	s := &subscriber{}
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(mqttURL()).
		SetClientID(fmt.Sprintf("uplink-test-sub-%d", time.Now().UnixNano())).SetCleanSession(true))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("MQTT broker at %s not answering (start it: mosquitto -d -c /etc/mosquitto/mosquitto.conf): %v", mqttURL(), tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	tok := c.Subscribe(space.Root()+"/#", 1, func(_ mqtt.Client, m mqtt.Message) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, err := space.Parse(m.Topic()); err != nil {
			s.states = append(s.states, string(m.Payload()))
			return
		}
		var b chargeplanev1.EventBatch
		if err := proto.Unmarshal(m.Payload(), &b); err != nil {
			t.Errorf("bad payload on %s: %v", m.Topic(), err)
			return
		}
		for _, e := range b.GetEvents() {
			s.seqs = append(s.seqs, e.GetSeq())
		}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return s
}

func (s *subscriber) snapshot() ([]uint64, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]uint64(nil), s.seqs...), append([]string(nil), s.states...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDrainsOutboxInOrderAndAcks(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	scfg := store.DefaultConfig()
	scfg.Dir = t.TempDir()
	st, err := store.Open(scfg, "edge-u1", logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })

	root := fmt.Sprintf("test-%d/cp/v1", time.Now().UnixNano())
	space, _ := topic.New(root)
	sub := subscribe(t, space)

	// Events stored before the uplink starts are sent too (catch-up).
	const n = 1234
	for i := range n {
		ev := &chargeplanev1.Event{OccurredAt: timestamppb.Now(), ChargerId: fmt.Sprintf("c%d", i%7), Protocol: "bkv",
			Kind: &chargeplanev1.Event_Heartbeat{Heartbeat: &chargeplanev1.Heartbeat{Signal: int32(i % 31)}}}
		if err := st.Append(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	cfg.MQTTURL = mqttURL()
	cfg.TopicRoot = root
	cfg.ClientID = fmt.Sprintf("uplink-test-%d", time.Now().UnixNano())
	cfg.CloudURL = "http://127.0.0.1:1" // nothing listens: the handshake retries, publishing must not wait for it
	cfg.BatchEvents = 100
	cfg.RetryMin = 20 * time.Millisecond
	cfg.RetryMax = 200 * time.Millisecond
	u, err := New(cfg, "t1", "edge-u1", "test", st, logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()

	waitFor(t, "all events published and acked", func() bool {
		seqs, _ := sub.snapshot()
		return len(seqs) >= n && st.PendingCount() == 0
	})
	// Events appended while running follow.
	if err := st.Append(context.Background(), &chargeplanev1.Event{ChargerId: "late", Protocol: "bkv"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "late event", func() bool { seqs, _ := sub.snapshot(); return len(seqs) == n+1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	seqs, states := sub.snapshot()
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("event %d has seq %d: want every seq once, in order", i, s)
		}
	}
	if !u.Status().LastPublish.After(time.Time{}) {
		t.Error("status shows no publish")
	}
	waitFor(t, "online then offline state", func() bool {
		_, states = sub.snapshot()
		return len(states) >= 2 && states[0] == topic.StateOnline && states[len(states)-1] == topic.StateOffline
	})
}
