package control

import (
	"math"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

func TestParseYuan(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  string
	}{
		{"0.6523", 65230, ""},
		{"1", 100000, ""},
		{"0.4", 40000, ""},
		{"0.00001", 1, ""},
		{".5", 50000, ""},
		{"12.34567", 1234567, ""},
		{"1000", 100000000, ""},
		{"0.123456", 0, "at most 5 decimals"},
		{"1001", 0, "above 1000"},
		{"-0.1", 0, "non-negative"},
		{"1e3", 0, "non-negative"},
		{"", 0, "decimal number"},
		{"1.", 0, "digits expected"},
	} {
		got, err := ParseYuan(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ParseYuan(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseYuan(%q) = %d, %v; want an error saying %q", tc.in, got, err, tc.err)
		}
	}
	for _, v := range []int64{65230, 100000, 1, 0, 40000} {
		back, err := ParseYuan(FormatYuan(v))
		if err != nil || back != v {
			t.Errorf("FormatYuan(%d) = %q parses back to %d, %v", v, FormatYuan(v), back, err)
		}
	}
	if got := FormatYuan(65230); got != "0.6523" {
		t.Errorf("FormatYuan(65230) = %q, want 0.6523", got)
	}
}

// TestTariffConfigYAML: prices are read from the YAML text exactly (an
// unquoted 0.6523 never goes through a float), times as HH:MM.
func TestTariffConfigYAML(t *testing.T) {
	const doc = `
id: peak-valley
periods:
  - {start: "00:00", electricity_yuan_per_kwh: 0.3512, service_yuan_per_kwh: "0.4"}
  - {start: "08:00", electricity_yuan_per_kwh: 0.6523, service_yuan_per_kwh: 0.4}
  - {start: "22:30", electricity_yuan_per_kwh: 0.3512, service_yuan_per_kwh: 0.4}
`
	var c TariffConfig
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	got := c.Proto()
	want := []*chargeplanev1.TariffPeriod{
		{StartMinute: 0, ElectricityMfenPerKwh: 35120, ServiceMfenPerKwh: 40000},
		{StartMinute: 480, ElectricityMfenPerKwh: 65230, ServiceMfenPerKwh: 40000},
		{StartMinute: 1350, ElectricityMfenPerKwh: 35120, ServiceMfenPerKwh: 40000},
	}
	if got.GetId() != "peak-valley" || len(got.GetPeriods()) != 3 {
		t.Fatalf("tariff %v", got)
	}
	for i, p := range got.GetPeriods() {
		if p.String() != want[i].String() {
			t.Errorf("period %d = %v, want %v", i, p, want[i])
		}
	}
	out, err := yaml.Marshal(c)
	if err != nil || !strings.Contains(string(out), "electricity_yuan_per_kwh: \"0.6523\"") || !strings.Contains(string(out), "start: \"22:30\"") {
		t.Errorf("marshalled back:\n%s (%v)", out, err)
	}
	for _, bad := range []string{"periods: [{start: \"24:00\"}]", "periods: [{start: \"8:0\"}]", "periods: [{start: \"00:00\", electricity_yuan_per_kwh: 0.123456}]"} {
		var c TariffConfig
		if err := yaml.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("%s decoded without error", bad)
		}
	}
}

func TestTariffConfigValidate(t *testing.T) {
	if err := DefaultTariffConfig().Validate(); err != nil {
		t.Fatalf("default: %v", err)
	}
	err := TariffConfig{Periods: []TariffPeriodConfig{
		{Start: 60, Electricity: -1},
		{Start: 30, Service: maxPrice + 1},
		{Start: 1440},
	}}.Validate()
	for _, want := range []string{
		"tariff.id", "tariff.periods[0].start", "tariff.periods[0].electricity_yuan_per_kwh",
		"tariff.periods[1].start", "tariff.periods[1].service_yuan_per_kwh", "tariff.periods[2].start",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to name %s", err, want)
		}
	}
	if err := (TariffConfig{ID: "x"}).Validate(); err == nil || !strings.Contains(err.Error(), "tariff.periods") {
		t.Errorf("no periods: %v", err)
	}
}

func peakValley() *chargeplanev1.Tariff {
	return &chargeplanev1.Tariff{Id: "pv", Periods: []*chargeplanev1.TariffPeriod{
		{StartMinute: 0, ElectricityMfenPerKwh: 35120, ServiceMfenPerKwh: 40000},   // 00:00 valley
		{StartMinute: 480, ElectricityMfenPerKwh: 65230, ServiceMfenPerKwh: 40000}, // 08:00 peak
		{StartMinute: 1320, ElectricityMfenPerKwh: 35120, ServiceMfenPerKwh: 0},    // 22:00 valley, no service fee
	}}
}

func TestPeriodAt(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	tr := peakValley()
	for _, tc := range []struct {
		local string
		want  int
	}{
		{"00:00:00", 0}, {"07:59:59", 0}, {"08:00:00", 1}, {"12:00:00", 1},
		{"21:59:59", 1}, {"22:00:00", 2}, {"23:59:59", 2},
	} {
		at, err := time.ParseInLocation(time.DateTime, "2025-06-01 "+tc.local, shanghai)
		if err != nil {
			t.Fatal(err)
		}
		// The same instant given in UTC: the period is read in the site zone.
		if got := periodAt(tr, at.UTC(), shanghai); got != tc.want {
			t.Errorf("periodAt(%s Shanghai) = %d, want %d", tc.local, got, tc.want)
		}
	}
}

func TestPrice(t *testing.T) {
	flat := func(elec, svc int64) *chargeplanev1.Tariff {
		return &chargeplanev1.Tariff{Periods: []*chargeplanev1.TariffPeriod{{ElectricityMfenPerKwh: elec, ServiceMfenPerKwh: svc}}}
	}
	for _, tc := range []struct {
		name       string
		tariff     *chargeplanev1.Tariff
		energy     []int64
		elec, serv int64
	}{
		{"0.6523 yuan × 1 kWh = 65.23 fen", flat(65230, 0), []int64{1_000_000}, 65, 0},
		{"0.6523 yuan × 100 kWh = 6523 fen exactly", flat(65230, 0), []int64{100_000_000}, 6523, 0},
		{"0.6523 yuan × 1.5 kWh = 97.845 fen rounds up", flat(65230, 0), []int64{1_500_000}, 98, 0},
		{"half a fen rounds up", flat(100000, 100000), []int64{5000}, 1, 1},
		{"just under half a fen rounds down", flat(100000, 100000), []int64{4999}, 0, 0},
		{"zero energy", flat(65230, 40000), []int64{0}, 0, 0},
		{"negative energy ignored", flat(65230, 40000), []int64{-5}, 0, 0},
		{
			// valley 2 kWh × 0.3512 = 70.24, peak 3 kWh × 0.6523 = 195.69,
			// night 1 kWh × 0.3512 = 35.12: 301.05 → 301; service 5 kWh × 0.4 = 200.
			"three periods summed before rounding", peakValley(), []int64{2_000_000, 3_000_000, 1_000_000}, 301, 200,
		},
		{
			// Each period alone would round 0.5 + 0.5 away; summed first: 1.0.
			"parts are rounded once, not per period",
			&chargeplanev1.Tariff{Periods: []*chargeplanev1.TariffPeriod{{ElectricityMfenPerKwh: 100000}, {StartMinute: 60, ElectricityMfenPerKwh: 100000}}},
			[]int64{4000, 6000}, 1, 0,
		},
		{"sums beyond int64 saturate instead of wrapping", flat(math.MaxInt64, 0), []int64{1 << 62}, math.MaxInt64, 0},
		{"largest valid price × 1 GWh is exact", flat(maxPrice, 0), []int64{1_000_000_000_000}, 100_000_000_000, 0},
	} {
		e, s := price(tc.tariff, tc.energy)
		if e != tc.elec || s != tc.serv {
			t.Errorf("%s: price = %d + %d fen, want %d + %d", tc.name, e, s, tc.elec, tc.serv)
		}
	}
}

func TestAttribute(t *testing.T) {
	for _, tc := range []struct {
		name   string
		energy []int64
		total  int64
		rest   int
		want   []int64
	}{
		{"remainder to the rest period", []int64{100, 200, 0}, 1000, 2, []int64{100, 200, 700}},
		{"no readings: all to rest", []int64{0, 0, 0}, 500, 1, []int64{0, 500, 0}},
		{"readings above the end report: rest gives back first", []int64{100, 200, 300}, 450, 1, []int64{100, 50, 300}},
		{"then the latest periods", []int64{100, 200, 300}, 50, 1, []int64{50, 0, 0}},
		{"total zero", []int64{100, 200}, 0, 0, []int64{0, 0}},
	} {
		e := append([]int64(nil), tc.energy...)
		attribute(e, tc.total, tc.rest)
		for i := range e {
			if e[i] != tc.want[i] {
				t.Errorf("%s: %v, want %v", tc.name, e, tc.want)
				break
			}
		}
	}
}
