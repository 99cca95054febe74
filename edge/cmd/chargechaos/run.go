package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// options are the command line.
type options struct {
	repo          string
	binDir        string
	postgresAdmin string
	redisURL      string
	chargers      int
	offlineMin    int
	offlineTarget int
	kills         int
	killMin       time.Duration
	killMax       time.Duration
	seed          uint64
	timeout       time.Duration
	keep          bool
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("chargechaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.repo, "repo", "", "repository root to build from (default: the module root of the working directory)")
	fs.StringVar(&o.binDir, "bin", "", "use chargeplane-cloud, chargeplane-edge and chargesim from this directory instead of building them")
	fs.StringVar(&o.postgresAdmin, "postgres", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
		"Postgres URL of a role that may create databases; the run creates chaos_<unix> next to it and drops it at the end")
	fs.StringVar(&o.redisURL, "redis", "redis://127.0.0.1:6379/0", "Redis URL for the cloud (keys under a per-run prefix, deleted at the end)")
	fs.IntVar(&o.chargers, "chargers", 10, "simulated BKV gateways per scenario (4 sockets, 8 connectors each)")
	fs.IntVar(&o.offlineMin, "offline-sessions", 200, "sessions the offline scenario must produce at least")
	fs.IntVar(&o.kills, "kills", 5, "kill -9 of the edge in the crash scenario")
	fs.DurationVar(&o.killMin, "kill-min", 2*time.Second, "shortest time between kills")
	fs.DurationVar(&o.killMax, "kill-max", 6*time.Second, "longest time between kills")
	fs.Uint64Var(&o.seed, "seed", 0, "seed of the kill moments (0: from the clock; printed, to replay a run)")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "bound on the whole run")
	fs.BoolVar(&o.keep, "keep", false, "keep the database and the temp dir (logs, stores) after the run")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	if o.chargers < 1 || o.chargers > 200 {
		errs = append(errs, errors.New("-chargers: must be 1–200"))
	}
	if o.offlineMin < 1 {
		errs = append(errs, errors.New("-offline-sessions: must be positive"))
	}
	if o.kills < 1 {
		errs = append(errs, errors.New("-kills: must be positive"))
	}
	if o.killMin <= 0 || o.killMax < o.killMin {
		errs = append(errs, errors.New("-kill-min/-kill-max: want 0 < min ≤ max"))
	}
	if o.timeout <= 0 {
		errs = append(errs, errors.New("-timeout: must be positive"))
	}
	// A margin above the minimum: the run stops the simulator once the
	// target is acknowledged; sessions still charging then never end.
	o.offlineTarget = o.offlineMin + o.offlineMin/10 + 10
	return o, errors.Join(errs...)
}

// run is the whole program: 0 when both scenarios passed, 1 when a check
// failed, 2 for a bad command line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "chargechaos: %v\n", err)
		return 2
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano()) //nolint:gosec // a seed, sign irrelevant
	}
	if o.repo == "" {
		if o.repo, err = moduleRoot(ctx); err != nil {
			fmt.Fprintf(stderr, "chargechaos: %v\n", err)
			return 2
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	h := &harness{
		opt: o, out: stdout, started: time.Now(),
		rng:    rand.New(rand.NewPCG(o.seed, o.seed^0x6368616f73)), //nolint:gosec // reproducible kill moments, not security
		tenant: "chaos", edgeID: "chaos-edge-1",
		tariff: flatTariff{ElectricityMfen: 65230, ServiceMfen: 40000},
	}
	h.say("seed %d (replay with -seed %d)", o.seed, o.seed)
	total, errs := h.run(ctx)

	failed := total.failed() || len(errs) > 0
	if failed {
		h.printLogTails(stdout)
	}
	for _, err := range errs {
		fmt.Fprintf(stdout, "chaos: ERROR: %v\n", err)
	}
	h.cleanup(failed)
	fmt.Fprintf(stdout, "chaos: %s\n", total.line())
	if failed {
		return 1
	}
	return 0
}

// moduleRoot is the directory of the go.mod governing the working directory.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := runCommand(ctx, 30*time.Second, "", nil, "go", "env", "GOMOD")
	if err != nil {
		return "", fmt.Errorf("find the module root: %w", err)
	}
	gomod := strings.TrimSpace(out)
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the chargeplane module: run from the repository or pass -repo")
	}
	return filepath.Dir(gomod), nil
}

// build compiles the three binaries into dir.
func build(ctx context.Context, repo, dir string) error {
	if _, err := exec.LookPath("go"); err != nil {
		return fmt.Errorf("go toolchain not found: %w", err)
	}
	_, err := runCommand(ctx, 4*time.Minute, repo, nil, "go", "build", "-o", dir+string(os.PathSeparator),
		"./cloud/cmd/chargeplane-cloud", "./edge/cmd/chargeplane-edge", "./edge/cmd/chargesim")
	if err != nil {
		return fmt.Errorf("build binaries: %w", err)
	}
	return nil
}
