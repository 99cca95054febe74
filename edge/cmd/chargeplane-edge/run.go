package main

import (
	"context"
	"io"
	"runtime/debug"
	_ "time/tzdata" // gateway boxes often lack a zoneinfo database

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/chargeplane/chargeplane/edge/agent"
	"github.com/chargeplane/chargeplane/shared/config"
	"github.com/chargeplane/chargeplane/shared/logging"
)

// run is the whole program; main only wires signals and the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) > 0 && args[0] == "decode" {
		return runDecode(args[1:], stdin, stdout, stderr)
	}
	cfg, checkOnly, err := loadConfig(args, getenv, stderr)
	if err != nil {
		return exitf(stderr, "%v", err)
	}
	if checkOnly {
		_, _ = io.WriteString(stdout, "configuration is valid\n")
		return 0
	}
	logger, err := logging.New(cfg.Log, stderr)
	if err != nil {
		return exitf(stderr, "%v", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	logger.Debug("configuration", "config", config.Redacted(cfg))
	if err := agent.Run(ctx, cfg, version(), logger, reg, agent.Hooks{}); err != nil {
		logger.Error("edge agent failed", "err", err)
		return 1
	}
	return 0
}

// version reports the module version or VCS revision the binary was built from.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return s.Value[:12]
		}
	}
	return bi.Main.Version
}
