package main

import (
	"fmt"
	"sort"

	"github.com/chargeplane/chargeplane/edge/sim"
)

// flatTariff is the harness's tariff in milli-fen per kWh (1 yuan/kWh =
// 100000), the unit of chargeplane.v1.TariffPeriod.
type flatTariff struct {
	ElectricityMfen, ServiceMfen int64
}

// priceFen is the pricing rule of briefs/00-common.md for energy all in one
// period: round_half_up(energy_mwh × mfen_per_kwh / 1e9). Energy is never
// negative, so half-up is (x + 5e8) / 1e9.
func priceFen(energyMWh, mfenPerKWh int64) int64 {
	return (energyMWh*mfenPerKWh + 500_000_000) / 1_000_000_000
}

// amounts returns the electricity, service and total fen for energy.
func (t flatTariff) amounts(energyMWh int64) (elec, svc, total int64) {
	elec, svc = priceFen(energyMWh, t.ElectricityMfen), priceFen(energyMWh, t.ServiceMfen)
	return elec, svc, elec + svc
}

// sessionKey identifies a session as the edge names it; within one edge and
// one run of the simulator it is unique (business numbers only grow).
type sessionKey struct {
	ChargerID  string
	Connector  uint32
	SessionRef string
}

func (k sessionKey) String() string {
	return fmt.Sprintf("%s/%d/%s", k.ChargerID, k.Connector, k.SessionRef)
}

// cloudSession is one row of the cloud's sessions table.
type cloudSession struct {
	Seq            int64
	ChargerID      string
	Connector      uint32
	SessionRef     string
	EnergyMWh      int64
	AmountFen      int64
	ElectricityFen int64
	ServiceFen     int64
	CardID         string
	Offline        bool
}

func (s cloudSession) key() sessionKey {
	return sessionKey{ChargerID: s.ChargerID, Connector: s.Connector, SessionRef: s.SessionRef}
}

// cardBalance is a card's balance when provisioned and in the cloud now.
type cardBalance struct {
	CardID           string
	Initial, Balance int64
}

// result is one scenario's comparison.
type result struct {
	// Sessions are the distinct sessions the simulator logged as
	// acknowledged; InCloud of them have a row, Lost have none.
	Sessions, InCloud, Lost int
	// Duplicated counts rows beyond the first for one session.
	Duplicated int
	// AmountMismatch counts rows whose energy differs from the simulator's
	// or whose amounts differ from the tariff's, and cards whose balance is
	// not initial − Σ amounts of their rows.
	AmountMismatch int
	// UnackedInCloud are rows for sessions the simulator never saw
	// acknowledged: ended while the edge was being killed or the simulator
	// stopped. Legitimate (the edge stored them), reported for information.
	UnackedInCloud int
	// OfflineFlagged counts rows the edge marked as authorized offline.
	OfflineFlagged int
	// Problems describe each lost, duplicated or mismatched item.
	Problems []string
}

func (r result) failed() bool { return r.Lost != 0 || r.Duplicated != 0 || r.AmountMismatch != 0 }

func (r *result) add(o result) {
	r.Sessions += o.Sessions
	r.InCloud += o.InCloud
	r.Lost += o.Lost
	r.Duplicated += o.Duplicated
	r.AmountMismatch += o.AmountMismatch
	r.UnackedInCloud += o.UnackedInCloud
	r.OfflineFlagged += o.OfflineFlagged
	r.Problems = append(r.Problems, o.Problems...)
}

// compare checks the cloud against what the simulator handed over. acked
// may hold a session more than once (a re-acknowledged end report); rows
// and cards must be this scenario's only.
func compare(acked []sim.Session, rows []cloudSession, cards []cardBalance, t flatTariff) result {
	var r result
	want := make(map[sessionKey]sim.Session, len(acked))
	for _, s := range acked {
		k := sessionKey{ChargerID: s.ChargerID, Connector: s.Connector, SessionRef: s.SessionRef}
		if prev, ok := want[k]; ok && prev.EnergyMWh != s.EnergyMWh {
			r.Problems = append(r.Problems, fmt.Sprintf("simulator logged %s twice with energy %d and %d mWh", k, prev.EnergyMWh, s.EnergyMWh))
		}
		want[k] = s
	}
	r.Sessions = len(want)

	byKey := make(map[sessionKey][]cloudSession, len(rows))
	for _, row := range rows {
		byKey[row.key()] = append(byKey[row.key()], row)
	}
	for k, s := range want {
		if len(byKey[k]) == 0 {
			r.Lost++
			r.Problems = append(r.Problems, fmt.Sprintf("lost: %s (card %q, %d mWh) acknowledged by the edge, not in the cloud", k, s.CardID, s.EnergyMWh))
			continue
		}
		r.InCloud++
	}
	for k, group := range byKey {
		if len(group) > 1 {
			r.Duplicated += len(group) - 1
			seqs := make([]int64, len(group))
			for i, g := range group {
				seqs[i] = g.Seq
			}
			r.Problems = append(r.Problems, fmt.Sprintf("duplicated: %s stored %d times (seqs %v)", k, len(group), seqs))
		}
		s, acked := want[k]
		if !acked {
			r.UnackedInCloud++
		}
		for _, row := range group {
			if row.Offline {
				r.OfflineFlagged++
			}
			elec, svc, total := t.amounts(row.EnergyMWh)
			switch {
			case acked && row.EnergyMWh != s.EnergyMWh:
				r.AmountMismatch++
				r.Problems = append(r.Problems, fmt.Sprintf("energy: %s cloud %d mWh, charger delivered %d mWh", k, row.EnergyMWh, s.EnergyMWh))
			case acked && row.CardID != s.CardID:
				r.AmountMismatch++
				r.Problems = append(r.Problems, fmt.Sprintf("card: %s cloud card %q, charger's %q (billed to the wrong wallet)", k, row.CardID, s.CardID))
			case row.AmountFen != total || row.ElectricityFen != elec || row.ServiceFen != svc:
				r.AmountMismatch++
				r.Problems = append(r.Problems, fmt.Sprintf("amount: %s %d mWh billed %d fen (electricity %d + service %d), tariff says %d (%d + %d)",
					k, row.EnergyMWh, row.AmountFen, row.ElectricityFen, row.ServiceFen, total, elec, svc))
			}
		}
	}

	spent := map[string]int64{}
	for _, row := range rows {
		if row.CardID != "" {
			spent[row.CardID] += row.AmountFen
		}
	}
	for _, c := range cards {
		if want := c.Initial - spent[c.CardID]; c.Balance != want {
			r.AmountMismatch++
			r.Problems = append(r.Problems, fmt.Sprintf("balance: card %s has %d fen, want %d (initial %d − %d billed)",
				c.CardID, c.Balance, want, c.Initial, spent[c.CardID]))
		}
	}
	sort.Strings(r.Problems)
	return r
}

// dedupe counts the distinct sessions of a log.
func distinct(acked []sim.Session) int {
	seen := make(map[sessionKey]bool, len(acked))
	for _, s := range acked {
		seen[sessionKey{ChargerID: s.ChargerID, Connector: s.Connector, SessionRef: s.SessionRef}] = true
	}
	return len(seen)
}

// line formats counters as the brief's last line does.
func (r result) line() string {
	return fmt.Sprintf("sessions=%d in_cloud=%d lost=%d duplicated=%d amount_mismatch=%d",
		r.Sessions, r.InCloud, r.Lost, r.Duplicated, r.AmountMismatch)
}
