package fleet_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/chargeplane/chargeplane/cloud/fleet"
)

const importHeader = "edge_id,charger_id,site_id,protocol,model,vendor,firmware,bkv_gateway_id,bkv_socket_macs,ykc_pile_code,ocpp_identity,connectors\n"

func TestParseImportReportsEveryProblem(t *testing.T) {
	t.Parallel()
	file := importHeader +
		"e1,c1,,bkv,G1,V,1.0,82200520004869,aabbccddeeff;AABBCCDDEE00,,,1:socket:1000;2:socket:1000\n" + // 2: valid
		"e1,c2,,bkv,,,,8220052000486,,,,\n" + // 3: short gateway id
		"e1,c3,,ykc,,,,,,1234,,1:dc:x\n" + // 4: pile code, power
		"e1,c1,,ap3000,,,,,,,,\n" + // 5: repeats line 2
		"e1,c4,,ocpp16,,,,,,,a/b,0:ac:7000\n" + // 6: identity, connector number
		"e1,c5,,bkv\n" + // 7: short row
		"\"e1\",c6,,\"ap\n3000\",,,,,,,,\n" + // 8-9: a quoted field across lines
		"e1,c7,,ocpp16,,,,,,,cp7,1:ac:7000;2:type2:22000\n" // 10: connector kind
	rows, errs, err := fleet.ParseImport([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	want := []fleet.RowError{
		{Line: 3, Field: "bkv_gateway_id"},
		{Line: 4, Field: "ykc_pile_code"},
		{Line: 4, Field: "connectors"},
		{Line: 5, Field: "charger_id"},
		{Line: 6, Field: "ocpp_identity"},
		{Line: 6, Field: "connectors"},
		{Line: 7, Field: ""},
		{Line: 8, Field: "protocol"},
		{Line: 10, Field: "connectors"},
	}
	var got []fleet.RowError
	for _, e := range errs {
		if e.Message == "" {
			t.Errorf("line %d field %s: no message", e.Line, e.Field)
		}
		got = append(got, fleet.RowError{Line: e.Line, Field: e.Field})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s\nall: %+v", diff, errs)
	}
	if len(rows) != 1 || rows[0].Line != 2 {
		t.Fatalf("valid rows = %+v, want line 2 only", rows)
	}
	wantReg := fleet.Registration{
		EdgeID: "e1", ChargerID: "c1", Protocol: "bkv", Model: "G1", Vendor: "V", Firmware: "1.0",
		VendorIDs:  fleet.VendorIDs{BKVGatewayID: "82200520004869", BKVSocketMACs: []string{"aabbccddeeff", "aabbccddee00"}},
		Connectors: []fleet.Connector{{Number: 1, Kind: "socket", MaxPowerW: 1000}, {Number: 2, Kind: "socket", MaxPowerW: 1000}},
	}
	if diff := cmp.Diff(wantReg, rows[0].Registration); diff != "" {
		t.Errorf("line 2 (-want +got):\n%s", diff)
	}
}

func TestParseImportHeaderAndSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		file       string
		wantErrs   []fleet.RowError // without messages
		wantFileOK bool
	}{
		{"header only", "edge_id,charger_id,protocol\n", nil, false},
		{"empty", "", nil, false},
		{"too many rows", "edge_id,charger_id,protocol\n" + strings.Repeat("e1,c,ap3000\n", fleet.MaxImportRows+1), nil, false},
		{"missing and unknown columns", "edge_id,protocol,colour\ne1,bkv,red\n",
			[]fleet.RowError{{Line: 1, Field: "colour"}, {Line: 1, Field: "charger_id"}}, true},
		{"column twice", "edge_id,charger_id,protocol,EDGE_ID\ne1,c1,ap3000,e1\n", []fleet.RowError{{Line: 1, Field: "edge_id"}}, true},
		{"byte order mark and minimal columns", "\ufeffedge_id,charger_id,protocol\r\ne1,c1,AP3000\r\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs, err := fleet.ParseImport([]byte(tt.file))
			var invalid *fleet.InvalidError
			if !tt.wantFileOK {
				if !errors.As(err, &invalid) || invalid.Field != "csv" {
					t.Errorf("ParseImport = %v, want an InvalidError for csv", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []fleet.RowError
			for _, e := range errs {
				got = append(got, fleet.RowError{Line: e.Line, Field: e.Field})
			}
			if diff := cmp.Diff(tt.wantErrs, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestImportAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t)
	f.mustSite(t, "t1", "s1")
	f.mustSite(t, "t1", "s2")
	f.mustAttach(t, "t1", "s1", "e1")
	f.report(t, "t1", "e2", "ykc", "12345678901234") // pending, then imported

	good := importHeader +
		"e1,c1,,bkv,G1,V,1.0,82200520004869,aabbccddeeff,,,1:socket:1000\n" +
		"e1,c2,s1,ap3000,A1,V,,,,,,1:socket:0;2:socket:0\n" +
		"e2,12345678901234,,ykc,Y1,V,,,,12345678901234,,1:dc:60000;2:dc:60000\n"
	bad := good +
		"e3,c9,,ap3000,,,,,,,,\n" + // 5: t2's edge
		"e1,c3,s2,ap3000,,,,,,,,\n" + // 6: not e1's site
		"e2,c4,s1,ap3000,,,,,,,,\n" + // 7: e2 has no site
		"e1,c5,,nope,,,,,,,,\n" // 8: protocol
	res, err := f.registry.Import(ctx, "t1", []byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	var got []fleet.RowError
	for _, e := range res.Errors {
		got = append(got, fleet.RowError{Line: e.Line, Field: e.Field})
	}
	want := []fleet.RowError{{Line: 5, Field: "edge_id"}, {Line: 6, Field: "site_id"}, {Line: 7, Field: "site_id"}, {Line: 8, Field: "protocol"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if res.Created+res.Updated+res.Unchanged != 0 {
		t.Errorf("counts %+v with errors, want 0", res)
	}
	regs, err := f.registry.ListRegistered(ctx, fleet.RegistryFilter{TenantID: "t1"}, nil, 100)
	if err != nil || len(regs) != 0 {
		t.Fatalf("registered after a refused import: %v, %v; want none", keys(regs), err)
	}

	res, err = f.registry.Import(ctx, "t1", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fleet.ImportResult{Created: 3}, res); diff != "" {
		t.Errorf("first import (-want +got):\n%s", diff)
	}
	res, err = f.registry.Import(ctx, "t1", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fleet.ImportResult{Unchanged: 3}, res); diff != "" {
		t.Errorf("same file again (-want +got):\n%s", diff)
	}
	changed := strings.Replace(good, "1:socket:0;2:socket:0", "1:socket:0", 1)
	res, err = f.registry.Import(ctx, "t1", []byte(changed))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fleet.ImportResult{Updated: 1, Unchanged: 2}, res); diff != "" {
		t.Errorf("one row changed (-want +got):\n%s", diff)
	}
	c2, err := f.registry.Charger(ctx, "t1", "e1", "c2")
	if err != nil || c2.Registration.SiteID != "s1" || len(c2.Registration.Connectors) != 1 {
		t.Errorf("c2 after the change = %+v, %v; want at s1 with one connector", c2.Registration, err)
	}
	pending, err := f.registry.ListPending(ctx, "t1", "", nil, 10)
	if err != nil || len(pending) != 0 {
		t.Errorf("pending after importing it = %v, %v; want none", keys(pending), err)
	}
	ykc, err := f.registry.Charger(ctx, "t1", "e2", "12345678901234")
	if err != nil || ykc.State != fleet.StateAccepted || ykc.Reported == nil {
		t.Errorf("imported pending charger = %+v, %v; want accepted with what e2 reported", ykc, err)
	}
}

func TestImportLargestFile(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	f := newFixture(t)
	var b strings.Builder
	b.WriteString("edge_id,charger_id,protocol,connectors\n")
	for i := range fleet.MaxImportRows {
		fmt.Fprintf(&b, "e%d,c%05d,ap3000,1:socket:1000;2:socket:1000\n", 1+i%2, i)
	}
	res, err := f.registry.Import(ctx, "t1", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fleet.ImportResult{Created: fleet.MaxImportRows}, res); diff != "" {
		t.Errorf("import of %d rows (-want +got):\n%s", fleet.MaxImportRows, diff)
	}
	var connectors int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM charger_connectors`).Scan(&connectors); err != nil {
		t.Fatal(err)
	}
	if connectors != 2*fleet.MaxImportRows {
		t.Errorf("%d connectors stored, want %d", connectors, 2*fleet.MaxImportRows)
	}
}
