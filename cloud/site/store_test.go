package site_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chargeplane/chargeplane/cloud/postgres"
	"github.com/chargeplane/chargeplane/cloud/postgres/pgtest"
	"github.com/chargeplane/chargeplane/cloud/site"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) //nolint:gochecknoglobals // test fixture.

func newStore(t *testing.T) (*site.Store, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.MustPool(t, pgtest.MustDB(t))
	return site.New(pool, func() time.Time { return t0 }), pool
}

func mustCreate(t *testing.T, s *site.Store, tenant, edge string) (site.Edge, string) {
	t.Helper()
	e, cred, err := s.CreateEdge(t.Context(), tenant, edge, "")
	if err != nil {
		t.Fatalf("CreateEdge(%s, %s): %v", tenant, edge, err)
	}
	return e, cred
}

func TestCreateAndAuthenticate(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	e, cred, err := s.CreateEdge(ctx, "t1", "e1", "Depot")
	if err != nil {
		t.Fatal(err)
	}
	want := site.Edge{ID: "e1", TenantID: "t1", Name: "Depot", CreatedAt: t0, CredentialCreatedAt: t0, ConfigVersion: e.ConfigVersion}
	if diff := cmp.Diff(want, e); diff != "" || e.ConfigVersion == 0 {
		t.Errorf("created edge (-want +got):\n%s", diff)
	}
	got, err := s.Authenticate(ctx, cred)
	if err != nil || got.ID != "e1" || got.TenantID != "t1" {
		t.Errorf("Authenticate(own credential) = %+v, %v", got, err)
	}
	if _, _, err := s.CreateEdge(ctx, "t2", "e1", ""); !errors.Is(err, site.ErrAlreadyExists) {
		t.Errorf("CreateEdge of a taken id = %v, want ErrAlreadyExists", err)
	}
	var invalid *site.InvalidError
	if _, _, err := s.CreateEdge(ctx, "t1", "a#b", ""); !errors.As(err, &invalid) || invalid.Field != "edge_id" {
		t.Errorf("CreateEdge with a wildcard = %v, want an edge_id InvalidError", err)
	}

	rotated, cred2, err := s.RotateCredential(ctx, "", "e1")
	if err != nil || cred2 == cred || rotated.ID != "e1" {
		t.Fatalf("RotateCredential = %v, %v", rotated, err)
	}
	if _, err := s.Authenticate(ctx, cred); !errors.Is(err, site.ErrInvalidCredential) {
		t.Errorf("Authenticate(old credential) = %v, want ErrInvalidCredential", err)
	}
	if _, err := s.Authenticate(ctx, cred2); err != nil {
		t.Errorf("Authenticate(new credential) = %v", err)
	}
	revoked, err := s.RevokeEdge(ctx, "t1", "e1")
	if err != nil || !revoked.Revoked() || !revoked.RevokedAt.Equal(t0) {
		t.Errorf("RevokeEdge = %+v, %v", revoked, err)
	}
	if _, err := s.Authenticate(ctx, cred2); !errors.Is(err, site.ErrRevoked) {
		t.Errorf("Authenticate(revoked) = %v, want ErrRevoked", err)
	}
	if _, err := s.RevokeEdge(ctx, "t2", "e1"); !errors.Is(err, site.ErrNotFound) {
		t.Errorf("RevokeEdge in another tenant = %v, want ErrNotFound", err)
	}
	if _, err := s.Edge(ctx, "", "nope"); !errors.Is(err, site.ErrNotFound) {
		t.Errorf("Edge(nope) = %v, want ErrNotFound", err)
	}
}

func TestVersionsAndChanges(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	ctx := t.Context()
	e1, _ := mustCreate(t, s, "t1", "e1")
	mustCreate(t, s, "t1", "e2")
	x1, _ := mustCreate(t, s, "t2", "x1")
	if _, err := s.RevokeEdge(ctx, "", "e2"); err != nil {
		t.Fatal(err)
	}
	version := e1.ConfigVersion
	step := func(name string, ch site.Change, err error, wantEdges ...string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if ch.Version <= version {
			t.Errorf("%s: version %d, want above %d", name, ch.Version, version)
		}
		var edges []string
		for _, e := range ch.Edges {
			edges = append(edges, e.TenantID+"/"+e.EdgeID)
		}
		if diff := cmp.Diff(wantEdges, edges); diff != "" {
			t.Errorf("%s: hinted edges (-want +got):\n%s", name, diff)
		}
		cfg, changed, err := s.Config(ctx, "t1", "e1", version)
		if err != nil || !changed || cfg.Version != ch.Version {
			t.Errorf("%s: Config = version %d changed %v, %v; want version %d", name, cfg.Version, changed, err, ch.Version)
		}
		version = ch.Version
	}

	ch, err := s.PutCards(ctx, "t1", []site.Card{{ID: "AA", BalanceFen: 10}, {ID: "bb", BalanceFen: 20}})
	step("put cards", ch, err, "t1/e1") // e2 is revoked
	_, ch, err = s.SetTariff(ctx, "", "e1", &site.Tariff{ID: "x", Periods: []site.TariffPeriod{{ElectricityMfenPerKWh: 1}}})
	step("tariff", ch, err, "t1/e1")
	ch, err = s.SetUnknownCardPolicy(ctx, "t1", "e1", site.PolicyAccept)
	step("policy", ch, err, "t1/e1")
	card, ch, err := s.TopUpCard(ctx, "t1", "Aa", 5)
	step("top-up", ch, err, "t1/e1")
	if card.ID != "aa" || card.BalanceFen != 15 || card.Version != ch.Version {
		t.Errorf("topped-up card = %+v", card)
	}
	// Deleting the card carrying the newest version must not lower it.
	n, ch, err := s.DeleteCards(ctx, "t1", []string{"AA", "aa", "zz"})
	step("delete", ch, err, "t1/e1")
	if n != 1 {
		t.Errorf("deleted %d cards, want 1", n)
	}
	var debited []string
	err = postgres.InTx(ctx, pool, func(tx pgx.Tx) error {
		debited, ch, err = site.DebitCards(ctx, tx, "t1", []site.Debit{{CardID: "bb", AmountFen: 7}, {CardID: "bb", AmountFen: 3}, {CardID: "none", AmountFen: 1}})
		return err
	})
	step("debit", ch, err, "t1/e1")
	if diff := cmp.Diff([]string{"bb"}, debited); diff != "" {
		t.Errorf("debited cards (-want +got):\n%s", diff)
	}

	cfg, changed, err := s.Config(ctx, "", "e1", 0)
	if err != nil || !changed {
		t.Fatal(err)
	}
	want := site.Config{
		Version: version, UnknownCards: site.PolicyAccept,
		Tariff: &site.Tariff{ID: "x", Periods: []site.TariffPeriod{{ElectricityMfenPerKWh: 1}}},
		Cards:  []site.Card{{ID: "bb", BalanceFen: 10, Version: version}},
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if _, changed, err := s.Config(ctx, "", "e1", version); err != nil || changed {
		t.Errorf("Config at the current version: changed %v, %v; want unchanged", changed, err)
	}
	// Nothing debited, nothing deleted: no version taken.
	err = postgres.InTx(ctx, pool, func(tx pgx.Tx) error {
		_, ch, err = site.DebitCards(ctx, tx, "t1", []site.Debit{{CardID: "none", AmountFen: 1}})
		return err
	})
	if err != nil || ch.Version != 0 {
		t.Errorf("debit of unknown cards = %+v, %v; want no change", ch, err)
	}
	if _, ch, err := s.DeleteCards(ctx, "t1", []string{"none"}); err != nil || ch.Version != 0 {
		t.Errorf("delete of unknown cards = %+v, %v; want no change", ch, err)
	}
	if after, err := s.Edge(ctx, "t2", "x1"); err != nil || after.ConfigVersion != x1.ConfigVersion {
		t.Errorf("t2's edge version %d → %d (%v): it moved with t1's changes", x1.ConfigVersion, after.ConfigVersion, err)
	}
}

// TestVersionsFollowCommitOrder changes two cards of one tenant from
// several goroutines while a reader pulls the config over and over. Each
// version must always come with the same content: a version taken by one
// transaction but committed after a later version's would show two contents
// under one number, and an edge holding that number would miss a change.
func TestVersionsFollowCommitOrder(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := t.Context()
	mustCreate(t, s, "t1", "e1")
	if _, err := s.PutCards(ctx, "t1", []site.Card{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}}); err != nil {
		t.Fatal(err)
	}
	const writers, topUps = 4, 40
	var (
		wg   sync.WaitGroup
		done = make(chan struct{})
	)
	for w := range writers {
		wg.Go(func() {
			for range topUps {
				if _, _, err := s.TopUpCard(ctx, "t1", []string{"a", "b", "c", "d"}[w], 1); err != nil {
					t.Errorf("TopUpCard: %v", err)
					return
				}
			}
		})
	}
	seen := map[uint64]string{}
	reads := 0
	go func() { wg.Wait(); close(done) }()
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		cfg, _, err := s.Config(ctx, "t1", "e1", 0)
		if err != nil {
			t.Fatal(err)
		}
		reads++
		content := fmt.Sprint(cfg.Cards)
		if prev, ok := seen[cfg.Version]; ok && prev != content {
			t.Fatalf("version %d seen with two contents:\n%s\n%s", cfg.Version, prev, content)
		}
		seen[cfg.Version] = content
	}
	cfg, _, err := s.Config(ctx, "t1", "e1", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cfg.Cards {
		if c.BalanceFen != topUps {
			t.Errorf("card %s balance %d, want %d", c.ID, c.BalanceFen, topUps)
		}
	}
	t.Logf("%d reads saw %d versions", reads, len(seen))
}
