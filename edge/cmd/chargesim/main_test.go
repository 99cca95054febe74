package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chargeplane/chargeplane/edge/agent"
	"github.com/chargeplane/chargeplane/edge/control"
	"github.com/chargeplane/chargeplane/edge/edgetest"
	"github.com/chargeplane/chargeplane/edge/sim"
)

func TestFlagErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"log needs sessions", []string{"-sessions-log", "x.jsonl"}, "need -sessions"},
		{"stop-after needs sessions", []string{"-stop-after-sessions", "5"}, "need -sessions"},
		{"negative stop-after", []string{"-sessions", "-stop-after-sessions", "-1"}, "must not be negative"},
		{"bad card", []string{"-sessions", "-cards", "xyz", "-duration", "1ms"}, `card "xyz"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), c.args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), c.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr.String(), c.want)
			}
		})
	}
}

// TestSessionsLogAndStopAfter runs chargesim against a real edge agent:
// pre-paired gateways charge by card until 10 sessions were acknowledged,
// then it exits by itself, having logged each acknowledged session once,
// named as the edge names it.
func TestSessionsLogAndStopAfter(t *testing.T) {
	edge := edgetest.Start(t, "t-chargesim", fmt.Sprintf("e-chargesim-%d", time.Now().UnixNano()),
		fmt.Sprintf("test-%d/cp/v1", time.Now().UnixNano()), "http://127.0.0.1:1",
		edgetest.WithConfig(func(c *agent.Config) { c.Authorization.UnknownCards = control.UnknownAccept }))
	logPath := filepath.Join(t.TempDir(), "sessions.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{
		"-protocol", "bkv", "-chargers", "2", "-addr", edge.ChargerAddr, "-id-base", "4200", "-heartbeat", "5s",
		"-ramp", "10ms", "-sessions", "-paired", "-outlets", "2", "-cards", "0000000000d1,0000000000d2",
		"-card-every", "20ms", "-speed", "6000", "-unplug-chance", "0.05", "-retransmit", "500ms",
		"-sessions-log", logPath, "-stop-after-sessions", "10", "-duration", "50s", "-report", "0",
	}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	if ctx.Err() != nil {
		t.Fatal("chargesim ran until the test's deadline instead of stopping after 10 sessions")
	}
	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := sim.ReadSessionLog(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < 10 {
		t.Fatalf("logged %d sessions, want at least 10", len(got))
	}
	if !strings.Contains(stdout.String(), fmt.Sprintf("sessions acknowledged=%d", len(got))) {
		t.Errorf("summary %q does not report the %d logged sessions", stdout.String(), len(got))
	}
	seen := map[string]bool{}
	for _, s := range got {
		key := fmt.Sprintf("%s/%d/%s", s.ChargerID, s.Connector, s.SessionRef)
		if seen[key] {
			t.Fatalf("session %s logged twice", key)
		}
		seen[key] = true
		if s.ChargerID != sim.ChargerID("bkv", 4200, 0) && s.ChargerID != sim.ChargerID("bkv", 4200, 1) {
			t.Errorf("charger %q is not one of the fleet's", s.ChargerID)
		}
		if s.Connector < 1 || s.Connector > 4 || (s.CardID != "0000000000d1" && s.CardID != "0000000000d2") || s.EnergyMWh%1000 != 0 {
			t.Errorf("session %+v: want connector 1–4, one of the cards, whole Wh", s)
		}
	}
}
