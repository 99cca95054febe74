package api

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/chargeplane/chargeplane/cloud/access"
	"github.com/chargeplane/chargeplane/cloud/command"
	"github.com/chargeplane/chargeplane/cloud/live"
	"github.com/chargeplane/chargeplane/cloud/postgres/pgtest"
	"github.com/chargeplane/chargeplane/cloud/presence/presencetest"
	"github.com/chargeplane/chargeplane/cloud/site"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1/chargeplanev1connect"
	"github.com/chargeplane/chargeplane/shared/mqtttest"
)

// controlPrincipalHeader carries "role:tenant" from test clients to
// controlCaller, the test-only stand-in for authentication.
const controlPrincipalHeader = "X-Test-Control-Principal"

func controlPrincipal(h http.Header) (access.Principal, bool) {
	v := h.Get(controlPrincipalHeader)
	if v == "" {
		return access.Principal{}, false
	}
	role, tenant, _ := strings.Cut(v, ":")
	return access.Principal{UserID: "u-" + role, TenantID: tenant, Role: access.Role(role)}, true
}

// controlCaller puts the header's principal in the context and maps
// errors to Connect codes the way api.New's interceptors do.
type controlCaller struct{ log *slog.Logger }

func (c controlCaller) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if p, ok := controlPrincipal(req.Header()); ok {
			ctx = access.WithPrincipal(ctx, p)
		}
		res, err := next(ctx, req)
		if err != nil {
			err = connectError(ctx, c.log, req.Spec().Procedure, err)
		}
		return res, err
	}
}

func (c controlCaller) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (c controlCaller) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if p, ok := controlPrincipal(conn.RequestHeader()); ok {
			ctx = access.WithPrincipal(ctx, p)
		}
		return next(ctx, conn)
	}
}

func controlRequest[T any](msg *T, principal string) *connect.Request[T] {
	req := connect.NewRequest(msg)
	if principal != "" {
		req.Header().Set(controlPrincipalHeader, principal)
	}
	return req
}

type controlServer struct {
	url      string
	commands *CommandService
	statuses *live.Statuses
	hub      *live.Hub // another replica's hub: publishes reach the server's
	served   *live.Hub // the server's own
}

func runControl(tb testing.TB, fn func(context.Context) error) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = fn(ctx)
	}()
	tb.Cleanup(func() { cancel(); <-done })
}

// startControlServer serves CommandService, LiveService and the SSE
// endpoint on httptest, over the real Postgres, Redis and broker, with
// tenants t1 (edge e1) and t2 (edge e2).
func startControlServer(t *testing.T) *controlServer {
	t.Helper()
	ctx := t.Context()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	pool := pgtest.MustPool(t, pgtest.MustDB(t))
	if _, err := pool.Exec(ctx, `INSERT INTO tenants (tenant_id, name) VALUES ('t1', 'T1'), ('t2', 'T2') ON CONFLICT DO NOTHING`); err != nil {
		t.Fatal(err)
	}
	edges := site.New(pool, time.Now)
	for _, e := range [][2]string{{"t1", "e1"}, {"t2", "e2"}} {
		if _, _, err := edges.CreateEdge(ctx, e[0], e[1], ""); err != nil {
			t.Fatal(err)
		}
	}
	rdb, prefix := presencetest.MustRedis(t)
	newHub := func() *live.Hub {
		h, err := live.NewHub(rdb, live.Config{Prefix: prefix, Buffer: 16}, logger, prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		runControl(t, h.Run)
		return h
	}
	s := &controlServer{served: newHub(), hub: newHub(), statuses: live.NewStatuses(pool)}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	mqtttest.MustReach(t, mqtttest.URL())
	sender, err := command.NewSender(command.SenderConfig{
		URL: mqtttest.URL(), ClientID: "apictl-" + hex.EncodeToString(b), TopicRoot: "cptest/" + hex.EncodeToString(b), Timeout: 5 * time.Second,
	}, logger)
	if err != nil {
		t.Fatal(err)
	}
	runControl(t, sender.Run)
	for deadline := time.Now().Add(10 * time.Second); !sender.Connected(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("command sender did not connect")
		}
	}
	svc, err := command.NewService(command.DefaultConfig(), command.NewStore(pool), sender, s.served, time.Now, logger, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	s.commands = NewCommandService(svc, edges)
	opts := connect.WithInterceptors(controlCaller{log: logger})
	mux := http.NewServeMux()
	mux.Handle(chargeplanev1connect.NewCommandServiceHandler(s.commands, opts))
	mux.Handle(chargeplanev1connect.NewLiveServiceHandler(NewLiveService(s.served, s.statuses), opts))
	auth := func(_ context.Context, bearer string) (access.Principal, error) {
		// The token is the principal itself ("role:tenant"); "bad" is unknown.
		if p, ok := controlPrincipal(http.Header{controlPrincipalHeader: {bearer}}); ok && bearer != "bad" {
			return p, nil
		}
		return access.Principal{}, errors.New("unknown token")
	}
	mux.Handle(LiveEventsPath, NewLiveEvents(s.served, auth, 10*time.Millisecond, logger))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// TestWatchOutlivesServerTimeouts: a Watch stream on a server whose read and
// write timeouts are far shorter than the stream (as the cloud's are, sized
// for unary calls) stays open and delivers an update published after both
// have passed.
func TestWatchOutlivesServerTimeouts(t *testing.T) {
	t.Parallel()
	s := startControlServer(t)
	mux := http.NewServeMux()
	path, h := chargeplanev1connect.NewLiveServiceHandler(NewLiveService(s.served, s.statuses),
		connect.WithInterceptors(controlCaller{log: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	mux.Handle(path, streamDeadlines(h))
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ReadTimeout = 200 * time.Millisecond
	srv.Config.WriteTimeout = 200 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stream, err := chargeplanev1connect.NewLiveServiceClient(http.DefaultClient, srv.URL).
		Watch(ctx, controlRequest(&chargeplanev1.WatchRequest{ChargerId: "c1"}, "viewer:t1"))
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	// The timeouts are what is under test: let them pass.
	time.Sleep(600 * time.Millisecond)
	entry := live.Entry{TenantID: "t1", EdgeID: "e1", ChargerID: "c1", Connector: 1,
		Status: chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_CHARGING, UpdatedAt: time.Now(), Seq: 9}
	if err := s.hub.Publish(ctx, live.StatusUpdate(entry)); err != nil {
		t.Fatal(err)
	}
	if !stream.Receive() {
		t.Fatalf("Watch ended after the server's timeouts: %v", stream.Err())
	}
	if u := stream.Msg().GetUpdate(); u.GetSeq() != 9 {
		t.Errorf("watched %v, want seq 9", u)
	}
}

func wantControlCode(t *testing.T, what string, err error, code connect.Code) {
	t.Helper()
	if connect.CodeOf(err) != code {
		t.Errorf("%s: %v, want code %v", what, err, code)
	}
}

func TestCommandServiceSendsAndScopes(t *testing.T) {
	t.Parallel()
	s := startControlServer(t)
	ctx := t.Context()
	client := chargeplanev1connect.NewCommandServiceClient(http.DefaultClient, s.url)

	res, err := client.StartCharging(ctx, controlRequest(&chargeplanev1.StartChargingRequest{
		EdgeId: "e1", ChargerId: "c1", Connector: 1, CardId: "card-1",
		Limit: &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_DurationS{DurationS: 600}},
	}, "operator:t1"))
	if err != nil {
		t.Fatal(err)
	}
	c := res.Msg.GetCommand()
	if c.GetState() != chargeplanev1.CommandState_COMMAND_STATE_SENT || c.GetTenantId() != "t1" || c.GetRequestedBy() != "user:u-operator" ||
		c.GetKind() != "start" || c.GetParams()["card_id"] != "card-1" {
		t.Errorf("StartCharging = %v, want a sent start of t1 by user:u-operator", c)
	}
	got, err := client.GetCommand(ctx, controlRequest(&chargeplanev1.GetCommandRequest{CommandId: c.GetCommandId()}, "viewer:t1"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Msg.GetCommand().GetCommandId() != c.GetCommandId() {
		t.Errorf("GetCommand = %v", got.Msg.GetCommand())
	}
	list, err := client.ListCommands(ctx, controlRequest(&chargeplanev1.ListCommandsRequest{ChargerId: "c1"}, "viewer:t1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Msg.GetCommands()) != 1 {
		t.Errorf("ListCommands = %d commands, want 1", len(list.Msg.GetCommands()))
	}
	for _, kind := range []func() error{
		func() error {
			_, err := client.Reboot(ctx, controlRequest(&chargeplanev1.RebootRequest{EdgeId: "e1", ChargerId: "c1"}, "operator:t1"))
			return err
		},
		func() error {
			_, err := client.QueryStatus(ctx, controlRequest(&chargeplanev1.QueryStatusRequest{EdgeId: "e1", ChargerId: "c1"}, "operator:t1"))
			return err
		},
		func() error {
			_, err := client.StopCharging(ctx, controlRequest(&chargeplanev1.StopChargingRequest{EdgeId: "e1", ChargerId: "c1", Connector: 1, SessionRef: "s1"}, "operator:t1"))
			return err
		},
		func() error {
			_, err := client.SetParameters(ctx, controlRequest(&chargeplanev1.SetParametersRequest{EdgeId: "e1", ChargerId: "c1", Params: map[string]string{"max_power_w": "3500"}}, "operator:t1"))
			return err
		},
	} {
		if err := kind(); err != nil {
			t.Errorf("command: %v", err)
		}
	}

	// Another tenant's edge is not found; naming another tenant is denied.
	_, err = client.StartCharging(ctx, controlRequest(&chargeplanev1.StartChargingRequest{EdgeId: "e2", ChargerId: "c1", Connector: 1}, "operator:t1"))
	wantControlCode(t, "start on t2's edge", err, connect.CodeNotFound)
	_, err = client.Reboot(ctx, controlRequest(&chargeplanev1.RebootRequest{TenantId: "t2", EdgeId: "e2", ChargerId: "c1"}, "operator:t1"))
	wantControlCode(t, "naming t2", err, connect.CodePermissionDenied)
	_, err = client.Reboot(ctx, controlRequest(&chargeplanev1.RebootRequest{EdgeId: "e1", ChargerId: "c1"}, ""))
	wantControlCode(t, "no caller", err, connect.CodeUnauthenticated)
	// t2 cannot read t1's command.
	if _, err := s.commands.GetCommand(access.WithPrincipal(ctx, access.Principal{UserID: "x", TenantID: "t2", Role: access.RoleOperator}),
		connect.NewRequest(&chargeplanev1.GetCommandRequest{CommandId: c.GetCommandId()})); !errors.Is(err, command.ErrNotFound) {
		t.Errorf("GetCommand from t2 = %v, want command.ErrNotFound", err)
	}

	for name, req := range map[string]*chargeplanev1.StartChargingRequest{
		"no connector":   {EdgeId: "e1", ChargerId: "c1"},
		"no charger":     {EdgeId: "e1", Connector: 1},
		"no edge":        {ChargerId: "c1", Connector: 1},
		"card and user":  {EdgeId: "e1", ChargerId: "c1", Connector: 1, CardId: "a", UserId: "b"},
		"empty limit":    {EdgeId: "e1", ChargerId: "c1", Connector: 1, Limit: &chargeplanev1.Limit{}},
		"negative limit": {EdgeId: "e1", ChargerId: "c1", Connector: 1, Limit: &chargeplanev1.Limit{Kind: &chargeplanev1.Limit_AmountFen{AmountFen: -1}}},
	} {
		_, err := client.StartCharging(ctx, controlRequest(req, "operator:t1"))
		wantControlCode(t, name, err, connect.CodeInvalidArgument)
	}
	_, err = client.SetParameters(ctx, controlRequest(&chargeplanev1.SetParametersRequest{EdgeId: "e1", ChargerId: "c1"}, "operator:t1"))
	wantControlCode(t, "no params", err, connect.CodeInvalidArgument)
	_, err = client.ListCommands(ctx, controlRequest(&chargeplanev1.ListCommandsRequest{PageToken: "garbage"}, "operator:t1"))
	wantControlCode(t, "bad page token", err, connect.CodeInvalidArgument)
}

// TestWatchReceivesAnotherReplicasUpdate: a Watch served by one replica
// gets a status change published by another (a second Hub on the same
// Redis), filtered to its charger.
func TestWatchReceivesAnotherReplicasUpdate(t *testing.T) {
	t.Parallel()
	s := startControlServer(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	client := chargeplanev1connect.NewLiveServiceClient(http.DefaultClient, s.url)
	stream, err := client.Watch(ctx, controlRequest(&chargeplanev1.WatchRequest{ChargerId: "c1"}, "viewer:t1"))
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	// Watch returns once its subscription is live: nothing published from
	// now on is missed.
	if n := s.served.Subscribers(); n != 1 {
		t.Fatalf("subscribers when Watch returned = %d, want 1", n)
	}
	entry := live.Entry{TenantID: "t1", EdgeID: "e1", ChargerID: "c1", Connector: 1,
		Status: chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_CHARGING, UpdatedAt: time.Now(), Seq: 7}
	other := entry
	other.ChargerID = "c2"
	if err := s.hub.Publish(ctx, live.StatusUpdate(other), live.StatusUpdate(entry)); err != nil {
		t.Fatal(err)
	}
	if !stream.Receive() {
		t.Fatalf("Watch ended: %v", stream.Err())
	}
	u := stream.Msg().GetUpdate()
	if u.GetChargerId() != "c1" || u.GetConnectorStatus().GetStatus() != entry.Status || u.GetSeq() != 7 {
		t.Errorf("watched %v, want c1 charging at seq 7", u)
	}

	// A viewer may not watch another tenant.
	bad, err := client.Watch(ctx, controlRequest(&chargeplanev1.WatchRequest{TenantId: "t2"}, "viewer:t1"))
	if err == nil {
		if bad.Receive() {
			t.Error("Watch of t2 by t1's viewer delivered an update")
		}
		err = bad.Err()
		bad.Close()
	}
	// Streams are not mapped by connectError yet (see the report), so
	// check the refusal by its text.
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("Watch of t2 by t1's viewer = %v, want permission denied", err)
	}

	if _, err := s.statuses.Apply(ctx, []live.Entry{entry}); err != nil {
		t.Fatal(err)
	}
	got, err := client.GetConnectorStatus(ctx, controlRequest(&chargeplanev1.GetConnectorStatusRequest{EdgeId: "e1", ChargerId: "c1", Connector: 1}, "viewer:t1"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Msg.GetStatus().GetStatus() != entry.Status {
		t.Errorf("GetConnectorStatus = %v", got.Msg.GetStatus())
	}
	list, err := client.ListConnectorStatus(ctx, controlRequest(&chargeplanev1.ListConnectorStatusRequest{}, "viewer:t1"))
	if err != nil || len(list.Msg.GetStatuses()) != 1 {
		t.Errorf("ListConnectorStatus = %v, %v; want one entry", list, err)
	}
	list, err = client.ListConnectorStatus(ctx, controlRequest(&chargeplanev1.ListConnectorStatusRequest{}, "viewer:t2"))
	if err != nil || len(list.Msg.GetStatuses()) != 0 {
		t.Errorf("t2's ListConnectorStatus = %v, %v; want none", list, err)
	}
}

func TestLiveEventsSSE(t *testing.T) {
	t.Parallel()
	s := startControlServer(t)
	ctx := t.Context()
	get := func(query, header string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+LiveEventsPath+query, nil)
		if err != nil {
			t.Fatal(err)
		}
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for name, tc := range map[string]struct {
		query, header string
		want          int
	}{
		"no token":       {"", "", http.StatusUnauthorized},
		"invalid token":  {"?access_token=bad", "", http.StatusUnauthorized},
		"not bearer":     {"", "Basic eDp5", http.StatusUnauthorized},
		"driver":         {"?access_token=driver:t1", "", http.StatusForbidden},
		"other tenant":   {"?access_token=viewer:t1&tenant_id=t2", "", http.StatusForbidden},
		"bad edge":       {"?access_token=viewer:t1&edge_id=a/b", "", http.StatusBadRequest},
		"admin, no name": {"", "Bearer platform_admin:", http.StatusForbidden},
	} {
		res := get(tc.query, tc.header)
		_ = res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", name, res.StatusCode, tc.want)
		}
	}

	res := get("?access_token=viewer:t1&edge_id=e1", "")
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, content type %q; want 200 text/event-stream", res.StatusCode, res.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(res.Body)
	next := func() string {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("stream ended: %v", lines.Err())
		}
		return lines.Text()
	}
	if l := next(); l != ": live" {
		t.Errorf("first line %q, want \": live\"", l)
	}
	entry := live.Entry{TenantID: "t1", EdgeID: "e1", ChargerID: "c1", Connector: 2,
		Status: chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_FAULTED, UpdatedAt: time.Now(), Seq: 3}
	if err := s.hub.Publish(ctx, live.StatusUpdate(entry)); err != nil {
		t.Fatal(err)
	}
	heartbeats := 0
	for {
		l := next()
		if l == ": heartbeat" {
			heartbeats++
			continue
		}
		data, ok := strings.CutPrefix(l, "data: ")
		if !ok {
			continue
		}
		var u chargeplanev1.LiveUpdate
		if err := protojson.Unmarshal([]byte(data), &u); err != nil {
			t.Fatalf("data line %q: %v", data, err)
		}
		if u.GetConnectorStatus().GetStatus() != entry.Status || u.GetConnector() != 2 {
			t.Errorf("streamed %v, want c1/2 faulted", &u)
		}
		break
	}
	// Heartbeats keep coming (every 10 ms in this test).
	for heartbeats < 2 {
		if next() == ": heartbeat" {
			heartbeats++
		}
	}
}
