package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/chargeplane/chargeplane/cloud/access"
	"github.com/chargeplane/chargeplane/cloud/api"
	"github.com/chargeplane/chargeplane/cloud/cloudtest"
	"github.com/chargeplane/chargeplane/cloud/server"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// restResponse is one REST call's answer.
type restResponse struct {
	status int
	header http.Header
	body   []byte
}

// restCall calls the REST face of c with token ("" sends no credential)
// and a JSON body (nil sends none).
func restCall(t *testing.T, c *cloudtest.Cloud, method, path, token string, body any) restResponse {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("marshal body: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, rd)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return restResponse{status: res.StatusCode, header: res.Header, body: b}
}

// ok decodes a success answer with status into msg (protojson, rejecting
// unknown fields).
func (r restResponse) ok(t *testing.T, status int, msg proto.Message) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if err := protojson.Unmarshal(r.body, msg); err != nil {
		t.Fatalf("body %s is not a %s: %v", r.body, msg.ProtoReflect().Descriptor().FullName(), err)
	}
}

// failed checks an error answer: status, JSON {"code", "message"} with
// code, and a message containing want.
func (r restResponse) failed(t *testing.T, status int, code connect.Code, want string) {
	t.Helper()
	var body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("status %d, body %s: not an error body: %v", r.status, r.body, err)
	}
	if r.status != status || body.Code != code.String() || !strings.Contains(body.Message, want) {
		t.Fatalf("got %d %s %q, want %d %s with a message containing %q", r.status, body.Code, body.Message, status, code, want)
	}
}

// serveREST checks that the cloud serves the REST face (server.Run mounts it).
func serveREST(t *testing.T, c *cloudtest.Cloud) {
	t.Helper()
	if code, _ := c.Get(api.OpenAPIPath); code != http.StatusOK {
		t.Fatalf("the cloud does not serve %s (%d): the REST face is not mounted", api.OpenAPIPath, code)
	}
}

// apiKeyID returns the id of an API key, as requested_by names it.
func apiKeyID(t *testing.T, c *cloudtest.Cloud, key string) string {
	t.Helper()
	res, err := c.AuthClient(c.ClientOptions(key)).WhoAmI(t.Context(), connect.NewRequest(&chargeplanev1.WhoAmIRequest{}))
	if err != nil || res.Msg.GetApiKeyId() == "" {
		t.Fatalf("WhoAmI with an API key = %v, %v", res, err)
	}
	return res.Msg.GetApiKeyId()
}

// TestREST drives every REST endpoint with API keys against a running
// cloud: t1 has edge e1 with chargers c1 and c2 (reported over MQTT) and
// uploaded sessions; t2 has edge x1.
func TestREST(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	serveREST(t, c)
	cred := c.ProvisionEdge(t, "t1", "e1")
	c.ProvisionEdge(t, "t2", "x1")
	viewer := c.CreateAPIKey(t, "t1", access.RoleViewer)
	operator := c.CreateAPIKey(t, "t1", access.RoleOperator)
	other := c.CreateAPIKey(t, "t2", access.RoleOperator)

	e1 := c.Edge("t1", "e1")
	now := time.Now()
	status := e1.Event(3, "c1", now, nil)
	status.Connector = 1
	status.Kind = &chargeplanev1.Event_ConnectorStatus{ConnectorStatus: &chargeplanev1.ConnectorStatusChanged{
		Status: chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_CHARGING, RawStatus: "0x01", SessionRef: "s1",
	}}
	e1.Publish(
		e1.Event(1, "c1", now, &chargeplanev1.Heartbeat{Firmware: "v1"}),
		e1.Event(2, "c2", now, &chargeplanev1.Heartbeat{Firmware: "v2"}),
		status,
	)
	c.Eventually("events stored", func() bool {
		return c.Metric("chargeplane_ingest_events_total", "result", "stored") == 3
	})
	// Sessions of e1 started at t0+10m … t0+14m: cards aa01 (10, 12, 14) and bb02.
	push(t, c.SyncClient(cred), ended(10, "aa01", 100), ended(11, "bb02", 100), ended(12, "AA01", 100),
		ended(13, "bb02", 100), ended(14, "aa01", 100))

	t.Run("list chargers", func(t *testing.T) {
		r := restCall(t, c, http.MethodGet, "/v1/chargers", viewer, nil)
		var res chargeplanev1.ListChargersResponse
		r.ok(t, http.StatusOK, &res)
		var got []string
		for _, ch := range res.GetChargers() {
			got = append(got, ch.GetTenantId()+"/"+ch.GetEdgeId()+"/"+ch.GetChargerId()+" "+ch.GetFirmware())
		}
		if diff := cmp.Diff([]string{"t1/e1/c1 v1", "t1/e1/c2 v2"}, got); diff != "" || res.GetTotalCount() != 2 {
			t.Errorf("chargers (-want +got):\n%s total %d", diff, res.GetTotalCount())
		}
		// Connect JSON names: lowerCamelCase.
		if !bytes.Contains(r.body, []byte(`"chargerId":"c1"`)) || !bytes.Contains(r.body, []byte(`"totalCount":2`)) {
			t.Errorf("body %s: want lowerCamelCase protojson", r.body)
		}
	})

	t.Run("page through chargers", func(t *testing.T) {
		var got []string
		path := "/v1/chargers?edge_id=e1&page_size=1"
		for pages := 0; ; pages++ {
			if pages > 3 {
				t.Fatalf("paging does not end: %v", got)
			}
			var res chargeplanev1.ListChargersResponse
			restCall(t, c, http.MethodGet, path, viewer, nil).ok(t, http.StatusOK, &res)
			if len(res.GetChargers()) != 1 {
				t.Fatalf("page of %d chargers, want 1", len(res.GetChargers()))
			}
			got = append(got, res.GetChargers()[0].GetChargerId())
			if res.GetNextPageToken() == "" {
				break
			}
			path = "/v1/chargers?edge_id=e1&page_size=1&page_token=" + res.GetNextPageToken()
		}
		if diff := cmp.Diff([]string{"c1", "c2"}, got); diff != "" {
			t.Errorf("chargers over pages (-want +got):\n%s", diff)
		}
	})

	t.Run("get charger", func(t *testing.T) {
		var res chargeplanev1.GetChargerResponse
		restCall(t, c, http.MethodGet, "/v1/chargers/e1/c2", viewer, nil).ok(t, http.StatusOK, &res)
		ch := res.GetCharger()
		if ch.GetState() != chargeplanev1.RegistrationState_REGISTRATION_STATE_PENDING || !ch.GetSeen() ||
			ch.GetRegistration().GetChargerId() != "c2" || ch.GetReportedFirmware() != "v2" {
			t.Errorf("charger = %v, want pending c2 seen with firmware v2", ch)
		}
	})

	t.Run("another tenant's edge is not found", func(t *testing.T) {
		restCall(t, c, http.MethodGet, "/v1/chargers/x1/c1", viewer, nil).failed(t, http.StatusNotFound, connect.CodeNotFound, "")
		restCall(t, c, http.MethodPost, "/v1/chargers/e1/c1/start", other, map[string]any{"connector": 1}).
			failed(t, http.StatusNotFound, connect.CodeNotFound, "")
	})

	var started *chargeplanev1.Command
	t.Run("start and stop", func(t *testing.T) {
		keyID := apiKeyID(t, c, operator)
		for _, tt := range []struct {
			path string
			body map[string]any
			kind string
		}{
			{"/v1/chargers/e1/c1/start", map[string]any{"connector": 1, "limit": map[string]any{"durationS": "600"}, "cardId": "aa01"}, "start"},
			{"/v1/chargers/e1/c1/stop?tenant_id=t1", map[string]any{"connector": 1}, "stop"},
		} {
			r := restCall(t, c, http.MethodPost, tt.path, operator, tt.body)
			var res chargeplanev1.StartChargingResponse // same shape as StopChargingResponse
			r.ok(t, http.StatusAccepted, &res)
			cmd := res.GetCommand()
			// No edge is connected: the broker takes the command (sent) or
			// the sender could not publish (failed); either way it is stored.
			if cmd.GetKind() != tt.kind || cmd.GetTenantId() != "t1" || cmd.GetEdgeId() != "e1" || cmd.GetChargerId() != "c1" ||
				cmd.GetConnector() != 1 || cmd.GetRequestedBy() != "key:"+keyID || cmd.GetCommandId() == "" ||
				(cmd.GetState() != chargeplanev1.CommandState_COMMAND_STATE_SENT && cmd.GetState() != chargeplanev1.CommandState_COMMAND_STATE_FAILED) {
				t.Errorf("%s: command = %v, want a sent or failed %s of t1/e1/c1 connector 1 by key:%s", tt.path, cmd, tt.kind, keyID)
			}
			if loc := r.header.Get("Location"); loc != "/v1/commands/"+cmd.GetCommandId() {
				t.Errorf("%s: Location %q, want /v1/commands/%s", tt.path, loc, cmd.GetCommandId())
			}
			if tt.kind == "start" {
				started = cmd
				if cmd.GetLimit().GetDurationS() != 600 || cmd.GetParams()["card_id"] != "aa01" {
					t.Errorf("start command limit %v params %v, want 600 s and card aa01", cmd.GetLimit(), cmd.GetParams())
				}
			}
		}
	})

	t.Run("get command", func(t *testing.T) {
		if started == nil {
			t.Fatal("the start-and-stop subtest stored no start command")
		}
		var res chargeplanev1.GetCommandResponse
		restCall(t, c, http.MethodGet, "/v1/commands/"+started.GetCommandId(), viewer, nil).ok(t, http.StatusOK, &res)
		if res.GetCommand().GetCommandId() != started.GetCommandId() || res.GetCommand().GetKind() != "start" ||
			!res.GetCommand().GetRequestedAt().AsTime().Equal(started.GetRequestedAt().AsTime()) {
			t.Errorf("command = %v, want %v", res.GetCommand(), started)
		}
		restCall(t, c, http.MethodGet, "/v1/commands/"+started.GetCommandId(), other, nil).
			failed(t, http.StatusNotFound, connect.CodeNotFound, "")
	})

	t.Run("sessions", func(t *testing.T) {
		for _, tt := range []struct {
			query string
			want  []uint64
		}{
			{"", []uint64{14, 13, 12, 11, 10}},
			{"?card_id=AA01", []uint64{14, 12, 10}},
			{"?edge_id=e1&charger_id=c1&from=" + t0.Add(11*time.Minute).Format(time.RFC3339) + "&to=" + t0.Add(14*time.Minute).Format(time.RFC3339), []uint64{13, 12, 11}},
			{"?card_id=bb02&page_size=1", []uint64{13}},
			{"?edge_id=x1", nil},
		} {
			var res chargeplanev1.ListSessionsResponse
			restCall(t, c, http.MethodGet, "/v1/sessions"+tt.query, viewer, nil).ok(t, http.StatusOK, &res)
			var got []uint64
			for _, s := range res.GetSessions() {
				got = append(got, s.GetSeq())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("sessions%s (-want +got):\n%s", tt.query, diff)
			}
		}
	})

	t.Run("connectors", func(t *testing.T) {
		var res chargeplanev1.ListConnectorStatusResponse
		c.Eventually("connector status stored", func() bool {
			restCall(t, c, http.MethodGet, "/v1/connectors?status=charging", viewer, nil).ok(t, http.StatusOK, &res)
			return len(res.GetStatuses()) > 0
		})
		s := res.GetStatuses()[0]
		if len(res.GetStatuses()) != 1 || s.GetChargerId() != "c1" || s.GetConnector() != 1 || s.GetSessionRef() != "s1" {
			t.Errorf("statuses = %v, want c1 connector 1 charging s1", res.GetStatuses())
		}
		restCall(t, c, http.MethodGet, "/v1/connectors?status=faulted", viewer, nil).ok(t, http.StatusOK, &res)
		if len(res.GetStatuses()) != 0 {
			t.Errorf("faulted connectors = %v, want none", res.GetStatuses())
		}
	})

	t.Run("charger events", func(t *testing.T) {
		var res chargeplanev1.ListChargerEventsResponse
		c.Eventually("c1's status change in its log", func() bool {
			restCall(t, c, http.MethodGet, "/v1/chargers/e1/c1/events?kinds=connector_status,alarm", viewer, nil).ok(t, http.StatusOK, &res)
			return len(res.GetEvents()) > 0
		})
		for _, e := range res.GetEvents() {
			if e.GetKind() != "connector_status" || e.GetEvent().GetChargerId() != "c1" || e.GetSummary() == "" {
				t.Errorf("event %v: want c1's connector_status with a summary", e)
			}
		}
		// Another tenant's charger is not found through the REST face either.
		restCall(t, c, http.MethodGet, "/v1/chargers/e1/c1/events", other, nil).failed(t, http.StatusNotFound, connect.CodeNotFound, "")
	})

	t.Run("refusals", func(t *testing.T) {
		start := map[string]any{"connector": 1}
		for _, tt := range []struct {
			name, method, path, token string
			body                      any
			status                    int
			code                      connect.Code
			msg                       string
		}{
			{"no credential", http.MethodGet, "/v1/chargers", "", nil, http.StatusUnauthorized, connect.CodeUnauthenticated, "credential"},
			{"unknown key", http.MethodGet, "/v1/sessions", "cpk_00_" + strings.Repeat("A", 43), nil, http.StatusUnauthorized, connect.CodeUnauthenticated, ""},
			{"viewer starts a charge", http.MethodPost, "/v1/chargers/e1/c1/start", viewer, start, http.StatusForbidden, connect.CodePermissionDenied, "viewer"},
			{"another tenant named", http.MethodGet, "/v1/chargers?tenant_id=t2", viewer, nil, http.StatusForbidden, connect.CodePermissionDenied, "t2"},
			{"non-numeric page_size", http.MethodGet, "/v1/chargers?page_size=ten", viewer, nil, http.StatusBadRequest, connect.CodeInvalidArgument, "page_size"},
			{"page_size out of range", http.MethodGet, "/v1/sessions?page_size=5000", viewer, nil, http.StatusBadRequest, connect.CodeInvalidArgument, "page_size"},
			{"bad timestamp", http.MethodGet, "/v1/sessions?from=yesterday", viewer, nil, http.StatusBadRequest, connect.CodeInvalidArgument, "from"},
			{"to before from", http.MethodGet, "/v1/sessions?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", viewer, nil, http.StatusBadRequest, connect.CodeInvalidArgument, "to"},
			{"unknown parameter", http.MethodGet, "/v1/sessions?edgeId=e1", viewer, nil, http.StatusBadRequest, connect.CodeInvalidArgument, "edgeId"},
			{"repeated parameter", http.MethodGet, "/v1/sessions?edge_id=e1&edge_id=e2", viewer, nil, http.StatusBadRequest, connect.CodeInvalidArgument, "edge_id"},
			{"bad status", http.MethodGet, "/v1/connectors?status=busy", viewer, nil, http.StatusBadRequest, connect.CodeInvalidArgument, "status"},
			{"no connector", http.MethodPost, "/v1/chargers/e1/c1/start", operator, map[string]any{}, http.StatusBadRequest, connect.CodeInvalidArgument, "connector"},
			{"unknown body field", http.MethodPost, "/v1/chargers/e1/c1/stop", operator, map[string]any{"connector": 1, "gun": 2}, http.StatusBadRequest, connect.CodeInvalidArgument, "gun"},
			{"body names another charger", http.MethodPost, "/v1/chargers/e1/c1/stop", operator, map[string]any{"connector": 1, "chargerId": "c2"}, http.StatusBadRequest, connect.CodeInvalidArgument, "charger_id"},
			{"body and query name different tenants", http.MethodPost, "/v1/chargers/e1/c1/stop?tenant_id=t1", operator, map[string]any{"connector": 1, "tenantId": "t2"}, http.StatusBadRequest, connect.CodeInvalidArgument, "tenant_id"},
			{"wrong method", http.MethodDelete, "/v1/chargers/e1/c1", operator, nil, http.StatusMethodNotAllowed, connect.CodeUnimplemented, "GET"},
			{"no such endpoint", http.MethodGet, "/v1/tariffs", viewer, nil, http.StatusNotFound, connect.CodeNotFound, "/v1/tariffs"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := restCall(t, c, tt.method, tt.path, tt.token, tt.body)
				r.failed(t, tt.status, tt.code, tt.msg)
				if tt.status == http.StatusUnauthorized && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate %q, want the Bearer scheme", r.header.Get("WWW-Authenticate"))
				}
				if tt.status == http.StatusMethodNotAllowed && r.header.Get("Allow") != "GET" {
					t.Errorf("Allow %q, want GET", r.header.Get("Allow"))
				}
			})
		}
	})

	t.Run("wrong content type", func(t *testing.T) {
		ctx := t.Context()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+"/v1/chargers/e1/c1/stop", strings.NewReader("connector=1"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+operator)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("status %d, want 415", res.StatusCode)
		}
	})

	t.Run("request id is passed through", func(t *testing.T) {
		ctx := t.Context()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+"/v1/chargers", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+viewer)
		req.Header.Set(api.RequestIDHeader, "rest-test-1")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get(api.RequestIDHeader) != "rest-test-1" {
			t.Errorf("status %d, %s %q; want 200 and the id sent", res.StatusCode, api.RequestIDHeader, res.Header.Get(api.RequestIDHeader))
		}
	})

	t.Run("openapi document lists every route", func(t *testing.T) {
		// Public: no credential.
		r := restCall(t, c, http.MethodGet, api.OpenAPIPath, "", nil)
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/yaml" {
			t.Fatalf("GET %s = %d %q", api.OpenAPIPath, r.status, r.header.Get("Content-Type"))
		}
		var doc struct {
			OpenAPI string                               `yaml:"openapi"`
			Paths   map[string]map[string]map[string]any `yaml:"paths"`
		}
		if err := yaml.Unmarshal(r.body, &doc); err != nil {
			t.Fatalf("openapi.yaml: %v", err)
		}
		if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
			t.Errorf("openapi %q, want 3.0.x", doc.OpenAPI)
		}
		var documented []string
		for path, ops := range doc.Paths {
			for method, op := range ops {
				documented = append(documented, strings.ToUpper(method)+" "+path)
				if op["responses"] == nil {
					t.Errorf("%s %s has no responses", method, path)
				}
			}
		}
		slices.Sort(documented)
		served := api.RESTRoutes()
		slices.Sort(served)
		if diff := cmp.Diff(served, documented); diff != "" {
			t.Errorf("routes served (-) vs documented in openapi.yaml (+):\n%s", diff)
		}
	})
}

// TestRESTRateLimit checks that a REST call over the API key's limit is 429
// with Retry-After, like the Connect call it becomes.
func TestRESTRateLimit(t *testing.T) {
	t.Parallel()
	const limit = 3
	c := cloudtest.Start(t, cloudtest.WithConfig(func(cfg *server.Config) {
		cfg.Auth.RateLimit = server.RateLimitConfig{KeyPerMinute: limit}
	}))
	serveREST(t, c)
	key := c.CreateAPIKey(t, "t1", access.RoleViewer)
	// The limit counts in fixed one-minute windows: a window may end during
	// the loop and restart the count once, so the refusal comes after at
	// least limit and at most 2×limit calls.
	for i := range 2*limit + 1 {
		r := restCall(t, c, http.MethodGet, "/v1/chargers", key, nil)
		if r.status == http.StatusOK {
			continue
		}
		if i < limit {
			t.Fatalf("call %d refused (%d %s) within the limit of %d", i+1, r.status, r.body, limit)
		}
		r.failed(t, http.StatusTooManyRequests, connect.CodeResourceExhausted, "rate limit exceeded for key:")
		if r.header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		return
	}
	t.Fatalf("never refused in %d calls with a limit of %d", 2*limit+1, limit)
}
