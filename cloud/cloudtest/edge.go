package cloudtest

import (
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/mqtttest"
	"github.com/chargeplane/chargeplane/shared/topic"
)

// Edge publishes to the cloud as one edge would, over the cloud's broker.
type Edge struct {
	Tenant string
	ID     string

	c      *Cloud
	client paho.Client
}

// Edge connects a fake edge for tenant/edge; it disconnects, clearing any
// retained state it set, when the test ends.
func (c *Cloud) Edge(tenant, edge string) *Edge {
	c.tb.Helper()
	e := &Edge{
		Tenant: tenant,
		ID:     edge,
		c:      c,
		client: mqtttest.MustConnect(c.tb, c.Config.MQTT.URL, "edge-"+edge+"-"+randomHex(4)),
	}
	return e
}

// Publish sends events as one EventBatch message (QoS 1) and waits for the
// broker to take it.
func (e *Edge) Publish(events ...*chargeplanev1.Event) {
	e.c.tb.Helper()
	payload, err := proto.Marshal(&chargeplanev1.EventBatch{Events: events})
	if err != nil {
		e.c.tb.Fatalf("cloudtest: marshal batch: %v", err)
	}
	e.PublishRaw(payload)
}

// PublishRaw sends payload on the edge's events topic as it is.
func (e *Edge) PublishRaw(payload []byte) {
	e.c.tb.Helper()
	mqtttest.MustPublish(e.c.tb, e.client, e.c.Space.Stream(e.Tenant, e.ID, topic.Up, topic.KindEvents), payload, false)
}

// SetState publishes the edge's retained state (topic.StateOnline or
// topic.StateOffline); it is cleared when the test ends.
func (e *Edge) SetState(state string) {
	e.c.tb.Helper()
	name := e.c.Space.State(e.Tenant, e.ID)
	mqtttest.MustPublish(e.c.tb, e.client, name, []byte(state), true)
	e.c.tb.Cleanup(func() {
		// An empty retained message deletes the retained one.
		_ = mqtttest.Wait(e.client.Publish(name, 1, true, []byte{}))
	})
}

// Event builds an event of this edge.
func (e *Edge) Event(seq uint64, charger string, at time.Time, kind any) *chargeplanev1.Event {
	ev := &chargeplanev1.Event{
		EdgeId:     e.ID,
		Seq:        seq,
		ChargerId:  charger,
		Protocol:   "bkv",
		OccurredAt: timestamppb.New(at),
	}
	switch k := kind.(type) {
	case *chargeplanev1.ChargerConnected:
		ev.Kind = &chargeplanev1.Event_ChargerConnected{ChargerConnected: k}
	case *chargeplanev1.ChargerDisconnected:
		ev.Kind = &chargeplanev1.Event_ChargerDisconnected{ChargerDisconnected: k}
	case *chargeplanev1.Heartbeat:
		ev.Kind = &chargeplanev1.Event_Heartbeat{Heartbeat: k}
	case nil:
	default:
		e.c.tb.Fatalf("cloudtest: Event: unknown kind %T", kind)
	}
	return ev
}

// Eventually polls cond every 20 ms until it is true, failing the test
// (saying what was awaited) after 10 s.
func (c *Cloud) Eventually(what string, cond func() bool) {
	c.tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			c.tb.Fatalf("cloudtest: timed out after 10s waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Metric returns the value of the counter or gauge name whose labels include
// labels (pairs: "result", "duplicate"), summed over matching series; 0 when
// there is none.
func (c *Cloud) Metric(name string, labels ...string) float64 {
	c.tb.Helper()
	return Gather(c.tb, c.Registry, name, labels...)
}

// Gather reads a counter or gauge from reg like Cloud.Metric does.
func Gather(tb testing.TB, reg prometheus.Gatherer, name string, labels ...string) float64 {
	tb.Helper()
	families, err := reg.Gather()
	if err != nil {
		tb.Fatalf("cloudtest: gather metrics: %v", err)
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if got[k] != v {
					continue series
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}
