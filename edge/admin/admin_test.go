package admin

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chargeplane/chargeplane/edge/framelog"
)

func start(t *testing.T, checks []Check, routes ...Route) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	s := New(Config{Addr: "127.0.0.1:0"}, checks, func() any { return map[string]int{"connections": 3} }, reg,
		slog.New(slog.NewTextHandler(io.Discard, nil)), routes...)
	addr, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return "http://" + addr.String()
}

func get(t *testing.T, url string, into any) int {
	t.Helper()
	resp, err := http.Get(url) //nolint:noctx // test
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if into != nil {
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			t.Fatalf("%s: %v", url, err)
		}
	}
	return resp.StatusCode
}

func TestReadyzNamesFailingChecks(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	base := start(t, []Check{
		{Name: "store", Fn: func(context.Context) error { return nil }},
		{Name: "disk", Fn: func(context.Context) error {
			if healthy.Load() {
				return nil
			}
			return errors.New("full")
		}},
	})
	if code := get(t, base+"/readyz", nil); code != http.StatusOK {
		t.Fatalf("readyz = %d while healthy", code)
	}
	healthy.Store(false)
	var body struct {
		Ready  bool              `json:"ready"`
		Failed map[string]string `json:"failed"`
	}
	if code := get(t, base+"/readyz", &body); code != http.StatusServiceUnavailable || body.Ready || body.Failed["disk"] != "full" || len(body.Failed) != 1 {
		t.Fatalf("readyz = %d %+v", code, body)
	}
	if code := get(t, base+"/healthz", nil); code != http.StatusOK {
		t.Fatalf("healthz = %d", code)
	}
}

func TestFramesRouteDecodes(t *testing.T) {
	log := framelog.New(framelog.DefaultConfig())
	hb, _ := hex.DecodeString("fcfe002e0000000000000182200520004869383938363034363331313230373033313934313763562e31723436001fcafcee")
	log.Record("82200520004869", "bkv", framelog.Up, time.Now(), hb)
	log.Record("82200520004869", "bkv", framelog.Up, time.Now(), []byte{0xfc, 0xfe, 0x00})
	base := start(t, nil, FramesRoute(log))
	var body struct {
		Frames []frameView `json:"frames"`
	}
	if code := get(t, base+"/chargers/82200520004869/frames", &body); code != http.StatusOK || len(body.Frames) != 2 {
		t.Fatalf("frames = %d %+v", code, body)
	}
	if body.Frames[0].Decoded["iccid"] != "89860463112070319417" || body.Frames[1].Error == "" {
		t.Fatalf("frames = %+v", body.Frames)
	}
	if code := get(t, base+"/chargers/nope/frames", nil); code != http.StatusNotFound {
		t.Fatalf("unknown charger = %d", code)
	}
}

// TestFramesLimit: ?limit=N keeps the N most recent frames (the page asks
// for 20); a bad limit is refused.
func TestFramesLimit(t *testing.T) {
	log := framelog.New(framelog.DefaultConfig())
	t0 := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := range 5 {
		log.Record("gw", "bkv", framelog.Up, t0.Add(time.Duration(i)*time.Second), []byte{0xfc, 0xfe, byte(i)})
	}
	base := start(t, nil, FramesRoute(log))
	var body struct {
		Frames []frameView `json:"frames"`
	}
	if code := get(t, base+"/chargers/gw/frames?limit=2", &body); code != http.StatusOK || len(body.Frames) != 2 ||
		body.Frames[0].Hex != "fcfe03" || body.Frames[1].Hex != "fcfe04" {
		t.Fatalf("limit=2: %d %+v", code, body.Frames)
	}
	if code := get(t, base+"/chargers/gw/frames?limit=50", &body); code != http.StatusOK || len(body.Frames) != 5 {
		t.Fatalf("limit=50: %d %d frames", code, len(body.Frames))
	}
	for _, bad := range []string{"0", "-1", "x"} {
		if code := get(t, base+"/chargers/gw/frames?limit="+bad, nil); code != http.StatusBadRequest {
			t.Errorf("limit=%s: %d, want 400", bad, code)
		}
	}
}
