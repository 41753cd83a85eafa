package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDemoSmoke runs `cutover demo --plain --speed 10` as a user would, as
// a process: a good release ends on green with every stage passed, and a
// bad one is measured failing after the switch and rolled back by itself,
// exit code 3.
func TestDemoSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo twice")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	demo := func(args ...string) (int, string, string) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), exe, append([]string{"demo", "--plain", "--speed", "10", "--state-dir", t.TempDir()}, args...)...)
		// The demo's steps run this same binary, which acts as cutover
		// with beMain set.
		cmd.Env = append(os.Environ(), beMain+"=1")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		cmd.WaitDelay = 10 * time.Second
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("demo %v: %v", args, err)
		}
		return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
	}

	t.Run("good release", func(t *testing.T) {
		code, out, errOut := demo()
		if code != 0 {
			t.Fatalf("exit %d, want 0\n%s\n%s", code, out, errOut)
		}
		for _, want := range []string{
			"stage monitoring succeeded",
			"done service production/claude-tiu-service live=green",
			"post-promotion/error-rate = 0: pass",
			"step performance-test/load succeeded",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q\n%s", want, out)
			}
		}
		if !regexp.MustCompile(`served by blue [1-9]\d*, green [1-9]\d*,.*; 0 not answered`).MatchString(errOut) {
			t.Errorf("summary %q: want both colors to have served users and none left unanswered", errOut)
		}
	})
	t.Run("bad release", func(t *testing.T) {
		code, out, errOut := demo("--bad-release")
		if code != exitRolledBack {
			t.Fatalf("exit %d, want %d (rolled back)\n%s\n%s", code, exitRolledBack, out, errOut)
		}
		measured := -1.0
		if m := regexp.MustCompile(`post-promotion/error-rate = ([0-9.]+): fail`).FindStringSubmatch(out); m != nil {
			measured, _ = strconv.ParseFloat(m[1], 64)
		}
		if measured < 0.05 {
			t.Errorf("no failed post-promotion error-rate measurement above 0.05:\n%s", out)
		}
		if !strings.Contains(out, "traffic is back on blue") {
			t.Errorf("output does not say traffic is back on blue:\n%s", out)
		}
	})
}
