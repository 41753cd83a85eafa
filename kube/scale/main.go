// Command scale measures the whole console at scale, side by side with
// k9s, in the same run: `cutover run` with its console open in a 120×40
// tmux pane and a blueGreen step waiting at its gate, and k9s in its pods
// view of the same namespace in another 120×40 pane, while the pair holds
// -pods pods (half a color) on kwok nodes of the test control plane. For
// each program it prints the RSS 30 s after the screen first showed the
// pods; the CPU over 20 idle seconds, as a share of one core; and the time
// from a pod's creation to its name on the screen, read from tmux
// captures (median, p95 and max of -changes pods).
//
// cutover's idle CPU is measured in each phase of its release, the same
// 20 s each: the rollout (the new color's pods created, kwok paused so
// that none of them changes), the gate, the post-promotion analysis (a
// real Prometheus scraping a metrics app a color, which the console's
// panels read too) and the scale-down delay. A bare Bubble Tea console of
// the same size (tui/bare) runs beside it and is measured over the
// same windows: on a shared machine one figure swings by tenths of a
// point from run to run, and the ratio between the two says what is
// cutover's own.
//
//	CUTOVER_TESTENV_BIN=$(testenv/build-controlplane) go run ./kube/scale [-pods 1000,5000] [-k9s PATH]
//
// k9s v0.50.18 is built once into ~/.cache/cutover/tools (scripts/scale
// does it); without it the table has cutover's figures alone. Nothing here
// asserts a figure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/testenv"
)

type options struct {
	pods    []int
	k9s     string
	changes int
	settle  time.Duration
	idle    time.Duration
	// profile, when set, is where cutover's CPU profiles of the idle
	// windows go (CUTOVER_CPUPROFILE).
	profile string
}

func main() {
	var o options
	var pods string
	flag.StringVar(&pods, "pods", "1000,5000", "pod counts to measure at, half a color, comma-separated")
	flag.StringVar(&o.k9s, "k9s", "", "the k9s binary (default: ~/.cache/cutover/tools/k9s-v0.50.18/k9s if it is there)")
	flag.IntVar(&o.changes, "changes", 20, "pods created, one at a time, to time the way to the screen")
	flag.DurationVar(&o.settle, "settle", 30*time.Second, "how long after the pods show the RSS is read")
	flag.DurationVar(&o.idle, "idle", 20*time.Second, "the idle window CPU is measured over")
	flag.StringVar(&o.profile, "cpuprofile", "", "write cutover's CPU profile of each idle window to PREFIX-PODS.N (go tool pprof)")
	flag.Parse()
	for f := range strings.SplitSeq(pods, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 || n%2 != 0 {
			fmt.Fprintf(os.Stderr, "scale: -pods: %q is not an even count of at least 2\n", f)
			os.Exit(2)
		}
		o.pods = append(o.pods, n)
	}
	if o.k9s == "" {
		if home, err := os.UserHomeDir(); err == nil {
			if p := filepath.Join(home, ".cache", "cutover", "tools", "k9s-v0.50.18", "k9s"); fileExists(p) {
				o.k9s = p
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	rows, err := run(ctx, o)
	stop()
	printTable(os.Stdout, o, rows)
	if err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "scale: "+format+"\n", args...)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// row is one program's figures at one pod count.
type row struct {
	pods    int
	program string
	rss     int64 // bytes
	cpu     float64
	toShow  []time.Duration
	missed  int // changes the screen never showed within the bound
	// cpuRollout, cpuPost and cpuDelay are cutover's idle CPU in the
	// rollout, the post-promotion analysis and the scale-down delay; -1
	// where not measured (k9s has no phases).
	cpuRollout, cpuPost, cpuDelay float64
}

func run(ctx context.Context, o options) ([]row, error) {
	bin, err := testenv.BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "cutover-scale-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	cutover, bare := filepath.Join(dir, "cutover"), filepath.Join(dir, "bare")
	logf("building cutover and the bare console")
	for out, pkg := range map[string]string{cutover: "./cmd/cutover", bare: "./tui/bare"} {
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", out, pkg).CombinedOutput(); err != nil { //nolint:gosec // go, on this repository
			return nil, fmt.Errorf("build %s (run from the repository's root): %w\n%s", pkg, err, out)
		}
	}
	if o.k9s == "" {
		logf("no k9s: measuring cutover alone (build it with scripts/scale, or give -k9s)")
	}
	var rows []row
	for _, n := range o.pods {
		rs, err := measureAt(ctx, o, bin, dir, cutover, bare, n)
		rows = append(rows, rs...)
		if err != nil {
			return rows, fmt.Errorf("at %d pods: %w", n, err)
		}
	}
	return rows, nil
}

// measureAt starts a control plane of its own for n pods, so that one
// count's leftovers do not weigh on the next.
func measureAt(ctx context.Context, o options, bin, dir, cutover, bare string, n int) ([]row, error) {
	cdir := filepath.Join(dir, fmt.Sprintf("cluster-%d", n))
	logf("%d pods: starting the control plane in %s", n, cdir)
	c, err := testenv.Start(ctx, bin, cdir)
	if err != nil {
		return nil, err
	}
	defer c.Stop()
	// kwok's nodes take 110 pods each; one more node leaves room for the
	// rollout's surge and the probes.
	for i := range n/100 + 2 {
		if err := c.AddNode(ctx, fmt.Sprintf("kwok-%d", i)); err != nil {
			return nil, err
		}
	}
	ns, err := testenv.Namespace(ctx, c.Client)
	if err != nil {
		return nil, err
	}
	half := int32(n / 2) //nolint:gosec // a flag, far below 2^31
	pctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	err = testenv.CreatePair(pctx, c.Client, ns, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: half, Green: 0})
	cancel()
	if err != nil {
		return nil, err
	}
	// A metrics app a color and a real Prometheus scraping them: the
	// console's panels read it in every phase, and the post-promotion
	// analysis measures the new color with it.
	var targets []string
	for _, color := range []string{"blue", "green"} {
		app, err := testenv.StartApp(ctx, testenv.AppOptions{Service: "web", Color: color, Namespace: ns, Pod: "web-" + color + "-1"})
		if err != nil {
			return nil, err
		}
		defer app.Stop()
		targets = append(targets, app.Addr)
	}
	promDir := filepath.Join(cdir, "prometheus")
	if err := os.MkdirAll(promDir, 0o700); err != nil {
		return nil, err
	}
	prom, err := testenv.StartPrometheus(ctx, promDir, targets)
	if err != nil {
		return nil, err
	}
	defer prom.Stop()
	if err := prom.WaitForRequests(ctx, "web"); err != nil {
		return nil, err
	}
	pipeline := filepath.Join(cdir, "pipeline.yaml")
	if err := os.WriteFile(pipeline, fmt.Appendf(nil, `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: scale}
prometheus: {address: %s}
stages:
  - name: production
    budget: 1h
    steps:
      - name: switch
        blueGreen:
          namespace: %s
          service: web-service
          container: app
          image: web:v2
          replicas: %d
          approve: Switch to web:v2?
          scaleDownDelay: 1h
          postPromotion:
            interval: 10s
            count: 6
            metrics:
              - name: error-rate
                query: (sum(rate(http_requests_total{namespace="{{.Namespace}}",color="{{.Color}}",code=~"5.."}[30s])) or vector(0)) / sum(rate(http_requests_total{namespace="{{.Namespace}}",color="{{.Color}}"}[30s]))
                successCondition: "< 0.05"
`, prom.URL, ns, half), 0o600); err != nil {
		return nil, err
	}

	// kwok paused, the new color's pods are created and bound and then
	// nothing changes: the rollout waits, watched, while its CPU is
	// measured. Nodes stay Ready: their grace period is 5 minutes.
	if err := c.Pause("kwok"); err != nil {
		return nil, err
	}
	paused := true
	defer func() {
		if paused {
			_ = c.Continue("kwok")
		}
	}()
	logf("%d pods: cutover deploys green, kwok paused", n)
	var env []string
	if o.profile != "" {
		env = append(env, fmt.Sprintf("CUTOVER_CPUPROFILE=%s-%d", o.profile, n))
	}
	cons, err := newPane(cdir, "cutover", fmt.Sprintf("%s run %s --kubeconfig %s --state-dir %s", cutover, pipeline, c.Kubeconfig, filepath.Join(cdir, "state")), env)
	if err != nil {
		return nil, err
	}
	defer cons.close()
	// The bare console runs beside cutover from here on and is measured
	// over the same windows: the machine's share of each figure.
	base, err := newPane(cdir, "bare", bare, nil)
	if err != nil {
		return nil, err
	}
	defer base.close()
	if err := waitBound(ctx, c.Client, ns, "green", n/2); err != nil {
		return nil, err
	}
	if err := cons.waitFor(ctx, fmt.Sprintf("0/%d", n/2), time.Minute); err != nil {
		return nil, err
	}
	logf("%d pods: cutover's CPU over %s in the rollout, nothing changing", n, o.idle)
	cpuRollout, err := idleCPU(ctx, o, cons, base)
	if err != nil {
		return nil, err
	}
	if err := c.Continue("kwok"); err != nil {
		return nil, err
	}
	paused = false
	if err := cons.waitFor(ctx, "Approval needed", 20*time.Minute); err != nil {
		return nil, err
	}
	// The card hides part of the pods; a person at the gate who watches
	// them puts it away (esc), as the card's own line says.
	if _, err := cons.tmux("send-keys", "Escape"); err != nil {
		return nil, err
	}
	if err := testenv.WaitReady(ctx, c.Client, ns, "web-green", half); err != nil {
		return nil, err
	}
	panes := []*pane{cons}
	if o.k9s != "" {
		k, err := startK9s(o.k9s, cdir, c.Kubeconfig, ns)
		if err != nil {
			return nil, err
		}
		defer k.close()
		if err := k.waitFor(ctx, "web-", 2*time.Minute); err != nil {
			return nil, err
		}
		panes = append(panes, k)
	}
	logf("%d pods: on screen; RSS in %s", n, o.settle)
	sleep(ctx, o.settle)
	// The bare console is measured with the others, and timed to no
	// screen: it shows no pods.
	measured := append(slices.Clone(panes), base)
	rows := make([]row, len(measured))
	for i, p := range measured {
		rows[i] = row{pods: n, program: p.name, cpuRollout: -1, cpuPost: -1, cpuDelay: -1}
		pid, err := p.child()
		if err != nil {
			return rows, err
		}
		if rows[i].rss, err = rss(pid); err != nil {
			return rows, err
		}
	}
	logf("%d pods: CPU over %s with nothing changing", n, o.idle)
	var before []time.Duration
	for _, p := range measured {
		pid, _ := p.child()
		t, err := cpuTime(pid)
		if err != nil {
			return rows, err
		}
		before = append(before, t)
	}
	profile(o, panes[0], syscall.SIGUSR1)
	start := time.Now()
	sleep(ctx, o.idle)
	took := time.Since(start)
	profile(o, panes[0], syscall.SIGUSR2)
	for i, p := range measured {
		pid, _ := p.child()
		t, err := cpuTime(pid)
		if err != nil {
			return rows, err
		}
		rows[i].cpu = 100 * float64(t-before[i]) / float64(took)
	}
	rows[0].cpuRollout, rows[len(rows)-1].cpuRollout = cpuRollout[0], cpuRollout[1]
	logf("%d pods: %d pods created one at a time, each timed to the screens", n, o.changes)
	for i := range o.changes {
		if ctx.Err() != nil {
			return rows, ctx.Err()
		}
		shown, err := probe(ctx, c.Client, ns, i, panes)
		if err != nil {
			return rows, err
		}
		for j, d := range shown {
			if d < 0 {
				rows[j].missed++
				continue
			}
			rows[j].toShow = append(rows[j].toShow, d)
		}
	}
	// Approved (a, then y to the plan), the release switches, analyses
	// green for a minute, and keeps blue warm for its scale-down delay:
	// cutover's other idle phases.
	logf("%d pods: approved; cutover's CPU over %s in the post-promotion analysis", n, o.idle)
	for _, key := range []string{"a", "y"} {
		if _, err := cons.tmux("send-keys", key); err != nil {
			return rows, err
		}
		sleep(ctx, time.Second)
	}
	if err := cons.waitFor(ctx, string(engine.PhasePostAnalysis), 5*time.Minute); err != nil {
		return rows, err
	}
	cpu, err := idleCPU(ctx, o, cons, base)
	if err != nil {
		return rows, err
	}
	rows[0].cpuPost, rows[len(rows)-1].cpuPost = cpu[0], cpu[1]
	logf("%d pods: cutover's CPU over %s in the scale-down delay", n, o.idle)
	if err := cons.waitFor(ctx, "warm, scaled down in", 5*time.Minute); err != nil {
		return rows, err
	}
	if cpu, err = idleCPU(ctx, o, cons, base); err != nil {
		return rows, err
	}
	rows[0].cpuDelay, rows[len(rows)-1].cpuDelay = cpu[0], cpu[1]
	return rows, nil
}

// idleCPU is the share of a core each pane's program used over the same
// o.idle, after 5 s for the work that led to this phase to settle. The
// first pane's is profiled when asked.
func idleCPU(ctx context.Context, o options, ps ...*pane) ([]float64, error) {
	sleep(ctx, 5*time.Second)
	pids := make([]string, len(ps))
	t0 := make([]time.Duration, len(ps))
	for i, p := range ps {
		pid, err := p.child()
		if err != nil {
			return nil, err
		}
		if t0[i], err = cpuTime(pid); err != nil {
			return nil, err
		}
		pids[i] = pid
	}
	profile(o, ps[0], syscall.SIGUSR1)
	start := time.Now()
	sleep(ctx, o.idle)
	profile(o, ps[0], syscall.SIGUSR2)
	took := time.Since(start)
	out := make([]float64, len(ps))
	for i, pid := range pids {
		t1, err := cpuTime(pid)
		if err != nil {
			return nil, err
		}
		out[i] = 100 * float64(t1-t0[i]) / float64(took)
	}
	return out, nil
}

// waitBound waits until color has want pods bound to a node: with kwok
// paused, that is the last change the rollout sees.
func waitBound(ctx context.Context, cs kubernetes.Interface, ns, color string, want int) error {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web,color=" + color})
		bound := 0
		if err == nil {
			for _, p := range pods.Items {
				if p.Spec.NodeName != "" {
					bound++
				}
			}
			if bound >= want {
				return nil
			}
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("list %s's pods: %w", color, err)
			}
			return fmt.Errorf("%d of %s's %d pods bound after 10 minutes", bound, color, want)
		}
		if !sleep(ctx, 500*time.Millisecond) {
			return ctx.Err()
		}
	}
}

// profile starts (SIGUSR1) or writes (SIGUSR2) cutover's CPU profile of
// an idle window, when -cpuprofile asks for one.
func profile(o options, p *pane, sig syscall.Signal) {
	if o.profile == "" {
		return
	}
	pid, err := p.child()
	if err != nil {
		logf("profile: %v", err)
		return
	}
	n, _ := strconv.Atoi(pid)
	if err := syscall.Kill(n, sig); err != nil {
		logf("profile: signal %s: %v", pid, err)
	}
}

// probe creates a pod of blue whose name sorts first, so that both
// programs show it at the top of their lists (cutover puts pods that are
// not Ready first; k9s sorts by name), and times its way to each screen,
// reading them in turn. It deletes the pod once both showed it.
func probe(ctx context.Context, cs kubernetes.Interface, ns string, i int, panes []*pane) ([]time.Duration, error) {
	name := fmt.Sprintf("a-probe-%02d", i)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "web", "color": "blue"}},
		Spec: corev1.PodSpec{
			// Never scheduled: it stays Pending, changes once, and is no
			// Ready pod of blue's.
			NodeSelector: map[string]string{"cutover.dev/scale-probe": "none"},
			Containers:   []corev1.Container{{Name: "app", Image: "web:v1"}},
		},
	}
	start := time.Now()
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create pod %s: %w", name, err)
	}
	shown := make([]time.Duration, len(panes))
	done := 0
	deadline := start.Add(10 * time.Second)
	for done < len(panes) && time.Now().Before(deadline) {
		for j, p := range panes {
			if shown[j] != 0 {
				continue
			}
			if strings.Contains(p.screen(), name) {
				shown[j] = time.Since(start)
				done++
			}
		}
	}
	for j := range shown {
		if shown[j] == 0 {
			shown[j] = -1
		}
	}
	if err := cs.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		return nil, fmt.Errorf("delete pod %s: %w", name, err)
	}
	// Both screens settle before the next probe.
	sleep(ctx, time.Second)
	return shown, nil
}

// startK9s opens k9s in its pods view of ns, read-only, with a
// configuration that keeps it from asking GitHub for its latest version.
func startK9s(bin, dir, kubeconfig, ns string) (*pane, error) {
	home := filepath.Join(dir, "k9s-home")
	cfg := filepath.Join(home, ".config", "k9s")
	if err := os.MkdirAll(cfg, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(cfg, "config.yaml"), []byte("k9s:\n  skipLatestRevCheck: true\n  readOnly: true\n"), 0o600); err != nil {
		return nil, err
	}
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "XDG_STATE_HOME=" + filepath.Join(home, ".state"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".data"), "XDG_CACHE_HOME=" + filepath.Join(home, ".cache")}
	return newPane(dir, "k9s", fmt.Sprintf("%s --kubeconfig %s -n %s -c pods --readonly", bin, kubeconfig, ns), env)
}

// pane is one program in a 120×40 pane of a tmux server of its own.
type pane struct {
	name, sock string
}

func newPane(dir, name, line string, env []string) (*pane, error) {
	p := &pane{name: name, sock: filepath.Join(dir, name+".tmux")}
	prefix := ""
	for _, e := range env {
		prefix += e + " "
	}
	if prefix != "" {
		line = "env " + prefix + line
	}
	if _, err := p.tmux("-f", "/dev/null", "new-session", "-d", "-x", "120", "-y", "40", line+"; echo EXIT=$?; sleep 3600"); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *pane) tmux(args ...string) (string, error) {
	out, err := exec.CommandContext(context.Background(), "tmux", append([]string{"-S", p.sock}, args...)...).CombinedOutput() //nolint:gosec // tmux, with this harness's arguments
	if err != nil {
		return "", fmt.Errorf("tmux %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (p *pane) screen() string {
	s, _ := p.tmux("capture-pane", "-p")
	return s
}

func (p *pane) waitFor(ctx context.Context, text string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		s := p.screen()
		if strings.Contains(s, text) {
			return nil
		}
		if strings.Contains(s, "EXIT=") || time.Now().After(deadline) {
			return fmt.Errorf("%s never showed %q; its screen:\n%s", p.name, text, s)
		}
		if !sleep(ctx, 200*time.Millisecond) {
			return ctx.Err()
		}
	}
}

// child is the PID of the program the pane's shell runs.
func (p *pane) child() (string, error) {
	out, err := p.tmux("display-message", "-p", "#{pane_pid}")
	if err != nil {
		return "", err
	}
	shell := strings.TrimSpace(out)
	b, err := os.ReadFile(filepath.Join("/proc", shell, "task", shell, "children"))
	if err != nil || len(strings.Fields(string(b))) == 0 {
		return "", fmt.Errorf("%s: no child of the pane's shell %s: %w", p.name, shell, errors.Join(err, errors.New("none running")))
	}
	pid := strings.Fields(string(b))[0]
	// `env X=Y prog` execs prog: the child is the program itself.
	return pid, nil
}

func (p *pane) close() { _, _ = p.tmux("kill-server") }

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc.
const clockTicks = 100

func cpuTime(pid string) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, err1 := strconv.Atoi(f[11])
	st, err2 := strconv.Atoi(f[12])
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%s/stat: %w", pid, err)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

func rss(pid string) (int64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, err
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("/proc/%s/status has no VmRSS", pid)
}

func quantiles(ds []time.Duration) (med, p95, top string) {
	if len(ds) == 0 {
		return "-", "-", "-"
	}
	s := slices.Sorted(slices.Values(ds))
	at := func(q float64) string { return ms(s[min(int(q*float64(len(s))), len(s)-1)]) }
	return at(0.5), at(0.95), ms(s[len(s)-1])
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func printTable(w io.Writer, o options, rows []row) {
	p := func(format string, args ...any) { _, _ = fmt.Fprintf(w, format+"\n", args...) }
	p("cutover scale: the console at its gate (120x40, tmux) next to k9s' pods view of the same namespace")
	p("RSS %s after the pods showed; CPU over %s idle at the gate (GATE), and cutover's in the rollout with kwok", o.settle, o.idle)
	p("paused (ROLLOUT), the post-promotion analysis (POST) and the scale-down delay (DELAY); a new pod to the")
	p("screen, %d times. bare is a Bubble Tea console of the same size with nothing to show but a clock, run", o.changes)
	p("beside cutover and measured over the same windows: the least a console costs on this machine now")
	p("")
	p("%7s  %-8s %10s %8s %8s %8s %8s %11s %11s %11s %7s", "PODS", "PROGRAM", "RSS", "ROLLOUT", "GATE", "POST", "DELAY", "TO SCREEN", "p95", "max", "MISSED")
	pct := func(v float64) string {
		if v < 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f%%", v)
	}
	for _, r := range rows {
		med, p95, top := quantiles(r.toShow)
		p("%7d  %-8s %10s %8s %8s %8s %8s %11s %11s %11s %7d", r.pods, r.program, fmt.Sprintf("%.1f MiB", float64(r.rss)/(1<<20)),
			pct(r.cpuRollout), pct(r.cpu), pct(r.cpuPost), pct(r.cpuDelay), med, p95, top, r.missed)
	}
	// cutover's idle CPU against the bare console's in the same windows.
	for _, c := range rows {
		if c.program != "cutover" {
			continue
		}
		for _, b := range rows {
			if b.program != "bare" || b.pods != c.pods {
				continue
			}
			x := func(a, b float64) string {
				if a < 0 || b <= 0 {
					return "-"
				}
				return fmt.Sprintf("x%.2f", a/b)
			}
			p("cutover / bare at %d pods, same windows: rollout %s, gate %s, post %s, delay %s", c.pods,
				x(c.cpuRollout, b.cpuRollout), x(c.cpu, b.cpu), x(c.cpuPost, b.cpuPost), x(c.cpuDelay, b.cpuDelay))
		}
	}
	// How each figure grows from the smallest count to the largest.
	for _, prog := range []string{"cutover", "k9s"} {
		var first, last *row
		for i := range rows {
			if rows[i].program != prog {
				continue
			}
			if first == nil {
				first = &rows[i]
			}
			last = &rows[i]
		}
		if first == nil || last == first || first.rss == 0 {
			continue
		}
		p("%s from %d to %d pods (x%.1f): RSS x%.2f, idle CPU x%.2f", prog, first.pods, last.pods, float64(last.pods)/float64(first.pods),
			float64(last.rss)/float64(first.rss), last.cpu/max(first.cpu, 0.01))
	}
}
