package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// cpuTime reads a process's user and system CPU time from /proc.
func cpuTime(tb testing.TB, pid string) time.Duration {
	tb.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		tb.Fatal(err)
	}
	// Fields after the command name, which may hold spaces, start at ")".
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(ut+st) * time.Second / clockTicks
}

// paneChild returns the PID of the process the pane's shell runs.
func (p *pane) paneChild(tb testing.TB) string {
	tb.Helper()
	shell := strings.TrimSpace(p.tmux("display-message", "-p", "#{pane_pid}"))
	b, err := os.ReadFile(filepath.Join("/proc", shell, "task", shell, "children"))
	if err != nil || len(strings.Fields(string(b))) == 0 {
		tb.Fatalf("no child of the pane's shell %s: %v", shell, err)
	}
	return strings.Fields(string(b))[0]
}

// BenchmarkConsoleIdleCPU measures the CPU the console uses over 10 s in
// a tmux pane while the local pipeline waits at its approval gate: only
// the spinner and the clock move. The same wait under --plain, in the
// same run, is the baseline.
func BenchmarkConsoleIdleCPU(b *testing.B) {
	pipeline, err := filepath.Abs("../../examples/local/pipeline.yaml")
	if err != nil {
		b.Fatal(err)
	}
	const window = 10 * time.Second
	measure := func(extra ...string) float64 {
		p := startPaneTB(b, 120, 40, append([]string{"run", pipeline, "--state-dir", b.TempDir()}, extra...)...)
		p.waitFor("waiting for approval", time.Minute)
		pid := p.paneChild(b)
		before := cpuTime(b, pid)
		time.Sleep(window)
		used := cpuTime(b, pid) - before
		return 100 * float64(used) / float64(window)
	}
	var tuiPct, plainPct float64
	for range b.N {
		tuiPct += measure()
		plainPct += measure("--plain")
	}
	n := float64(b.N)
	b.ReportMetric(tuiPct/n, "console-cpu-%")
	b.ReportMetric(plainPct/n, "plain-cpu-%")
}
