package main

import (
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/chargeplane/chargeplane/cloud/server"
	"github.com/chargeplane/chargeplane/shared/config"
)

const deployFile = "../../../deploy/chargeplane-cloud.yaml"

// TestDeployFileIsTheDefaults keeps deploy/chargeplane-cloud.yaml honest: it
// sets every key but postgres.url (which has no default and is shown
// commented out), and each to its default.
func TestDeployFileIsTheDefaults(t *testing.T) {
	t.Parallel()
	cfg := server.DefaultConfig()
	if err := config.Load(&cfg, deployFile, nil, envPrefix); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(server.DefaultConfig(), cfg); diff != "" {
		t.Errorf("%s differs from DefaultConfig (-default +file):\n%s", deployFile, diff)
	}

	raw, err := os.ReadFile(deployFile)
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := yaml.Unmarshal(raw, &tree); err != nil {
		t.Fatal(err)
	}
	var inFile []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		m, ok := v.(map[string]any)
		if !ok {
			inFile = append(inFile, prefix)
			return
		}
		for k, sub := range m {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			walk(p, sub)
		}
	}
	walk("", tree)
	want := slices.DeleteFunc(config.Keys(server.DefaultConfig()), func(k string) bool { return k == "postgres.url" })
	slices.Sort(want)
	slices.Sort(inFile)
	if diff := cmp.Diff(want, inFile); diff != "" {
		t.Errorf("keys in %s (-want +got):\n%s", deployFile, diff)
	}
}
