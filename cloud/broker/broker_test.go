package broker_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/chargeplane/chargeplane/cloud/broker"
	"github.com/chargeplane/chargeplane/shared/mqtttest"
)

func TestBrokerCarriesSharedSubscriptions(t *testing.T) {
	t.Parallel()
	b, err := broker.New(broker.Config{Addr: "127.0.0.1:0"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	runCtx, stop := context.WithCancel(t.Context())
	defer stop()
	go func() { done <- b.Run(runCtx) }()

	got := make(chan string, 1)
	sub := mqtttest.MustConnect(t, b.URL(), "sub")
	if err := mqtttest.Wait(sub.Subscribe("$share/g/a/+/up/#", 1, func(_ paho.Client, m paho.Message) {
		got <- m.Topic()
	})); err != nil {
		t.Fatal(err)
	}
	pub := mqtttest.MustConnect(t, b.URL(), "pub")
	mqtttest.MustPublish(t, pub, "a/t1/up/events", []byte("x"), false)
	select {
	case topic := <-got:
		if topic != "a/t1/up/events" {
			t.Errorf("received on %q, want a/t1/up/events", topic)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("shared subscriber received nothing")
	}

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
