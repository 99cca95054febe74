package fleet_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/chargeplane/chargeplane/cloud/fleet"
)

func TestSiteCRUD(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t)
	in := fleet.Site{ID: "s1", Name: "Depot", Address: "1 Road", Location: &fleet.LatLng{Latitude: 31.2, Longitude: 121.5}, Timezone: "Asia/Shanghai"}
	created, err := f.sites.CreateSite(ctx, "t1", in)
	if err != nil {
		t.Fatal(err)
	}
	want := in
	want.TenantID, want.CreatedAt, want.UpdatedAt = "t1", t0, t0
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("CreateSite (-want +got):\n%s", diff)
	}
	if _, err := f.sites.CreateSite(ctx, "t1", in); !errors.Is(err, fleet.ErrAlreadyExists) {
		t.Errorf("CreateSite twice = %v, want ErrAlreadyExists", err)
	}
	// The same id in another tenant is another site.
	if _, err := f.sites.CreateSite(ctx, "t2", in); err != nil {
		t.Errorf("CreateSite s1 in t2 = %v", err)
	}
	if _, err := f.sites.CreateSite(ctx, "nobody", fleet.Site{ID: "s9", Name: "x", Timezone: "UTC"}); !errors.Is(err, fleet.ErrNotFound) {
		t.Errorf("CreateSite in an unknown tenant = %v, want ErrNotFound", err)
	}

	f.now = t0.Add(time.Hour)
	upd := fleet.Site{ID: "s1", Name: "Depot 2", Timezone: "Europe/Berlin"}
	updated, err := f.sites.UpdateSite(ctx, "t1", upd)
	if err != nil {
		t.Fatal(err)
	}
	want = upd
	want.TenantID, want.CreatedAt, want.UpdatedAt = "t1", t0, f.now
	if diff := cmp.Diff(want, updated); diff != "" {
		t.Errorf("UpdateSite (-want +got):\n%s", diff)
	}
	got, edges, err := f.sites.Site(ctx, "t1", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" || len(edges) != 0 {
		t.Errorf("Site after update: edges %v (-want +got):\n%s", edges, diff)
	}
	if _, err := f.sites.UpdateSite(ctx, "t1", fleet.Site{ID: "s9", Name: "x", Timezone: "UTC"}); !errors.Is(err, fleet.ErrNotFound) {
		t.Errorf("UpdateSite of a missing site = %v, want ErrNotFound", err)
	}
	if err := f.sites.DeleteSite(ctx, "t1", "s1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.sites.Site(ctx, "t1", "s1"); !errors.Is(err, fleet.ErrNotFound) {
		t.Errorf("Site after delete = %v, want ErrNotFound", err)
	}
	if _, _, err := f.sites.Site(ctx, "t2", "s1"); err != nil {
		t.Errorf("t2's s1 after deleting t1's: %v", err)
	}
	if err := f.sites.DeleteSite(ctx, "t1", "s1"); !errors.Is(err, fleet.ErrNotFound) {
		t.Errorf("DeleteSite twice = %v, want ErrNotFound", err)
	}
}

func TestCheckSite(t *testing.T) {
	t.Parallel()
	ok := fleet.Site{ID: "s1", Name: "n", Timezone: "Asia/Shanghai"}
	tests := []struct {
		name      string
		edit      func(*fleet.Site)
		wantField string
	}{
		{"valid", func(*fleet.Site) {}, ""},
		{"no id", func(s *fleet.Site) { s.ID = "" }, "site_id"},
		{"id with slash", func(s *fleet.Site) { s.ID = "a/b" }, "site_id"},
		{"no name", func(s *fleet.Site) { s.Name = " " }, "name"},
		{"latitude out of range", func(s *fleet.Site) { s.Location = &fleet.LatLng{Latitude: 91} }, "latitude"},
		{"longitude out of range", func(s *fleet.Site) { s.Location = &fleet.LatLng{Longitude: -181} }, "longitude"},
		{"no timezone", func(s *fleet.Site) { s.Timezone = "" }, "timezone"},
		{"Local", func(s *fleet.Site) { s.Timezone = "Local" }, "timezone"},
		{"not a zone", func(s *fleet.Site) { s.Timezone = "Mars/Olympus" }, "timezone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.edit(&s)
			err := fleet.CheckSite(s)
			var invalid *fleet.InvalidError
			switch {
			case tt.wantField == "" && err != nil:
				t.Errorf("CheckSite = %v, want nil", err)
			case tt.wantField != "" && (!errors.As(err, &invalid) || invalid.Field != tt.wantField):
				t.Errorf("CheckSite = %v, want an InvalidError for %s", err, tt.wantField)
			}
		})
	}
}

func TestListSitesPages(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t)
	var want []string
	for i := range 5 {
		id := fmt.Sprintf("s%d", i)
		f.mustSite(t, "t1", id)
		want = append(want, id)
	}
	f.mustSite(t, "t2", "s-other")
	var (
		got   []string
		after *fleet.SiteCursor
	)
	for range 5 {
		page, err := f.sites.ListSites(ctx, "t1", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page {
			got = append(got, s.ID)
		}
		if len(page) < 2 {
			break
		}
		after = &fleet.SiteCursor{SiteID: page[len(page)-1].ID}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sites of t1 in pages of 2 (-want +got):\n%s", diff)
	}
}

func TestAttachEdgeMovesChargers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t)
	f.mustSite(t, "t1", "s1")
	f.mustSite(t, "t1", "s2")
	f.mustSite(t, "t2", "s3")
	f.mustAttach(t, "t1", "s1", "e1")
	for _, c := range []string{"c1", "c2"} {
		if _, _, err := f.registry.Register(ctx, "t1", bkv("e1", c)); err != nil {
			t.Fatal(err)
		}
	}
	// Another tenant's site or edge is not found.
	if _, err := f.sites.AttachEdge(ctx, "t1", "s3", "e1"); !errors.Is(err, fleet.ErrNotFound) {
		t.Errorf("attach to t2's site = %v, want ErrNotFound", err)
	}
	if _, err := f.sites.AttachEdge(ctx, "t1", "s1", "e3"); !errors.Is(err, fleet.ErrNotFound) {
		t.Errorf("attach t2's edge = %v, want ErrNotFound", err)
	}
	if err := f.sites.DeleteSite(ctx, "t1", "s1"); !errors.Is(err, fleet.ErrPrecondition) {
		t.Errorf("DeleteSite with an edge attached = %v, want ErrPrecondition", err)
	}

	moved, err := f.sites.AttachEdge(ctx, "t1", "s2", "e1")
	if err != nil || moved != 2 {
		t.Fatalf("AttachEdge(s2, e1) = %d, %v; want 2 chargers moved", moved, err)
	}
	regs, err := f.registry.ListRegistered(ctx, fleet.RegistryFilter{TenantID: "t1", SiteID: "s2"}, nil, 10)
	if err != nil || len(regs) != 2 {
		t.Errorf("chargers at s2 = %v, %v; want both", keys(regs), err)
	}
	_, edges, err := f.sites.Site(ctx, "t1", "s2")
	if err != nil || !cmp.Equal([]string{"e1"}, edges) {
		t.Errorf("edges of s2 = %v, %v; want [e1]", edges, err)
	}
	if err := f.sites.DeleteSite(ctx, "t1", "s1"); err != nil {
		t.Errorf("DeleteSite of the site left empty = %v", err)
	}

	moved, err = f.sites.AttachEdge(ctx, "t1", "", "e1")
	if err != nil || moved != 2 {
		t.Fatalf("detach e1 = %d, %v; want 2 chargers moved", moved, err)
	}
	c, err := f.registry.Charger(ctx, "t1", "e1", "c1")
	if err != nil || c.Registration.SiteID != "" {
		t.Errorf("charger after detaching its edge: site %q, %v; want none", c.Registration.SiteID, err)
	}
	if err := f.sites.DeleteSite(ctx, "t1", "s2"); err != nil {
		t.Errorf("DeleteSite after detaching = %v", err)
	}
}
