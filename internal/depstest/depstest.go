// Package depstest checks, in a package's tests, what the package links.
package depstest

import (
	"os/exec"
	"strings"
	"testing"
)

// NotLinked fails t for every dependency of the package in the current
// directory (as `go list -deps .` lists them, tests excluded) that starts
// with one of banned.
func NotLinked(t *testing.T, banned ...string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed only %d packages: %s", len(deps), out)
	}
	for _, b := range banned {
		for _, d := range deps {
			if strings.HasPrefix(d, b) {
				t.Errorf("links %s (through %s)", b, d)
			}
		}
	}
}
