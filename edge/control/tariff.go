package control

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// This file holds the pricing rules. It does no I/O.

// MilliFenPerYuan converts a price per kWh in yuan to the tariff's unit:
// 1 yuan/kWh = 100,000 milli-fen/kWh, so prices with up to five decimals
// (0.6523 yuan/kWh = 65,230) are exact integers.
const MilliFenPerYuan = 100_000

// maxPrice bounds a price per kWh (1,000 yuan): far above any real tariff,
// and low enough that no sum of products below can overflow in practice.
const maxPrice = 1000 * MilliFenPerYuan

// Price is a price per kWh in milli-fen. In YAML it is written in yuan as a
// decimal with at most five decimals ("0.6523", or unquoted 0.6523): the
// text is parsed exactly, never through a float.
type Price int64

// UnmarshalText parses a decimal number of yuan.
func (p *Price) UnmarshalText(text []byte) error {
	v, err := ParseYuan(string(text))
	if err != nil {
		return err
	}
	*p = Price(v)
	return nil
}

// MarshalText writes the price in yuan.
func (p Price) MarshalText() ([]byte, error) { return []byte(FormatYuan(int64(p))), nil }

// ParseYuan parses a non-negative decimal yuan amount per kWh ("0.6523")
// into milli-fen per kWh (65230). More than five decimals is an error, not
// a rounding.
func ParseYuan(s string) (int64, error) {
	s = strings.TrimSpace(s)
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" && (!hasDot || frac == "") {
		return 0, fmt.Errorf("price %q: want a decimal number of yuan such as 0.6523", s)
	}
	if len(frac) > 5 {
		return 0, fmt.Errorf("price %q: at most 5 decimals (milli-fen per kWh)", s)
	}
	if hasDot && frac == "" {
		return 0, fmt.Errorf("price %q: digits expected after the point", s)
	}
	for _, part := range []string{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("price %q: want a non-negative decimal number of yuan", s)
			}
		}
	}
	var w int64
	if whole != "" {
		v, err := strconv.ParseInt(whole, 10, 64)
		if err != nil || v > maxPrice/MilliFenPerYuan {
			return 0, fmt.Errorf("price %q: above %d yuan/kWh", s, maxPrice/MilliFenPerYuan)
		}
		w = v
	}
	f := int64(0)
	if frac != "" {
		v, err := strconv.ParseInt(frac+strings.Repeat("0", 5-len(frac)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("price %q: %w", s, err)
		}
		f = v
	}
	return w*MilliFenPerYuan + f, nil
}

// FormatYuan writes milli-fen per kWh as yuan with the decimals needed.
func FormatYuan(mfen int64) string {
	sign := ""
	if mfen < 0 {
		sign, mfen = "-", -mfen
	}
	s := fmt.Sprintf("%s%d.%05d", sign, mfen/MilliFenPerYuan, mfen%MilliFenPerYuan)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// DayMinute is a time of day in the site's zone, in minutes after midnight
// (0–1439). In YAML it is written "HH:MM".
type DayMinute uint32

// UnmarshalText parses "HH:MM".
func (m *DayMinute) UnmarshalText(text []byte) error {
	h, mm, ok := strings.Cut(string(text), ":")
	hv, err1 := strconv.Atoi(h)
	mv, err2 := strconv.Atoi(mm)
	if !ok || err1 != nil || err2 != nil || len(mm) != 2 || hv < 0 || hv > 23 || mv < 0 || mv > 59 {
		return fmt.Errorf("time of day %q: want HH:MM from 00:00 to 23:59", text)
	}
	*m = DayMinute(hv*60 + mv) //nolint:gosec // range checked
	return nil
}

// MarshalText writes "HH:MM".
func (m DayMinute) MarshalText() ([]byte, error) {
	return fmt.Appendf(nil, "%02d:%02d", m/60, m%60), nil
}

// TariffConfig is the tariff used until the cloud sends one (and forever on
// an edge with no cloud), yaml "tariff":
//
//	tariff:
//	  id: site-2025
//	  periods:
//	    - {start: "00:00", electricity_yuan_per_kwh: 0.3512, service_yuan_per_kwh: 0.4}
//	    - {start: "08:00", electricity_yuan_per_kwh: 0.6523, service_yuan_per_kwh: 0.4}
//	    - {start: "22:00", electricity_yuan_per_kwh: 0.3512, service_yuan_per_kwh: 0.4}
//
// A period runs from its start until the next one starts (the last one until
// midnight); the first must start at 00:00.
type TariffConfig struct {
	ID      string               `yaml:"id"`
	Periods []TariffPeriodConfig `yaml:"periods"`
}

// TariffPeriodConfig is one period of the day.
type TariffPeriodConfig struct {
	Start       DayMinute `yaml:"start"`
	Electricity Price     `yaml:"electricity_yuan_per_kwh"`
	Service     Price     `yaml:"service_yuan_per_kwh"`
}

// DefaultTariffConfig charges nothing: an edge bills only once a tariff is
// configured or sent by the cloud.
func DefaultTariffConfig() TariffConfig {
	return TariffConfig{ID: "free", Periods: []TariffPeriodConfig{{Start: 0}}}
}

// Validate names the bad key.
func (c TariffConfig) Validate() error {
	var errs []error
	if c.ID == "" {
		errs = append(errs, errors.New("tariff.id: required"))
	}
	if len(c.Periods) == 0 {
		errs = append(errs, errors.New("tariff.periods: at least one period required"))
	}
	for i, p := range c.Periods {
		switch {
		case i == 0 && p.Start != 0:
			errs = append(errs, fmt.Errorf("tariff.periods[0].start: the first period must start at 00:00, not %s", fmtMinute(p.Start)))
		case p.Start > 1439:
			errs = append(errs, fmt.Errorf("tariff.periods[%d].start: %d minutes is past 23:59", i, p.Start))
		case i > 0 && p.Start <= c.Periods[i-1].Start:
			errs = append(errs, fmt.Errorf("tariff.periods[%d].start: %s must be later than the period before (%s)", i, fmtMinute(p.Start), fmtMinute(c.Periods[i-1].Start)))
		}
		if p.Electricity < 0 || p.Electricity > maxPrice {
			errs = append(errs, fmt.Errorf("tariff.periods[%d].electricity_yuan_per_kwh: must be 0–%d", i, maxPrice/MilliFenPerYuan))
		}
		if p.Service < 0 || p.Service > maxPrice {
			errs = append(errs, fmt.Errorf("tariff.periods[%d].service_yuan_per_kwh: must be 0–%d", i, maxPrice/MilliFenPerYuan))
		}
	}
	return errors.Join(errs...)
}

func fmtMinute(m DayMinute) string { b, _ := m.MarshalText(); return string(b) }

// Proto returns the tariff as carried in SiteConfig and SessionEnded.
func (c TariffConfig) Proto() *chargeplanev1.Tariff {
	t := &chargeplanev1.Tariff{Id: c.ID}
	for _, p := range c.Periods {
		t.Periods = append(t.Periods, &chargeplanev1.TariffPeriod{
			StartMinute: uint32(p.Start), ElectricityMfenPerKwh: int64(p.Electricity), ServiceMfenPerKwh: int64(p.Service),
		})
	}
	return t
}

// validateTariff checks a tariff received from the cloud with the same
// rules as TariffConfig.Validate.
func validateTariff(t *chargeplanev1.Tariff) error {
	c := TariffConfig{ID: t.GetId()}
	for _, p := range t.GetPeriods() {
		if p.GetStartMinute() > 1439 {
			return fmt.Errorf("tariff period start %d is past 23:59", p.GetStartMinute())
		}
		c.Periods = append(c.Periods, TariffPeriodConfig{
			Start: DayMinute(p.GetStartMinute()), Electricity: Price(p.GetElectricityMfenPerKwh()), Service: Price(p.GetServiceMfenPerKwh()),
		})
	}
	return c.Validate()
}

// periodAt returns the index of the period of t in force at instant at, in
// the site's zone loc. t must be valid (first period at minute 0).
func periodAt(t *chargeplanev1.Tariff, at time.Time, loc *time.Location) int {
	local := at.In(loc)
	minute := uint32(local.Hour()*60 + local.Minute()) //nolint:gosec // 0–1439
	idx := 0
	for i, p := range t.GetPeriods() {
		if p.GetStartMinute() > minute {
			break
		}
		idx = i
	}
	return idx
}

// price computes the two parts of a session's amount from the energy (mWh)
// attributed to each period of t (energy[i] belongs to period i):
//
//	part_fen = round_half_up(Σ energy_i × price_i / 1e9)
//
// (mWh × milli-fen/kWh = 1e-9 fen). The sums are exact (128-bit); a result
// beyond int64 saturates, which no real session reaches.
func price(t *chargeplanev1.Tariff, energy []int64) (electricityFen, serviceFen int64) {
	var eHi, eLo, sHi, sLo uint64
	for i, p := range t.GetPeriods() {
		if i >= len(energy) || energy[i] <= 0 {
			continue
		}
		e := uint64(energy[i])
		eHi, eLo = add128(eHi, eLo, e, uint64(max(p.GetElectricityMfenPerKwh(), 0)))
		sHi, sLo = add128(sHi, sLo, e, uint64(max(p.GetServiceMfenPerKwh(), 0)))
	}
	return roundDiv128(eHi, eLo), roundDiv128(sHi, sLo)
}

// add128 adds a×b to the 128-bit value (hi, lo), saturating.
func add128(hi, lo, a, b uint64) (uint64, uint64) {
	ph, pl := bits.Mul64(a, b)
	lo, c := bits.Add64(lo, pl, 0)
	hi, c2 := bits.Add64(hi, ph, c)
	if c2 != 0 {
		return math.MaxUint64, math.MaxUint64
	}
	return hi, lo
}

// roundDiv128 returns round_half_up((hi, lo) / 1e9), saturated to int64.
func roundDiv128(hi, lo uint64) int64 {
	const div = 1_000_000_000
	if hi >= div {
		return math.MaxInt64
	}
	lo, c := bits.Add64(lo, div/2, 0)
	hi += c
	if hi >= div {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, div)
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}
