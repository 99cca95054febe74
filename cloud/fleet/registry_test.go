package fleet_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chargeplane/chargeplane/cloud/fleet"
	"github.com/chargeplane/chargeplane/cloud/postgres/pgtest"
	"github.com/chargeplane/chargeplane/cloud/site"
)

// fixture is a migrated database with tenants t1 and t2, edges e1 and e2
// of t1 and e3 of t2, and the fleet stores on it.
type fixture struct {
	pool     *pgxpool.Pool
	events   *fleet.Store
	sites    *fleet.SiteStore
	registry *fleet.Registry
	hints    *hintLog
	now      time.Time
}

// hintLog records the config changes the registry hints.
type hintLog struct {
	mu      sync.Mutex
	changes []site.Change
}

func (h *hintLog) Notify(ch site.Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.changes = append(h.changes, ch)
}

func (h *hintLog) take() []site.Change {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.changes
	h.changes = nil
	return out
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	pool := pgtest.MustPool(t, pgtest.MustDB(t))
	f := &fixture{pool: pool, events: fleet.New(pool), hints: &hintLog{}, now: t0}
	clock := func() time.Time { return f.now }
	f.sites = fleet.NewSiteStore(pool, clock)
	f.registry = fleet.NewRegistry(pool, clock, f.hints)
	if _, err := pool.Exec(ctx, `INSERT INTO tenants (tenant_id, name) VALUES ('t1', 'T1'), ('t2', 'T2')`); err != nil {
		t.Fatal(err)
	}
	edges := site.New(pool, clock)
	for _, e := range []struct{ tenant, edge string }{{"t1", "e1"}, {"t1", "e2"}, {"t2", "e3"}} {
		if _, _, err := edges.CreateEdge(ctx, e.tenant, e.edge, ""); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// report makes edge report chargers of tenant, as ingest would.
func (f *fixture) report(t *testing.T, tenant, edge, protocol string, chargers ...string) {
	t.Helper()
	last, err := f.events.LastSeq(t.Context(), edge)
	if err != nil {
		t.Fatal(err)
	}
	var events []fleet.Event
	for i, c := range chargers {
		events = append(events, fleet.Event{
			TenantID: tenant, EdgeID: edge, Seq: last + uint64(i) + 1, ChargerID: c, Kind: fleet.KindHeartbeat,
			OccurredAt: t0, Protocol: protocol, Firmware: "fw-" + c, Payload: []byte("p"),
		})
	}
	if _, err := f.events.WriteEvents(t.Context(), events); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) mustSite(t *testing.T, tenant, id string) {
	t.Helper()
	if _, err := f.sites.CreateSite(t.Context(), tenant, fleet.Site{ID: id, Name: "Site " + id, Timezone: "Asia/Shanghai"}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) mustAttach(t *testing.T, tenant, siteID, edge string) {
	t.Helper()
	if _, err := f.sites.AttachEdge(t.Context(), tenant, siteID, edge); err != nil {
		t.Fatal(err)
	}
}

func bkv(edge, charger string) fleet.Registration {
	return fleet.Registration{
		EdgeID: edge, ChargerID: charger, Protocol: fleet.ProtocolBKV, Model: "G1", Vendor: "V",
		VendorIDs:  fleet.VendorIDs{BKVGatewayID: "82200520004869", BKVSocketMACs: []string{"AABBCCDDEEFF"}},
		Connectors: []fleet.Connector{{Number: 2, Kind: fleet.KindSocket}, {Number: 1, Kind: fleet.KindSocket, MaxPowerW: 1000}},
	}
}

func keys(cs []fleet.Registered) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Registration.EdgeID+"/"+c.Registration.ChargerID+":"+c.State)
	}
	return out
}

func TestRegisterIsIdempotentUpsert(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t)
	f.mustSite(t, "t1", "s1")
	f.mustAttach(t, "t1", "s1", "e1")

	got, created, err := f.registry.Register(ctx, "t1", bkv("e1", "c1"))
	if err != nil || !created {
		t.Fatalf("Register = created %v, %v; want created", created, err)
	}
	want := fleet.Registered{
		TenantID: "t1", State: fleet.StateAccepted,
		Registration: fleet.Registration{
			EdgeID: "e1", ChargerID: "c1", SiteID: "s1", Protocol: "bkv", Model: "G1", Vendor: "V",
			// Hex ids are stored lowercase, connectors in number order.
			VendorIDs:  fleet.VendorIDs{BKVGatewayID: "82200520004869", BKVSocketMACs: []string{"aabbccddeeff"}},
			Connectors: []fleet.Connector{{Number: 1, Kind: "socket", MaxPowerW: 1000}, {Number: 2, Kind: "socket"}},
		},
		CreatedAt: t0, UpdatedAt: t0,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Register (-want +got):\n%s", diff)
	}

	f.now = t0.Add(time.Hour)
	again, created, err := f.registry.Register(ctx, "t1", bkv("e1", "c1"))
	if err != nil || created {
		t.Fatalf("Register again = created %v, %v; want not created", created, err)
	}
	if diff := cmp.Diff(want, again); diff != "" {
		t.Errorf("Register again changed the row (-want +got):\n%s", diff)
	}

	changed := bkv("e1", "c1")
	changed.Model = "G2"
	changed.Connectors = []fleet.Connector{{Number: 1, Kind: fleet.KindSocket, Label: "left"}}
	got, created, err = f.registry.Register(ctx, "t1", changed)
	if err != nil || created {
		t.Fatalf("Register changed = created %v, %v; want not created", created, err)
	}
	want.Registration.Model = "G2"
	want.Registration.Connectors = []fleet.Connector{{Number: 1, Kind: "socket", Label: "left"}}
	want.UpdatedAt = f.now
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Register changed (-want +got):\n%s", diff)
	}
	read, err := f.registry.Charger(ctx, "t1", "e1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, read); diff != "" {
		t.Errorf("Charger after Register (-want +got):\n%s", diff)
	}
}

func TestRegisterRefuses(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t)
	f.mustSite(t, "t1", "s1")
	f.mustSite(t, "t1", "s2")
	f.mustAttach(t, "t1", "s1", "e1")
	with := func(edit func(*fleet.Registration)) fleet.Registration {
		r := bkv("e1", "c1")
		edit(&r)
		return r
	}
	tests := []struct {
		name      string
		reg       fleet.Registration
		wantField string // InvalidError field, or "" for ErrNotFound
	}{
		{"edge of another tenant", with(func(r *fleet.Registration) { r.EdgeID = "e3" }), ""},
		{"unknown edge", with(func(r *fleet.Registration) { r.EdgeID = "nope" }), ""},
		{"site not the edge's", with(func(r *fleet.Registration) { r.SiteID = "s2" }), "site_id"},
		{"site for an edge without one", with(func(r *fleet.Registration) { r.EdgeID, r.SiteID = "e2", "s1" }), "site_id"},
		{"unknown protocol", with(func(r *fleet.Registration) { r.Protocol = "ocpp201" }), "protocol"},
		{"short BKV gateway id", with(func(r *fleet.Registration) { r.VendorIDs.BKVGatewayID = "8220052000486" }), "bkv_gateway_id"},
		{"BKV gateway id not hex", with(func(r *fleet.Registration) { r.VendorIDs.BKVGatewayID = "8220052000486z" }), "bkv_gateway_id"},
		{"bad socket MAC", with(func(r *fleet.Registration) { r.VendorIDs.BKVSocketMACs = []string{"aabbccddee"} }), "bkv_socket_macs"},
		{"YKC code on a BKV charger", with(func(r *fleet.Registration) { r.VendorIDs.YKCPileCode = "12345678901234" }), "ykc_pile_code"},
		{"YKC pile code not digits", with(func(r *fleet.Registration) {
			r.Protocol, r.VendorIDs = fleet.ProtocolYKC, fleet.VendorIDs{YKCPileCode: "1234567890123a"}
		}), "ykc_pile_code"},
		{"OCPP identity missing", with(func(r *fleet.Registration) { r.Protocol, r.VendorIDs = fleet.ProtocolOCPP16, fleet.VendorIDs{} }), "ocpp_identity"},
		{"OCPP identity with a slash", with(func(r *fleet.Registration) {
			r.Protocol, r.VendorIDs = fleet.ProtocolOCPP16, fleet.VendorIDs{OCPPIdentity: "a/b"}
		}), "ocpp_identity"},
		{"connector number 0", with(func(r *fleet.Registration) { r.Connectors = []fleet.Connector{{Number: 0, Kind: "ac"}} }), "connectors"},
		{"connector number twice", with(func(r *fleet.Registration) {
			r.Connectors = []fleet.Connector{{Number: 1, Kind: "ac"}, {Number: 1, Kind: "dc"}}
		}), "connectors"},
		{"connector kind", with(func(r *fleet.Registration) { r.Connectors = []fleet.Connector{{Number: 1, Kind: "type2"}} }), "connectors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := f.registry.Register(ctx, "t1", tt.reg)
			var invalid *fleet.InvalidError
			switch {
			case tt.wantField == "" && !errors.Is(err, fleet.ErrNotFound):
				t.Errorf("Register = %v, want ErrNotFound", err)
			case tt.wantField != "" && (!errors.As(err, &invalid) || invalid.Field != tt.wantField):
				t.Errorf("Register = %v, want an InvalidError for %s", err, tt.wantField)
			}
		})
	}
	regs, err := f.registry.ListRegistered(ctx, fleet.RegistryFilter{TenantID: "t1"}, nil, 100)
	if err != nil || len(regs) != 0 {
		t.Errorf("after refused registrations: %v, %v; want none", keys(regs), err)
	}
}

func TestPendingAcceptReject(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t)
	f.mustSite(t, "t1", "s1")
	f.mustAttach(t, "t1", "s1", "e1")
	f.report(t, "t1", "e1", "bkv", "82200520004869", "c2")
	f.report(t, "t1", "e2", "ykc", "12345678901234")
	f.report(t, "t2", "e3", "ocpp16", "cp1")

	pending, err := f.registry.ListPending(ctx, "t1", "", nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	wantPending := []string{"e1/82200520004869:pending", "e1/c2:pending", "e2/12345678901234:pending"}
	if diff := cmp.Diff(wantPending, keys(pending)); diff != "" {
		t.Errorf("pending of t1 (-want +got):\n%s", diff)
	}
	if r := pending[0].Reported; r == nil || r.Protocol != "bkv" || r.Firmware != "fw-82200520004869" {
		t.Errorf("pending charger reported %+v, want protocol bkv and its firmware", r)
	}

	accepted, err := f.registry.Accept(ctx, "t1", "e1", "82200520004869")
	if err != nil {
		t.Fatal(err)
	}
	want := fleet.Registration{
		EdgeID: "e1", ChargerID: "82200520004869", SiteID: "s1", Protocol: "bkv", Firmware: "fw-82200520004869",
		VendorIDs: fleet.VendorIDs{BKVGatewayID: "82200520004869"},
	}
	if diff := cmp.Diff(want, accepted.Registration); diff != "" || accepted.State != fleet.StateAccepted || accepted.Reported == nil {
		t.Errorf("Accept = state %s reported %v (-want +got):\n%s", accepted.State, accepted.Reported, diff)
	}
	if _, err := f.registry.Reject(ctx, "t1", "e2", "12345678901234"); err != nil {
		t.Fatal(err)
	}
	pending, err = f.registry.ListPending(ctx, "t1", "", nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"e1/c2:pending"}, keys(pending)); diff != "" {
		t.Errorf("pending after accept and reject (-want +got):\n%s", diff)
	}
	regs, err := f.registry.ListRegistered(ctx, fleet.RegistryFilter{TenantID: "t1"}, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"e1/82200520004869:accepted", "e2/12345678901234:rejected"}, keys(regs)); diff != "" {
		t.Errorf("registered (-want +got):\n%s", diff)
	}
	// Rejected, then accepted again.
	again, err := f.registry.Accept(ctx, "t1", "e2", "12345678901234")
	if err != nil || again.State != fleet.StateAccepted || again.Registration.VendorIDs.YKCPileCode != "12345678901234" {
		t.Errorf("Accept rejected = %+v, %v; want accepted with its pile code", again, err)
	}

	// Another tenant's charger, an unknown edge, an unknown charger.
	for _, k := range [][2]string{{"e3", "cp1"}, {"nope", "c1"}, {"e1", "nope"}} {
		if _, err := f.registry.Accept(ctx, "t1", k[0], k[1]); !errors.Is(err, fleet.ErrNotFound) {
			t.Errorf("Accept(t1, %s/%s) = %v, want ErrNotFound", k[0], k[1], err)
		}
		if _, err := f.registry.Reject(ctx, "t1", k[0], k[1]); !errors.Is(err, fleet.ErrNotFound) {
			t.Errorf("Reject(t1, %s/%s) = %v, want ErrNotFound", k[0], k[1], err)
		}
		if _, err := f.registry.Charger(ctx, "t1", k[0], k[1]); !errors.Is(err, fleet.ErrNotFound) {
			t.Errorf("Charger(t1, %s/%s) = %v, want ErrNotFound", k[0], k[1], err)
		}
	}
	other, err := f.registry.ListPending(ctx, "t2", "", nil, 100)
	if err != nil || len(other) != 1 {
		t.Errorf("pending of t2 = %v, %v; want only its own e3/cp1", keys(other), err)
	}
}

func TestAcceptUnknownProtocol(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t)
	f.report(t, "t1", "e1", "ocpp201", "x1")
	if _, err := f.registry.Accept(ctx, "t1", "e1", "x1"); !errors.Is(err, fleet.ErrPrecondition) {
		t.Errorf("Accept of a charger with protocol ocpp201 = %v, want ErrPrecondition", err)
	}
	rejected, err := f.registry.Reject(ctx, "t1", "e1", "x1")
	if err != nil || rejected.State != fleet.StateRejected {
		t.Fatalf("Reject = %+v, %v; want rejected", rejected, err)
	}
	if _, err := f.registry.Accept(ctx, "t1", "e1", "x1"); !errors.Is(err, fleet.ErrPrecondition) {
		t.Errorf("Accept of the rejected charger = %v, want ErrPrecondition", err)
	}
	reg := fleet.Registration{EdgeID: "e1", ChargerID: "x1", Protocol: fleet.ProtocolOCPP16, VendorIDs: fleet.VendorIDs{OCPPIdentity: "x1"}}
	if got, created, err := f.registry.Register(ctx, "t1", reg); err != nil || created || got.State != fleet.StateAccepted {
		t.Errorf("Register the rejected charger = %s created %v, %v; want accepted, not created", got.State, created, err)
	}
}

func TestListRegisteredFiltersAndPages(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t)
	f.mustSite(t, "t1", "s1")
	f.mustAttach(t, "t1", "s1", "e1")
	for i := range 7 {
		if _, _, err := f.registry.Register(ctx, "t1", bkv("e1", fmt.Sprintf("c%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	ocpp := fleet.Registration{EdgeID: "e2", ChargerID: "cp", Protocol: fleet.ProtocolOCPP16, VendorIDs: fleet.VendorIDs{OCPPIdentity: "cp"}}
	if _, _, err := f.registry.Register(ctx, "t1", ocpp); err != nil {
		t.Fatal(err)
	}
	if _, err := f.registry.Reject(ctx, "t1", "e1", "c3"); err != nil {
		t.Fatal(err)
	}
	other := fleet.Registration{EdgeID: "e3", ChargerID: "c0", Protocol: fleet.ProtocolAP3000}
	if _, _, err := f.registry.Register(ctx, "t2", other); err != nil {
		t.Fatal(err)
	}
	// t2's registered charger does not exist for t1.
	if _, err := f.registry.Charger(ctx, "t1", "e3", "c0"); !errors.Is(err, fleet.ErrNotFound) {
		t.Errorf("Charger(t1, t2's e3/c0) = %v, want ErrNotFound", err)
	}
	if _, err := f.registry.Reject(ctx, "t1", "e3", "c0"); !errors.Is(err, fleet.ErrNotFound) {
		t.Errorf("Reject(t1, t2's e3/c0) = %v, want ErrNotFound", err)
	}
	if _, _, err := f.registry.Register(ctx, "t1", other); !errors.Is(err, fleet.ErrNotFound) {
		t.Errorf("Register(t1, t2's e3/c0) = %v, want ErrNotFound", err)
	}

	tests := []struct {
		name   string
		filter fleet.RegistryFilter
		want   int
	}{
		{"tenant", fleet.RegistryFilter{TenantID: "t1"}, 8},
		{"other tenant", fleet.RegistryFilter{TenantID: "t2"}, 1},
		{"site", fleet.RegistryFilter{TenantID: "t1", SiteID: "s1"}, 7},
		{"edge", fleet.RegistryFilter{TenantID: "t1", EdgeID: "e2"}, 1},
		{"edge of another tenant", fleet.RegistryFilter{TenantID: "t1", EdgeID: "e3"}, 0},
		{"rejected", fleet.RegistryFilter{TenantID: "t1", State: fleet.StateRejected}, 1},
		{"protocol", fleet.RegistryFilter{TenantID: "t1", Protocol: fleet.ProtocolOCPP16}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Pages of 3: every charger once, in key order.
			var (
				all   []string
				after *fleet.Cursor
			)
			for range 10 {
				page, err := f.registry.ListRegistered(ctx, tt.filter, after, 3)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, keys(page)...)
				if len(page) < 3 {
					break
				}
				last := page[len(page)-1].Registration
				after = &fleet.Cursor{EdgeID: last.EdgeID, ChargerID: last.ChargerID}
			}
			if len(all) != tt.want {
				t.Errorf("listed %v, want %d chargers", all, tt.want)
			}
			for i := 1; i < len(all); i++ {
				if all[i-1] >= all[i] {
					t.Errorf("listed %v: not in key order or twice", all)
				}
			}
		})
	}
}

func TestPendingPages(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t)
	var want []string
	for i := range 5 {
		want = append(want, fmt.Sprintf("e1/c%d:pending", i))
	}
	f.report(t, "t1", "e1", "bkv", "c0", "c1", "c2", "c3", "c4")
	var (
		got   []string
		after *fleet.Cursor
	)
	for range 5 {
		page, err := f.registry.ListPending(ctx, "t1", "e1", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, keys(page)...)
		if len(page) < 2 {
			break
		}
		last := page[len(page)-1].Registration
		after = &fleet.Cursor{EdgeID: last.EdgeID, ChargerID: last.ChargerID}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pending in pages of 2 (-want +got):\n%s", diff)
	}
}

// TestRefusedChargersReachTheEdgeConfig: rejecting a charger (pending or
// registered) puts it in its edge's pulled config under a new version and
// hints that edge; accepting, registering or importing it again takes it out
// the same way; a decision that changes nothing neither bumps nor hints.
func TestRefusedChargersReachTheEdgeConfig(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t)
	edges := site.New(f.pool, func() time.Time { return f.now })
	config := func(edge string) site.Config {
		t.Helper()
		cfg, _, err := edges.Config(ctx, "t1", edge, 0)
		if err != nil {
			t.Fatalf("Config(%s): %v", edge, err)
		}
		return cfg
	}
	// step runs one decision and checks e1's refused chargers afterwards,
	// that its version moved exactly when bumped, and the hint.
	step := func(name string, do func() error, wantRefused []string, bumped bool) {
		t.Helper()
		before := config("e1").Version
		if err := do(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		after := config("e1")
		if diff := cmp.Diff(wantRefused, after.RefusedChargers); diff != "" {
			t.Errorf("%s: refused chargers of e1 (-want +got):\n%s", name, diff)
		}
		hints := f.hints.take()
		if !bumped {
			if after.Version != before || len(hints) != 0 {
				t.Errorf("%s: version %d -> %d, hints %v; want no change", name, before, after.Version, hints)
			}
			return
		}
		want := []site.Change{{Version: after.Version, Edges: []site.Target{{TenantID: "t1", EdgeID: "e1"}}}}
		if after.Version <= before || !cmp.Equal(want, hints) {
			t.Errorf("%s: version %d -> %d, hints %+v; want a new version hinted to e1", name, before, after.Version, hints)
		}
	}
	f.report(t, "t1", "e1", "bkv", "82200520004869", "c2")
	if _, _, err := f.registry.Register(ctx, "t1", bkv("e1", "c1")); err != nil {
		t.Fatal(err)
	}
	f.hints.take()

	step("reject pending", func() error { _, err := f.registry.Reject(ctx, "t1", "e1", "c2"); return err }, []string{"c2"}, true)
	step("reject registered", func() error { _, err := f.registry.Reject(ctx, "t1", "e1", "c1"); return err }, []string{"c1", "c2"}, true)
	step("reject again", func() error { _, err := f.registry.Reject(ctx, "t1", "e1", "c1"); return err }, []string{"c1", "c2"}, false)
	step("accept rejected", func() error { _, err := f.registry.Accept(ctx, "t1", "e1", "c2"); return err }, []string{"c1"}, true)
	step("accept pending", func() error { _, err := f.registry.Accept(ctx, "t1", "e1", "82200520004869"); return err }, []string{"c1"}, false)
	step("register rejected", func() error { _, _, err := f.registry.Register(ctx, "t1", bkv("e1", "c1")); return err }, nil, true)
	step("reject for import", func() error { _, err := f.registry.Reject(ctx, "t1", "e1", "c1"); return err }, []string{"c1"}, true)
	csv := "edge_id,charger_id,protocol,bkv_gateway_id\ne1,c1,bkv,82200520004869\n"
	step("import rejected", func() error {
		res, err := f.registry.Import(ctx, "t1", []byte(csv))
		if err == nil && len(res.Errors) > 0 {
			err = fmt.Errorf("import errors: %+v", res.Errors)
		}
		return err
	}, nil, true)
	// Another edge's refusals are its own.
	if _, err := f.registry.Reject(ctx, "t1", "e2", "c1"); !errors.Is(err, fleet.ErrNotFound) {
		t.Errorf("Reject(e2/c1) = %v, want ErrNotFound", err)
	}
	if got := config("e2").RefusedChargers; len(got) != 0 {
		t.Errorf("refused chargers of e2 = %v, want none", got)
	}
}
