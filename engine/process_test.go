package engine

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

type captured struct {
	mu    sync.Mutex
	lines map[Stream][]string
	parts int
}

func (c *captured) line(s Stream, text string, partial bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lines == nil {
		c.lines = map[Stream][]string{}
	}
	c.lines[s] = append(c.lines[s], text)
	if partial {
		c.parts++
	}
}

// TestRunCommandPaths runs the same cases through the pidfd poll loop and
// the portable goroutine path.
func TestRunCommandPaths(t *testing.T) {
	for _, portable := range []bool{false, true} {
		t.Run("portable="+strconv.FormatBool(portable), func(t *testing.T) {
			run := func(ctx context.Context, script string) (int, *captured, time.Duration) {
				t.Helper()
				var c captured
				start := time.Now()
				code, err := runCommand(ctx, command{args: argv(script), grace: 300 * time.Millisecond, line: c.line, portable: portable})
				if err != nil {
					t.Fatalf("%s: %v", script, err)
				}
				return code, &c, time.Since(start)
			}
			t.Run("streams and exit code", func(t *testing.T) {
				code, c, _ := run(context.Background(), "echo out1; echo err1 >&2; printf 'no newline'; exit 5")
				if code != 5 {
					t.Errorf("exit code: got %d, want 5", code)
				}
				if got := c.lines[Stdout]; !slices.Equal(got, []string{"out1", "no newline"}) {
					t.Errorf("stdout: got %q", got)
				}
				if got := c.lines[Stderr]; !slices.Equal(got, []string{"err1"}) {
					t.Errorf("stderr: got %q", got)
				}
			})
			t.Run("signal exit code", func(t *testing.T) {
				if code, _, _ := run(context.Background(), "kill -9 $$"); code != 137 {
					t.Errorf("exit code: got %d, want 137", code)
				}
			})
			t.Run("cancel kills the group", func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				var c captured
				done := make(chan int)
				go func() {
					code, _ := runCommand(ctx, command{args: argv("sleep 300 & echo $!; (trap '' TERM; exec sleep 301) & echo $!; wait"), grace: 300 * time.Millisecond, line: c.line, portable: portable})
					done <- code
				}()
				var pids []int
				for deadline := time.Now().Add(10 * time.Second); len(pids) < 2; time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatal("no pids printed")
					}
					c.mu.Lock()
					pids = pids[:0]
					for _, l := range c.lines[Stdout] {
						if pid, err := strconv.Atoi(l); err == nil {
							pids = append(pids, pid)
						}
					}
					c.mu.Unlock()
				}
				cancel()
				if code := <-done; code != 128+15 {
					t.Errorf("exit code: got %d, want 143 (SIGTERM)", code)
				}
				for _, pid := range pids {
					waitGone(t, pid)
				}
			})
			t.Run("leftovers end with the leader", func(t *testing.T) {
				code, c, _ := run(context.Background(), "sleep 300 & echo $!")
				if code != 0 || len(c.lines[Stdout]) != 1 {
					t.Fatalf("got exit %d, output %q", code, c.lines[Stdout])
				}
				pid, _ := strconv.Atoi(c.lines[Stdout][0])
				waitGone(t, pid)
			})
			t.Run("long line", func(t *testing.T) {
				_, c, _ := run(context.Background(), "head -c 2097153 /dev/zero | tr '\\0' y; echo; echo end")
				out := c.lines[Stdout]
				if len(out) != 4 || c.parts != 2 || out[3] != "end" || len(strings.Join(out[:3], "")) != 2097153 {
					t.Errorf("got %d lines (%d partial), want 2 MiB+1 in three pieces (two partial) then end", len(out), c.parts)
				}
			})
		})
	}
}

func TestRunCommandMissingDir(t *testing.T) {
	file := t.TempDir() + "/file"
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dir, want string }{
		{"/nonexistent", "dir /nonexistent: no such directory"},
		{file, "dir " + file + ": not a directory"},
	} {
		var out captured
		_, err := runCommand(context.Background(), command{args: shell("true"), dir: c.dir, line: out.line})
		if err == nil || err.Error() != c.want {
			t.Errorf("dir %s: got %v, want %q", c.dir, err, c.want)
		}
	}
}

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
		if _, state, ok := procStat(pid); ok && state != 'Z' {
			t.Errorf("%s: process %d still runs (state %c) after its step ended", name, pid, state)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
