package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/chargeplane/chargeplane/edge/edgetest"
	"github.com/chargeplane/chargeplane/edge/sim"
)

func postJSON(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewBufferString(body)) //nolint:noctx // test
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return resp.StatusCode, out
}

// TestAdminCommands: the installer lists the connected chargers on the edge's
// admin endpoint and test-starts and stops a connector of a simulated AP3000
// device; bad requests get precise errors. The cloud is not needed (nothing
// listens at its URL): commands work offline.
func TestAdminCommands(t *testing.T) {
	root := fmt.Sprintf("test-admin-%d/cp/v1", time.Now().UnixNano())
	edge := edgetest.Start(t, "tenant-admin", "edge-admin-1", root, "http://127.0.0.1:1")
	fleet, err := sim.New(sim.Config{
		Protocol: "ap3000", Chargers: 1, Addr: edge.ChargerAddr, IDBase: 4242,
		Heartbeat: time.Minute, ReplyTimeout: 5 * time.Second,
		AP3000: sim.AP3000Options{Sessions: true},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan sim.Summary, 1)
	go func() { done <- fleet.Run(ctx) }()
	defer func() { cancel(); <-done }()

	id := fleet.ChargerID(0)
	waitUntil(t, 10*time.Second, "device listed on the admin endpoint", func() bool {
		resp, err := http.Get(edge.AdminURL + "/chargers") //nolint:noctx // test
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var body struct {
			Chargers []struct {
				ChargerID string `json:"charger_id"`
				Protocol  string `json:"protocol"`
			} `json:"chargers"`
		}
		if json.NewDecoder(resp.Body).Decode(&body) != nil {
			return false
		}
		return len(body.Chargers) == 1 && body.Chargers[0].ChargerID == id && body.Chargers[0].Protocol == "ap3000"
	})

	cmdURL := edge.AdminURL + "/chargers/" + id + "/commands"
	code, res := postJSON(t, cmdURL, `{"kind":"start","connector":1,"limit":{"duration_s":600}}`)
	if code != http.StatusOK || res["status"] != "accepted" || res["session_ref"] == "" {
		t.Fatalf("start: %d %v", code, res)
	}
	code, res = postJSON(t, cmdURL, `{"kind":"stop","connector":1}`)
	if code != http.StatusOK || res["status"] != "accepted" {
		t.Fatalf("stop: %d %v", code, res)
	}
	for _, tc := range []struct {
		url, body string
		want      int
	}{
		{cmdURL, `{"kind":"explode"}`, http.StatusBadRequest},
		{cmdURL, `{"kind":"start","limit":{"duration_s":60,"energy_wh":100}}`, http.StatusBadRequest},
		{cmdURL, `{"kind":"start","bogus":1}`, http.StatusBadRequest},
		{cmdURL, `{"kind":"start","connector":1,"limit":{"amount_fen":100,"duration_s":60}}`, http.StatusBadRequest},
		{edge.AdminURL + "/chargers/nope/commands", `{"kind":"stop"}`, http.StatusNotFound},
	} {
		if code, res := postJSON(t, tc.url, tc.body); code != tc.want || res["error"] == nil && res["status"] == nil {
			t.Errorf("POST %s %s = %d %v, want %d with a reason", tc.url, tc.body, code, res, tc.want)
		}
	}
}
