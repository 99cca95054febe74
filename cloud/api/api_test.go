package api_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chargeplane/chargeplane/cloud/api"
	"github.com/chargeplane/chargeplane/cloud/cloudtest"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1/chargeplanev1connect"
)

// fleetOf publishes, through MQTT, chargers on three edges of two tenants
// and waits until the cloud has them: t1/e1 c00..c11 (online), t1/e2
// c00..c04 (connected but edge e2 reported offline), t2/e3 c00..c02
// (disconnected).
func fleetOf(t *testing.T, c *cloudtest.Cloud) {
	t.Helper()
	now := time.Now()
	plan := []struct {
		tenant, edge string
		n            int
		last         any
	}{
		{"t1", "e1", 12, &chargeplanev1.Heartbeat{Firmware: "v1"}},
		{"t1", "e2", 5, &chargeplanev1.ChargerConnected{}},
		{"t2", "e3", 3, &chargeplanev1.ChargerDisconnected{Reason: "eof"}},
	}
	total := 0
	for _, p := range plan {
		e := c.Edge(p.tenant, p.edge)
		var events []*chargeplanev1.Event
		for i := range p.n {
			events = append(events, e.Event(uint64(i+1), fmt.Sprintf("c%02d", i), now, p.last))
		}
		e.Publish(events...)
		if p.edge == "e2" {
			e.SetState("offline")
		}
		total += p.n
	}
	c.Eventually("all events stored", func() bool {
		return c.Metric("chargeplane_ingest_events_total", "result", "stored") == float64(total)
	})
	c.Eventually("edge state applied", func() bool {
		return c.Metric("chargeplane_ingest_messages_total", "kind", "state") >= 1
	})
}

func TestListChargersPaging(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	fleetOf(t, c)
	client := c.ChargerClient()
	// The JSON face must give the same answers as protobuf.
	jsonClient := c.ChargerClient(connect.WithProtoJSON())

	tests := []struct {
		name        string
		req         *chargeplanev1.ListChargersRequest
		wantKeys    int
		wantTotal   int32
		wantOnline  int32
		wantPages   int
		wantFirstID string
	}{
		{"tenant t1 in pages of 7", &chargeplanev1.ListChargersRequest{TenantId: "t1", PageSize: 7}, 17, 17, 12, 3, "e1/c00"},
		{"default page size", &chargeplanev1.ListChargersRequest{TenantId: "t1"}, 17, 17, 12, 1, "e1/c00"},
		{"tenant t1", &chargeplanev1.ListChargersRequest{TenantId: "t1", PageSize: 5}, 17, 17, 12, 4, "e1/c00"},
		{"edge e2, edge offline", &chargeplanev1.ListChargersRequest{TenantId: "t1", EdgeId: "e2"}, 5, 5, 0, 1, "e2/c00"},
		{"tenant t2 of disconnected chargers", &chargeplanev1.ListChargersRequest{TenantId: "t2", PageSize: 1000}, 3, 3, 0, 1, "e3/c00"},
		{"tenant and edge that do not match", &chargeplanev1.ListChargersRequest{TenantId: "t2", EdgeId: "e1"}, 0, 0, 0, 1, ""},
	}
	for _, tt := range tests {
		for name, cl := range map[string]chargeplanev1connect.ChargerServiceClient{"proto": client, "json": jsonClient} {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				var keys []string
				pages := 0
				req := tt.req
				for {
					res, err := cl.ListChargers(t.Context(), connect.NewRequest(req))
					if err != nil {
						t.Fatalf("ListChargers: %v", err)
					}
					pages++
					if res.Msg.GetTotalCount() != tt.wantTotal || res.Msg.GetOnlineCount() != tt.wantOnline {
						t.Errorf("page %d counts = %d total %d online, want %d, %d", pages,
							res.Msg.GetTotalCount(), res.Msg.GetOnlineCount(), tt.wantTotal, tt.wantOnline)
					}
					online := 0
					for _, ch := range res.Msg.GetChargers() {
						keys = append(keys, ch.GetEdgeId()+"/"+ch.GetChargerId())
						if ch.GetOnline() {
							online++
							if ch.GetEdgeId() != "e1" || ch.GetFirmware() != "v1" || ch.GetProtocol() != "bkv" {
								t.Errorf("online charger %v: want one of e1 with firmware v1, protocol bkv", ch)
							}
						}
						if ch.GetFirstSeen() == nil || ch.GetLastSeen() == nil {
							t.Errorf("charger %s/%s has no sightings", ch.GetEdgeId(), ch.GetChargerId())
						}
					}
					if res.Msg.GetNextPageToken() == "" {
						break
					}
					if pages > 50 {
						t.Fatal("paging does not end")
					}
					req = &chargeplanev1.ListChargersRequest{
						TenantId: tt.req.GetTenantId(), EdgeId: tt.req.GetEdgeId(),
						PageSize: tt.req.GetPageSize(), PageToken: res.Msg.GetNextPageToken(),
					}
				}
				if len(keys) != tt.wantKeys || pages != tt.wantPages {
					t.Errorf("got %d chargers in %d pages, want %d in %d", len(keys), pages, tt.wantKeys, tt.wantPages)
				}
				if tt.wantFirstID != "" && (len(keys) == 0 || keys[0] != tt.wantFirstID) {
					t.Errorf("first charger = %v, want %s", keys, tt.wantFirstID)
				}
				if !isSorted(keys) {
					t.Errorf("chargers out of (edge, charger) order: %v", keys)
				}
			})
		}
	}
}

func isSorted(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}

func TestListChargersValidation(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	client := c.ChargerClient()
	tests := []struct {
		name    string
		req     *chargeplanev1.ListChargersRequest
		wantMsg string
	}{
		{"page size too big", &chargeplanev1.ListChargersRequest{TenantId: "t1", PageSize: 1001}, "page_size: must be between 1 and 1000 (0 means 100), got 1001"},
		{"page size negative", &chargeplanev1.ListChargersRequest{TenantId: "t1", PageSize: -1}, "page_size: must be between 1 and 1000 (0 means 100), got -1"},
		{"page token garbage", &chargeplanev1.ListChargersRequest{TenantId: "t1", PageToken: "%%%"}, "page_token: malformed: pass next_page_token from the previous response unchanged"},
		{"edge id with a wildcard", &chargeplanev1.ListChargersRequest{TenantId: "t1", EdgeId: "e+"}, "edge_id: must not contain '/', '+', '#' or NUL"},
		{"tenant id too long", &chargeplanev1.ListChargersRequest{TenantId: strings.Repeat("t", 129)}, "tenant_id: at most 128 bytes, got 129"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.ListChargers(t.Context(), connect.NewRequest(tt.req))
			if connect.CodeOf(err) != connect.CodeInvalidArgument {
				t.Fatalf("ListChargers = %v, want invalid_argument", err)
			}
			var cerr *connect.Error
			if !errors.As(err, &cerr) || cerr.Message() != tt.wantMsg {
				t.Errorf("message = %q, want %q", cerr.Message(), tt.wantMsg)
			}
		})
	}
	if got := cloudtest.Gather(t, c.Registry, "chargeplane_api_requests_total", "code", "invalid_argument"); got != float64(len(tests)) {
		t.Errorf("invalid_argument requests counted = %v, want %d", got, len(tests))
	}
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	client := c.SyncClient(c.ProvisionEdge(t, "t1", "e1"))
	e := c.Edge("t1", "e1")
	now := time.Now()
	e.Publish(e.Event(1, "c1", now, &chargeplanev1.ChargerConnected{}), e.Event(7, "c1", now, &chargeplanev1.Heartbeat{}))
	c.Eventually("events stored", func() bool { return c.Metric("chargeplane_ingest_events_total", "result", "stored") == 2 })

	before := time.Now().Add(-time.Second)
	res, err := client.Handshake(t.Context(), connect.NewRequest(&chargeplanev1.HandshakeRequest{EdgeId: "e1", TenantId: "t1", AgentVersion: "v0", LastSeq: 9}))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Msg.GetLastStoredSeq(); got != 7 {
		t.Errorf("last_stored_seq = %d, want 7", got)
	}
	if st := res.Msg.GetServerTime().AsTime(); st.Before(before) || st.After(time.Now().Add(time.Second)) {
		t.Errorf("server_time = %v, want about now", st)
	}
	if res.Msg.GetCloudVersion() == "" {
		t.Error("cloud_version empty")
	}
	fresh := c.SyncClient(c.ProvisionEdge(t, "t1", "new"))
	res, err = fresh.Handshake(t.Context(), connect.NewRequest(&chargeplanev1.HandshakeRequest{EdgeId: "new", TenantId: "t1"}))
	if err != nil || res.Msg.GetLastStoredSeq() != 0 {
		t.Errorf("Handshake of a new edge = %v, %v; want last_stored_seq 0", res, err)
	}

	bad := []struct {
		req  *chargeplanev1.HandshakeRequest
		code connect.Code
		want string
	}{
		{&chargeplanev1.HandshakeRequest{TenantId: "t1"}, connect.CodeInvalidArgument, "edge_id: required"},
		{&chargeplanev1.HandshakeRequest{EdgeId: "e1"}, connect.CodeInvalidArgument, "tenant_id: required"},
		{&chargeplanev1.HandshakeRequest{EdgeId: "e/1", TenantId: "t1"}, connect.CodeInvalidArgument, "edge_id: must not contain '/', '+', '#' or NUL"},
		{&chargeplanev1.HandshakeRequest{EdgeId: "e1", TenantId: "t2"}, connect.CodePermissionDenied, `edge "e1" is not in tenant "t2"`},
		{&chargeplanev1.HandshakeRequest{EdgeId: "new", TenantId: "t1"}, connect.CodePermissionDenied, `the credential is edge "e1"'s; it cannot act for edge "new"`},
	}
	for _, b := range bad {
		_, err := client.Handshake(t.Context(), connect.NewRequest(b.req))
		var cerr *connect.Error
		if !errors.As(err, &cerr) || cerr.Code() != b.code || cerr.Message() != b.want {
			t.Errorf("Handshake(%v) = %v, want %v %q", b.req, err, b.code, b.want)
		}
	}
}

// TestPanicsBecomeInternalErrors mounts the API without its stores: every
// call panics on the nil store, and must come back as a plain internal error.
func TestPanicsBecomeInternalErrors(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	a, err := api.New(api.Deps{
		Logger:     slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil)),
		Registerer: prometheus.NewRegistry(),
		Now:        time.Now,
		Version:    "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Mount(mux)
	srv := httptest.NewServer(api.WithRequestLog(slog.New(slog.NewTextHandler(io.Discard, nil)), mux))
	defer srv.Close()

	// A well-formed credential gets as far as the (nil) store.
	cred := "cpe1." + base64.RawURLEncoding.EncodeToString([]byte("e1")) + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	client := chargeplanev1connect.NewSyncServiceClient(srv.Client(), srv.URL, cloudtest.Bearer(cred))
	res, err := client.Handshake(t.Context(), connect.NewRequest(&chargeplanev1.HandshakeRequest{EdgeId: "e1", TenantId: "t1"}))
	var cerr *connect.Error
	if !errors.As(err, &cerr) || cerr.Code() != connect.CodeInternal || cerr.Message() != "internal error" {
		t.Fatalf("Handshake on a nil store = %v, %v; want internal \"internal error\"", res, err)
	}
	if id := cerr.Meta().Get(api.RequestIDHeader); id == "" {
		t.Error("no request id in the response headers")
	}
	if !strings.Contains(logs.String(), "panic serving request") || !strings.Contains(logs.String(), "stack=") {
		t.Errorf("panic not logged with its stack: %s", logs.String())
	}
	if diff := cmp.Diff(1, strings.Count(logs.String(), "level=ERROR")); diff != "" {
		t.Errorf("error log lines (-want +got):\n%s\n%s", diff, logs.String())
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
