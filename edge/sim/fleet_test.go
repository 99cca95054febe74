package sim

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/chargeplane/chargeplane/edge/control"
)

// TestHeartbeatFleetSummary: a heartbeat-only fleet against a real BKV
// adapter reports every heartbeat answered, latencies, and a steady-state
// rate consistent with what it offered.
func TestHeartbeatFleetSummary(t *testing.T) {
	e := mustStartEdge(t, control.DefaultAuthConfig())
	const chargers, every = 10, 20 * time.Millisecond
	fleet, err := New(Config{
		Protocol: "bkv", Chargers: chargers, Addr: e.addr, IDBase: 7000,
		Heartbeat: every, Ramp: 100 * time.Millisecond, ReplyTimeout: 5 * time.Second,
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	s := fleet.Run(ctx)
	// Run waits for the replies to heartbeats in flight when it stops, so
	// every heartbeat is answered however loaded the machine.
	if s.Errors != 0 || s.Answered == 0 || s.Answered != s.Sent {
		t.Fatalf("summary %s: want every heartbeat answered, no errors", s)
	}
	if s.LatencyP50 <= 0 || s.LatencyP99 < s.LatencyP50 {
		t.Errorf("latencies p50 %s p99 %s", s.LatencyP50, s.LatencyP99)
	}
	// Offered: 10 chargers × 50/s = 500/s. The rate may fall short on a
	// loaded machine but can never exceed what was offered.
	offered := float64(chargers) * float64(time.Second) / float64(every)
	if s.Rate <= 0 || s.Rate > offered*1.2 {
		t.Errorf("rate %.0f/s, want within (0, %.0f]", s.Rate, offered*1.2)
	}
}
