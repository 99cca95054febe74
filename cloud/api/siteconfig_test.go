package api_test

import (
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/chargeplane/chargeplane/cloud/cloudtest"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// TestPullConfigVersionsIncreaseOnEveryChange makes each kind of change in
// turn and checks that the edge's version strictly increases, that the
// change's answer names the version the edge then pulls, and that pulling
// the current version answers unchanged.
func TestPullConfigVersionsIncreaseOnEveryChange(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	sync := c.SyncClient(c.ProvisionEdge(t, "t1", "e1"))
	c.ProvisionEdge(t, "t2", "x1")
	admin := c.SiteConfigClient()
	ctx := t.Context()

	first := pull(t, sync, "e1", 0)
	if !first.GetChanged() || first.GetConfig().GetVersion() == 0 {
		t.Fatalf("first pull = %v, want a config with a version", first)
	}
	wantCfg := &chargeplanev1.SiteConfig{Version: first.GetConfig().GetVersion(), UnknownCards: "reject", Cards: []*chargeplanev1.CardEntry{}}
	if diff := cmp.Diff(wantCfg, first.GetConfig(), protocmp.Transform(), protocmp.IgnoreEmptyMessages()); diff != "" {
		t.Errorf("new edge's config (-want +got):\n%s", diff)
	}
	version := first.GetConfig().GetVersion()
	tou := &chargeplanev1.Tariff{Id: "tou", Periods: []*chargeplanev1.TariffPeriod{
		{StartMinute: 0, ElectricityMfenPerKwh: 30000, ServiceMfenPerKwh: 40000},
		{StartMinute: 8 * 60, ElectricityMfenPerKwh: 65230, ServiceMfenPerKwh: 40000},
		{StartMinute: 22 * 60, ElectricityMfenPerKwh: 30000, ServiceMfenPerKwh: 0},
	}}

	steps := []struct {
		name   string
		change func() (uint64, error)
		check  func(*chargeplanev1.SiteConfig) string
	}{{
		name: "tariff",
		change: func() (uint64, error) {
			res, err := admin.SetTariff(ctx, connect.NewRequest(&chargeplanev1.SetTariffRequest{TenantId: "t1", EdgeId: "e1", Tariff: tou}))
			return res.Msg.GetConfigVersion(), err
		},
		check: func(cfg *chargeplanev1.SiteConfig) string {
			return cmp.Diff(tou, cfg.GetTariff(), protocmp.Transform())
		},
	}, {
		name: "unknown-card policy",
		change: func() (uint64, error) {
			res, err := admin.SetUnknownCardPolicy(ctx, connect.NewRequest(&chargeplanev1.SetUnknownCardPolicyRequest{TenantId: "t1", EdgeId: "e1", UnknownCards: "accept"}))
			return res.Msg.GetConfigVersion(), err
		},
		check: func(cfg *chargeplanev1.SiteConfig) string { return cmp.Diff("accept", cfg.GetUnknownCards()) },
	}, {
		name: "cards put",
		change: func() (uint64, error) {
			res, err := admin.PutCards(ctx, connect.NewRequest(&chargeplanev1.PutCardsRequest{TenantId: "t1", Cards: []*chargeplanev1.CardEntry{
				{CardId: "AA01", BalanceFen: 1000, OfflineLimitFen: 200, UserId: "u1"},
				{CardId: "bb02", BalanceFen: -5, Blocked: true},
			}}))
			return res.Msg.GetConfigVersion(), err
		},
		check: func(cfg *chargeplanev1.SiteConfig) string {
			return cmp.Diff([]*chargeplanev1.CardEntry{
				{CardId: "aa01", BalanceFen: 1000, OfflineLimitFen: 200, UserId: "u1"},
				{CardId: "bb02", BalanceFen: -5, Blocked: true},
			}, cfg.GetCards(), protocmp.Transform())
		},
	}, {
		name: "card put again sets the balance",
		change: func() (uint64, error) {
			res, err := admin.PutCards(ctx, connect.NewRequest(&chargeplanev1.PutCardsRequest{TenantId: "t1", Cards: []*chargeplanev1.CardEntry{
				{CardId: "aa01", BalanceFen: 300, OfflineLimitFen: 200, UserId: "u1"},
			}}))
			return res.Msg.GetConfigVersion(), err
		},
		check: func(cfg *chargeplanev1.SiteConfig) string {
			return cmp.Diff(int64(300), cfg.GetCards()[0].GetBalanceFen())
		},
	}, {
		name: "top-up",
		change: func() (uint64, error) {
			res, err := admin.TopUpCard(ctx, connect.NewRequest(&chargeplanev1.TopUpCardRequest{TenantId: "t1", CardId: "AA01", AmountFen: 250}))
			if err == nil && res.Msg.GetCard().GetBalanceFen() != 550 {
				return 0, fmt.Errorf("top-up answered balance %d, want 550", res.Msg.GetCard().GetBalanceFen())
			}
			return res.Msg.GetConfigVersion(), err
		},
		check: func(cfg *chargeplanev1.SiteConfig) string {
			return cmp.Diff(int64(550), cfg.GetCards()[0].GetBalanceFen())
		},
	}, {
		name: "debit by an uploaded session",
		change: func() (uint64, error) {
			res, err := sync.PushSessions(ctx, connect.NewRequest(&chargeplanev1.PushSessionsRequest{EdgeId: "e1", Sessions: []*chargeplanev1.Event{ended(1, "aa01", 50)}}))
			return res.Msg.GetConfigVersion(), err
		},
		check: func(cfg *chargeplanev1.SiteConfig) string {
			return cmp.Diff(int64(500), cfg.GetCards()[0].GetBalanceFen())
		},
	}, {
		name: "delete the newest card",
		change: func() (uint64, error) {
			res, err := admin.DeleteCards(ctx, connect.NewRequest(&chargeplanev1.DeleteCardsRequest{TenantId: "t1", CardIds: []string{"AA01", "nosuch"}}))
			if err == nil && res.Msg.GetDeleted() != 1 {
				return 0, fmt.Errorf("deleted %d, want 1", res.Msg.GetDeleted())
			}
			return res.Msg.GetConfigVersion(), err
		},
		check: func(cfg *chargeplanev1.SiteConfig) string {
			return cmp.Diff([]string{"bb02"}, cardIDs(cfg))
		},
	}, {
		name: "tariff removed",
		change: func() (uint64, error) {
			res, err := admin.SetTariff(ctx, connect.NewRequest(&chargeplanev1.SetTariffRequest{TenantId: "t1", EdgeId: "e1"}))
			return res.Msg.GetConfigVersion(), err
		},
		check: func(cfg *chargeplanev1.SiteConfig) string {
			if cfg.GetTariff() != nil {
				return fmt.Sprintf("tariff %v still there", cfg.GetTariff())
			}
			return ""
		},
	}}
	for _, step := range steps {
		v, err := step.change()
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if v <= version {
			t.Errorf("%s: version %d, want above %d", step.name, v, version)
		}
		got := pull(t, sync, "e1", version)
		if !got.GetChanged() || got.GetConfig().GetVersion() != v {
			t.Fatalf("%s: pull after the change = changed %v version %d, want changed at %d", step.name, got.GetChanged(), got.GetConfig().GetVersion(), v)
		}
		if diff := step.check(got.GetConfig()); diff != "" {
			t.Errorf("%s: pulled config (-want +got):\n%s", step.name, diff)
		}
		if again := pull(t, sync, "e1", v); again.GetChanged() || again.GetConfig() != nil {
			t.Errorf("%s: pull at the current version = %v, want unchanged and no config", step.name, again)
		}
		version = v
	}

	// Another tenant's changes and deleting nothing leave the version alone.
	putCards(t, c, "t2", &chargeplanev1.CardEntry{CardId: "aa01", BalanceFen: 1})
	res, err := admin.DeleteCards(ctx, connect.NewRequest(&chargeplanev1.DeleteCardsRequest{TenantId: "t1", CardIds: []string{"nosuch"}}))
	if err != nil || res.Msg.GetDeleted() != 0 || res.Msg.GetConfigVersion() != 0 {
		t.Errorf("deleting nothing = %v, %v; want 0 deleted and no version", res, err)
	}
	if got := pull(t, sync, "e1", version); got.GetChanged() {
		t.Errorf("pull after unrelated changes = %v, want unchanged", got)
	}
	// An edge that holds a version from the future gets the config again.
	if got := pull(t, sync, "e1", version+1000); !got.GetChanged() || got.GetConfig().GetVersion() != version {
		t.Errorf("pull with a future version = %v, want the config at %d", got, version)
	}
}

func cardIDs(cfg *chargeplanev1.SiteConfig) []string {
	var ids []string
	for _, c := range cfg.GetCards() {
		ids = append(ids, c.GetCardId())
	}
	return ids
}

// nextHint waits for the next hint on ch.
func nextHint(t *testing.T, ch <-chan uint64, what string) uint64 {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no config-changed hint for %s within 10s", what)
		return 0
	}
}

func TestConfigChangesAreHinted(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	sync := c.SyncClient(c.ProvisionEdge(t, "t1", "e1"))
	c.ProvisionEdge(t, "t1", "e2")
	c.ProvisionEdge(t, "t2", "x1")
	c.ProvisionEdge(t, "t1", "gone")
	if _, err := c.EdgeClient().RevokeEdge(t.Context(), connect.NewRequest(&chargeplanev1.RevokeEdgeRequest{TenantId: "t1", EdgeId: "gone"})); err != nil {
		t.Fatal(err)
	}
	e1, e2, x1, gone := c.Hints(t, "t1", "e1"), c.Hints(t, "t1", "e2"), c.Hints(t, "t2", "x1"), c.Hints(t, "t1", "gone")
	admin := c.SiteConfigClient()

	// A tenant-wide change reaches every edge of the tenant.
	v := putCards(t, c, "t1", &chargeplanev1.CardEntry{CardId: "aa01", BalanceFen: 100})
	if got := nextHint(t, e1, "e1 after PutCards"); got != v {
		t.Errorf("e1 hint = %d, want %d", got, v)
	}
	if got := nextHint(t, e2, "e2 after PutCards"); got != v {
		t.Errorf("e2 hint = %d, want %d", got, v)
	}
	// An edge's own change reaches that edge only: x1's first hint is its own.
	res, err := admin.SetTariff(t.Context(), connect.NewRequest(&chargeplanev1.SetTariffRequest{TenantId: "t2", EdgeId: "x1",
		Tariff: &chargeplanev1.Tariff{Periods: []*chargeplanev1.TariffPeriod{{ElectricityMfenPerKwh: 1}}}}))
	if err != nil {
		t.Fatal(err)
	}
	if got := nextHint(t, x1, "x1 after SetTariff"); got != res.Msg.GetConfigVersion() {
		t.Errorf("x1 hint = %d, want %d (and no hint of t1's change)", got, res.Msg.GetConfigVersion())
	}
	if id := res.Msg.GetTariff().GetId(); id != fmt.Sprintf("v%d", res.Msg.GetConfigVersion()) {
		t.Errorf("tariff without id named %q, want v<version>", id)
	}
	// A debit changes balances every edge of the tenant holds.
	debit := push(t, sync, ended(1, "aa01", 30))
	for name, ch := range map[string]<-chan uint64{"e1": e1, "e2": e2} {
		if got := nextHint(t, ch, name+" after a debit"); got != debit.GetConfigVersion() {
			t.Errorf("%s hint after a debit = %d, want %d", name, got, debit.GetConfigVersion())
		}
	}
	// The revoked edge heard nothing of all this: its first hint comes after
	// it is enabled again.
	if _, err := c.EdgeClient().RotateEdgeCredential(t.Context(), connect.NewRequest(&chargeplanev1.RotateEdgeCredentialRequest{TenantId: "t1", EdgeId: "gone"})); err != nil {
		t.Fatal(err)
	}
	pol, err := admin.SetUnknownCardPolicy(t.Context(), connect.NewRequest(&chargeplanev1.SetUnknownCardPolicyRequest{TenantId: "t1", EdgeId: "gone", UnknownCards: "accept"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := nextHint(t, gone, "the re-enabled edge"); got != pol.Msg.GetConfigVersion() {
		t.Errorf("first hint of the once revoked edge = %d, want %d", got, pol.Msg.GetConfigVersion())
	}
	c.Eventually("hint metrics", func() bool { return c.Metric("chargeplane_hint_published_total", "result", "ok") >= 6 })
}

func TestSiteConfigValidation(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	c.ProvisionEdge(t, "t1", "e1")
	admin := c.SiteConfigClient()
	ctx := t.Context()
	period := func(start uint32, elec, svc int64) *chargeplanev1.TariffPeriod {
		return &chargeplanev1.TariffPeriod{StartMinute: start, ElectricityMfenPerKwh: elec, ServiceMfenPerKwh: svc}
	}
	setTariff := func(periods ...*chargeplanev1.TariffPeriod) error {
		_, err := admin.SetTariff(ctx, connect.NewRequest(&chargeplanev1.SetTariffRequest{TenantId: "t1", EdgeId: "e1", Tariff: &chargeplanev1.Tariff{Periods: periods}}))
		return err
	}
	tests := []struct {
		name string
		err  error
		code connect.Code
		msg  string
	}{
		{"tariff without periods", setTariff(), connect.CodeInvalidArgument, "tariff.periods: at least one period is required"},
		{"tariff not starting at 0", setTariff(period(60, 1, 1)), connect.CodeInvalidArgument,
			"tariff.periods[0].start_minute: the first period must start at minute 0, got 60"},
		{"tariff unsorted", setTariff(period(0, 1, 1), period(600, 1, 1), period(300, 1, 1)), connect.CodeInvalidArgument,
			"tariff.periods[2].start_minute: periods must be sorted by start minute without repeats: 300 follows 600"},
		{"tariff past midnight", setTariff(period(0, 1, 1), period(1440, 1, 1)), connect.CodeInvalidArgument,
			"tariff.periods[1].start_minute: must be below 1440 (minutes of a day), got 1440"},
		{"negative price", setTariff(period(0, 1, -1)), connect.CodeInvalidArgument,
			"tariff.periods[0].service_mfen_per_kwh: must be between 0 and 1000000000, got -1"},
		{"tariff of an unknown edge", func() error {
			_, err := admin.SetTariff(ctx, connect.NewRequest(&chargeplanev1.SetTariffRequest{TenantId: "t1", EdgeId: "nope"}))
			return err
		}(), connect.CodeNotFound, `edge "nope" of tenant "t1": not found`},
		{"tariff of another tenant's edge", func() error {
			_, err := admin.SetTariff(ctx, connect.NewRequest(&chargeplanev1.SetTariffRequest{TenantId: "t2", EdgeId: "e1"}))
			return err
		}(), connect.CodeNotFound, `edge "e1" of tenant "t2": not found`},
		{"policy", func() error {
			_, err := admin.SetUnknownCardPolicy(ctx, connect.NewRequest(&chargeplanev1.SetUnknownCardPolicyRequest{TenantId: "t1", EdgeId: "e1", UnknownCards: "maybe"}))
			return err
		}(), connect.CodeInvalidArgument, `unknown_cards: must be "accept" or "reject", got "maybe"`},
		{"no cards", func() error {
			_, err := admin.PutCards(ctx, connect.NewRequest(&chargeplanev1.PutCardsRequest{TenantId: "t1"}))
			return err
		}(), connect.CodeInvalidArgument, "cards: at least one card is required"},
		{"same card twice in any case", func() error {
			_, err := admin.PutCards(ctx, connect.NewRequest(&chargeplanev1.PutCardsRequest{TenantId: "t1",
				Cards: []*chargeplanev1.CardEntry{{CardId: "aa"}, {CardId: "AA"}}}))
			return err
		}(), connect.CodeInvalidArgument, `cards[1].card_id: "aa" repeats cards[0]`},
		{"negative offline limit", func() error {
			_, err := admin.PutCards(ctx, connect.NewRequest(&chargeplanev1.PutCardsRequest{TenantId: "t1",
				Cards: []*chargeplanev1.CardEntry{{CardId: "aa", OfflineLimitFen: -1}}}))
			return err
		}(), connect.CodeInvalidArgument, "cards[0].offline_limit_fen: must be between 0 and 10000000000000, got -1"},
		{"cards without tenant", func() error {
			_, err := admin.PutCards(ctx, connect.NewRequest(&chargeplanev1.PutCardsRequest{Cards: []*chargeplanev1.CardEntry{{CardId: "aa"}}}))
			return err
		}(), connect.CodeInvalidArgument, "tenant_id: required for a platform admin"},
		{"top-up of an unknown card", func() error {
			_, err := admin.TopUpCard(ctx, connect.NewRequest(&chargeplanev1.TopUpCardRequest{TenantId: "t1", CardId: "Nope", AmountFen: 5}))
			return err
		}(), connect.CodeNotFound, `card "nope" of tenant "t1": not found`},
		{"top-up of nothing", func() error {
			_, err := admin.TopUpCard(ctx, connect.NewRequest(&chargeplanev1.TopUpCardRequest{TenantId: "t1", CardId: "aa"}))
			return err
		}(), connect.CodeInvalidArgument, "amount_fen: must be between 1 and 10000000000000, got 0"},
		{"config of an unknown edge", func() error {
			_, err := admin.GetSiteConfig(ctx, connect.NewRequest(&chargeplanev1.GetSiteConfigRequest{TenantId: "t1", EdgeId: "nope"}))
			return err
		}(), connect.CodeNotFound, `edge "nope" of tenant "t1": not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.name, tt.err, tt.code, tt.msg)
		})
	}
}

func TestEdgeService(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	edges := c.EdgeClient()
	ctx := t.Context()
	before := time.Now().Add(-time.Second)
	created, err := edges.CreateEdge(ctx, connect.NewRequest(&chargeplanev1.CreateEdgeRequest{TenantId: "t1", EdgeId: "e2", Name: "Depot 2"}))
	if err != nil {
		t.Fatal(err)
	}
	e := created.Msg.GetEdge()
	if e.GetTenantId() != "t1" || e.GetEdgeId() != "e2" || e.GetName() != "Depot 2" || e.GetConfigVersion() == 0 ||
		e.GetCreatedAt().AsTime().Before(before) || e.GetRevokedAt() != nil {
		t.Errorf("created edge = %v", e)
	}
	if cred := created.Msg.GetCredential(); len(cred) < 40 {
		t.Errorf("credential %q looks too short", cred)
	}
	c.ProvisionEdge(t, "t1", "e1")
	c.ProvisionEdge(t, "t2", "x1")

	_, err = edges.CreateEdge(ctx, connect.NewRequest(&chargeplanev1.CreateEdgeRequest{TenantId: "t2", EdgeId: "e2"}))
	wantCode(t, "CreateEdge of a taken id", err, connect.CodeAlreadyExists, `edge "e2": already exists`)
	_, err = edges.CreateEdge(ctx, connect.NewRequest(&chargeplanev1.CreateEdgeRequest{TenantId: "t1", EdgeId: "a+b"}))
	wantCode(t, "CreateEdge with a wildcard", err, connect.CodeInvalidArgument, "edge_id: must not contain '/', '+', '#' or NUL")
	_, err = edges.CreateEdge(ctx, connect.NewRequest(&chargeplanev1.CreateEdgeRequest{EdgeId: "e9"}))
	wantCode(t, "CreateEdge without tenant", err, connect.CodeInvalidArgument, "tenant_id: required for a platform admin")
	_, err = edges.RevokeEdge(ctx, connect.NewRequest(&chargeplanev1.RevokeEdgeRequest{TenantId: "t2", EdgeId: "e1"}))
	wantCode(t, "RevokeEdge of another tenant's edge", err, connect.CodeNotFound, `edge "e1" of tenant "t2": not found`)
	_, err = edges.RotateEdgeCredential(ctx, connect.NewRequest(&chargeplanev1.RotateEdgeCredentialRequest{TenantId: "t1", EdgeId: "nope"}))
	wantCode(t, "RotateEdgeCredential of an unknown edge", err, connect.CodeNotFound, `edge "nope" of tenant "t1": not found`)

	revoked, err := edges.RevokeEdge(ctx, connect.NewRequest(&chargeplanev1.RevokeEdgeRequest{TenantId: "t1", EdgeId: "e1"}))
	if err != nil || revoked.Msg.GetEdge().GetRevokedAt() == nil {
		t.Fatalf("RevokeEdge = %v, %v; want a revocation time", revoked, err)
	}
	again, err := edges.RevokeEdge(ctx, connect.NewRequest(&chargeplanev1.RevokeEdgeRequest{TenantId: "t1", EdgeId: "e1"}))
	if err != nil || !again.Msg.GetEdge().GetRevokedAt().AsTime().Equal(revoked.Msg.GetEdge().GetRevokedAt().AsTime()) {
		t.Errorf("revoking again = %v, %v; want the first revocation time kept", again, err)
	}

	list, err := edges.ListEdges(ctx, connect.NewRequest(&chargeplanev1.ListEdgesRequest{TenantId: "t1"}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range list.Msg.GetEdges() {
		got = append(got, fmt.Sprintf("%s/%s revoked=%v", e.GetTenantId(), e.GetEdgeId(), e.GetRevokedAt() != nil))
	}
	if diff := cmp.Diff([]string{"t1/e1 revoked=true", "t1/e2 revoked=false"}, got); diff != "" {
		t.Errorf("ListEdges(t1) (-want +got):\n%s", diff)
	}
}
