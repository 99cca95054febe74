package control

import (
	"strings"
	"testing"
)

func TestAuthorize(t *testing.T) {
	cfg := AuthConfig{UnknownCards: UnknownReject, Cards: []Card{
		{ID: "000000298352", BalanceFen: 5001},
		{ID: "AABBCCDDEEFF", BalanceFen: 100, Blocked: true},
		{ID: "010203040506"},
	}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := NewAuthorizer(cfg)
	for _, tc := range []struct {
		card string
		want Decision
	}{
		{"000000298352", Decision{Accepted: true, Reason: "listed", BalanceFen: 5001}},
		{"aabbccddeeff", Decision{Reason: "blocked", BalanceFen: 100}},
		{"010203040506", Decision{Reason: "no_balance"}},
		{"ffffffffffff", Decision{Reason: "unknown_card"}},
	} {
		if got := a.Authorize(tc.card); got != tc.want {
			t.Errorf("Authorize(%s) = %+v, want %+v", tc.card, got, tc.want)
		}
	}
	open := NewAuthorizer(AuthConfig{UnknownCards: UnknownAccept})
	if got := open.Authorize("ffffffffffff"); !got.Accepted || got.Reason != "unknown_accepted" {
		t.Errorf("accept policy: %+v", got)
	}
}

func TestAuthConfigValidate(t *testing.T) {
	err := AuthConfig{UnknownCards: "maybe", Cards: []Card{{ID: "a"}, {ID: "A"}, {ID: "", BalanceFen: -1}}}.Validate()
	for _, want := range []string{"authorization.unknown_cards", "cards[1].id", "cards[2].id", "cards[2].balance_fen"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to name %s", err, want)
		}
	}
}
