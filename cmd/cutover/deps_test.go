package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestPluginIsNotLinked: Go's plugin package gives the binary a dynamic
// symbol table (19 MiB of it when k8s.io/cli-runtime brought kustomize's
// plugin loader in). Nothing cutover needs links it; this fails the day a
// dependency does again.
func TestPluginIsNotLinked(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 100 || !slices.Contains(deps, "k8s.io/client-go/kubernetes") {
		t.Fatalf("go list -deps listed %d packages, not cutover's: %v", len(deps), deps)
	}
	// go-md2man renders the man pages at release time (gendocs.go, behind
	// a build tag): it has no business in the binary.
	for _, banned := range []string{"plugin", "k8s.io/cli-runtime/pkg/genericclioptions", "sigs.k8s.io/kustomize/api/krusty", "github.com/cpuguy83/go-md2man/v2/md2man"} {
		if slices.Contains(deps, banned) {
			t.Errorf("cutover links %s again", banned)
		}
	}
}
