package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/chargeplane/chargeplane/cloud/hint"
	"github.com/chargeplane/chargeplane/cloud/postgres"
	"github.com/chargeplane/chargeplane/cloud/server"
	"github.com/chargeplane/chargeplane/cloud/site"
	"github.com/chargeplane/chargeplane/migrations"
)

// adminSubcommands lists the operator subcommands of a group: provisioning
// edges, cards and tariffs from the command line with the same code
// (cloud/site) the API uses.
func adminSubcommands(group string) []string {
	switch group {
	case "edge":
		return []string{"create", "rotate", "revoke"}
	case "card":
		return []string{"put"}
	case "tariff":
		return []string{"set"}
	case "admin":
		return []string{"create-admin"}
	}
	return nil
}

// hintTimeout bounds the best-effort config-changed hint after a change.
const hintTimeout = 3 * time.Second

// adminFlags are the flags of the admin subcommands; each uses some.
type adminFlags struct {
	tenant, edge, name, card, user string
	balance, offlineLimit          int64
	blocked                        bool
	electricity, service, tariffID string
	email                          string
	passwordStdin                  bool
}

func (f *adminFlags) register(fs *flag.FlagSet, cmd string) {
	switch cmd {
	case "edge create":
		fs.StringVar(&f.tenant, "tenant", "", "tenant `id` (required)")
		fs.StringVar(&f.edge, "edge", "", "edge `id` (required; unique, an MQTT topic level)")
		fs.StringVar(&f.name, "name", "", "display `name`")
	case "edge rotate", "edge revoke":
		fs.StringVar(&f.tenant, "tenant", "", "tenant `id` the edge must belong to (optional)")
		fs.StringVar(&f.edge, "edge", "", "edge `id` (required)")
	case "card put":
		fs.StringVar(&f.tenant, "tenant", "", "tenant `id` (required)")
		fs.StringVar(&f.card, "card", "", "card `id` (required; matched case-insensitively)")
		fs.Int64Var(&f.balance, "balance-fen", 0, "wallet balance in `fen` (set, not added)")
		fs.Int64Var(&f.offlineLimit, "offline-limit-fen", 0, "how far below zero the balance may go offline, in `fen`")
		fs.BoolVar(&f.blocked, "blocked", false, "refuse the card")
		fs.StringVar(&f.user, "user", "", "user `id` the card belongs to")
	case "tariff set":
		fs.StringVar(&f.tenant, "tenant", "", "tenant `id` the edge must belong to (optional)")
		fs.StringVar(&f.edge, "edge", "", "edge `id` (required)")
		fs.StringVar(&f.electricity, "electricity", "", "electricity price in `yuan/kWh`, e.g. 0.6523 (required)")
		fs.StringVar(&f.service, "service", "", "service fee in `yuan/kWh`, e.g. 0.40 (required)")
		fs.StringVar(&f.tariffID, "id", "", "tariff `id` (default v<config version>)")
	case "admin create-admin":
		fs.StringVar(&f.email, "email", "", "the admin's `email` (required; the login name)")
		fs.StringVar(&f.name, "name", "", "display `name`")
		fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password from the first line of stdin instead of generating one")
	}
}

// checkRequired names every required flag left empty.
func (f *adminFlags) checkRequired(cmd string) error {
	var missing []string
	need := func(flag, v string) {
		if v == "" {
			missing = append(missing, "-"+flag)
		}
	}
	switch cmd {
	case "edge create":
		need("tenant", f.tenant)
		need("edge", f.edge)
	case "edge rotate", "edge revoke":
		need("edge", f.edge)
	case "card put":
		need("tenant", f.tenant)
		need("card", f.card)
	case "tariff set":
		need("edge", f.edge)
		need("electricity", f.electricity)
		need("service", f.service)
	case "admin create-admin":
		need("email", f.email)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: missing %s", cmd, strings.Join(missing, ", "))
	}
	return nil
}

// runAdmin runs one admin subcommand against the configured Postgres
// (applying pending migrations first, as serve does), prints its result on
// stdout and, after a config change, nudges the edges through the
// configured broker. The nudge is best effort: edges also pull periodically.
func runAdmin(ctx context.Context, cmd string, cfg server.Config, f *adminFlags, stdout, stderr io.Writer) error {
	var elec, svc int64
	if cmd == "tariff set" {
		// Refuse a bad price before touching the database.
		var err error
		if elec, err = site.ParseYuanPerKWh(f.electricity); err != nil {
			return usageError{fmt.Errorf("-electricity: %w", err)}
		}
		if svc, err = site.ParseYuanPerKWh(f.service); err != nil {
			return usageError{fmt.Errorf("-service: %w", err)}
		}
	}
	pool, err := postgres.Open(ctx, postgres.Config{URL: cfg.Postgres.URL, MaxConns: 2})
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := postgres.Migrate(ctx, pool, migrations.FS); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sites := site.New(pool, time.Now)

	var change site.Change
	switch cmd {
	case "edge create":
		e, cred, err := sites.CreateEdge(ctx, f.tenant, f.edge, f.name)
		if err != nil {
			return err
		}
		_, _ = fmt.Fprintf(stderr, "created edge %q of tenant %q; the credential below is shown once\n", e.ID, e.TenantID)
		_, err = fmt.Fprintf(stdout, "credential: %s\n", cred)
		return err
	case "edge rotate":
		e, cred, err := sites.RotateCredential(ctx, f.tenant, f.edge)
		if err != nil {
			return err
		}
		_, _ = fmt.Fprintf(stderr, "new credential for edge %q of tenant %q; the old one no longer works\n", e.ID, e.TenantID)
		_, err = fmt.Fprintf(stdout, "credential: %s\n", cred)
		return err
	case "edge revoke":
		e, err := sites.RevokeEdge(ctx, f.tenant, f.edge)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "revoked edge %q of tenant %q at %s\n", e.ID, e.TenantID, e.RevokedAt.Format(time.RFC3339))
		return err
	case "card put":
		card := site.Card{ID: f.card, BalanceFen: f.balance, OfflineLimitFen: f.offlineLimit, Blocked: f.blocked, UserID: f.user}
		if change, err = sites.PutCards(ctx, f.tenant, []site.Card{card}); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(stdout, "card %q of tenant %q: balance_fen=%d offline_limit_fen=%d blocked=%v config_version=%d\n",
			site.NormalizeCardID(f.card), f.tenant, f.balance, f.offlineLimit, f.blocked, change.Version); err != nil {
			return err
		}
	case "tariff set":
		t := &site.Tariff{ID: f.tariffID, Periods: []site.TariffPeriod{{StartMinute: 0, ElectricityMfenPerKWh: elec, ServiceMfenPerKWh: svc}}}
		stored, ch, err := sites.SetTariff(ctx, f.tenant, f.edge, t)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(stdout, "tariff %q of edge %q: electricity_mfen_per_kwh=%d service_mfen_per_kwh=%d config_version=%d\n",
			stored.ID, f.edge, elec, svc, ch.Version); err != nil {
			return err
		}
		change = ch
	default:
		return usageError{fmt.Errorf("unknown command %q", cmd)}
	}

	if len(change.Edges) == 0 {
		return nil
	}
	hctx, cancel := context.WithTimeout(ctx, hintTimeout)
	defer cancel()
	hc := server.HintConfig(cfg, server.MQTTURL(cfg))
	hc.ClientID += "-cli-" + fmt.Sprint(time.Now().UnixNano())
	hc.Timeout = hintTimeout
	if err := hint.Send(hctx, hc, change); err != nil {
		// The change is committed; the edges pick it up at their next pull.
		_, _ = fmt.Fprintf(stderr, "note: config-changed hint not sent (edges pick the change up at their next pull): %v\n", err)
	}
	return nil
}

// adminCommand returns "edge create" for args "edge create …" and the
// remaining args.
func adminCommand(group string, args []string) (string, []string, error) {
	subs := adminSubcommands(group)
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", nil, usageError{fmt.Errorf("%s: want a subcommand: %s", group, strings.Join(subs, ", "))}
	}
	for _, s := range subs {
		if args[0] == s {
			return group + " " + s, args[1:], nil
		}
	}
	return "", nil, usageError{fmt.Errorf("%s: unknown subcommand %q: want %s", group, args[0], strings.Join(subs, ", "))}
}
