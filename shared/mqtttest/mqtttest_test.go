package mqtttest_test

import (
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/chargeplane/chargeplane/shared/mqtttest"
)

func TestBrokerStopAndRestart(t *testing.T) {
	t.Parallel()
	b := mqtttest.Start(t)
	got := make(chan string, 10)
	mqtttest.MustConnect(t, b.URL(), "sub", func(o *paho.ClientOptions) {
		o.SetConnectRetryInterval(50 * time.Millisecond).SetMaxReconnectInterval(100 * time.Millisecond)
		o.SetOnConnectHandler(func(c paho.Client) {
			// Subscriptions die with the broker: subscribe on every connect.
			c.Subscribe("t/#", 1, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) })
		})
	})
	pub := mqtttest.MustConnect(t, b.URL(), "pub", func(o *paho.ClientOptions) {
		o.SetMaxReconnectInterval(100 * time.Millisecond)
	})

	waitFor := func(want string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			if err := mqtttest.Wait(pub.Publish("t/x", 1, false, []byte(want))); err != nil {
				t.Logf("publish %s: %v (retrying)", want, err)
			}
			select {
			case p := <-got:
				if p == want {
					return
				}
			case <-time.After(100 * time.Millisecond):
			case <-deadline:
				t.Fatalf("message %q never arrived", want)
			}
		}
	}
	waitFor("before")

	addr := b.Addr()
	b.Stop()
	b.Stop() // idempotent
	b.Restart()
	if b.Addr() != addr {
		t.Errorf("restarted on %s, want the same address %s", b.Addr(), addr)
	}
	waitFor("after")
}

func TestBrokerURL(t *testing.T) {
	t.Parallel()
	u := mqtttest.Broker(t)
	c := mqtttest.MustConnect(t, u, "probe")
	mqtttest.MustPublish(t, c, "a/b", []byte("x"), false)
}
