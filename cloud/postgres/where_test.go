package postgres_test

import (
	"fmt"
	"testing"

	"github.com/chargeplane/chargeplane/cloud/postgres"
)

func TestWhereNumbersParametersInOrder(t *testing.T) {
	var w postgres.Where
	if got := w.SQL(); got != "TRUE" {
		t.Errorf("empty Where = %q, want TRUE", got)
	}
	w.Add("tenant_id = ?", "t1")
	w.Add("(a, b) < (?, ?)", 1, "x")
	limit := w.Param(10)
	if got, want := w.SQL()+" LIMIT "+limit, "tenant_id = $1 AND (a, b) < ($2, $3) LIMIT $4"; got != want {
		t.Errorf("SQL = %q, want %q", got, want)
	}
	if got := fmt.Sprint(w.Args()); got != "[t1 1 x 10]" {
		t.Errorf("Args = %s, want [t1 1 x 10]", got)
	}
}
