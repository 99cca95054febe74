package ingest_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chargeplane/chargeplane/cloud/ingest"
)

func config(url string) ingest.Config {
	return ingest.Config{
		URL: url, ClientID: "ingest-test", Group: "cloud", TopicRoot: "cptest/unreachable",
		BatchEvents: 10, BatchWait: 10 * time.Millisecond, QueueMessages: 10, DrainTimeout: time.Second,
	}
}

// TestRunStopsWhileBrokerUnreachable: a consumer still trying to connect
// stops promptly when its context ends, and never reports itself connected.
func TestRunStopsWhileBrokerUnreachable(t *testing.T) {
	t.Parallel()
	// Port 1 (tcpmux) has no listener on any machine we test on.
	c, err := ingest.New(config("tcp://127.0.0.1:1"), ingest.Deps{
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after its context ended", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if c.Connected() {
		t.Error("Connected() = true without a broker")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	cfg := config("")
	cfg.Group = "a/b"
	cfg.TopicRoot = "#"
	cfg.BatchEvents = 0
	_, err := ingest.New(cfg, ingest.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: prometheus.NewRegistry()})
	if err == nil {
		t.Fatal("New with a bad config: no error")
	}
	for _, want := range []string{"topic root", "broker url", "group", "batch events"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}
