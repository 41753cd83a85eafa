package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"
)

// tickerPipeline prints a numbered tick with the time it was printed,
// three times a second, until it is stopped.
const tickerPipeline = `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: ticker}
stages:
  - name: ticker
    budget: 1h
    steps:
      - name: tick
        run: 'i=0; while true; do i=$((i+1)); echo "tick $i $(date +%s%N)"; sleep 0.3; done'
`

// BenchmarkServeViewers attaches 1, then 20, OpenSSH viewers to one cutover
// serve run, each on a 120×40 terminal of its own emulated by
// charmbracelet/x/vt, and measures the time from a step's output line to
// the frame that shows it on the slowest viewer's screen, with the
// server's CPU and memory. The 1-viewer run is the baseline of the
// ratios.
//
//	go test -run '^$' -bench ServeViewers -benchtime 1x ./cmd/cutover
func BenchmarkServeViewers(b *testing.B) {
	for range b.N {
		one := measureViewers(b, 1)
		many := measureViewers(b, 20)
		b.ReportMetric(float64(one.p50.Microseconds())/1e3, "p50-ms-1viewer")
		b.ReportMetric(float64(many.p50.Microseconds())/1e3, "p50-ms-slowest-of-20")
		b.ReportMetric(float64(many.p95.Microseconds())/1e3, "p95-ms-slowest-of-20")
		b.ReportMetric(float64(many.p50)/float64(one.p50), "p50-ratio-20/1")
		b.ReportMetric(many.cpu, "server-cpu-%-20viewers")
		b.ReportMetric(one.cpu, "server-cpu-%-1viewer")
		b.ReportMetric(float64(many.rss)/(1<<20), "server-rss-MiB-20viewers")
		b.ReportMetric(float64(one.rss)/(1<<20), "server-rss-MiB-1viewer")
		b.Logf("1 viewer: %s; 20 viewers: %s", one, many)
	}
}

type viewerFigures struct {
	viewers  int
	ticks    int
	p50, p95 time.Duration
	cpu      float64 // percent of one core, over the window
	rss      int64   // bytes, at the end of the window
}

func (f viewerFigures) String() string {
	return fmt.Sprintf("%d ticks, slowest viewer p50 %s p95 %s, server CPU %.1f%% of a core, RSS %.1f MiB",
		f.ticks, f.p50.Round(100*time.Microsecond), f.p95.Round(100*time.Microsecond), f.cpu, float64(f.rss)/(1<<20))
}

// screenWatcher is one viewer: ssh on a pty, its output fed to a
// terminal emulator, and the time each tick first appeared on its screen.
type screenWatcher struct {
	mu   sync.Mutex
	seen map[int]time.Time // tick → when it showed
	sent map[int]time.Time // tick → when it was printed
}

var tickLine = regexp.MustCompile(`tick (\d+) (\d{16,})`)

func watchScreen(tb testing.TB, bs *bastion) *screenWatcher {
	tb.Helper()
	cmd := exec.Command("ssh", append([]string{"-tt"}, bs.sshArgs("bob")...)...)
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); _ = ptmx.Close() })
	em := vt.NewEmulator(120, 40)
	// The console asks its terminal questions (colors, size); the
	// emulator's answers go back up the ssh session, as a terminal's would.
	go func() { _, _ = io.Copy(ptmx, em) }()
	w := &screenWatcher{seen: map[int]time.Time{}, sent: map[int]time.Time{}}
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := ptmx.Read(buf)
			if n > 0 {
				now := time.Now()
				_, _ = em.Write(buf[:n])
				for _, m := range tickLine.FindAllStringSubmatch(em.String(), -1) {
					i, _ := strconv.Atoi(m[1])
					ns, _ := strconv.ParseInt(m[2], 10, 64)
					w.mu.Lock()
					if _, ok := w.seen[i]; !ok {
						w.seen[i], w.sent[i] = now, time.Unix(0, ns)
					}
					w.mu.Unlock()
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return w
}

func measureViewers(tb testing.TB, n int) viewerFigures {
	tb.Helper()
	bs := startBastion(tb, tickerPipeline)
	var ws []*screenWatcher
	for range n {
		ws = append(ws, watchScreen(tb, bs))
	}
	// Every viewer has its console up and ticks on its screen.
	deadline := time.Now().Add(time.Minute)
	for _, w := range ws {
		for {
			w.mu.Lock()
			k := len(w.seen)
			w.mu.Unlock()
			if k > 0 {
				break
			}
			if time.Now().After(deadline) {
				tb.Fatalf("a viewer never showed a tick:\n%s", bs.logText())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	pid := bs.cmd.Process.Pid
	cpu0, t0 := cpuTime(tb, strconv.Itoa(pid)), time.Now()
	first := latestTick(ws) + 1
	time.Sleep(10 * time.Second)
	last := latestTick(ws) - 2 // the newest may not have reached everyone yet
	cpu := float64(cpuTime(tb, strconv.Itoa(pid))-cpu0) / float64(time.Since(t0)) * 100
	rss := rssOf(tb, pid)

	var slowest []time.Duration
	for i := first; i <= last; i++ {
		worst := time.Duration(-1)
		for _, w := range ws {
			w.mu.Lock()
			seen, ok := w.seen[i]
			sent := w.sent[i]
			w.mu.Unlock()
			if !ok {
				// Scrolled past between two frames: this viewer never saw
				// it alone; it does not count against anyone.
				worst = -1
				break
			}
			worst = max(worst, seen.Sub(sent))
		}
		if worst >= 0 {
			slowest = append(slowest, worst)
		}
	}
	if len(slowest) < 10 {
		tb.Fatalf("only %d of ticks %d..%d reached every viewer", len(slowest), first, last)
	}
	slices.Sort(slowest)
	return viewerFigures{viewers: n, ticks: len(slowest), p50: slowest[len(slowest)/2], p95: slowest[len(slowest)*95/100], cpu: cpu, rss: rss}
}

func latestTick(ws []*screenWatcher) int {
	hi := 0
	for _, w := range ws {
		w.mu.Lock()
		for i := range w.seen {
			hi = max(hi, i)
		}
		w.mu.Unlock()
	}
	return hi
}

// rssOf is a process's resident memory, from /proc.
func rssOf(tb testing.TB, pid int) int64 {
	tb.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb << 10
		}
	}
	tb.Fatalf("no VmRSS for pid %d", pid)
	return 0
}
