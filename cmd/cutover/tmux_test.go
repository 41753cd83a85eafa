package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-sh/cutover/testenv"
)

// beMain makes this test binary act as the cutover command when a test
// starts it in a terminal: the console is tested in a real one.
const beMain = "CUTOVER_TEST_BE_MAIN"

func init() {
	if os.Getenv(beMain) == "1" {
		s := streams{
			in: os.Stdin, out: os.Stdout, err: os.Stderr,
			outTTY: isTerminal(os.Stdout), inTTY: isTerminal(os.Stdin), lookupEnv: os.LookupEnv,
		}
		os.Exit(execute(context.Background(), append([]string{"cutover"}, os.Args[1:]...), s))
	}
}

// pane is a tmux session running one command in a pane of a fixed size.
type pane struct {
	t    testing.TB
	sock string
}

// startPane runs cutover with args in a new tmux server of its own, in a
// w×h pane. The shell prints the exit code when cutover ends and keeps
// the pane open, so the test can read it.
func startPane(t *testing.T, w, h int, env map[string]string, args ...string) *pane {
	t.Helper()
	return startPaneEnv(t, w, h, env, args...)
}

// startPaneTB is startPane for benchmarks.
func startPaneTB(tb testing.TB, w, h int, args ...string) *pane {
	tb.Helper()
	return startPaneEnv(tb, w, h, nil, args...)
}

func startPaneEnv(t testing.TB, w, h int, env map[string]string, args ...string) *pane {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("tmux is not installed (testenv/test-all installs it): %v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var cmd strings.Builder
	fmt.Fprintf(&cmd, "%s=1 ", beMain)
	for k, v := range env {
		fmt.Fprintf(&cmd, "%s=%q ", k, v)
	}
	fmt.Fprintf(&cmd, "%q", exe)
	for _, a := range args {
		fmt.Fprintf(&cmd, " %q", a)
	}
	return startPaneShell(t, w, h, cmd.String())
}

// startPaneShell runs a shell command line in a new w×h tmux pane of its
// own server; the shell prints the exit code when it ends.
func startPaneShell(t testing.TB, w, h int, line string) *pane {
	t.Helper()
	p := &pane{t: t, sock: filepath.Join(t.TempDir(), "tmux.sock")}
	p.tmux("-f", "/dev/null", "new-session", "-d", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), line+"; echo EXIT=$?; sleep 600")
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", p.sock, "kill-server").Run() })
	return p
}

func (p *pane) tmux(args ...string) string {
	p.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", p.sock}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen is the pane's text as a person sees it.
func (p *pane) screen() string { return p.tmux("capture-pane", "-p") }

// flat reads a screen as one line of words, so that text a modal wrapped
// inside its border still matches.
func flat(s string) string {
	return strings.Join(strings.Fields(strings.NewReplacer("║", " ", "│", " ").Replace(s)), " ")
}

// waitFor waits until the screen shows text, and returns the screen.
func (p *pane) waitFor(text string, within time.Duration) string {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		s := p.screen()
		if strings.Contains(flat(s), flat(text)) {
			return s
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the screen never showed %q in %s:\n%s", text, within, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *pane) keys(keys ...string) { p.tmux(append([]string{"send-keys"}, keys...)...) }

// TestConsoleInTmux runs the local pipeline in a 100×30 tmux pane: the
// console shows the approval gate, a approves it, the run finishes, and q
// leaves with exit code 0.
func TestConsoleInTmux(t *testing.T) {
	pipeline, err := filepath.Abs("../../examples/local/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	me := osActor(os.LookupEnv).Name
	state := t.TempDir()
	p := startPane(t, 100, 30, nil, "run", pipeline, "--state-dir", state)
	s := p.waitFor("waiting for approval", time.Minute)
	for _, want := range []string{"cutover ▸ local", "⏸ WAITING", "production-deploy", "a approve"} {
		if !strings.Contains(s, want) {
			t.Errorf("before approval, the screen lacks %q:\n%s", want, s)
		}
	}
	p.keys("a")
	s = p.waitFor("SUCCEEDED", time.Minute)
	for _, want := range []string{"approved production-deploy/approve-release as " + me, "✓ monitoring", "run succeeded"} {
		if !strings.Contains(s, want) {
			t.Errorf("after the run, the screen lacks %q:\n%s", want, s)
		}
	}
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, "╰") && strings.Count(line, "╯") != 1 {
			t.Errorf("a pane's bottom border is broken: %q", line)
		}
	}
	p.keys("q")
	// The console leaves the run's end on the terminal.
	s = p.waitFor("EXIT=0", 30*time.Second)
	for _, want := range []string{"cutover: run ", " of local succeeded in ", "(exit 0)", "journal: " + filepath.Join(state, "journal.jsonl")} {
		if !strings.Contains(flat(s), want) {
			t.Errorf("after quitting, the terminal lacks %q:\n%s", want, s)
		}
	}
}

// TestConsoleRollbackInTmux: a blue-green release on the test control
// plane, driven from the console in tmux. p, a at the gate and r ask
// first, stating the engine's plan; any other key cancels and nothing
// changes; y switches, and y on the rollback switches
// back, with the exit code 3 of a rolled-back run.
func TestConsoleRollbackInTmux(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c, ns, live := pairOnCluster(ctx, t, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 0})
	pipeline := writeFile(t, "release.yaml", webRelease("web", ns, "          approve: Green is Ready. Switch?\n"))
	p := startPane(t, 120, 40, nil, "run", pipeline, "--kubeconfig", c.Kubeconfig, "--state-dir", t.TempDir())
	p.waitFor("waiting for approval", 2*time.Minute)

	p.keys("p")
	p.waitFor("Switch "+ns+"/web-service from blue (web:v1, 2/2 Ready) to green (web:v2, 2/2 Ready).", 10*time.Second)
	p.keys("n")
	p.waitFor("cancelled: Promote", 10*time.Second)
	if got := live(); got != "blue" {
		t.Fatalf("after a cancelled promote the Service selects %s, want blue", got)
	}
	// a at a blue-green gate switches traffic too: it asks the same way.
	p.keys("a")
	p.waitFor("Blue stays warm for 10m after the switch.", 10*time.Second)
	p.keys("n")
	p.waitFor("cancelled: Promote", 10*time.Second)
	if got := live(); got != "blue" {
		t.Fatalf("after a cancelled approval the Service selects %s, want blue", got)
	}

	p.keys("p")
	p.waitFor("Press y to confirm", 10*time.Second)
	p.keys("y")
	p.waitFor("phase scale-down-delay", time.Minute)
	if got := live(); got != "green" {
		t.Fatalf("after promote the Service selects %s, want green", got)
	}

	// enter on a pod reads it from the cluster: conditions, containers
	// and Warning events, as kubectl describe would.
	p.keys("Tab", "Enter")
	p.waitFor("Warning events", 20*time.Second)
	s := p.waitFor("Conditions", 20*time.Second)
	if !strings.Contains(s, "running") || !strings.Contains(s, "Ready") {
		t.Errorf("pod detail lacks the container state or the Ready condition:\n%s", s)
	}
	// An escape followed at once by r would read as alt+r: wait for the
	// detail to close first.
	p.keys("Escape")
	p.waitFor("selector app=web,color=green", 10*time.Second)

	p.keys("r")
	p.waitFor("Switch "+ns+"/web-service from green back to blue (blue: 2/2 Ready, warm).", 10*time.Second)
	p.keys("Escape")
	p.waitFor("cancelled: Emergency rollback", 10*time.Second)
	if got := live(); got != "green" {
		t.Fatalf("after a cancelled rollback the Service selects %s, want green", got)
	}

	p.keys("r")
	p.waitFor("Press y to confirm", 10*time.Second)
	p.keys("y")
	s = p.waitFor("ROLLED BACK", time.Minute)
	if got := live(); got != "blue" {
		t.Errorf("after the rollback the Service selects %s, want blue:\n%s", got, s)
	}
	// The header names what serves now, as the cluster says: blue's
	// image, read back with the API, not the release's web:v2.
	blue, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "web-blue", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s = p.waitFor("LIVE ■ BLUE "+blue.Spec.Template.Spec.Containers[0].Image+"  ", 10*time.Second)
	if header := strings.SplitN(s, "\n", 2)[0]; strings.Contains(header, "web:v2") {
		t.Errorf("after the rollback the header still names the release's image:\n%s", header)
	}
	p.keys("q")
	s = p.waitFor("EXIT=3", 30*time.Second)
	if want := ns + "/web-service serves blue: web:v1, 2/2 Ready"; !strings.Contains(flat(s), want) {
		t.Errorf("after quitting, the terminal lacks %q:\n%s", want, s)
	}
}

// TestConsolePanelsInTmux: the console draws the pipeline's panels from a
// real Prometheus scraping the metrics app, and shows a panel whose query
// fails as unavailable.
func TestConsolePanelsInTmux(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, prom := scrapedApp(ctx, t, 0.2)
	pipeline := writeFile(t, "panels.yaml", `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: web}
prometheus: {address: `+prom.URL+`, refresh: 1s, range: 1m}
panels:
  - {title: Errors, query: 'sum(rate(http_requests_total{namespace="prod",code=~"5.."}[10s])) / sum(rate(http_requests_total{namespace="prod"}[10s]))', unit: "%", crit: "> 0.05"}
  - {title: Broken, query: 'sum(rate(http_requests_total[1m])'}
stages:
  - name: wait
    budget: 5m
    steps:
      - approve: Look at the panels, then approve.
`)
	p := startPane(t, 120, 40, nil, "run", pipeline, "--state-dir", t.TempDir())
	p.waitFor("Broken unavailable", time.Minute)
	s := p.waitFor("crit > 5%", time.Minute)
	// About 20%, critical: the app fails one request in five.
	if !regexp.MustCompile(`Errors .*\b(1[5-9]|2[0-9])(\.\d+)?% CRIT crit > 5%`).MatchString(s) {
		t.Errorf("the error panel does not show about 20%%:\n%s", s)
	}
	p.keys("a")
	p.waitFor("SUCCEEDED", 30*time.Second)
	p.keys("q")
	p.waitFor("EXIT=0", 30*time.Second)
}

// TestConsoleHonoursNoColor: with NO_COLOR set, the console in a real
// terminal writes no color at all, and blue and green are still told
// apart by icon and word.
func TestConsoleHonoursNoColor(t *testing.T) {
	pipeline, err := filepath.Abs("../../examples/local/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, noColor := range []bool{false, true} {
		env := map[string]string{"TERM": "xterm-256color", "COLORTERM": "truecolor"}
		if noColor {
			env["NO_COLOR"] = "1"
		}
		p := startPane(t, 100, 30, env, "run", pipeline, "--state-dir", t.TempDir())
		p.waitFor("waiting for approval", time.Minute)
		raw := p.tmux("capture-pane", "-p", "-e")
		colored := hasColor(raw)
		if colored == noColor {
			t.Errorf("NO_COLOR=%v: color escapes present %v:\n%q", noColor, colored, raw)
		}
		p.keys("a")
		p.waitFor("SUCCEEDED", time.Minute)
		p.keys("q")
		p.waitFor("EXIT=0", 30*time.Second)
	}
}

// hasColor reports whether a captured screen sets a foreground or
// background color; bold and the resets to the default colors (39, 49)
// are not colors.
func hasColor(screen string) bool {
	for _, m := range regexp.MustCompile(`\x1b\[([0-9;]*)m`).FindAllStringSubmatch(screen, -1) {
		for _, p := range strings.Split(m[1], ";") {
			n, err := strconv.Atoi(p)
			if err == nil && (n >= 30 && n <= 38 || n >= 40 && n <= 48 || n >= 90 && n <= 97 || n >= 100 && n <= 107) {
				return true
			}
		}
	}
	return false
}

// TestConsoleMaintenanceInTmux: once the release is done, m turns the
// maintenance page on after a modal, and m again turns it off, against
// the test control plane.
func TestConsoleMaintenanceInTmux(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, ns, live := pairOnCluster(ctx, t, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 1, Green: 0})
	if _, err := c.Client.AppsV1().Deployments(ns).Create(ctx, testenv.Deployment(ns, "web", "maintenance", "maint:1", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := testenv.WaitReady(ctx, c.Client, ns, "web-maintenance", 1); err != nil {
		t.Fatal(err)
	}
	pipeline := writeFile(t, "release.yaml", `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: web}
stages:
  - name: production
    budget: 10m
    steps:
      - name: switch
        blueGreen: {namespace: `+ns+`, service: web-service, container: app, image: "web:v2", replicas: 1, scaleDownDelay: 1s, maintenance: maintenance}
  - name: watch
    budget: 10m
    needs: [production]
    steps:
      - approve: Watch the new color, then approve.
`)
	p := startPane(t, 120, 40, nil, "run", pipeline, "--kubeconfig", c.Kubeconfig, "--state-dir", t.TempDir())
	p.waitFor("waiting for approval", 2*time.Minute)
	if got := live(); got != "green" {
		t.Fatalf("after the release the Service selects %s, want green", got)
	}
	p.keys("m")
	p.waitFor(`Point `+ns+`/web-service at the maintenance page (the "maintenance" pods)`, 10*time.Second)
	p.keys("y")
	p.waitFor("now serves maintenance (was green)", time.Minute)
	if got := live(); got != "maintenance" {
		t.Fatalf("after maintenance on the Service selects %s", got)
	}
	p.keys("m")
	p.waitFor("Switch "+ns+"/web-service back from the maintenance page", 10*time.Second)
	p.keys("y")
	p.waitFor("now serves green (was maintenance)", time.Minute)
	if got := live(); got != "green" {
		t.Fatalf("after maintenance off the Service selects %s", got)
	}
	p.keys("a")
	p.waitFor("SUCCEEDED", 30*time.Second)
	p.keys("q")
	p.waitFor("EXIT=0", 30*time.Second)
}

// TestDemoGateInTmux: the demo's production gate at 80×24 and 120×40 in
// tmux. Its card shows the whole question; a asks first, stating the
// engine's plan; n leaves traffic on blue; a and y switch it to green; r
// and y roll it back. At the gate, after the switch and after the
// rollback, all six panels' titles, the live color and the run's state
// are on screen. With CUTOVER_CAPTURES=DIR it writes each of those frames
// there, as text and with its colors: scripts/captures makes the README's
// pictures of them.
func TestDemoGateInTmux(t *testing.T) {
	question := regexp.MustCompile(`Green is Ready and its preview passed analysis\. Promote \S+ to production\?`)
	for _, sz := range [][2]int{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			// scripts/captures may slow the demo down, so that its frames
			// show times a person would see.
			speed := "20"
			if v := os.Getenv("CUTOVER_DEMO_SPEED"); v != "" {
				speed = v
			}
			p := startPane(t, sz[0], sz[1], nil, "demo", "--speed", speed, "--state-dir", t.TempDir())
			s := p.waitFor("Approval needed", 3*time.Minute)
			if !question.MatchString(inCard(s)) {
				t.Fatalf("the card does not show the whole question:\n%s", s)
			}
			p.waitFor(demoPanels[len(demoPanels)-1], 30*time.Second)
			p.glance(sz, "gate", "LIVE ■ BLUE", "⏸ WAITING", "Approval needed")
			p.keys("a")
			p.waitFor("Blue stays warm for", 10*time.Second)
			p.keys("n")
			s = p.waitFor("cancelled: Promote", 10*time.Second)
			if !strings.Contains(s, "LIVE ■ BLUE") {
				t.Fatalf("after n the Service does not serve blue:\n%s", s)
			}
			p.keys("a")
			p.waitFor("Press y to confirm", 10*time.Second)
			p.keys("y")
			p.waitFor("LIVE ▲ GREEN", time.Minute)
			p.glance(sz, "switched", "LIVE ▲ GREEN", "RUNNING", "■ BLUE  warm")
			p.keys("r")
			p.waitFor("Press y to confirm", 10*time.Second)
			p.keys("y")
			p.waitFor("ROLLED BACK", time.Minute)
			p.glance(sz, "rolled-back", "LIVE ■ BLUE", "ROLLED BACK")
		})
	}
}

// demoPanels are the titles of the demo's six panels.
var demoPanels = []string{"Request rate", "5xx error ratio", "Latency p50/p95", "CPU", "Memory", "Restarts (15m)"}

// glance checks what a person must read at a glance on the screen: every
// panel's title and the wanted texts (the live color, the state). With
// CUTOVER_CAPTURES set it keeps the frame as demo-WxH-NAME.txt and .ansi.
func (p *pane) glance(sz [2]int, name string, want ...string) {
	p.t.Helper()
	dir := os.Getenv("CUTOVER_CAPTURES")
	if dir != "" {
		// A picture a person would see a moment later: the panels have
		// refreshed and the clocks have moved.
		time.Sleep(3 * time.Second)
	}
	s := p.screen()
	for _, w := range append(slices.Clone(demoPanels), want...) {
		if !strings.Contains(s, w) {
			p.t.Errorf("%s at %dx%d: %q is not on screen:\n%s", name, sz[0], sz[1], w, s)
		}
	}
	if dir == "" {
		return
	}
	base := filepath.Join(dir, fmt.Sprintf("demo-%dx%d-%s", sz[0], sz[1], name))
	ansi := p.tmux("capture-pane", "-p", "-e")
	if err := errors.Join(os.WriteFile(base+".txt", []byte(s), 0o644), os.WriteFile(base+".ansi", []byte(ansi), 0o644)); err != nil {
		p.t.Fatal(err)
	}
}

// inCard is the text inside the card's double border, its lines joined:
// what the panes beside the card show is left out.
func inCard(screen string) string {
	var parts []string
	for _, l := range strings.Split(screen, "\n") {
		i, j := strings.Index(l, "║"), strings.LastIndex(l, "║")
		if i >= 0 && j > i {
			parts = append(parts, l[i+len("║"):j])
		}
	}
	return strings.Join(strings.Fields(strings.Join(parts, " ")), " ")
}

// TestGateIsLiveInTmux: on the test control plane, at 80×24 and 120×40,
// while a blue-green gate waits in the console, a green pod deleted and
// another made unready both reach the screen; a and y are refused while
// green is not fully Ready; once it is, a then n leaves the Service on
// blue, and a then y switches it.
func TestGateIsLiveInTmux(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) { gateIsLive(t, sz[0], sz[1]) })
	}
}

func gateIsLive(t *testing.T, w, h int) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c, ns, live := pairOnCluster(ctx, t, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 0})
	pipeline := writeFile(t, "release.yaml", webRelease("web", ns, "          approve: Green is Ready. Switch?\n"))
	p := startPane(t, w, h, nil, "run", pipeline, "--kubeconfig", c.Kubeconfig, "--state-dir", t.TempDir())
	p.waitFor("Approval needed", 2*time.Minute)
	pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web,color=green"})
	if err != nil || len(pods.Items) != 2 {
		t.Fatalf("green's pods: %v (%d), want 2", err, len(pods.Items))
	}
	gone, unready := pods.Items[0].Name, pods.Items[1].Name

	// The card is hidden to see the pods (esc), and brought back (g) to
	// read the refusal. At 80×24 the pods may not fit: there the unready
	// pod below is what reaches the screen.
	p.keys("Escape")
	for hidden := time.Now(); strings.Contains(p.screen(), "Approval needed"); time.Sleep(50 * time.Millisecond) {
		if time.Since(hidden) > 10*time.Second {
			t.Fatalf("esc did not hide the card:\n%s", p.screen())
		}
	}
	listed := strings.Contains(p.screen(), gone)
	if !listed && h >= 40 {
		t.Fatalf("green's pod %s is not on screen at %dx%d:\n%s", gone, w, h, p.screen())
	}
	start := time.Now()
	if err := c.Client.CoreV1().Pods(ns).Delete(ctx, gone, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for ; listed && strings.Contains(p.screen(), gone); time.Sleep(50 * time.Millisecond) {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("pod %s, deleted, is still on screen after 20s:\n%s", gone, p.screen())
		}
	}
	if listed {
		// Reported, not asserted: the machine is shared.
		t.Logf("a deleted preview pod left the screen %s after the delete", time.Since(start).Round(time.Millisecond))
	}
	p.keys("g")
	p.waitFor("Approval needed", 10*time.Second)

	start = time.Now()
	if err := testenv.SetPodReady(ctx, c.Client, ns, unready, false); err != nil {
		t.Fatal(err)
	}
	p.waitFor("Approval is refused now: deployment web-green has 1/2 Ready pods", 20*time.Second)
	t.Logf("a preview pod made unready reached the card %s after the change", time.Since(start).Round(time.Millisecond))
	p.keys("a")
	p.waitFor("Cannot promote", 10*time.Second)
	p.keys("y")
	p.waitFor("approval refused", 10*time.Second)
	if got := live(); got != "blue" {
		t.Fatalf("after a refused approval the Service selects %s, want blue", got)
	}

	if err := testenv.SetPodReady(ctx, c.Client, ns, unready, true); err != nil {
		t.Fatal(err)
	}
	for strings.Contains(flat(p.screen()), "Approval is refused now") {
		if time.Since(start) > time.Minute {
			t.Fatalf("the card still refuses with green Ready again:\n%s", p.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.keys("a")
	p.waitFor("Blue stays warm for 10m after the switch.", 10*time.Second)
	p.keys("n")
	p.waitFor("cancelled: Promote", 10*time.Second)
	if got := live(); got != "blue" {
		t.Fatalf("after a then n the Service selects %s, want blue", got)
	}
	p.keys("a")
	p.waitFor("Blue stays warm for 10m after the switch.", 10*time.Second)
	p.keys("y")
	p.waitFor("LIVE ▲ GREEN", time.Minute)
	if got := live(); got != "green" {
		t.Fatalf("after the approval the Service selects %s, want green", got)
	}
}
