package engine

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestEscapedProcessesStopWithTheirStep starts processes that leave the
// step's process group (setsid, and a double fork into a new session)
// while a step of another stage runs beside it: the escaped ones are gone
// when their step ends, and the other step is left alone.
func TestEscapedProcessesStopWithTheirStep(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid(1) here")
	}
	dir := t.TempDir()
	doc := `
apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: escape}
stages:
  - name: daemon
    budget: 1m
    steps:
      - name: start
        run: |
          setsid sleep 300 & echo $! > ` + dir + `/setsid.pid
          setsid sh -c 'sleep 301 & echo $! > ` + dir + `/grandchild.pid' &
          trap '' TERM; sleep 0.2
  - name: neighbour
    budget: 1m
    steps:
      - name: wait
        run: sleep 2; echo still here
`
	h := newHarness(t, Config{Pipeline: mustLoad(t, doc), Parallel: 2})
	final := h.run()
	if final.Status != StatusSucceeded {
		t.Fatalf("run: got %s, want succeeded", final.Status)
	}
	if got := h.output("neighbour", "wait"); !slices.Equal(got, []string{"still here"}) {
		t.Errorf("the other stage's step: got output %q, want it to run to its end", got)
	}
	for _, name := range []string{"setsid.pid", "grandchild.pid"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil {
			t.Fatal(err)
		}
		if !processGone(pid) {
			t.Errorf("%s: process %d still runs after its step ended", name, pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
