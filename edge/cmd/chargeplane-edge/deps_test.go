package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps cloud-only and test-only code out of the edge
// binary, which runs on small gateway boxes (STYLE.md §1).
func TestDependencies(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list returned only %d packages: %q", len(deps), out)
	}
	forbidden := []string{
		"github.com/jackc/pgx",
		"github.com/redis/go-redis",
		"github.com/mochi-mqtt/server",
		"github.com/chargeplane/chargeplane/cloud",
	}
	for _, d := range deps {
		for _, f := range forbidden {
			if strings.HasPrefix(d, f) {
				t.Errorf("edge binary depends on %s", d)
			}
		}
		if strings.HasPrefix(d, "github.com/chargeplane/") && (strings.HasSuffix(d, "test") || strings.Contains(d, "test/")) {
			t.Errorf("edge binary depends on test package %s", d)
		}
	}
}
