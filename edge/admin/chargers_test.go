package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/edge/command"
	"github.com/chargeplane/chargeplane/edge/station"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// sink is the end of the event chain behind station.State in these tests.
type sink struct{}

func (sink) Append(context.Context, ...*chargeplanev1.Event) error { return nil }

// connections is the live-session lookup: charger id → protocol.
type connections map[string]string

func (c connections) Protocol(id string) (string, bool) {
	p, ok := c[id]
	return p, ok
}

// executor records the commands the routes send and answers with res/err.
// A start it accepts is recorded as SessionStarted, as the adapter does.
type executor struct {
	state *station.State

	mu    sync.Mutex
	calls []call
	res   command.Result
	err   error
}

type call struct {
	ChargerID, Protocol string
	Cmd                 command.Command
}

func (e *executor) Execute(ctx context.Context, chargerID, protocol string, cmd command.Command) (command.Result, error) {
	e.mu.Lock()
	e.calls = append(e.calls, call{chargerID, protocol, cmd})
	res, err := e.res, e.err
	e.mu.Unlock()
	if err == nil && cmd.Kind == command.Start && res.Status == command.ResultAccepted {
		if serr := e.state.Append(ctx, &chargeplanev1.Event{
			ChargerId: chargerID, Protocol: protocol, Connector: cmd.Connector, OccurredAt: timestamppb.Now(),
			Kind: &chargeplanev1.Event_SessionStarted{SessionStarted: &chargeplanev1.SessionStarted{SessionRef: res.SessionRef, AuthMethod: "local"}},
		}); serr != nil {
			return res, serr
		}
	}
	return res, err
}

func (e *executor) answer(res command.Result, err error) {
	e.mu.Lock()
	e.res, e.err, e.calls = res, err, nil
	e.mu.Unlock()
}

func (e *executor) taken() []call {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]call(nil), e.calls...)
}

var t0 = time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

func event(id, protocol string, sec int, conn uint32, kind proto.Message) *chargeplanev1.Event {
	e := &chargeplanev1.Event{ChargerId: id, Protocol: protocol, Connector: conn,
		OccurredAt: timestamppb.New(t0.Add(time.Duration(sec) * time.Second))}
	switch k := kind.(type) {
	case *chargeplanev1.ChargerConnected:
		e.Kind = &chargeplanev1.Event_ChargerConnected{ChargerConnected: k}
	case *chargeplanev1.ChargerDisconnected:
		e.Kind = &chargeplanev1.Event_ChargerDisconnected{ChargerDisconnected: k}
	case *chargeplanev1.ConnectorStatusChanged:
		e.Kind = &chargeplanev1.Event_ConnectorStatus{ConnectorStatus: k}
	case *chargeplanev1.MeterReport:
		e.Kind = &chargeplanev1.Event_MeterReport{MeterReport: k}
	case *chargeplanev1.Heartbeat:
		e.Kind = &chargeplanev1.Event_Heartbeat{Heartbeat: k}
	default:
		panic(fmt.Sprintf("event: unexpected kind %T", kind))
	}
	return e
}

// site is a station fed with a connected BKV gateway (connector 1 charging,
// 2 free) and an AP3000 device that disconnected.
func site(t *testing.T) *station.State {
	t.Helper()
	st := station.New(sink{}, time.Now, prometheus.NewRegistry())
	err := st.Append(context.Background(),
		event("82241218000382", "bkv", 0, 0, &chargeplanev1.ChargerConnected{RemoteAddr: "10.0.0.7:5000"}),
		event("82241218000382", "bkv", 1, 0, &chargeplanev1.Heartbeat{Firmware: "V1.r46", Signal: 25}),
		event("82241218000382", "bkv", 2, 1, &chargeplanev1.ConnectorStatusChanged{
			Status: chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_CHARGING, RawStatus: "0x90", SessionRef: "9"}),
		event("82241218000382", "bkv", 3, 1, &chargeplanev1.MeterReport{SessionRef: "9", Meter: &chargeplanev1.MeterValues{
			PowerMw: 1_234_500, VoltageMv: 230_000, CurrentMa: 5_370, EnergyMwh: 21_000, DurationS: 60}}),
		event("82241218000382", "bkv", 2, 2, &chargeplanev1.ConnectorStatusChanged{
			Status: chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_AVAILABLE, RawStatus: "0x80"}),
		event("4242", "ap3000", 0, 0, &chargeplanev1.ChargerConnected{RemoteAddr: "10.0.0.9:7000"}),
		event("4242", "ap3000", 1, 1, &chargeplanev1.ConnectorStatusChanged{
			Status: chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_AVAILABLE, RawStatus: "0x00"}),
		event("4242", "ap3000", 9, 0, &chargeplanev1.ChargerDisconnected{Reason: "idle_timeout"}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// chargerJSON is what a script reads from /chargers.
type chargerJSON struct {
	ChargerID      string `json:"charger_id"`
	Protocol       string `json:"protocol"`
	Connected      bool   `json:"connected"`
	Firmware       string `json:"firmware"`
	LastDisconnect *struct {
		Reason string `json:"reason"`
	} `json:"last_disconnect"`
	Connectors []struct {
		Connector  uint32 `json:"connector"`
		Status     string `json:"status"`
		SessionRef string `json:"session_ref"`
		Meter      *struct {
			PowerW   float64 `json:"power_w"`
			EnergyWh float64 `json:"energy_wh"`
		} `json:"meter"`
	} `json:"connectors"`
}

// TestChargersFromStation: /chargers lists every charger the station knows,
// connected or not, with connectors; /chargers/{id} shows one.
func TestChargersFromStation(t *testing.T) {
	st := site(t)
	base := start(t, nil, ChargerRoutes(st, connections{"82241218000382": "bkv"}, &executor{state: st}, time.Now)...)
	var body struct {
		Chargers []chargerJSON `json:"chargers"`
	}
	if code := get(t, base+"/chargers", &body); code != http.StatusOK || len(body.Chargers) != 2 {
		t.Fatalf("/chargers = %d %+v", code, body)
	}
	ap, bk := body.Chargers[0], body.Chargers[1]
	if ap.ChargerID != "4242" || ap.Protocol != "ap3000" || ap.Connected || ap.LastDisconnect == nil ||
		ap.LastDisconnect.Reason != "idle_timeout" || len(ap.Connectors) != 1 || ap.Connectors[0].Status != "offline" {
		t.Fatalf("disconnected AP3000 = %+v", ap)
	}
	if bk.ChargerID != "82241218000382" || bk.Protocol != "bkv" || !bk.Connected || bk.Firmware != "V1.r46" || len(bk.Connectors) != 2 {
		t.Fatalf("BKV gateway = %+v", bk)
	}
	c1, c2 := bk.Connectors[0], bk.Connectors[1]
	if c1.Connector != 1 || c1.Status != "charging" || c1.SessionRef != "9" || c1.Meter == nil ||
		c1.Meter.PowerW != 1234.5 || c1.Meter.EnergyWh != 21 || c2.Connector != 2 || c2.Status != "available" {
		t.Fatalf("BKV connectors = %+v", bk.Connectors)
	}

	var one chargerJSON
	if code := get(t, base+"/chargers/82241218000382", &one); code != http.StatusOK || !cmp.Equal(one, bk) {
		t.Fatalf("/chargers/{id} = %d, differs from the list entry: %s", code, cmp.Diff(bk, one))
	}
	var e struct{ Error string }
	if code := get(t, base+"/chargers/nope", &e); code != http.StatusNotFound || e.Error == "" {
		t.Fatalf("unknown charger = %d %+v", code, e)
	}
}

func post(t *testing.T, url, contentType, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	return resp.StatusCode, out
}

// TestCommandsGoThroughExecutor: commands reach the Executor with the
// charger's protocol; starts are marked local and carry the chosen limit;
// pairing parameters pass unchanged.
func TestCommandsGoThroughExecutor(t *testing.T) {
	st := site(t)
	exec := &executor{state: st}
	base := start(t, nil, ChargerRoutes(st, connections{"82241218000382": "bkv"}, exec, func() time.Time { return t0 })...)
	url := base + "/chargers/82241218000382/commands"
	limit := func(l *chargeplanev1.Limit) *chargeplanev1.Limit { return l }
	for _, tc := range []struct {
		name, body string
		want       command.Command
	}{
		{"start for minutes", `{"kind":"start","connector":2,"limit":{"duration_s":600}}`, command.Command{
			ID: "admin-" + fmt.Sprint(t0.UnixNano()), Kind: "start", Connector: 2, Params: map[string]string{"source": "local"},
			Limit: limit(&chargeplanev1.Limit{Kind: &chargeplanev1.Limit_DurationS{DurationS: 600}}),
		}},
		{"start for Wh", `{"id":"c2","kind":"start","connector":2,"limit":{"energy_wh":500}}`, command.Command{
			ID: "c2", Kind: "start", Connector: 2, Params: map[string]string{"source": "local"},
			Limit: limit(&chargeplanev1.Limit{Kind: &chargeplanev1.Limit_EnergyMwh{EnergyMwh: 500_000}}),
		}},
		{"start for fen, source cannot be overridden", `{"id":"c3","kind":"start","connector":2,"limit":{"amount_fen":150},"params":{"source":"cloud"}}`, command.Command{
			ID: "c3", Kind: "start", Connector: 2, Params: map[string]string{"source": "local"},
			Limit: limit(&chargeplanev1.Limit{Kind: &chargeplanev1.Limit_AmountFen{AmountFen: 150}}),
		}},
		{"start without limit", `{"id":"c4","kind":"start","connector":2}`, command.Command{
			ID: "c4", Kind: "start", Connector: 2, Params: map[string]string{"source": "local"},
		}},
		{"stop", `{"id":"c5","kind":"stop","connector":1}`, command.Command{ID: "c5", Kind: "stop", Connector: 1}},
		{"pair", `{"id":"c6","kind":"pair","params":{"socket":"3","mac":"a1b2c3d4e5f6"}}`, command.Command{
			ID: "c6", Kind: "pair", Params: map[string]string{"socket": "3", "mac": "a1b2c3d4e5f6"},
		}},
		{"unpair", `{"id":"c7","kind":"unpair","params":{"socket":"3","mac":"a1b2c3d4e5f6"}}`, command.Command{
			ID: "c7", Kind: "unpair", Params: map[string]string{"socket": "3", "mac": "a1b2c3d4e5f6"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exec.answer(command.Result{Status: command.ResultAccepted, SessionRef: "77"}, nil)
			code, res := post(t, url, "application/json", tc.body)
			if code != http.StatusOK || res["status"] != "accepted" || res["id"] != tc.want.ID || res["kind"] != tc.want.Kind {
				t.Fatalf("POST = %d %v", code, res)
			}
			calls := exec.taken()
			want := []call{{ChargerID: "82241218000382", Protocol: "bkv", Cmd: tc.want}}
			if diff := cmp.Diff(want, calls, cmp.Comparer(proto.Equal)); diff != "" {
				t.Fatalf("executor calls (-want +got):\n%s", diff)
			}
		})
	}
	// The accepted start was recorded and shows on the connector.
	c, _ := st.Charger("82241218000382")
	if c.Connectors[1].SessionRef != "77" || c.Connectors[1].Status != "charging" {
		t.Fatalf("connector 2 after the test start: %+v", c.Connectors[1])
	}
}

// TestCommandErrors: bad requests are refused before the Executor runs, each
// with a reason; Executor errors map to the status a script can act on.
func TestCommandErrors(t *testing.T) {
	st := site(t)
	exec := &executor{state: st}
	base := start(t, nil, ChargerRoutes(st, connections{"82241218000382": "bkv"}, exec, time.Now)...)
	url := base + "/chargers/82241218000382/commands"
	for _, tc := range []struct {
		name, url, contentType, body string
		want                         int
	}{
		{"unknown kind", url, "application/json", `{"kind":"explode"}`, http.StatusBadRequest},
		{"two limits", url, "application/json", `{"kind":"start","limit":{"duration_s":60,"amount_fen":100}}`, http.StatusBadRequest},
		{"empty limit", url, "application/json", `{"kind":"start","limit":{}}`, http.StatusBadRequest},
		{"negative limit", url, "application/json", `{"kind":"start","limit":{"energy_wh":-1}}`, http.StatusBadRequest},
		{"energy overflows", url, "application/json", `{"kind":"start","limit":{"energy_wh":9223372036854776}}`, http.StatusBadRequest},
		{"limit on stop", url, "application/json", `{"kind":"stop","limit":{"duration_s":60}}`, http.StatusBadRequest},
		{"unknown field", url, "application/json", `{"kind":"start","bogus":1}`, http.StatusBadRequest},
		{"not JSON", url, "application/json", `kind=start`, http.StatusBadRequest},
		{"form post from another site", url, "text/plain", `{"kind":"start","connector":1}`, http.StatusUnsupportedMediaType},
		{"never seen", base + "/chargers/nope/commands", "application/json", `{"kind":"stop"}`, http.StatusNotFound},
		{"known but disconnected", base + "/chargers/4242/commands", "application/json", `{"kind":"stop","connector":1}`, http.StatusConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exec.answer(command.Result{Status: command.ResultAccepted}, nil)
			code, res := post(t, tc.url, tc.contentType, tc.body)
			if code != tc.want || res["error"] == nil || res["error"] == "" {
				t.Fatalf("POST %s = %d %v, want %d with a reason", tc.body, code, res, tc.want)
			}
			if calls := exec.taken(); len(calls) != 0 {
				t.Fatalf("a refused request reached the executor: %+v", calls)
			}
		})
	}

	errCharger := errors.New("store command result: disk full")
	for _, tc := range []struct {
		name       string
		res        command.Result
		err        error
		want       int
		wantStatus string
	}{
		{"rejected by the charger", command.Result{Status: command.ResultRejected, Detail: "gateway answered result 0"}, nil, http.StatusOK, "rejected"},
		{"invalid for the protocol", command.Result{Status: command.ResultRejected}, fmt.Errorf("%w: mac: want 12 hex digits", command.ErrInvalidCommand), http.StatusBadRequest, "rejected"},
		{"unsupported", command.Result{Status: command.ResultRejected}, command.ErrUnsupported, http.StatusBadRequest, "rejected"},
		{"disconnected meanwhile", command.Result{Status: command.ResultFailed}, command.ErrNotConnected, http.StatusConflict, "failed"},
		{"executor failed without a result", command.Result{}, errCharger, http.StatusBadGateway, "failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exec.answer(tc.res, tc.err)
			code, res := post(t, url, "application/json; charset=utf-8", `{"kind":"pair","params":{"socket":"1","mac":"zz"}}`)
			if code != tc.want || res["status"] != tc.wantStatus || (tc.err != nil) != (res["error"] != nil) {
				t.Fatalf("POST = %d %v, want %d status %s", code, res, tc.want, tc.wantStatus)
			}
			if len(exec.taken()) != 1 {
				t.Fatalf("executor calls = %+v, want 1", exec.taken())
			}
		})
	}
}

// TestPage: / serves the self-contained page as HTML, with every element
// the script looks up, and loads nothing from elsewhere.
func TestPage(t *testing.T) {
	base := start(t, nil, PageRoute())
	resp, err := http.Get(base + "/") //nolint:noctx // test
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET / = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Fatalf("CSP = %q", csp)
	}
	ids := regexp.MustCompile(`byId\("([a-z-]+)"\)`).FindAllStringSubmatch(page, -1)
	if len(ids) < 15 {
		t.Fatalf("found only %d element lookups in the script", len(ids))
	}
	for _, m := range ids {
		if n := strings.Count(page, `id="`+m[1]+`"`); n != 1 {
			t.Errorf("script uses element %q; the page has it %d times", m[1], n)
		}
	}
	for _, want := range []string{`"/status"`, `"/chargers"`, `/frames?limit=`, `/commands"`, `setTimeout(poll, POLL_MS)`,
		`const POLL_MS = 2000`, `"pair"`, `"unpair"`, `amount_fen`, `energy_wh`, `duration_s`, `pending_sessions`, `config_version`, `last_sync`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	for _, banned := range []string{"http://", "https://", " src=", "innerHTML"} {
		if strings.Contains(page, banned) {
			t.Errorf("page contains %q: it must be self-contained and set charger data as text", banned)
		}
	}
	if code := get(t, base+"/nope", nil); code != http.StatusNotFound {
		t.Fatalf("GET /nope = %d, want 404 (the page is served at / only)", code)
	}
}
