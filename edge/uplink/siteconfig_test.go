package uplink

import (
	"log/slog"
	"testing"

	mochi "github.com/mochi-mqtt/server/v2"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/shared/topic"
)

func siteConfig(version uint64) *chargeplanev1.SiteConfig {
	return &chargeplanev1.SiteConfig{
		Version: version, UnknownCards: "reject",
		Cards: []*chargeplanev1.CardEntry{{CardId: "card-1", BalanceFen: int64(version) * 100}},
	}
}

// configHarness runs an uplink with a ConfigSink against a cloud and an
// in-process broker that notes when the edge subscribed to its hints.
type configHarness struct {
	broker *testBroker
	cloud  *cloud
	sub    *subscribeHook
	sink   *sink
	logs   *logRecorder
	u      running
	hint   string // the edge's hint topic
}

func startConfigHarness(t *testing.T, initial uint64) *configHarness {
	t.Helper()
	h := &configHarness{sub: &subscribeHook{suffix: "/" + topic.Down + "/" + topic.KindConfig}, sink: &sink{}, logs: &logRecorder{}}
	h.broker = startBroker(t, brokerOpts{hooks: []mochi.Hook{h.sub}})
	h.cloud = newCloud()
	h.cloud.config = siteConfig(initial)
	h.cloud.subscribed = h.sub.done.Load
	url := h.cloud.serve(t, nil)
	cfg := testConfig(h.broker.url(), url)
	h.hint = mustSpace(t, cfg.TopicRoot).Stream(testTenant, testEdge, topic.Down, topic.KindConfig)
	h.u = startUplink(t, cfg, openStore(t, t.TempDir(), true), nil, h.sink, slog.New(h.logs))
	return h
}

// pullsAfterSubscribe counts the PullConfig calls made once the edge had
// subscribed to hints, and returns the last one's have_version.
func (h *configHarness) pullsAfterSubscribe() (n int, lastHave uint64) {
	h.cloud.get(func(c *cloud) {
		for _, p := range c.pulls {
			if p.afterSubscribe {
				n++
				lastHave = p.have
			}
		}
	})
	return n, lastHave
}

// TestConfigHintTriggersPull: the config is pulled at start; hints not newer
// than the held version (and garbage) are ignored without a pull; a newer
// hint pulls and applies the new version.
func TestConfigHintTriggersPull(t *testing.T) {
	h := startConfigHarness(t, 5)
	// Exactly one pull follows the subscription (the one after connecting);
	// any pull before it ran before the edge subscribed.
	waitFor(t, "version 5 pulled after subscribing", func() bool {
		n, _ := h.pullsAfterSubscribe()
		return n == 1 && h.sink.ConfigVersion() == 5
	})

	h.broker.publish(h.hint, "3")
	h.broker.publish(h.hint, "5")
	h.broker.publish(h.hint, "five")
	waitFor(t, "stale hints ignored", func() bool {
		return h.logs.count("ignored a config hint not newer than the held config") == 2 &&
			h.logs.count("ignored a config hint that is not a version number") == 1
	})
	if n, _ := h.pullsAfterSubscribe(); n != 1 {
		t.Fatalf("%d pulls after stale hints, want still 1", n)
	}

	h.cloud.set(func(c *cloud) { c.config = siteConfig(7) })
	h.broker.publish(h.hint, "7")
	waitFor(t, "version 7 applied", func() bool { return h.sink.ConfigVersion() == 7 })
	n, have := h.pullsAfterSubscribe()
	if n != 2 || have != 5 {
		t.Errorf("after the hint: %d pulls, last with have_version %d; want 2 pulls, the last with 5", n, have)
	}
	h.sink.mu.Lock()
	applied := len(h.sink.applied)
	last := h.sink.applied[applied-1]
	h.sink.mu.Unlock()
	if applied != 2 || last.GetCards()[0].GetBalanceFen() != 700 {
		t.Errorf("applied %d configs, last %v; want 5 then 7", applied, last)
	}
	if s := h.u.Status(); s.ConfigVersion != 7 || s.LastConfigPull.IsZero() {
		t.Errorf("status = %+v, want config version 7 and a pull time", s)
	}
}

// TestConfigPulledAfterReconnect: a change made while the broker was down
// (its hint lost with it) is pulled after the reconnect, and hints work
// again on the new connection (the clean session is subscribed anew).
func TestConfigPulledAfterReconnect(t *testing.T) {
	h := startConfigHarness(t, 5)
	waitFor(t, "version 5 pulled after subscribing", func() bool {
		n, _ := h.pullsAfterSubscribe()
		return n == 1 && h.sink.ConfigVersion() == 5
	})

	h.sub.done.Store(false)
	h.cloud.set(func(c *cloud) {
		for i := range c.pulls {
			c.pulls[i].afterSubscribe = false // count only what follows the new subscription
		}
	})
	h.cloud.set(func(c *cloud) { c.config = siteConfig(6) })
	h.broker.restart()
	waitFor(t, "version 6 pulled after the reconnect", func() bool { return h.sink.ConfigVersion() == 6 })
	if n, have := h.pullsAfterSubscribe(); n != 1 || have != 5 {
		t.Fatalf("%d pulls after re-subscribing, the last with have_version %d; want 1 with 5", n, have)
	}

	// The pull after a connect follows the SUBACK, so the subscription is
	// in place now.
	h.cloud.set(func(c *cloud) { c.config = siteConfig(8) })
	h.broker.publish(h.hint, "8")
	waitFor(t, "version 8 from a hint on the new connection", func() bool { return h.sink.ConfigVersion() == 8 })
	waitFor(t, "online", h.u.Online)
}
