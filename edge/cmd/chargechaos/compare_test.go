package main

import (
	"strings"
	"testing"

	"github.com/chargeplane/chargeplane/edge/sim"
)

// tariff of the run: 0.6523 + 0.40 yuan/kWh.
var testTariff = flatTariff{ElectricityMfen: 65230, ServiceMfen: 40000} //nolint:gochecknoglobals // test table

func TestPriceFen(t *testing.T) {
	for _, c := range []struct {
		name      string
		energyMWh int64
		mfen      int64
		want      int64
	}{
		{"one kWh at 0.6523 is 65.23 fen, down", 1_000_000, 65230, 65},
		{"exact half rounds up", 500_000, 1000, 1},             // 0.5 fen
		{"just under half rounds down", 499_999, 1000, 0},      // 0.499999 fen
		{"0.6523 exactness at 10 kWh", 10_000_000, 65230, 652}, // 652.3
		{"0.6523 at 7.5 kWh is 489.225", 7_500_000, 65230, 489},
		{"zero energy", 0, 65230, 0},
		{"service 0.40 at 1.25 kWh is 50", 1_250_000, 40000, 50},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := priceFen(c.energyMWh, c.mfen); got != c.want {
				t.Fatalf("priceFen(%d, %d) = %d, want %d", c.energyMWh, c.mfen, got, c.want)
			}
		})
	}
	// Parts are rounded separately, then added (00-common.md).
	elec, svc, total := testTariff.amounts(1_005_000) // 65.556… + 40.2
	if elec != 66 || svc != 40 || total != 106 {
		t.Fatalf("amounts(1.005 kWh) = %d + %d = %d, want 66 + 40 = 106", elec, svc, total)
	}
}

func row(charger string, conn uint32, ref string, seq, energy int64, card string) cloudSession {
	e, s, a := testTariff.amounts(energy)
	return cloudSession{Seq: seq, ChargerID: charger, Connector: conn, SessionRef: ref, EnergyMWh: energy,
		AmountFen: a, ElectricityFen: e, ServiceFen: s, CardID: card}
}

func acked(charger string, conn uint32, ref string, energy int64, card string) sim.Session {
	return sim.Session{ChargerID: charger, Connector: conn, SessionRef: ref, EnergyMWh: energy, CardID: card}
}

func TestCompare(t *testing.T) {
	const g = "8200000000271a"
	all := func(rows ...cloudSession) []cardBalance {
		var spent int64
		for _, r := range rows {
			spent += r.AmountFen
		}
		return []cardBalance{{CardID: "c1", Initial: 100000, Balance: 100000 - spent}}
	}
	r1, r2 := row(g, 1, "1", 10, 500_000, "c1"), row(g, 2, "2", 11, 1_500_000, "c1")
	for _, c := range []struct {
		name    string
		acked   []sim.Session
		rows    []cloudSession
		cards   []cardBalance
		want    result
		problem string
	}{
		{
			name:  "all there once, re-acked line counted once",
			acked: []sim.Session{acked(g, 1, "1", 500_000, "c1"), acked(g, 2, "2", 1_500_000, "c1"), acked(g, 2, "2", 1_500_000, "c1")},
			rows:  []cloudSession{r1, r2}, cards: all(r1, r2),
			want: result{Sessions: 2, InCloud: 2},
		},
		{
			name:  "lost",
			acked: []sim.Session{acked(g, 1, "1", 500_000, "c1"), acked(g, 2, "2", 1_500_000, "c1")},
			rows:  []cloudSession{r1}, cards: all(r1),
			want: result{Sessions: 2, InCloud: 1, Lost: 1}, problem: "lost: " + g + "/2/2",
		},
		{
			name:  "duplicated under another seq, debited twice",
			acked: []sim.Session{acked(g, 1, "1", 500_000, "c1")},
			rows:  []cloudSession{r1, row(g, 1, "1", 12, 500_000, "c1")}, cards: all(r1, r1),
			want: result{Sessions: 1, InCloud: 1, Duplicated: 1}, problem: "seqs [10 12]",
		},
		{
			name:  "energy differs from the charger's",
			acked: []sim.Session{acked(g, 1, "1", 600_000, "c1")},
			rows:  []cloudSession{r1}, cards: all(r1),
			want: result{Sessions: 1, InCloud: 1, AmountMismatch: 1}, problem: "energy:",
		},
		{
			name:  "amount off by one fen",
			acked: []sim.Session{acked(g, 1, "1", 500_000, "c1")},
			rows: func() []cloudSession {
				r := r1
				r.AmountFen++
				r.ServiceFen++
				return []cloudSession{r}
			}(),
			cards: []cardBalance{{CardID: "c1", Initial: 100000, Balance: 100000 - r1.AmountFen - 1}},
			want:  result{Sessions: 1, InCloud: 1, AmountMismatch: 1}, problem: "amount:",
		},
		{
			name:  "balance not debited",
			acked: []sim.Session{acked(g, 1, "1", 500_000, "c1")},
			rows:  []cloudSession{r1}, cards: []cardBalance{{CardID: "c1", Initial: 100000, Balance: 100000}},
			want: result{Sessions: 1, InCloud: 1, AmountMismatch: 1}, problem: "balance: card c1",
		},
		{
			name:  "billed to another card",
			acked: []sim.Session{acked(g, 1, "1", 500_000, "c2")},
			rows:  []cloudSession{r1}, cards: all(r1),
			want: result{Sessions: 1, InCloud: 1, AmountMismatch: 1}, problem: "card:",
		},
		{
			name:  "stored but never acknowledged: information only",
			acked: nil,
			rows:  []cloudSession{r1}, cards: all(r1),
			want: result{UnackedInCloud: 1},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := compare(c.acked, c.rows, c.cards, testTariff)
			problems := strings.Join(got.Problems, "\n")
			got.Problems = nil
			if got.Sessions != c.want.Sessions || got.InCloud != c.want.InCloud || got.Lost != c.want.Lost ||
				got.Duplicated != c.want.Duplicated || got.AmountMismatch != c.want.AmountMismatch || got.UnackedInCloud != c.want.UnackedInCloud {
				t.Fatalf("compare = %+v, want %+v\nproblems:\n%s", got, c.want, problems)
			}
			if c.problem != "" && !strings.Contains(problems, c.problem) {
				t.Fatalf("problems %q do not mention %q", problems, c.problem)
			}
			if c.problem == "" && problems != "" {
				t.Fatalf("unexpected problems:\n%s", problems)
			}
			if got.failed() != (c.want.Lost+c.want.Duplicated+c.want.AmountMismatch > 0) {
				t.Fatalf("failed() = %v for %+v", got.failed(), got)
			}
		})
	}
}

func TestResultLine(t *testing.T) {
	var total result
	total.add(result{Sessions: 230, InCloud: 230})
	total.add(result{Sessions: 180, InCloud: 179, Lost: 1, Duplicated: 2, AmountMismatch: 3})
	if got, want := total.line(), "sessions=410 in_cloud=409 lost=1 duplicated=2 amount_mismatch=3"; got != want {
		t.Fatalf("line %q, want %q", got, want)
	}
}
