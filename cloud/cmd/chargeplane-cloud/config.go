package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/chargeplane/chargeplane/cloud/server"
	"github.com/chargeplane/chargeplane/shared/config"
)

// envPrefix starts every environment variable the cloud reads:
// CHARGEPLANE_CLOUD_POSTGRES_URL for postgres.url.
const envPrefix = "CHARGEPLANE_CLOUD"

// setFlags collects repeated -set key=value flags in order.
type setFlags [][2]string

func (s *setFlags) String() string { return "" }

func (s *setFlags) Set(v string) error {
	key, value, ok := strings.Cut(v, "=")
	if !ok || key == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	*s = append(*s, [2]string{key, value})
	return nil
}

// configFlags are the flags every subcommand takes.
type configFlags struct {
	path        string
	sets        setFlags
	httpAddr    string
	postgresURL string
}

func (f *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.path, "config", "", "YAML configuration `file` (see deploy/chargeplane-cloud.yaml)")
	fs.Var(&f.sets, "set", "set one configuration `key=value` (repeatable), e.g. -set presence.timeout=5m")
	fs.StringVar(&f.httpAddr, "http-addr", "", "HTTP listen `host:port` (http.addr)")
	fs.StringVar(&f.postgresURL, "postgres-url", "", "Postgres `url` (postgres.url); prefer "+envPrefix+"_POSTGRES_URL, flags show in ps")
}

// load builds the configuration: defaults, then the YAML file, then the
// environment, then -set flags in order, then the dedicated flags that were
// given. It does not validate.
func (f *configFlags) load(fs *flag.FlagSet, getenv func(string) string) (server.Config, error) {
	cfg := server.DefaultConfig()
	if err := config.Load(&cfg, f.path, getenv, envPrefix); err != nil {
		return cfg, err
	}
	for _, kv := range f.sets {
		if err := config.Set(&cfg, kv[0], kv[1]); err != nil {
			return cfg, fmt.Errorf("-set %s: %w", kv[0], err)
		}
	}
	var err error
	fs.Visit(func(fl *flag.Flag) {
		if err != nil {
			return
		}
		switch fl.Name {
		case "http-addr":
			err = config.Set(&cfg, "http.addr", f.httpAddr)
		case "postgres-url":
			err = config.Set(&cfg, "postgres.url", f.postgresURL)
		}
	})
	return cfg, err
}
