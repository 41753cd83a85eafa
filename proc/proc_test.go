package proc

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The streams a step's output comes on.
const (
	Stdout = false
	Stderr = true
)

type captured struct {
	mu    sync.Mutex
	lines map[bool][]string
	parts int
}

func (c *captured) line(stderr bool, text string, partial bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lines == nil {
		c.lines = map[bool][]string{}
	}
	c.lines[stderr] = append(c.lines[stderr], text)
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

func TestArgv(t *testing.T) {
	for _, c := range []struct {
		script string
		shell  bool
	}{
		{"true", false},
		{"echo hello world", false},
		{"echo $HOME", true},
		{"a | b", true},
		{"cd /tmp", true},
		{"exit 1", true},
		{"FOO=1 env", true},
		{"no-such-command-here x", true},
		{"echo 'quoted'", true},
	} {
		args := argv(c.script)
		if got := args[0] == "/bin/sh"; got != c.shell {
			t.Errorf("argv(%q) = %q: shell %v, want %v", c.script, args, got, c.shell)
		}
		if !c.shell && !slices.Equal(args[1:], strings.Fields(c.script)[1:]) {
			t.Errorf("argv(%q) = %q: arguments changed", c.script, args)
		}
	}
}

// waitGone waits until pid has exited (a zombie counts: it runs no more).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, state, ok := procStat(pid); !ok || state == 'Z' {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running after the step ended", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
