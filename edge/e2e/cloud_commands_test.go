package e2e_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/edge/edgetest"
	"github.com/chargeplane/chargeplane/edge/sim"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/topic"
)

// TestCommandsOverMQTT: commands published on the edge's down/commands topic
// (as the cloud sends them) reach a simulated AP3000 device, and each
// outcome comes back up as a CommandResult event with the command's id: an
// accepted start and stop, an expired command refused without running, and
// a command for a charger that is not connected.
func TestCommandsOverMQTT(t *testing.T) {
	const tenant, edgeID = "tenant-cmd", "edge-cmd-1"
	space, err := topic.New(fmt.Sprintf("test-cmd-%d/cp/v1", time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	edge := edgetest.Start(t, tenant, edgeID, space.Root(), "http://127.0.0.1:1")

	// A test client plays the cloud: it reads results and sends commands.
	var mu sync.Mutex
	results := map[string]*chargeplanev1.CommandResult{}
	cloud := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(edgetest.MQTTURL()).
		SetClientID(fmt.Sprintf("cmd-test-%d", time.Now().UnixNano())).SetCleanSession(true))
	if tok := cloud.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("MQTT broker at %s not answering (start it: mosquitto -d -c /etc/mosquitto/mosquitto.conf): %v", edgetest.MQTTURL(), tok.Error())
	}
	defer cloud.Disconnect(100)
	tok := cloud.Subscribe(space.Stream(tenant, edgeID, topic.Up, topic.KindEvents), 1, func(_ mqtt.Client, m mqtt.Message) {
		var b chargeplanev1.EventBatch
		if proto.Unmarshal(m.Payload(), &b) != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, e := range b.GetEvents() {
			if r := e.GetCommandResult(); r != nil {
				results[r.GetCommandId()] = r
			}
		}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	send := func(c *chargeplanev1.ChargerCommand) {
		t.Helper()
		payload, err := proto.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if tok := cloud.Publish(space.Stream(tenant, edgeID, topic.Down, topic.KindCommands), 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish command: %v", tok.Error())
		}
	}
	result := func(id string) *chargeplanev1.CommandResult {
		t.Helper()
		var r *chargeplanev1.CommandResult
		waitUntil(t, 20*time.Second, "result of command "+id, func() bool {
			mu.Lock()
			defer mu.Unlock()
			r = results[id]
			return r != nil
		})
		return r
	}

	fleet, err := sim.New(sim.Config{
		Protocol: "ap3000", Chargers: 1, Addr: edge.ChargerAddr, IDBase: 5151,
		Heartbeat: time.Minute, ReplyTimeout: 5 * time.Second, AP3000: sim.AP3000Options{Sessions: true},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan sim.Summary, 1)
	go func() { done <- fleet.Run(ctx) }()
	defer func() { cancel(); <-done }()
	id := fleet.ChargerID(0)
	waitUntil(t, 10*time.Second, "device connected", func() bool { _, ok := edge.Commands.Protocol(id); return ok })

	send(&chargeplanev1.ChargerCommand{CommandId: "c-start", ChargerId: id, Kind: "start", Connector: 1,
		Limit: &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_DurationS{DurationS: 600}}})
	if r := result("c-start"); r.GetStatus() != "accepted" || r.GetCommand() != "start" {
		t.Fatalf("start result %v", r)
	}
	send(&chargeplanev1.ChargerCommand{CommandId: "c-stop", ChargerId: id, Kind: "stop", Connector: 1})
	if r := result("c-stop"); r.GetStatus() != "accepted" {
		t.Fatalf("stop result %v", r)
	}
	send(&chargeplanev1.ChargerCommand{CommandId: "c-old", ChargerId: id, Kind: "start", Connector: 2,
		ExpiresAt: timestamppb.New(time.Now().Add(-time.Minute))})
	if r := result("c-old"); r.GetStatus() != "rejected" || r.GetDetail() != "expired" {
		t.Fatalf("expired command result %v", r)
	}
	send(&chargeplanev1.ChargerCommand{CommandId: "c-ghost", ChargerId: "00000000", Kind: "stop"})
	if r := result("c-ghost"); r.GetStatus() != "failed" {
		t.Fatalf("command for an absent charger: %v", r)
	}
}
