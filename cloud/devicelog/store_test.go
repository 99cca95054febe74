package devicelog_test

import (
	"errors"
	"testing"
	"time"

	"github.com/chargeplane/chargeplane/cloud/devicelog"
	"github.com/chargeplane/chargeplane/cloud/postgres/pgtest"
)

// TestListShowsADamagedRowAndScopesByTenant: a row whose payload is not an
// event is listed with the undecodable summary rather than failing the log;
// a charger is found only in its own tenant.
func TestListShowsADamagedRowAndScopesByTenant(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := pgtest.MustPool(t, pgtest.MustDB(t))
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	if _, err := pool.Exec(ctx, `INSERT INTO chargers (tenant_id, edge_id, charger_id, first_seen, last_seen) VALUES ('t1', 'e1', 'c1', $1, $1)`, at); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO events (edge_id, seq, tenant_id, charger_id, connector, kind, occurred_at, received_at, payload)
		VALUES ('e1', 7, 't1', 'c1', 2, 'alarm', $1, $1, '\xffff'::bytea)`, at); err != nil {
		t.Fatal(err)
	}
	s := devicelog.New(pool)
	got, err := s.List(ctx, devicelog.Query{TenantID: "t1", EdgeID: "e1", ChargerID: "c1", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Seq != 7 || got[0].Kind != "alarm" || got[0].Connector != 2 || got[0].Event != nil ||
		got[0].Summary != "payload cannot be decoded" || !got[0].OccurredAt.Equal(at) {
		t.Errorf("List = %+v; want seq 7 listed as undecodable", got)
	}
	_, err = s.List(ctx, devicelog.Query{TenantID: "t2", EdgeID: "e1", ChargerID: "c1", Limit: 10})
	if !errors.Is(err, devicelog.ErrNotFound) {
		t.Errorf("List in another tenant = %v, want ErrNotFound", err)
	}
	if _, err := s.List(ctx, devicelog.Query{TenantID: "t1", EdgeID: "e1", ChargerID: "c1"}); err == nil || errors.Is(err, devicelog.ErrNotFound) {
		t.Errorf("List without a limit = %v, want a refusal", err)
	}
}
