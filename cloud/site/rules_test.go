package site

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckTariff(t *testing.T) {
	t.Parallel()
	p := func(start uint32, elec, svc int64) TariffPeriod {
		return TariffPeriod{StartMinute: start, ElectricityMfenPerKWh: elec, ServiceMfenPerKWh: svc}
	}
	tests := []struct {
		name    string
		tariff  Tariff
		wantErr string
	}{
		{"flat", Tariff{Periods: []TariffPeriod{p(0, 65230, 40000)}}, ""},
		{"time of use", Tariff{ID: "tou", Periods: []TariffPeriod{p(0, 1, 1), p(480, 2, 0), p(1439, 0, 0)}}, ""},
		{"free", Tariff{Periods: []TariffPeriod{p(0, 0, 0)}}, ""},
		{"highest price", Tariff{Periods: []TariffPeriod{p(0, MaxPriceMfenPerKWh, MaxPriceMfenPerKWh)}}, ""},
		{"no periods", Tariff{}, "tariff.periods: at least one period is required"},
		{"late first", Tariff{Periods: []TariffPeriod{p(1, 1, 1)}}, "tariff.periods[0].start_minute: the first period must start at minute 0, got 1"},
		{"repeat", Tariff{Periods: []TariffPeriod{p(0, 1, 1), p(0, 1, 1)}}, "tariff.periods[1].start_minute: periods must be sorted by start minute without repeats: 0 follows 0"},
		{"beyond the day", Tariff{Periods: []TariffPeriod{p(0, 1, 1), p(1440, 1, 1)}}, "tariff.periods[1].start_minute: must be below 1440 (minutes of a day), got 1440"},
		{"negative electricity", Tariff{Periods: []TariffPeriod{p(0, -1, 1)}}, "tariff.periods[0].electricity_mfen_per_kwh: must be between 0 and 1000000000, got -1"},
		{"price too high", Tariff{Periods: []TariffPeriod{p(0, 1, MaxPriceMfenPerKWh+1)}}, "tariff.periods[0].service_mfen_per_kwh: must be between 0 and 1000000000, got 1000000001"},
		{"long id", Tariff{ID: strings.Repeat("x", 129), Periods: []TariffPeriod{p(0, 1, 1)}}, "tariff.id: at most 128 bytes, got 129"},
		{"NUL in id", Tariff{ID: "a\x00", Periods: []TariffPeriod{p(0, 1, 1)}}, "tariff.id: must not contain NUL"},
		{"too many periods", Tariff{Periods: make([]TariffPeriod, 97)}, "tariff.periods: at most 96 periods, got 97"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckTariff("tariff", tt.tariff)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("CheckTariff = %v, want nil", err)
				}
				return
			}
			var invalid *InvalidError
			if !errors.As(err, &invalid) || err.Error() != tt.wantErr {
				t.Errorf("CheckTariff = %v, want InvalidError %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseYuanPerKWh(t *testing.T) {
	t.Parallel()
	good := map[string]int64{
		"0.6523": 65230, "0.40": 40000, "1": 100000, ".4": 40000, "1.": 100000, "0": 0,
		"0.00001": 1, "12.34567": 1234567, "10000": MaxPriceMfenPerKWh,
	}
	for in, want := range good {
		if got, err := ParseYuanPerKWh(in); err != nil || got != want {
			t.Errorf("ParseYuanPerKWh(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", ".", "-1", "+1", "0.000001", "1e3", "0,5", "1.2.3", " 1", "10000.00001", "9999999999"} {
		if got, err := ParseYuanPerKWh(in); err == nil {
			t.Errorf("ParseYuanPerKWh(%q) = %d, want an error", in, got)
		}
	}
}

func TestCheckCards(t *testing.T) {
	t.Parallel()
	got, err := checkCards([]Card{{ID: "AbC1", BalanceFen: -5, OfflineLimitFen: 100, Version: 9}})
	if err != nil || got[0].ID != "abc1" || got[0].BalanceFen != -5 || got[0].Version != 0 {
		t.Errorf("checkCards = %+v, %v; want the id lowercased and the version cleared", got, err)
	}
	for _, tt := range []struct {
		cards []Card
		want  string
	}{
		{nil, "cards: at least one card is required"},
		{[]Card{{ID: ""}}, "cards[0].card_id: required"},
		{[]Card{{ID: "a\nb"}}, "cards[0].card_id: must not contain control characters"},
		{[]Card{{ID: "a"}, {ID: "A"}}, `cards[1].card_id: "a" repeats cards[0]`},
		{[]Card{{ID: "a", BalanceFen: MaxAmountFen + 1}}, "cards[0].balance_fen: must be between -10000000000000 and 10000000000000, got 10000000000001"},
		{[]Card{{ID: "a", UserID: strings.Repeat("u", 129)}}, "cards[0].user_id: at most 128 bytes, got 129"},
		{[]Card{{ID: "a", UserID: "u\x00"}}, "cards[0].user_id: must not contain NUL"},
	} {
		_, err := checkCards(tt.cards)
		var invalid *InvalidError
		if !errors.As(err, &invalid) || err.Error() != tt.want {
			t.Errorf("checkCards(%+v) = %v, want %q", tt.cards, err, tt.want)
		}
	}
}

func TestCredentialFormat(t *testing.T) {
	t.Parallel()
	cred, hash := newCredential("edge/ü 1")
	if id, err := CredentialEdge(cred); err != nil || id != "edge/ü 1" {
		t.Errorf("CredentialEdge(new credential) = %q, %v", id, err)
	}
	if string(hash) != string(hashCredential(cred)) || len(hash) != 32 {
		t.Error("hash of a new credential is not the sha256 of its text")
	}
	other, _ := newCredential("edge/ü 1")
	if other == cred {
		t.Error("two credentials of one edge are equal")
	}
	for _, bad := range []string{"", "cpe1.", "cpe1.ZTE", "cpe1..AAAA", "cpe2.ZTE." + strings.Repeat("A", 43), "cpe1.ZTE.short", "cpe1.!!." + strings.Repeat("A", 43)} {
		if _, err := CredentialEdge(bad); !errors.Is(err, ErrInvalidCredential) {
			t.Errorf("CredentialEdge(%q) = %v, want ErrInvalidCredential", bad, err)
		}
	}
}
