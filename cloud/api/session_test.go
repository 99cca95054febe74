package api_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/cloud/cloudtest"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

type seeded struct {
	edge, charger, card string
	seq                 uint64
	start               time.Time
}

func (s seeded) key() string { return fmt.Sprintf("%s/%d", s.edge, s.seq) }

// TestListSessions uploads sessions of two edges of t1 (and one of t2, which
// must never show) and checks every filter against the same filter applied
// here, at several page sizes.
func TestListSessions(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	creds := map[string]string{"e1": c.ProvisionEdge(t, "t1", "e1"), "e2": c.ProvisionEdge(t, "t1", "e2"), "x1": c.ProvisionEdge(t, "t2", "x1")}

	var all []seeded
	batches := map[string][]*chargeplanev1.Event{}
	for i := range 40 {
		s := seeded{
			edge:    []string{"e1", "e2"}[i%2],
			charger: []string{"c1", "c2", "c3"}[i%3],
			card:    []string{"", "aa01", "BB02", "cc03"}[i%4],
			seq:     uint64(100 + i),
			// Pairs of sessions share a start time: ties go by edge, then seq.
			start: t0.Add(time.Duration(i/2) * time.Hour),
		}
		all = append(all, s)
		ev := ended(s.seq, s.card, 10)
		ev.ChargerId = s.charger
		ev.GetSessionEnded().StartedAt = timestamppb.New(s.start)
		ev.GetSessionEnded().SessionRef = s.key()
		batches[s.edge] = append(batches[s.edge], ev)
	}
	batches["x1"] = []*chargeplanev1.Event{ended(1, "aa01", 10)}
	for edge, events := range batches {
		res, err := c.SyncClient(creds[edge]).PushSessions(t.Context(), connect.NewRequest(&chargeplanev1.PushSessionsRequest{EdgeId: edge, Sessions: events}))
		if err != nil || len(res.Msg.GetStoredSeqs()) != len(events) {
			t.Fatalf("push of %s = %v, %v", edge, res, err)
		}
	}
	// Newest first; ties by edge then seq, both descending.
	slices.SortFunc(all, func(a, b seeded) int {
		if c := b.start.Compare(a.start); c != 0 {
			return c
		}
		if c := strings.Compare(b.edge, a.edge); c != 0 {
			return c
		}
		return int(b.seq) - int(a.seq)
	})
	expect := func(keep func(seeded) bool) []string {
		var out []string
		for _, s := range all {
			if keep(s) {
				out = append(out, s.key())
			}
		}
		return out
	}
	from, to := t0.Add(5*time.Hour), t0.Add(12*time.Hour)
	tests := []struct {
		name string
		req  *chargeplanev1.ListSessionsRequest
		want []string
	}{
		{"tenant", &chargeplanev1.ListSessionsRequest{TenantId: "t1"}, expect(func(seeded) bool { return true })},
		{"edge", &chargeplanev1.ListSessionsRequest{TenantId: "t1", EdgeId: "e2"}, expect(func(s seeded) bool { return s.edge == "e2" })},
		{"charger", &chargeplanev1.ListSessionsRequest{TenantId: "t1", ChargerId: "c2"}, expect(func(s seeded) bool { return s.charger == "c2" })},
		{"card in another case", &chargeplanev1.ListSessionsRequest{TenantId: "t1", CardId: "bb02"}, expect(func(s seeded) bool { return s.card == "BB02" })},
		{"edge and charger", &chargeplanev1.ListSessionsRequest{TenantId: "t1", EdgeId: "e1", ChargerId: "c3"},
			expect(func(s seeded) bool { return s.edge == "e1" && s.charger == "c3" })},
		{"time range", &chargeplanev1.ListSessionsRequest{TenantId: "t1", From: timestamppb.New(from), To: timestamppb.New(to)},
			expect(func(s seeded) bool { return !s.start.Before(from) && s.start.Before(to) })},
		{"card and range", &chargeplanev1.ListSessionsRequest{TenantId: "t1", CardId: "AA01", From: timestamppb.New(from)},
			expect(func(s seeded) bool { return s.card == "aa01" && !s.start.Before(from) })},
		{"other tenant's edge", &chargeplanev1.ListSessionsRequest{TenantId: "t1", EdgeId: "x1"}, nil},
		{"nothing matches", &chargeplanev1.ListSessionsRequest{TenantId: "t9"}, nil},
	}
	client := c.SessionClient()
	for _, tt := range tests {
		for _, size := range []int32{1, 3, 0} {
			t.Run(fmt.Sprintf("%s/page %d", tt.name, size), func(t *testing.T) {
				var got []string
				req := tt.req
				req.PageSize = size
				req.PageToken = ""
				for pages := 1; ; pages++ {
					res, err := client.ListSessions(t.Context(), connect.NewRequest(req))
					if err != nil {
						t.Fatalf("ListSessions: %v", err)
					}
					if size > 0 && len(res.Msg.GetSessions()) > int(size) {
						t.Fatalf("page of %d sessions, asked for %d", len(res.Msg.GetSessions()), size)
					}
					for _, s := range res.Msg.GetSessions() {
						got = append(got, s.GetSessionRef())
						if s.GetTenantId() != "t1" || s.GetEdgeId()+"/"+fmt.Sprint(s.GetSeq()) != s.GetSessionRef() {
							t.Errorf("session %v: tenant or key does not match its ref", s)
						}
					}
					if res.Msg.GetNextPageToken() == "" {
						break
					}
					if pages > 100 {
						t.Fatal("paging does not end")
					}
					req.PageToken = res.Msg.GetNextPageToken()
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("sessions (-want +got):\n%s", diff)
				}
			})
		}
	}

	t.Run("fields", func(t *testing.T) {
		res, err := client.ListSessions(t.Context(), connect.NewRequest(&chargeplanev1.ListSessionsRequest{TenantId: "t2"}))
		if err != nil || len(res.Msg.GetSessions()) != 1 {
			t.Fatalf("ListSessions(t2) = %v, %v", res, err)
		}
		s := res.Msg.GetSessions()[0]
		want := &chargeplanev1.Session{
			TenantId: "t2", EdgeId: "x1", Seq: 1, ChargerId: "c1", Connector: 1, SessionRef: "ref1",
			StartedAt: timestamppb.New(t0.Add(time.Minute)), EndedAt: timestamppb.New(t0.Add(time.Minute + 30*time.Second)),
			EnergyMwh: 1000, DurationS: 30, Reason: chargeplanev1.EndReason_END_REASON_LIMIT_REACHED,
			AmountFen: 10, ElectricityFen: 5, ServiceFen: 5, CardId: "aa01", AuthMethod: "card", TariffId: "flat",
			ReceivedAt: s.GetReceivedAt(),
		}
		if diff := cmp.Diff(want, s, protocmp.Transform()); diff != "" {
			t.Errorf("session (-want +got):\n%s", diff)
		}
		if s.GetReceivedAt().AsTime().Before(time.Now().Add(-time.Minute)) {
			t.Errorf("received_at = %v, want about now", s.GetReceivedAt().AsTime())
		}
	})

	bad := []struct {
		req  *chargeplanev1.ListSessionsRequest
		want string
	}{
		{&chargeplanev1.ListSessionsRequest{}, "tenant_id: required for a platform admin"},
		{&chargeplanev1.ListSessionsRequest{TenantId: "t1", PageSize: 1001}, "page_size: must be between 1 and 1000 (0 means 100), got 1001"},
		{&chargeplanev1.ListSessionsRequest{TenantId: "t1", PageToken: "bm9wZQ"}, "page_token: malformed: pass next_page_token from the previous response unchanged"},
		{&chargeplanev1.ListSessionsRequest{TenantId: "t1", From: timestamppb.New(to), To: timestamppb.New(from)}, "to: must be after from"},
		{&chargeplanev1.ListSessionsRequest{TenantId: "t1", From: &timestamppb.Timestamp{Nanos: -1}}, "from: not a valid timestamp (years 1 to 9999, nanos below 1e9)"},
	}
	for _, b := range bad {
		_, err := client.ListSessions(t.Context(), connect.NewRequest(b.req))
		wantCode(t, fmt.Sprintf("ListSessions(%v)", b.req), err, connect.CodeInvalidArgument, b.want)
	}
}
