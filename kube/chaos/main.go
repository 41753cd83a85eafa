// Command chaos drives whole releases of one Service on the test control
// plane (testenv: etcd, kube-apiserver, controllers, scheduler, kwok, all on
// loopback) with the cutover binary, one after another, and injects a fault
// into each at a random moment: kube-apiserver or etcd killed and
// restarted, the controllers and kwok paused or restarted, Prometheus
// killed while an analysis measures, the network between cutover and
// kube-apiserver made slow, reset or cut (a toxiproxy proxy in this
// process), cutover killed and resumed, a second console running the same
// release, or the selector edited by hand. Each cycle's outcome is drawn
// too: promoted, rolled back after it (cutover rollback), rolled back by a
// rollback typed into the running release, rolled back by a failed
// post-promotion analysis, aborted at its gate from a second process, or
// the maintenance page switched on and off. Watchers of its
// own, which share no code with cutover's, check on every change they see
// that the Service selects a color with a Ready pod and that no run takes
// the release Lease from a live holder; each cycle's end is checked against
// cutover's journal (the Service as journaled, the image announced, every
// acknowledged rollback recorded, each run's records numbered with no
// gap). It prints a table.
//
//	CUTOVER_TESTENV_BIN=$(testenv/build-controlplane) go run ./kube/chaos [-cycles 100] [-seed N]
//
// Every run prints its seed; the same seed replays the same cycles (the
// outcomes, the faults and their moments; the cluster's own timing
// varies). It exits 1 when an invariant was violated. A cycle that
// violated one replays alone, as its seed drew it, with
// `-cycles 0 -replay SEED:CYCLE`; `.ci/run` replays those found so far
// after its own short campaign.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/testenv"
)

type options struct {
	cycles int
	seed   uint64
	pods   int
	bound  time.Duration
	replay []replay
}

// replay is one cycle of a campaign, run again as its seed drew it.
type replay struct {
	seed  uint64
	cycle int
}

func (r replay) String() string { return fmt.Sprintf("%d:%d", r.seed, r.cycle) }

func parseReplays(v string) ([]replay, error) {
	var out []replay
	for f := range strings.SplitSeq(v, ",") {
		var r replay
		if _, err := fmt.Sscanf(f, "%d:%d", &r.seed, &r.cycle); err != nil || r.cycle < 0 {
			return nil, fmt.Errorf("%q is not SEED:CYCLE", f)
		}
		out = append(out, r)
	}
	return out, nil
}

func main() {
	var o options
	flag.IntVar(&o.cycles, "cycles", 10, "releases to drive")
	flag.Uint64Var(&o.seed, "seed", 0, "the campaign's seed (default: from the clock; printed either way)")
	flag.IntVar(&o.pods, "pods", 2, "Ready pods per color")
	flag.DurationVar(&o.bound, "bound", 3*time.Minute, "how long one cycle may take before it counts as hung")
	flag.Func("replay", "SEED:CYCLE[,...]: after the campaign's own cycles, run these cycles of other campaigns as their seeds drew them (-cycles 0 runs them alone)", func(v string) error {
		var err error
		o.replay, err = parseReplays(v)
		return err
	})
	flag.Parse()
	if o.seed == 0 && (o.cycles > 0 || len(o.replay) == 0) {
		o.seed = uint64(time.Now().UnixNano())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code, err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "chaos: "+format+"\n", args...)
}

// The outcomes a cycle drives, and the faults it injects.
var (
	// rolled-back is `cutover rollback` once the release is done;
	// rolled-back-by-key is a person typing rollback into the running
	// release's console, during its scale-down delay; maintenance is the
	// page switched on, then off, once the release is done.
	// rolled-back-by-analysis is the post-promotion analysis failing on
	// the new color's errors, which Prometheus scrapes.
	outcomes = []string{"promoted", "rolled-back", "rolled-back-by-key", "rolled-back-by-analysis", "aborted", "maintenance"}
	faults   = []string{
		"none", "apiserver-killed", "etcd-killed", "controllers-paused", "controllers-restarted", "cutover-killed",
		"selector-edited", "network-slow", "network-reset", "network-cut", "second-console", "prometheus-killed",
	}
	// controllers are what makes pods change: stopped, a rollout stands still.
	controllers = []string{"kube-controller-manager", "kube-scheduler", "kwok"}
)

// campaign is one run of the harness against one control plane.
type campaign struct {
	o     options
	c     *testenv.Cluster
	cs    kubernetes.Interface
	bin   string // the cutover binary
	ns    string
	state string // cutover's state directory: its journal
	w     *watcher
	lease *leaseWatcher
	runs  *runs
	// net is cutover's way to kube-apiserver; the harness's is direct.
	net *network
	// prom scrapes apps, one a color, standing in for the pods' metrics.
	prom *testenv.Prometheus
	apps map[string]*testenv.App
	rng  *rand.Rand
}

// cycleResult is what one cycle did and what its end showed.
type cycleResult struct {
	n               int
	outcome, fault  string
	at              time.Duration // the fault's moment, from the run's start
	down            time.Duration // how long kube-apiserver stays down
	abortRetries    int           // cutover abort failed this many times first
	second          string        // what a second console's run of the release did
	commands        string        // the output of the person's commands (abort, rollback)
	ended           string        // how the journal says the release ended
	recovery        time.Duration // from the fault's start to the cycle's end
	took            time.Duration
	paused          string // why the cycle ended waiting for a person, if it did
	violations      []string
	checks          map[string]int
	unchecked       []string
	journalRecords  int
	switchedImage   string
	switchedTo      string
	selectedAtEnd   string
	cutoverExitCode int
}

func run(ctx context.Context, o options) (int, error) {
	logf("seed %d (replay: -seed %d -cycles %d -pods %d)", o.seed, o.seed, o.cycles, o.pods)
	bin, err := testenv.BinDir()
	if err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "cutover-chaos-")
	if err != nil {
		return 0, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	logf("starting the control plane in %s", dir)
	c, err := testenv.Start(ctx, bin, dir)
	if err != nil {
		return 0, fmt.Errorf("start the control plane: %w", err)
	}
	defer c.Stop()
	for i := range 2 {
		if err := c.AddNode(ctx, fmt.Sprintf("chaos-node-%d", i)); err != nil {
			return 0, err
		}
	}
	k := &campaign{o: o, c: c, cs: c.Client, state: filepath.Join(dir, "state"), rng: schedule(o.seed)}
	k.bin = filepath.Join(dir, "cutover")
	logf("building cutover")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", k.bin, "./cmd/cutover").CombinedOutput(); err != nil { //nolint:gosec // go, on this repository
		return 0, fmt.Errorf("build cutover (run from the repository's root): %w\n%s", err, out)
	}
	if k.ns, err = testenv.Namespace(ctx, k.cs); err != nil {
		return 0, err
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	err = testenv.CreatePair(pctx, k.cs, k.ns, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: int32(o.pods), Green: 0}) //nolint:gosec // a flag, far below 2^31
	if err == nil {
		// The maintenance page: pods the selector can point at instead of
		// a color, for the maintenance outcome.
		page := testenv.Deployment(k.ns, "web", "maintenance", "page:v1", 2)
		if _, err = k.cs.AppsV1().Deployments(k.ns).Create(pctx, page, metav1.CreateOptions{}); err == nil {
			err = testenv.WaitReady(pctx, k.cs, k.ns, page.Name, 2)
		}
	}
	cancel()
	if err != nil {
		return 0, err
	}
	if k.net, err = startNetwork(c.Config.Host, c.Kubeconfig, dir); err != nil {
		return 0, err
	}
	defer k.net.stop()
	k.apps = map[string]*testenv.App{}
	var targets []string
	for _, color := range []string{"blue", "green"} {
		app, err := testenv.StartApp(ctx, testenv.AppOptions{Service: "web", Color: color, Namespace: k.ns, Pod: "web-" + color + "-1"})
		if err != nil {
			return 0, err
		}
		defer app.Stop()
		k.apps[color], targets = app, append(targets, app.Addr)
	}
	promDir := filepath.Join(dir, "prometheus")
	if err := os.MkdirAll(promDir, 0o700); err != nil {
		return 0, err
	}
	if k.prom, err = testenv.StartPrometheus(ctx, promDir, targets); err != nil {
		return 0, err
	}
	defer k.prom.Stop()
	if err := k.prom.WaitForRequests(ctx, "web"); err != nil {
		return 0, err
	}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	if k.w, err = watch(wctx, k.cs, k.ns); err != nil {
		return 0, err
	}
	k.runs = &runs{}
	if k.lease, err = watchLease(wctx, k.cs, k.ns, k.runs); err != nil {
		return 0, err
	}

	var results []cycleResult
	cycle := func(n int, drawn cycleResult, of replay) {
		r := k.cycle(ctx, n, drawn)
		again := ""
		if of.seed != o.seed || of.cycle != n {
			again = fmt.Sprintf(" (seed %d's cycle %d again)", of.seed, of.cycle)
		}
		logf("cycle %d%s: %s with %s at %s: %s, %d violations; the release: %s", n, again, r.outcome, r.fault, r.at.Round(time.Millisecond), r.took.Round(time.Millisecond), len(r.violations), r.ended)
		for _, v := range r.violations {
			logf("  violation: %s", v)
		}
		if len(r.violations) > 0 {
			logf("  replay this cycle alone: go run ./kube/chaos -cycles 0 -replay %s -pods %d", of, o.pods)
		}
		results = append(results, r)
	}
	for n := range o.cycles {
		if ctx.Err() != nil {
			break
		}
		cycle(n, draw(k.rng), replay{o.seed, n})
	}
	// A replayed cycle has a number of its own (its image, its pipeline
	// file), after the campaign's, and the schedule its seed drew.
	for i, rp := range o.replay {
		if ctx.Err() != nil {
			break
		}
		rng := schedule(rp.seed)
		for range rp.cycle {
			draw(rng)
		}
		cycle(o.cycles+i, draw(rng), rp)
	}
	stopWatch()
	rep := summarize(o, results, k.w, k.lease)
	rep.print(os.Stdout)
	if rep.violations() > 0 {
		return 1, nil
	}
	return 0, nil
}

// schedule is the source of a campaign's random choices for its seed.
func schedule(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x5bd1e995)) //nolint:gosec // the faults' schedule, not a secret
}

// draw makes every random choice of a cycle, in this order, so that a
// seed replays the same schedule.
func draw(rng *rand.Rand) cycleResult {
	return cycleResult{outcome: outcomes[rng.IntN(len(outcomes))], fault: faults[rng.IntN(len(faults))],
		at: time.Duration(rng.Int64N(int64(2500 * time.Millisecond))), down: time.Duration(1+rng.IntN(3)) * time.Second}
}

// cycle drives one release to its end with one fault in it.
func (k *campaign) cycle(ctx context.Context, n int, r cycleResult) cycleResult {
	r.n, r.checks = n, map[string]int{}
	image := fmt.Sprintf("web:v%d", n+2)
	pipeline := filepath.Join(k.state, fmt.Sprintf("cycle-%d.yaml", n))
	if err := os.MkdirAll(k.state, 0o700); err != nil {
		r.violations = append(r.violations, err.Error())
		return r
	}
	gate := ""
	if r.outcome == "aborted" {
		// A gate no one approves: the abort comes from a second process.
		gate = "          approve: Switch to " + image + "?\n"
	}
	delay := "2s"
	if r.outcome == "rolled-back-by-key" {
		delay = "10s" // time to type it once the switch has landed
	}
	analysis := r.outcome == "rolled-back-by-analysis" || r.fault == "prometheus-killed"
	if analysis {
		gate += postPromotion
		if r.outcome == "rolled-back-by-analysis" {
			// The new color fails one request in five.
			live, err := k.live(ctx)
			if err != nil {
				r.violations = append(r.violations, err.Error())
				return r
			}
			app := k.apps[otherColor(live)]
			app.Set(0.2, 50*time.Millisecond)
			defer func() {
				app.Set(0, 50*time.Millisecond)
				// The analysis reads a 5 s window: the next cycle's must
				// not hold this one's errors (it did once, and a healthy
				// release was rolled back on them).
				time.Sleep(6 * time.Second)
			}()
		}
	}
	if err := os.WriteFile(pipeline, []byte(release(k.ns, image, delay, k.promSpec(analysis), gate)), 0o600); err != nil {
		r.violations = append(r.violations, err.Error())
		return r
	}
	before := k.journal()
	start := time.Now()
	deadline, cancel := context.WithTimeout(ctx, k.o.bound)
	defer cancel()

	args := []string{"run", pipeline, "--plain", "--kubeconfig", k.net.kubeconfig, "--state-dir", k.state}
	if r.outcome != "aborted" {
		args = append(args, "--auto-approve")
	}
	p := k.start(deadline, r.outcome == "rolled-back-by-key" || analysis, args...)
	faultDone := make(chan time.Time, 1)
	go func() { faultDone <- k.inject(deadline, &r, p, args) }()
	if r.outcome == "aborted" && p.waitFor(deadline, "waiting for approval") {
		// A person whose abort fails (kube-apiserver down, say) tries
		// again; the release waits at its gate meanwhile, as it says.
		for try := 1; !k.cli(deadline, &r, "abort", "web-service", "-n", k.ns, "--reason", "chaos cycle") && deadline.Err() == nil && !p.ended(); try++ {
			r.abortRetries = try
			time.Sleep(time.Second)
		}
	}
	// An analysis that cannot measure waits for a person: the person reads
	// why, and rejects it, which rolls the release back. The person
	// watches from the start: a rollback to be typed in the scale-down
	// delay waits for a phase that a paused analysis never reaches (seed
	// 2026's cycle 29 hung until its bound).
	person := make(chan string, 1)
	go func() {
		why := ""
		if analysis && p.waitFor(deadline, "analysis cannot tell") && !p.ended() {
			why = "an analysis could not measure"
			if _, err := io.WriteString(p.in, "reject no data while Prometheus was down\n"); err != nil {
				why += " (the rejection could not be typed)"
			}
		}
		person <- why
	}()
	typed := -1 // where the output stood when the rollback was typed
	if r.outcome == "rolled-back-by-key" && p.waitFor(deadline, "scale-down-delay") {
		at := len(p.output())
		if _, err := io.WriteString(p.in, "rollback chaos cycle\n"); err == nil {
			typed = at
		}
	}
	faultAt := <-faultDone
	code := p.wait()
	r.paused = <-person
	if p2 := p.resumed(); p2 != nil {
		code = p2.wait()
	}
	r.cutoverExitCode = code
	var acked []string // the record types of the decisions acknowledged to a person
	if r.paused == "an analysis could not measure" && strings.Contains(p.output(), "/switch rejected by") {
		acked = append(acked, engine.RecGateRejected)
	}
	if typed >= 0 && strings.Contains(p.output()[typed:], "rollback of "+k.ns+"/web-service asked by") {
		// The console said it took the request: that is the person's
		// acknowledgement.
		acked = append(acked, engine.RecRollbackRequested)
	}
	if r.outcome == "rolled-back" && deadline.Err() == nil && k.cli(deadline, &r, "rollback", "web-service", "-n", k.ns, "--reason", "chaos cycle", "--yes") {
		acked = append(acked, engine.RecRollback)
	}
	if r.outcome == "maintenance" {
		// A person retries a switch that failed (the network cut, say)
		// until it is done: the page on, then off again.
		for _, state := range []string{"on", "off"} {
			for deadline.Err() == nil && !k.cli(deadline, &r, "maintenance", "web-service", state, "-n", k.ns, "--reason", "chaos cycle", "--yes") {
				time.Sleep(time.Second)
			}
			if deadline.Err() == nil {
				acked = append(acked, engine.RecMaintenance)
			}
		}
	}
	r.took = time.Since(start)
	if !faultAt.IsZero() {
		r.recovery = time.Since(faultAt)
	}
	// 5. Every cycle ends within the bound, or says why it waits.
	r.checks["5 ends within bound"]++
	if deadline.Err() != nil {
		r.violations = append(r.violations, fmt.Sprintf("5: cycle %d did not end within %s; its output:\n%s", n, k.o.bound, p.output()))
	}
	k.checkEnd(ctx, &r, before, acked)
	if r.took > slow && deadline.Err() == nil {
		// Not a violation, but worth a look: say where the time went.
		logf("cycle %d took %s; cutover's output:\n%s%s", n, r.took.Round(time.Millisecond), timed(p), r.commands)
	}
	return r
}

// slow is a cycle worth explaining: a clean one ends in about 3 s.
const slow = 20 * time.Second

// timed is a cutover's output, and its resumed run's, as printed.
func timed(p *proc) string {
	out := p.output()
	if p2 := p.resumed(); p2 != nil {
		out += "--- resumed:\n" + p2.output()
	}
	return out
}

// release is the cycle's pipeline: one blue-green step of the pair, with
// a short scale-down delay so that each cycle ends in seconds.
func release(ns, image, delay, prom, more string) string {
	return `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: chaos}
` + prom + `stages:
  - name: production
    budget: 10m
    steps:
      - name: switch
        blueGreen:
          namespace: ` + ns + `
          service: web-service
          container: app
          image: ` + image + `
          replicas: 2
          scaleDownDelay: ` + delay + `
` + more
}

// postPromotion is the analysis of a cycle that has one: the new color's
// 5xx ratio, three times a second apart, as the guide's SLO has it.
const postPromotion = `          postPromotion:
            interval: 1s
            count: 3
            inconclusiveLimit: 1
            metrics:
              - name: error-rate
                query: (sum(rate(http_requests_total{namespace="{{.Namespace}}",color="{{.Color}}",code=~"5.."}[5s])) or vector(0)) / sum(rate(http_requests_total{namespace="{{.Namespace}}",color="{{.Color}}"}[5s]))
                successCondition: "< 0.05"
`

func (k *campaign) promSpec(analysis bool) string {
	if !analysis {
		return ""
	}
	return "prometheus: {address: " + k.prom.URL + "}\n"
}

// live is the color the Service selects now, read from the API server.
func (k *campaign) live(ctx context.Context) (string, error) {
	svc, err := k.cs.CoreV1().Services(k.ns).Get(ctx, "web-service", metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return svc.Spec.Selector["color"], nil
}

func otherColor(c string) string {
	if c == "green" {
		return "blue"
	}
	return "green"
}

// inject waits for the cycle's moment and injects its fault; it returns
// when the fault began, or the zero time when none hit the release.
func (k *campaign) inject(ctx context.Context, r *cycleResult, p *proc, args []string) time.Time {
	if r.fault == "none" {
		return time.Time{}
	}
	select {
	case <-ctx.Done():
		return time.Time{}
	case <-time.After(r.at):
	}
	if p.ended() {
		// The release had ended: the fault is injected all the same (the
		// next cycle starts on what it leaves), but there is nothing to
		// recover from in this one.
		r.fault += " (after the run)"
	}
	began := time.Now()
	kind := strings.TrimSuffix(r.fault, " (after the run)")
	switch kind {
	case "apiserver-killed":
		if err := k.c.KillAPIServer(); err != nil {
			r.violations = append(r.violations, "inject: "+err.Error())
			return time.Time{}
		}
		time.Sleep(r.down)
		if err := k.c.RestartAPIServer(ctx); err != nil {
			r.violations = append(r.violations, "inject: restart kube-apiserver: "+err.Error())
		}
	case "etcd-killed":
		if err := k.c.Kill("etcd"); err != nil {
			r.violations = append(r.violations, "inject: "+err.Error())
			return time.Time{}
		}
		time.Sleep(r.down)
		if err := k.c.Restart("etcd"); err != nil {
			r.violations = append(r.violations, "inject: restart etcd: "+err.Error())
		}
	case "controllers-paused":
		if err := k.c.Pause(controllers...); err != nil {
			r.violations = append(r.violations, "inject: "+err.Error())
		}
		time.Sleep(2 * r.down)
		if err := k.c.Continue(controllers...); err != nil {
			r.violations = append(r.violations, "inject: "+err.Error())
		}
	case "network-slow", "network-reset", "network-cut":
		if err := k.net.fault(ctx, kind, 2*r.down); err != nil {
			r.violations = append(r.violations, "inject: "+err.Error())
		}
	case "second-console":
		// Someone else runs the same release from another terminal: it is
		// refused while the first holds the release, or finds it done.
		second := k.start(ctx, false, append(slices.Clone(args), "--auto-approve")...)
		code := second.wait()
		switch out := second.output(); {
		case code == 0:
			r.second = "ran after the first had ended"
		case strings.Contains(out, "holds the lock"):
			r.second = "refused: the release is held"
		default:
			r.second = fmt.Sprintf("failed (exit %d)", code)
			logf("cycle %d: the second console's output:\n%s", r.n, out)
		}
	case "prometheus-killed":
		k.prom.Kill()
		time.Sleep(r.down)
		if err := k.prom.Restart(ctx); err != nil {
			r.violations = append(r.violations, "inject: restart prometheus: "+err.Error())
		}
	case "controllers-restarted":
		if err := k.c.RestartControllers(); err != nil {
			r.violations = append(r.violations, "inject: "+err.Error())
		}
	case "cutover-killed":
		if !p.kill() {
			return time.Time{} // it had ended already
		}
		resume := append(slices.Clone(args), "--resume")
		if !slices.Contains(resume, "--auto-approve") {
			resume = append(resume, "--auto-approve")
		}
		p.resume = k.start(ctx, false, resume...)
	case "selector-edited":
		// Someone points the Service at the other color by hand, where
		// that color has Ready pods; cutover must notice and not fight.
		svc, err := k.cs.CoreV1().Services(k.ns).Get(ctx, "web-service", metav1.GetOptions{})
		if err != nil {
			r.violations = append(r.violations, "inject: "+err.Error())
			return time.Time{}
		}
		other := "green"
		if svc.Spec.Selector["color"] == "green" {
			other = "blue"
		}
		// A person looks first (kubectl get pods), at the API server: the
		// watcher's caches can lag behind a kube-apiserver restart, and an
		// edit made on them could point the Service at a color long gone,
		// the person's doing rather than cutover's.
		if _, ready, err := k.w.readyNow(ctx, other); err != nil || ready == 0 {
			r.fault = "selector-edited (skipped: " + other + " had no Ready pods)"
			return time.Time{}
		}
		patch := fmt.Appendf(nil, `{"spec":{"selector":{"color":%q}}}`, other)
		if _, err := k.cs.CoreV1().Services(k.ns).Patch(ctx, "web-service", types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "chaos-hand"}); err != nil {
			r.violations = append(r.violations, "inject: "+err.Error())
		}
	}
	if strings.HasSuffix(r.fault, "(after the run)") {
		return time.Time{}
	}
	return began
}

// checkEnd checks what a cycle left: the Service selects the color the
// journal says (2), the switched color runs the image announced (6), and
// the journal kept every acknowledged decision (3).
func (k *campaign) checkEnd(ctx context.Context, r *cycleResult, before int, acked []string) {
	recs := k.records()
	mine := recs[min(before, len(recs)):]
	r.journalRecords = len(mine)
	k.checkSeq(r, mine)
	checkAcked(r, mine, acked)
	var last *engine.Record
	for i := range mine {
		switch mine[i].Type {
		case engine.RecReleaseSwitched, engine.RecRollback, engine.RecPromote, engine.RecMaintenance:
			last = &mine[i]
		case engine.RecReleaseFinished:
			r.ended = string(mine[i].Phase)
			if mine[i].Reason != "" {
				r.ended += " (" + mine[i].Reason + ")"
			}
		case engine.RecGateWaiting:
			if r.outcome != "aborted" && r.paused == "" {
				r.paused = "a gate waits for a person"
			}
		}
	}
	svc, err := k.cs.CoreV1().Services(k.ns).Get(ctx, "web-service", metav1.GetOptions{})
	if err != nil {
		r.violations = append(r.violations, "end: "+err.Error())
		return
	}
	r.selectedAtEnd = svc.Spec.Selector["color"]
	if last == nil {
		r.unchecked = append(r.unchecked, "2 and 6: no switch in the journal this cycle")
		return
	}
	r.switchedTo, r.switchedImage = string(last.To), last.Release
	if strings.HasPrefix(r.fault, "selector-edited") && !strings.Contains(r.fault, "skipped") {
		r.unchecked = append(r.unchecked, "2: the Service was edited by hand")
	} else {
		r.checks["2 service as journaled"]++
		if r.selectedAtEnd != string(last.To) {
			r.violations = append(r.violations, fmt.Sprintf("2: the Service selects %q, the journal's last switch (%s) says %q", r.selectedAtEnd, last.Type, last.To))
		}
	}
	if last.Type == engine.RecReleaseSwitched && last.Release != "" {
		r.checks["6 switched image as announced"]++
		d, err := k.cs.AppsV1().Deployments(k.ns).Get(ctx, "web-"+string(last.To), metav1.GetOptions{})
		if err != nil {
			r.violations = append(r.violations, "end: "+err.Error())
			return
		}
		if img := d.Spec.Template.Spec.Containers[0].Image; img != last.Release && r.outcome != "rolled-back" {
			r.violations = append(r.violations, fmt.Sprintf("6: switched to %s, which runs %s, announced %s", last.To, img, last.Release))
		}
	}
}

// checkAcked is invariant 3's second half: every decision cutover
// acknowledged to a person (a command that exited 0, a rollback typed
// into the console that the console said it took) is in the journal.
func checkAcked(r *cycleResult, recs []engine.Record, acked []string) {
	want := map[string]int{}
	for _, typ := range acked {
		want[typ]++
	}
	for _, typ := range slices.Sorted(maps.Keys(want)) {
		got := 0
		for _, rec := range recs {
			if rec.Type == typ {
				got++
			}
		}
		r.checks["3a acknowledged decision journaled"] += want[typ]
		if got < want[typ] {
			r.violations = append(r.violations, fmt.Sprintf("3a: %d %s acknowledged to a person, %d in the journal", want[typ], typ, got))
		}
	}
}

// checkSeq is invariant 3's first half: each run of the cycle numbered its
// records 1, 2, 3... with none missing. A torn last record is skipped by
// the reader and leaves no gap, since nothing follows it.
func (k *campaign) checkSeq(r *cycleResult, recs []engine.Record) {
	seqs := map[string][]uint64{}
	for _, rec := range recs {
		// A command's record (cutover rollback's, say) stands alone: it
		// has a run of its own and no sequence.
		if rec.Run != "" && rec.Seq > 0 {
			seqs[rec.Run] = append(seqs[rec.Run], rec.Seq)
		}
	}
	for _, run := range slices.Sorted(maps.Keys(seqs)) {
		s := slices.Sorted(slices.Values(seqs[run]))
		r.checks["3b journal contiguous"]++
		for i, n := range s {
			if n != uint64(i+1) { //nolint:gosec // an index, not negative
				r.violations = append(r.violations, fmt.Sprintf("3b: run %s's records are numbered %v: %d is missing or repeated", run, s, i+1))
				break
			}
		}
	}
}

// journal is how many records the journal holds now.
func (k *campaign) journal() int { return len(k.records()) }

func (k *campaign) records() []engine.Record {
	recs, _, err := engine.ReadJournal(k.state)
	if err != nil {
		logf("read the journal: %v", err)
	}
	return recs
}

// cli runs a cutover command to its end; true when it exited 0, which
// is what it acknowledges to a person.
func (k *campaign) cli(ctx context.Context, r *cycleResult, args ...string) bool {
	// A person's commands go the way cutover's run does: through the
	// network that the faults hit.
	cmd := exec.CommandContext(ctx, k.bin, append(args, "--kubeconfig", k.net.kubeconfig, "--state-dir", k.state)...) //nolint:gosec // the binary this harness built
	start := time.Now()
	out, err := cmd.CombinedOutput()
	r.commands += fmt.Sprintf("--- cutover %s (%s):\n%s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond), out)
	if err != nil {
		logf("cutover %s: %v\n%s", strings.Join(args, " "), err, out)
		return false
	}
	return true
}

// proc is a running cutover.
type proc struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    bytes.Buffer
	done   chan struct{}
	code   int
	resume *proc
	in     io.WriteCloser // its standard input, when the harness types into it
	end    time.Time      // when it ended; guarded by mu
}

// announced reports whether the process has printed text.
func (p *proc) announced(text string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Contains(p.out.Bytes(), []byte(text))
}

// endedAt is when the process ended, zero while it runs.
func (p *proc) endedAt() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.end
}

// start runs cutover; with stdin, p.in is its standard input, as a
// person's keyboard, else it reads nothing.
func (k *campaign) start(ctx context.Context, stdin bool, args ...string) *proc {
	p := &proc{done: make(chan struct{})}
	k.runs.add(p)
	p.cmd = exec.CommandContext(ctx, k.bin, args...) //nolint:gosec // the binary this harness built
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if stdin {
		in, err := p.cmd.StdinPipe()
		if err != nil {
			p.code = -1
			_, _ = p.Write([]byte(err.Error()))
			close(p.done)
			return p
		}
		p.in = in
	}
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		p.code = -1
		_, _ = p.Write([]byte(err.Error()))
		close(p.done)
		return p
	}
	go func() {
		err := p.cmd.Wait()
		p.code = 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			p.code = exit.ExitCode()
		} else if err != nil {
			p.code = -1
		}
		p.mu.Lock()
		p.end = time.Now()
		p.mu.Unlock()
		close(p.done)
	}()
	return p
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *proc) wait() int {
	<-p.done
	return p.code
}

// kill sends SIGKILL, as a lost SSH session's kernel would not, but a
// crash would; false if the process had ended.
func (p *proc) kill() bool {
	select {
	case <-p.done:
		return false
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return true
}

func (p *proc) resumed() *proc { return p.resume }

func (p *proc) ended() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitFor waits until the output holds text or the process ends.
func (p *proc) waitFor(ctx context.Context, text string) bool {
	for {
		if strings.Contains(p.output(), text) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-p.done:
			return strings.Contains(p.output(), text)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
