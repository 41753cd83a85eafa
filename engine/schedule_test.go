package engine

import (
	"fmt"
	"testing"

	"github.com/cutover-sh/cutover/engine/spec"
)

func TestPlan(t *testing.T) {
	// build -> test -> deploy, and docs on its own.
	stages := []spec.Stage{
		{Name: "build"},
		{Name: "test", Needs: []string{"build"}},
		{Name: "deploy", Needs: []string{"test"}},
		{Name: "docs"},
	}
	const (
		P = StatusPending
		R = StatusRunning
		S = StatusSucceeded
		F = StatusFailed
		K = StatusSkipped
		C = StatusCancelled
	)
	for _, c := range []struct {
		name      string
		status    []Status
		free      int
		stopping  bool
		start     string
		blocked   string
		abandoned string
	}{
		{"first pass starts the roots", []Status{P, P, P, P}, 4, false, "[0 3]", "map[]", "[]"},
		{"the slot limit holds", []Status{P, P, P, P}, 1, false, "[0]", "map[]", "[]"},
		{"no free slot", []Status{R, P, P, P}, 0, false, "[]", "map[]", "[]"},
		{"a success unblocks", []Status{S, P, P, R}, 3, false, "[1]", "map[]", "[]"},
		{"a skipped need counts as done", []Status{K, P, P, S}, 3, false, "[1]", "map[]", "[]"},
		{"a failure blocks the chain", []Status{F, P, P, R}, 3, false, "[]", "map[1:build 2:test]", "[]"},
		{"a cancelled need blocks too", []Status{S, C, P, S}, 3, false, "[]", "map[2:test]", "[]"},
		{"stopping abandons what is left", []Status{S, P, P, P}, 3, true, "[]", "map[]", "[1 2 3]"},
		{"stopping still reports blocked stages", []Status{F, P, P, R}, 3, true, "[]", "map[1:build 2:test]", "[]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := plan(stages, c.status, c.free, c.stopping)
			got := fmt.Sprint(d.start, d.blocked, d.abandoned)
			want := c.start + " " + c.blocked + " " + c.abandoned
			if got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
}
