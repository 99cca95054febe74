package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/chargeplane/chargeplane/edge/agent"
	"github.com/chargeplane/chargeplane/shared/config"
)

// envPrefix prefixes every environment override: CHARGEPLANE_EDGE_STORE_DIR
// sets store.dir.
const envPrefix = "CHARGEPLANE_EDGE"

// setFlags collects repeated -set key=value flags.
type setFlags []string

func (s *setFlags) String() string     { return strings.Join(*s, ",") }
func (s *setFlags) Set(v string) error { *s = append(*s, v); return nil }

// loadConfig applies, in order: defaults, the YAML file, environment
// variables, then flags. It validates the result and reports every problem.
func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (agent.Config, bool, error) {
	fs := flag.NewFlagSet("chargeplane-edge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "YAML config file (see deploy/chargeplane-edge.yaml)")
	checkOnly := fs.Bool("check-config", false, "validate the configuration and exit")
	var sets setFlags
	fs.Var(&sets, "set", "override one key, e.g. -set gateway.addr=0.0.0.0:8600 (repeatable)")
	listen := fs.String("listen", "", "charger address (gateway.addr)")
	adminAddr := fs.String("admin", "", "admin HTTP address (admin.addr)")
	storeDir := fs.String("store", "", "store directory (store.dir)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: chargeplane-edge [flags]\n       chargeplane-edge decode --protocol bkv|ap3000|ykc [--dir up|down] [HEX...]\n\nflags:\n")
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nEvery key can also be set by environment, %s_<KEY> (dots become _).\n", envPrefix)
	}
	if err := fs.Parse(args); err != nil {
		return agent.Config{}, false, fmt.Errorf("flags: %w", err)
	}
	if fs.NArg() > 0 {
		return agent.Config{}, false, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *path == "" {
		*path = getenv(envPrefix + "_CONFIG")
	}
	cfg := agent.DefaultConfig()
	if err := config.Load(&cfg, *path, getenv, envPrefix); err != nil {
		return cfg, false, err //nolint:wrapcheck // already names the key and source
	}
	for key, val := range map[string]string{"gateway.addr": *listen, "admin.addr": *adminAddr, "store.dir": *storeDir} {
		if val != "" {
			sets = append(sets, key+"="+val)
		}
	}
	for _, kv := range sets {
		key, val, ok := strings.Cut(kv, "=")
		if !ok {
			return cfg, false, fmt.Errorf("-set %q: want key=value", kv)
		}
		if err := config.Set(&cfg, key, val); err != nil {
			return cfg, false, fmt.Errorf("-set: %w", err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, false, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, *checkOnly, nil
}
