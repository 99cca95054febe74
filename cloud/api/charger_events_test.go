package api_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/chargeplane/chargeplane/cloud/access"
	"github.com/chargeplane/chargeplane/cloud/cloudtest"
	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
	"github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1/chargeplanev1connect"
)

// TestListChargerEvents publishes a charger's events over MQTT and reads
// its operation log back: newest first, paged by keyset, filtered by kind
// and time, with summaries and the events themselves, scoped to the tenant.
func TestListChargerEvents(t *testing.T) {
	t.Parallel()
	c := cloudtest.Start(t)
	ctx := t.Context()
	base := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	at := func(seq uint64) time.Time { return base.Add(time.Duration(seq) * time.Minute) }

	e1 := c.Edge("t1", "e1")
	ev := func(seq uint64, charger string, conn uint32, kind any) *chargeplanev1.Event {
		e := e1.Event(seq, charger, at(seq), nil)
		e.Connector = conn
		switch k := kind.(type) {
		case *chargeplanev1.ConnectorStatusChanged:
			e.Kind = &chargeplanev1.Event_ConnectorStatus{ConnectorStatus: k}
		case *chargeplanev1.Alarm:
			e.Kind = &chargeplanev1.Event_Alarm{Alarm: k}
		case *chargeplanev1.SessionEnded:
			e.Kind = &chargeplanev1.Event_SessionEnded{SessionEnded: k}
		default:
			return e1.Event(seq, charger, at(seq), kind)
		}
		return e
	}
	e1.Publish(
		ev(1, "c1", 0, &chargeplanev1.ChargerConnected{RemoteAddr: "10.0.0.7:5000"}),
		ev(2, "c1", 1, &chargeplanev1.ConnectorStatusChanged{Status: chargeplanev1.ConnectorStatus_CONNECTOR_STATUS_CHARGING, RawStatus: "0x98", SessionRef: "S1"}),
		ev(3, "c1", 0, &chargeplanev1.Heartbeat{Firmware: "v2", Signal: 20}),
		ev(4, "c2", 0, &chargeplanev1.Heartbeat{}), // another charger of the edge
		ev(5, "c1", 1, &chargeplanev1.Alarm{Code: "over_temperature", Severity: "critical", Message: "82 C"}),
		ev(6, "c1", 1, &chargeplanev1.SessionEnded{SessionRef: "S1", Reason: chargeplanev1.EndReason_END_REASON_LOCAL, EnergyMwh: 1_234_567, AmountFen: 500}),
	)
	e2 := c.Edge("t2", "e2")
	e2.Publish(e2.Event(1, "c9", at(1), &chargeplanev1.Heartbeat{}))
	c.Eventually("7 events stored", func() bool { return c.Metric("chargeplane_ingest_events_total", "result", "stored") == 7 })

	op := c.ChargerClient(c.ClientOptions(c.CreateTenantUser(t, "t1", access.RoleViewer)))
	list := func(req *chargeplanev1.ListChargerEventsRequest) (*chargeplanev1.ListChargerEventsResponse, error) {
		res, err := op.ListChargerEvents(ctx, connect.NewRequest(req))
		if err != nil {
			return nil, err
		}
		return res.Msg, nil
	}
	type row struct {
		Seq     uint64
		Kind    string
		Conn    uint32
		At      time.Time
		Summary string
	}
	rows := func(res *chargeplanev1.ListChargerEventsResponse) []row {
		var out []row
		for _, e := range res.GetEvents() {
			out = append(out, row{e.GetSeq(), e.GetKind(), e.GetConnector(), e.GetOccurredAt().AsTime(), e.GetSummary()})
			if e.GetEvent().GetSeq() != e.GetSeq() || e.GetReceivedAt() == nil {
				t.Errorf("seq %d: event %v, received_at %v; want the stored event and when it was received", e.GetSeq(), e.GetEvent(), e.GetReceivedAt())
			}
		}
		return out
	}
	all := []row{
		{6, "session_ended", 1, at(6), "connector 1: session S1 ended (local): 1.234 kWh, 5.00 CNY"},
		{5, "alarm", 1, at(5), "connector 1: alarm critical over_temperature: 82 C"},
		{3, "heartbeat", 0, at(3), "heartbeat (firmware v2, signal 20)"},
		{2, "connector_status", 1, at(2), "connector 1: charging (raw 0x98) session S1"},
		{1, "charger_connected", 0, at(1), "connected from 10.0.0.7:5000"},
	}

	// Pages of two, newest first, until no token.
	var got []row
	req := &chargeplanev1.ListChargerEventsRequest{EdgeId: "e1", ChargerId: "c1", PageSize: 2}
	for page := 0; ; page++ {
		res, err := list(req)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		got = append(got, rows(res)...)
		if res.GetNextPageToken() == "" {
			break
		}
		if page > 3 {
			t.Fatal("paging does not end")
		}
		req.PageToken = res.GetNextPageToken()
	}
	if diff := cmp.Diff(all, got); diff != "" {
		t.Errorf("paged log (-want +got):\n%s", diff)
	}

	res, err := list(&chargeplanev1.ListChargerEventsRequest{EdgeId: "e1", ChargerId: "c1", Kinds: []string{"alarm", "charger_connected"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]row{all[1], all[4]}, rows(res)); diff != "" {
		t.Errorf("kinds alarm, charger_connected (-want +got):\n%s", diff)
	}
	if ended := res.GetEvents(); len(ended) > 0 && ended[0].GetEvent().GetAlarm().GetCode() != "over_temperature" {
		t.Errorf("alarm event = %v, want the stored alarm", ended[0].GetEvent())
	}
	res, err = list(&chargeplanev1.ListChargerEventsRequest{EdgeId: "e1", ChargerId: "c1",
		From: timestamppb.New(at(2)), To: timestamppb.New(at(5))})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]row{all[2], all[3]}, rows(res)); diff != "" {
		t.Errorf("from seq 2's time to seq 5's (-want +got):\n%s", diff)
	}

	// Another tenant's charger, and one that does not exist, are not found.
	_, err = list(&chargeplanev1.ListChargerEventsRequest{EdgeId: "e2", ChargerId: "c9"})
	wantCode(t, "t2's charger", err, connect.CodeNotFound, `charger "c9" on edge "e2" of tenant "t1": not found`)
	_, err = list(&chargeplanev1.ListChargerEventsRequest{EdgeId: "e1", ChargerId: "nope"})
	wantCode(t, "unknown charger", err, connect.CodeNotFound, `charger "nope" on edge "e1" of tenant "t1": not found`)
	_, err = list(&chargeplanev1.ListChargerEventsRequest{TenantId: "t2", EdgeId: "e2", ChargerId: "c9"})
	wantCode(t, "naming t2", err, connect.CodePermissionDenied, "")

	for name, bad := range map[string]*chargeplanev1.ListChargerEventsRequest{
		"kinds: unknown kind \"bogus\"": {EdgeId: "e1", ChargerId: "c1", Kinds: []string{"bogus"}},
		"to: must be after from":        {EdgeId: "e1", ChargerId: "c1", From: timestamppb.New(at(3)), To: timestamppb.New(at(3))},
		"charger_id: required":          {EdgeId: "e1"},
		"edge_id: required":             {ChargerId: "c1"},
		"page_token: malformed: pass next_page_token from the previous response unchanged": {EdgeId: "e1", ChargerId: "c1", PageToken: "WyJ4Il0"},
	} {
		_, err := list(bad)
		wantCode(t, name, err, connect.CodeInvalidArgument, name)
	}

	// JSON clients (the console, curl) get the event in its protojson form.
	body := `{"edgeId":"e1","chargerId":"c1","kinds":["session_ended"]}`
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+chargeplanev1connect.ChargerServiceListChargerEventsProcedure, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Authorization", "Bearer "+c.CreateTenantUser(t, "t1", access.RoleOperator))
	hres, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(hres.Body)
	_ = hres.Body.Close()
	for _, want := range []string{`"summary":"connector 1: session S1 ended (local): 1.234 kWh, 5.00 CNY"`,
		`"sessionEnded":{"sessionRef":"S1"`, `"energyMwh":"1234567"`} {
		if hres.StatusCode != http.StatusOK || !strings.Contains(string(raw), want) {
			t.Errorf("JSON call = %d %s; want it to contain %s", hres.StatusCode, raw, want)
		}
	}
}
