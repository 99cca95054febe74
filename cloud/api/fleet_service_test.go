package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"

	"github.com/chargeplane/chargeplane/cloud/access"
	"github.com/chargeplane/chargeplane/cloud/fleet"
	"github.com/chargeplane/chargeplane/cloud/postgres/pgtest"
	"github.com/chargeplane/chargeplane/cloud/site"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1/chargeplanev1connect"
)

// testPrincipalHeader carries "role" or "role:tenant" from a test client to
// the test-only interceptor that puts the caller in the context, so these
// tests do not depend on authentication.
const testPrincipalHeader = "X-Test-Principal"

// fleetServer serves SiteService and FleetService on a migrated database
// holding tenants t1 and t2, edges e1 and e2 of t1 and e3 of t2.
type fleetServer struct {
	url    string
	events *fleet.Store
}

func startFleetServer(t *testing.T) *fleetServer {
	t.Helper()
	ctx := t.Context()
	pool := pgtest.MustPool(t, pgtest.MustDB(t))
	now := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	if _, err := pool.Exec(ctx, `INSERT INTO tenants (tenant_id, name) VALUES ('t1', 'T1'), ('t2', 'T2')`); err != nil {
		t.Fatal(err)
	}
	edges := site.New(pool, now)
	for _, e := range [][2]string{{"t1", "e1"}, {"t1", "e2"}, {"t2", "e3"}} {
		if _, _, err := edges.CreateEdge(ctx, e[0], e[1], ""); err != nil {
			t.Fatal(err)
		}
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	caller := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if h := req.Header().Get(testPrincipalHeader); h != "" {
				role, tenant, _ := strings.Cut(h, ":")
				ctx = access.WithPrincipal(ctx, access.Principal{UserID: "u-" + role, TenantID: tenant, Role: access.Role(role)})
			}
			res, err := next(ctx, req)
			if err != nil {
				err = connectError(ctx, logger, req.Spec().Procedure, err)
			}
			return res, err
		}
	})
	opts := []connect.HandlerOption{connect.WithInterceptors(caller), connect.WithReadMaxBytes(FleetReadMaxBytes)}
	mux := http.NewServeMux()
	mux.Handle(chargeplanev1connect.NewSiteServiceHandler(NewSiteService(fleet.NewSiteStore(pool, now), logger), opts...))
	mux.Handle(chargeplanev1connect.NewFleetServiceHandler(NewFleetService(fleet.NewRegistry(pool, now, nil), logger), opts...))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &fleetServer{url: srv.URL, events: fleet.New(pool)}
}

// as returns client options that call as principal ("role:tenant").
func as(principal string) connect.ClientOption {
	return connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if principal != "" {
				req.Header().Set(testPrincipalHeader, principal)
			}
			return next(ctx, req)
		}
	}))
}

func (s *fleetServer) sites(principal string) chargeplanev1connect.SiteServiceClient {
	return chargeplanev1connect.NewSiteServiceClient(http.DefaultClient, s.url, as(principal))
}

func (s *fleetServer) fleet(principal string) chargeplanev1connect.FleetServiceClient {
	return chargeplanev1connect.NewFleetServiceClient(http.DefaultClient, s.url, as(principal))
}

// wantCode fails the test unless err is a Connect error with code whose
// message contains every one of msgs.
func wantCode(t *testing.T, what string, err error, code connect.Code, msgs ...string) {
	t.Helper()
	if connect.CodeOf(err) != code {
		t.Errorf("%s: %v, want code %v", what, err, code)
		return
	}
	var cerr *connect.Error
	if !errors.As(err, &cerr) {
		t.Errorf("%s: %v is not a Connect error", what, err)
		return
	}
	for _, m := range msgs {
		if !strings.Contains(cerr.Message(), m) {
			t.Errorf("%s: message %q does not say %q", what, cerr.Message(), m)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestSiteServiceScopesToTenant(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := startFleetServer(t)
	admin := s.sites("tenant_admin:t1")
	site := &chargeplanev1.Site{SiteId: "s1", Name: "Depot", Latitude: ptr(31.2), Longitude: ptr(121.5), Timezone: "Asia/Shanghai"}
	created, err := admin.CreateSite(ctx, connect.NewRequest(&chargeplanev1.CreateSiteRequest{Site: site}))
	if err != nil {
		t.Fatal(err)
	}
	if got := created.Msg.GetSite(); got.GetTenantId() != "t1" || got.GetLatitude() != 31.2 || got.GetCreatedAt() == nil {
		t.Errorf("CreateSite = %v; want it in t1 with its location and creation time", got)
	}
	_, err = admin.CreateSite(ctx, connect.NewRequest(&chargeplanev1.CreateSiteRequest{Site: site}))
	wantCode(t, "CreateSite twice", err, connect.CodeAlreadyExists, `"s1"`)

	// The same site id seen from t2 is not there; naming t1 from t2 is denied.
	_, err = s.sites("operator:t2").GetSite(ctx, connect.NewRequest(&chargeplanev1.GetSiteRequest{SiteId: "s1"}))
	wantCode(t, "GetSite of t1's site by t2", err, connect.CodeNotFound)
	_, err = s.sites("operator:t2").GetSite(ctx, connect.NewRequest(&chargeplanev1.GetSiteRequest{TenantId: "t1", SiteId: "s1"}))
	wantCode(t, "GetSite naming t1 by t2", err, connect.CodePermissionDenied)
	_, err = s.sites("platform_admin").GetSite(ctx, connect.NewRequest(&chargeplanev1.GetSiteRequest{SiteId: "s1"}))
	wantCode(t, "GetSite by a platform admin naming no tenant", err, connect.CodePermissionDenied, "tenant_id")
	_, err = s.sites("").GetSite(ctx, connect.NewRequest(&chargeplanev1.GetSiteRequest{SiteId: "s1"}))
	wantCode(t, "GetSite without a caller", err, connect.CodeUnauthenticated)
	got, err := s.sites("platform_admin").GetSite(ctx, connect.NewRequest(&chargeplanev1.GetSiteRequest{TenantId: "t1", SiteId: "s1"}))
	if err != nil || got.Msg.GetSite().GetName() != "Depot" {
		t.Errorf("GetSite by a platform admin naming t1 = %v, %v", got, err)
	}

	// Edges: another tenant's edge is not found, and a site in use stays.
	_, err = admin.AttachEdge(ctx, connect.NewRequest(&chargeplanev1.AttachEdgeRequest{SiteId: "s1", EdgeId: "e3"}))
	wantCode(t, "AttachEdge of t2's edge", err, connect.CodeNotFound, `"e3"`)
	if _, err := admin.AttachEdge(ctx, connect.NewRequest(&chargeplanev1.AttachEdgeRequest{SiteId: "s1", EdgeId: "e1"})); err != nil {
		t.Fatal(err)
	}
	got, err = admin.GetSite(ctx, connect.NewRequest(&chargeplanev1.GetSiteRequest{SiteId: "s1"}))
	if err != nil || !cmp.Equal([]string{"e1"}, got.Msg.GetEdgeIds()) {
		t.Errorf("GetSite edges = %v, %v; want [e1]", got.Msg.GetEdgeIds(), err)
	}
	_, err = admin.DeleteSite(ctx, connect.NewRequest(&chargeplanev1.DeleteSiteRequest{SiteId: "s1"}))
	wantCode(t, "DeleteSite with an edge", err, connect.CodeFailedPrecondition, "detach")
	_, err = s.sites("operator:t2").DeleteSite(ctx, connect.NewRequest(&chargeplanev1.DeleteSiteRequest{SiteId: "s1"}))
	wantCode(t, "DeleteSite of t1's site by t2", err, connect.CodeNotFound)
	_, err = s.sites("operator:t2").UpdateSite(ctx, connect.NewRequest(&chargeplanev1.UpdateSiteRequest{Site: site}))
	wantCode(t, "UpdateSite of t1's site by t2", err, connect.CodeNotFound)
	if _, err := admin.AttachEdge(ctx, connect.NewRequest(&chargeplanev1.AttachEdgeRequest{EdgeId: "e1"})); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.DeleteSite(ctx, connect.NewRequest(&chargeplanev1.DeleteSiteRequest{SiteId: "s1"})); err != nil {
		t.Errorf("DeleteSite after detaching: %v", err)
	}
}

func TestSiteServiceValidates(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	client := startFleetServer(t).sites("installer:t1")
	tests := []struct {
		name string
		site *chargeplanev1.Site
		want string
	}{
		{"no site", nil, "site: required"},
		{"no id", &chargeplanev1.Site{Name: "n", Timezone: "UTC"}, "site_id: required"},
		{"latitude alone", &chargeplanev1.Site{SiteId: "s", Name: "n", Timezone: "UTC", Latitude: ptr(1.0)}, "latitude"},
		{"latitude out of range", &chargeplanev1.Site{SiteId: "s", Name: "n", Timezone: "UTC", Latitude: ptr(100.0), Longitude: ptr(1.0)}, "latitude"},
		{"bad timezone", &chargeplanev1.Site{SiteId: "s", Name: "n", Timezone: "Asia/Atlantis"}, "timezone"},
		{"tenant id with a slash", &chargeplanev1.Site{TenantId: "a/b", SiteId: "s", Name: "n", Timezone: "UTC"}, "tenant_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.CreateSite(ctx, connect.NewRequest(&chargeplanev1.CreateSiteRequest{Site: tt.site}))
			wantCode(t, "CreateSite", err, connect.CodeInvalidArgument, tt.want)
		})
	}
	_, err := client.ListSites(ctx, connect.NewRequest(&chargeplanev1.ListSitesRequest{PageToken: "!!"}))
	wantCode(t, "ListSites with a bad token", err, connect.CodeInvalidArgument, "page_token")
}

func TestListSitesPaging(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := startFleetServer(t)
	client := s.sites("installer:t1")
	var want []string
	for i := range 5 {
		id := fmt.Sprintf("s%d", i)
		want = append(want, id)
		if _, err := client.CreateSite(ctx, connect.NewRequest(&chargeplanev1.CreateSiteRequest{
			Site: &chargeplanev1.Site{SiteId: id, Name: id, Timezone: "UTC"},
		})); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	token := ""
	for range 5 {
		res, err := client.ListSites(ctx, connect.NewRequest(&chargeplanev1.ListSitesRequest{PageSize: 2, PageToken: token}))
		if err != nil {
			t.Fatal(err)
		}
		for _, site := range res.Msg.GetSites() {
			got = append(got, site.GetSiteId())
		}
		if token = res.Msg.GetNextPageToken(); token == "" {
			break
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sites in pages of 2 (-want +got):\n%s", diff)
	}
	other, err := s.sites("viewer:t2").ListSites(ctx, connect.NewRequest(&chargeplanev1.ListSitesRequest{}))
	if err != nil || len(other.Msg.GetSites()) != 0 {
		t.Errorf("t2's sites = %v, %v; want none", other.Msg.GetSites(), err)
	}
}

func chargerKeys(cs []*chargeplanev1.RegisteredCharger) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.GetRegistration().GetEdgeId()+"/"+c.GetRegistration().GetChargerId()+":"+c.GetState().String())
	}
	return out
}

func TestFleetServicePendingToAccepted(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := startFleetServer(t)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var events []fleet.Event
	for i, k := range [][3]string{{"t1", "e1", "82200520004869"}, {"t1", "e1", "c2"}, {"t2", "e3", "cp1"}} {
		events = append(events, fleet.Event{TenantID: k[0], EdgeID: k[1], Seq: uint64(i + 1), ChargerID: k[2],
			Kind: fleet.KindHeartbeat, OccurredAt: at, Protocol: "bkv", Firmware: "v9", Payload: []byte("p")})
	}
	if _, err := s.events.WriteEvents(ctx, events); err != nil {
		t.Fatal(err)
	}
	t1 := s.fleet("installer:t1")
	pending, err := t1.ListPendingChargers(ctx, connect.NewRequest(&chargeplanev1.ListPendingChargersRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"e1/82200520004869:REGISTRATION_STATE_PENDING", "e1/c2:REGISTRATION_STATE_PENDING"},
		chargerKeys(pending.Msg.GetChargers())); diff != "" {
		t.Errorf("pending of t1 (-want +got):\n%s", diff)
	}
	if c := pending.Msg.GetChargers()[0]; !c.GetSeen() || c.GetReportedFirmware() != "v9" || c.GetCreatedAt() != nil {
		t.Errorf("pending charger = %v; want seen with firmware v9 and no creation time", c)
	}

	// t2 can neither see nor decide on t1's chargers.
	t2 := s.fleet("tenant_admin:t2")
	_, err = t2.AcceptCharger(ctx, connect.NewRequest(&chargeplanev1.AcceptChargerRequest{EdgeId: "e1", ChargerId: "c2"}))
	wantCode(t, "AcceptCharger of t1's charger by t2", err, connect.CodeNotFound)
	_, err = t2.RejectCharger(ctx, connect.NewRequest(&chargeplanev1.RejectChargerRequest{EdgeId: "e1", ChargerId: "c2"}))
	wantCode(t, "RejectCharger of t1's charger by t2", err, connect.CodeNotFound)
	_, err = t2.GetCharger(ctx, connect.NewRequest(&chargeplanev1.GetChargerRequest{EdgeId: "e1", ChargerId: "c2"}))
	wantCode(t, "GetCharger of t1's charger by t2", err, connect.CodeNotFound)
	_, err = t2.AcceptCharger(ctx, connect.NewRequest(&chargeplanev1.AcceptChargerRequest{TenantId: "t1", EdgeId: "e1", ChargerId: "c2"}))
	wantCode(t, "AcceptCharger naming t1 by t2", err, connect.CodePermissionDenied)

	accepted, err := t1.AcceptCharger(ctx, connect.NewRequest(&chargeplanev1.AcceptChargerRequest{EdgeId: "e1", ChargerId: "82200520004869"}))
	if err != nil {
		t.Fatal(err)
	}
	if c := accepted.Msg.GetCharger(); c.GetState() != chargeplanev1.RegistrationState_REGISTRATION_STATE_ACCEPTED ||
		c.GetRegistration().GetVendorIds().GetBkvGatewayId() != "82200520004869" || c.GetRegistration().GetFirmware() != "v9" {
		t.Errorf("AcceptCharger = %v; want accepted with its gateway id and firmware", c)
	}
	if _, err := t1.RejectCharger(ctx, connect.NewRequest(&chargeplanev1.RejectChargerRequest{EdgeId: "e1", ChargerId: "c2"})); err != nil {
		t.Fatal(err)
	}
	listed, err := t1.ListRegisteredChargers(ctx, connect.NewRequest(&chargeplanev1.ListRegisteredChargersRequest{
		State: chargeplanev1.RegistrationState_REGISTRATION_STATE_ACCEPTED,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"e1/82200520004869:REGISTRATION_STATE_ACCEPTED"}, chargerKeys(listed.Msg.GetChargers())); diff != "" {
		t.Errorf("accepted chargers (-want +got):\n%s", diff)
	}
	pending, err = t1.ListPendingChargers(ctx, connect.NewRequest(&chargeplanev1.ListPendingChargersRequest{}))
	if err != nil || len(pending.Msg.GetChargers()) != 0 {
		t.Errorf("pending after accept and reject = %v, %v; want none", chargerKeys(pending.Msg.GetChargers()), err)
	}
	_, err = t1.ListRegisteredChargers(ctx, connect.NewRequest(&chargeplanev1.ListRegisteredChargersRequest{
		State: chargeplanev1.RegistrationState_REGISTRATION_STATE_PENDING,
	}))
	wantCode(t, "ListRegisteredChargers of pending", err, connect.CodeInvalidArgument, "ListPendingChargers")
}

func TestFleetServiceRegister(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := startFleetServer(t)
	t1 := s.fleet("operator:t1")
	reg := &chargeplanev1.ChargerRegistration{
		EdgeId: "e2", ChargerId: "pile1", Protocol: "ykc", Model: "DC60",
		VendorIds:  &chargeplanev1.VendorIds{YkcPileCode: "32010600019236"},
		Connectors: []*chargeplanev1.ChargerConnector{{Number: 1, Kind: chargeplanev1.ConnectorKind_CONNECTOR_KIND_DC, MaxPowerW: 60000, Label: "A"}},
	}
	res, err := t1.RegisterCharger(ctx, connect.NewRequest(&chargeplanev1.RegisterChargerRequest{Charger: reg}))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Msg.GetCreated() || res.Msg.GetCharger().GetSeen() {
		t.Errorf("RegisterCharger = created %v seen %v; want created, never seen", res.Msg.GetCreated(), res.Msg.GetCharger().GetSeen())
	}
	res, err = t1.RegisterCharger(ctx, connect.NewRequest(&chargeplanev1.RegisterChargerRequest{Charger: reg}))
	if err != nil || res.Msg.GetCreated() {
		t.Errorf("RegisterCharger again = created %v, %v; want not created", res.Msg.GetCreated(), err)
	}
	got, err := t1.GetCharger(ctx, connect.NewRequest(&chargeplanev1.GetChargerRequest{EdgeId: "e2", ChargerId: "pile1"}))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(chargerKeys([]*chargeplanev1.RegisteredCharger{res.Msg.GetCharger()}), chargerKeys([]*chargeplanev1.RegisteredCharger{got.Msg.GetCharger()})); diff != "" ||
		got.Msg.GetCharger().GetRegistration().GetConnectors()[0].GetMaxPowerW() != 60000 {
		t.Errorf("GetCharger = %v (-registered +got):\n%s", got.Msg.GetCharger(), diff)
	}

	tests := []struct {
		name string
		edit func(*chargeplanev1.ChargerRegistration)
		code connect.Code
		msg  string
	}{
		{"t2's edge", func(r *chargeplanev1.ChargerRegistration) { r.EdgeId = "e3" }, connect.CodeNotFound, `"e3"`},
		{"pile code", func(r *chargeplanev1.ChargerRegistration) { r.VendorIds.YkcPileCode = "3201" }, connect.CodeInvalidArgument, "ykc_pile_code"},
		{"protocol", func(r *chargeplanev1.ChargerRegistration) { r.Protocol = "modbus" }, connect.CodeInvalidArgument, "protocol"},
		{"connector kind", func(r *chargeplanev1.ChargerRegistration) { r.Connectors[0].Kind = 0 }, connect.CodeInvalidArgument, "connectors"},
		{"site of an edge without one", func(r *chargeplanev1.ChargerRegistration) { r.SiteId = "s1" }, connect.CodeInvalidArgument, "site_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &chargeplanev1.ChargerRegistration{
				EdgeId: "e2", ChargerId: "x", Protocol: "ykc", VendorIds: &chargeplanev1.VendorIds{YkcPileCode: "32010600019236"},
				Connectors: []*chargeplanev1.ChargerConnector{{Number: 1, Kind: chargeplanev1.ConnectorKind_CONNECTOR_KIND_DC}},
			}
			tt.edit(r)
			_, err := t1.RegisterCharger(ctx, connect.NewRequest(&chargeplanev1.RegisterChargerRequest{Charger: r}))
			wantCode(t, "RegisterCharger", err, tt.code, tt.msg)
		})
	}
}

func TestFleetServiceImport(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := startFleetServer(t)
	t1 := s.fleet("installer:t1")
	good := "edge_id,charger_id,protocol,bkv_gateway_id,connectors\n"
	for i := range 5 {
		good += fmt.Sprintf("e1,g%d,bkv,8220052000486%d,1:socket:1000\n", i, i)
	}
	bad := good + "e3,g9,bkv,82200520004869,\ne1,g8,bkv,zz,\n"
	res, err := t1.ImportChargers(ctx, connect.NewRequest(&chargeplanev1.ImportChargersRequest{Csv: []byte(bad)}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range res.Msg.GetErrors() {
		got = append(got, fmt.Sprintf("%d:%s", e.GetLine(), e.GetField()))
	}
	if diff := cmp.Diff([]string{"7:edge_id", "8:bkv_gateway_id"}, got); diff != "" || res.Msg.GetCreated() != 0 {
		t.Errorf("import with errors: created %d (-want +got):\n%s", res.Msg.GetCreated(), diff)
	}
	res, err = t1.ImportChargers(ctx, connect.NewRequest(&chargeplanev1.ImportChargersRequest{Csv: []byte(good)}))
	if err != nil || res.Msg.GetCreated() != 5 || len(res.Msg.GetErrors()) != 0 {
		t.Fatalf("import = %v, %v; want 5 created", res.Msg, err)
	}
	res, err = t1.ImportChargers(ctx, connect.NewRequest(&chargeplanev1.ImportChargersRequest{Csv: []byte(good)}))
	if err != nil || res.Msg.GetUnchanged() != 5 || res.Msg.GetCreated()+res.Msg.GetUpdated() != 0 {
		t.Errorf("same import again = %v, %v; want 5 unchanged", res.Msg, err)
	}
	_, err = t1.ImportChargers(ctx, connect.NewRequest(&chargeplanev1.ImportChargersRequest{Csv: []byte("edge_id,charger_id,protocol\n")}))
	wantCode(t, "import of a header alone", err, connect.CodeInvalidArgument, "csv")

	// Paging over what was imported, and nothing of it seen from t2.
	var keys []string
	token := ""
	for range 5 {
		page, err := t1.ListRegisteredChargers(ctx, connect.NewRequest(&chargeplanev1.ListRegisteredChargersRequest{PageSize: 2, PageToken: token}))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, chargerKeys(page.Msg.GetChargers())...)
		if token = page.Msg.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(keys) != 5 || keys[0] != "e1/g0:REGISTRATION_STATE_ACCEPTED" || keys[4] != "e1/g4:REGISTRATION_STATE_ACCEPTED" {
		t.Errorf("registered in pages of 2 = %v; want g0..g4", keys)
	}
	other, err := s.fleet("viewer:t2").ListRegisteredChargers(ctx, connect.NewRequest(&chargeplanev1.ListRegisteredChargersRequest{}))
	if err != nil || len(other.Msg.GetChargers()) != 0 {
		t.Errorf("t2's registered = %v, %v; want none", chargerKeys(other.Msg.GetChargers()), err)
	}
}
