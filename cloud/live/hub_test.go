package live_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	"github.com/chargeplane/chargeplane/cloud/live"
	"github.com/chargeplane/chargeplane/cloud/presence/presencetest"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// MustHub starts a hub on rdb under prefix, running until the test ends.
func MustHub(tb testing.TB, rdb *redis.Client, prefix string, buffer int) *live.Hub {
	tb.Helper()
	h, err := live.NewHub(rdb, live.Config{Prefix: prefix, Buffer: buffer}, discard(), prometheus.NewRegistry())
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.Run(ctx)
	}()
	tb.Cleanup(func() {
		cancel()
		<-done
	})
	return h
}

func update(tenant, edge, charger string, seq uint64) *chargeplanev1.LiveUpdate {
	return &chargeplanev1.LiveUpdate{
		TenantId: tenant, EdgeId: edge, ChargerId: charger, Connector: 1, Seq: seq,
		Kind: &chargeplanev1.LiveUpdate_ConnectorStatus{ConnectorStatus: &chargeplanev1.ConnectorStatusEntry{
			TenantId: tenant, EdgeId: edge, ChargerId: charger, Connector: 1,
			Status: chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_CHARGING, Seq: seq,
		}},
	}
}

func receive(t *testing.T, sub *live.Subscription) *chargeplanev1.LiveUpdate {
	t.Helper()
	select {
	case u, ok := <-sub.Updates():
		if !ok {
			t.Fatalf("subscription ended: %v", sub.Err())
		}
		return u
	case <-time.After(10 * time.Second):
		t.Fatal("no update within 10 s")
	}
	return nil
}

// TestPublishReachesAnotherReplica: two hubs on one Redis stand for two
// cloud replicas; what one publishes reaches the other's subscribers of
// that tenant that match their filter, and no one else.
func TestPublishReachesAnotherReplica(t *testing.T) {
	t.Parallel()
	rdb, prefix := presencetest.MustRedis(t)
	a, b := MustHub(t, rdb, prefix, 16), MustHub(t, rdb, prefix, 16)
	ctx := t.Context()

	all, err := a.Subscribe(ctx, "t1", live.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	oneCharger, err := a.Subscribe(ctx, "t1", live.Filter{EdgeID: "e1", ChargerID: "c2"})
	if err != nil {
		t.Fatal(err)
	}
	defer oneCharger.Close()
	otherTenant, err := a.Subscribe(ctx, "t2", live.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	defer otherTenant.Close()
	if n := a.Subscribers(); n != 3 {
		t.Errorf("Subscribers() = %d, want 3", n)
	}

	if err := b.Publish(ctx, update("t1", "e1", "c1", 1), update("t1", "e1", "c2", 2)); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, all); got.GetSeq() != 1 {
		t.Errorf("first update seq = %d, want 1", got.GetSeq())
	}
	if got := receive(t, all); !proto.Equal(got, update("t1", "e1", "c2", 2)) {
		t.Errorf("second update = %v, want c2's", got)
	}
	if got := receive(t, oneCharger); got.GetChargerId() != "c2" {
		t.Errorf("filtered subscriber got charger %q, want c2", got.GetChargerId())
	}
	// A marker published after the t1 updates: t2's subscriber sees it
	// first, so it saw nothing of t1.
	if err := b.Publish(ctx, update("t2", "e9", "c9", 9)); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, otherTenant); got.GetTenantId() != "t2" {
		t.Errorf("t2 subscriber got an update of tenant %q", got.GetTenantId())
	}
	select {
	case u := <-oneCharger.Updates():
		t.Errorf("filtered subscriber got %v, want nothing more", u)
	default:
	}
}

// TestSlowSubscriberIsDropped: a subscriber that stops reading is ended
// with ErrSlowSubscriber once its buffer is full, and publishing goes on
// for the others.
func TestSlowSubscriberIsDropped(t *testing.T) {
	t.Parallel()
	rdb, prefix := presencetest.MustRedis(t)
	h := MustHub(t, rdb, prefix, 2)
	ctx := t.Context()
	slow, err := h.Subscribe(ctx, "t1", live.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	fast, err := h.Subscribe(ctx, "t1", live.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	for seq := uint64(1); seq <= 5; seq++ {
		if err := h.Publish(ctx, update("t1", "e1", "c1", seq)); err != nil {
			t.Fatal(err)
		}
		if got := receive(t, fast); got.GetSeq() != seq {
			t.Fatalf("fast subscriber got seq %d, want %d", got.GetSeq(), seq)
		}
	}
	var got []uint64
	for u := range slow.Updates() { // closed once dropped
		got = append(got, u.GetSeq())
	}
	if !errors.Is(slow.Err(), live.ErrSlowSubscriber) {
		t.Errorf("slow subscriber ended with %v, want ErrSlowSubscriber", slow.Err())
	}
	if len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("slow subscriber got seqs %v before being dropped, want [1 2]", got)
	}
	if n := h.Subscribers(); n != 1 {
		t.Errorf("Subscribers() = %d after the drop, want 1", n)
	}
}

// TestSubscriptionsEndWhenHubStops: stopping the hub ends subscriptions
// with ErrClosed and refuses new ones.
func TestSubscriptionsEndWhenHubStops(t *testing.T) {
	t.Parallel()
	rdb, prefix := presencetest.MustRedis(t)
	h, err := live.NewHub(rdb, live.Config{Prefix: prefix, Buffer: 4}, discard(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	sub, err := h.Subscribe(t.Context(), "t1", live.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	for range sub.Updates() {
		t.Error("update after stop")
	}
	if !errors.Is(sub.Err(), live.ErrClosed) {
		t.Errorf("Err() = %v, want ErrClosed", sub.Err())
	}
	if _, err := h.Subscribe(t.Context(), "t1", live.Filter{}); !errors.Is(err, live.ErrClosed) {
		t.Errorf("Subscribe after stop = %v, want ErrClosed", err)
	}
}
