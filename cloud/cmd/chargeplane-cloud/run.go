package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/chargeplane/chargeplane/cloud/postgres"
	"github.com/chargeplane/chargeplane/cloud/server"
	"github.com/chargeplane/chargeplane/migrations"
	"github.com/chargeplane/chargeplane/shared/config"
)

// usageError is a command line that cannot be run; main exits 2 for it.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// run is the whole program; main only wires it to the process. It returns
// nil after a clean stop when ctx ends.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve", "migrate", "check-config":
	case "edge", "card", "tariff", "admin":
		var err error
		if cmd, args, err = adminCommand(cmd, args); err != nil {
			return err
		}
	default:
		return usageError{fmt.Errorf("unknown command %q: want serve, migrate, check-config, edge, card, tariff or admin", cmd)}
	}

	fs := flag.NewFlagSet("chargeplane-cloud "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf configFlags
	cf.register(fs)
	createDB := false
	if cmd == "migrate" {
		fs.BoolVar(&createDB, "create-db", false, "create the database named in postgres.url first if it does not exist")
	}
	var af adminFlags
	af.register(fs, cmd)
	fs.Usage = func() {
		// Usage goes to stderr; if that fails there is nowhere left to report it.
		_, _ = fmt.Fprintf(fs.Output(), "usage: chargeplane-cloud [serve|migrate|check-config] [flags]\n"+
			"       chargeplane-cloud edge create|rotate|revoke, card put, tariff set, admin create-admin [flags]\n\nflags of %s:\n", cmd)
		fs.PrintDefaults()
		_, _ = fmt.Fprintf(fs.Output(), "\nconfiguration keys (YAML, -set, %s_<KEY> with . as _):\n  %s\n",
			envPrefix, strings.Join(config.Keys(server.DefaultConfig()), "\n  "))
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %q", fs.Args())}
	}
	if err := af.checkRequired(cmd); err != nil {
		return usageError{err}
	}

	cfg, err := cf.load(fs, getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid config:\n%w", err)
	}
	logger := newLogger(cfg.Log, stderr)

	switch cmd {
	case "check-config":
		_, err := fmt.Fprintf(stdout, "# configuration is valid\n%s", cfg)
		return err
	case "migrate":
		return migrate(ctx, cfg, createDB, stdout)
	case "serve":
		reg := prometheus.NewRegistry()
		reg.MustRegister(
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		)
		return server.Run(ctx, cfg, logger, reg, func(string) {})
	case "admin create-admin":
		return createAdmin(ctx, cfg, &af, stdin, stdout, stderr)
	default:
		return runAdmin(ctx, cmd, cfg, &af, stdout, stderr)
	}
}

// migrate creates the database if asked, applies pending migrations and
// prints what it did.
func migrate(ctx context.Context, cfg server.Config, createDB bool, stdout io.Writer) (err error) {
	var out strings.Builder
	defer func() {
		// What was done is printed even when a later step failed.
		if _, werr := io.WriteString(stdout, out.String()); werr != nil && err == nil {
			err = fmt.Errorf("write output: %w", werr)
		}
	}()
	if createDB {
		created, err := postgres.EnsureDatabase(ctx, cfg.Postgres.URL)
		if err != nil {
			return err
		}
		if created {
			out.WriteString("created database\n")
		}
	}
	pool, err := postgres.Open(ctx, postgres.Config{URL: cfg.Postgres.URL, MaxConns: 2})
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := postgres.Migrate(ctx, pool, migrations.FS)
	for _, m := range applied {
		fmt.Fprintf(&out, "applied %04d_%s\n", m.Version, m.Name)
	}
	if err != nil {
		return err
	}
	all, err := postgres.Applied(ctx, pool)
	if err != nil {
		return err
	}
	if len(all) > 0 {
		last := all[len(all)-1]
		fmt.Fprintf(&out, "schema at %04d_%s\n", last.Version, last.Name)
	}
	return nil
}

func newLogger(c server.LogConfig, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.Level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
