// Command bench measures cutover's cluster side on a real control plane
// (testenv: etcd, kube-apiserver, controllers, scheduler, kwok nodes, all on
// loopback) and prints one table:
//
//   - event latency: from a pod's Ready update arriving at a raw watch to
//     cutover's WaitRollout seeing it, and to WaitRollout returning, next to
//     how long `kubectl rollout status` takes to exit after the same event;
//   - rollback with a warm color: engine.RunRollback from call to return,
//     next to a bare client-go patch of the Service selector;
//   - memory: the RSS of a process that watches 1,000 pods the way cutover
//     does (two WaitRollouts and an Observe loop), next to the same process
//     before it creates a client.
//
// It needs the binaries testenv/build-controlplane builds, kubectl among
// them:
//
//	CUTOVER_TESTENV_BIN=$(testenv/build-controlplane) go run ./kube/bench [-n 10] [-json]
//
// Nothing here asserts a time: it prints figures.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/kube"
	"github.com/cutover-sh/cutover/testenv"
)

// gate holds the pods of a measured rollout unscheduled until the harness
// releases them, so that kubectl and cutover are both watching before any
// pod can turn Ready.
const gate = "cutover.dev/bench-hold"

type options struct {
	n            int
	replicas     int
	pods         int
	nodes        int
	watchFor     time.Duration
	observeEvery time.Duration
	json         bool
	only         string

	// The memory child (-watch) is this binary run again.
	watch      bool
	kubeconfig string
	namespace  string
	service    string
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 10, "repetitions of the latency and rollback measures")
	flag.IntVar(&o.replicas, "replicas", 3, "pods per rollout in the latency measure")
	flag.IntVar(&o.pods, "pods", 1000, "pods watched in the memory measure, half per color")
	flag.IntVar(&o.nodes, "nodes", 10, "kwok nodes")
	flag.DurationVar(&o.watchFor, "watch-for", 15*time.Second, "how long the memory child watches")
	flag.DurationVar(&o.observeEvery, "observe-every", time.Second, "how often the memory child calls Observe")
	flag.BoolVar(&o.json, "json", false, "print JSON instead of the table")
	flag.StringVar(&o.only, "only", "latency,rollback,memory", "the measures to run, comma-separated")
	flag.BoolVar(&o.watch, "watch", false, "internal: be the memory child and print its figures as JSON")
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "internal: the memory child's kubeconfig")
	flag.StringVar(&o.namespace, "namespace", "", "internal: the memory child's namespace")
	flag.StringVar(&o.service, "service", "", "internal: the memory child's Service")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	if o.watch {
		err = watchChild(ctx, o)
	} else {
		err = run(ctx, o)
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// bench is one run of the harness against one control plane.
type bench struct {
	o       options
	c       *testenv.Cluster
	kubectl string
	// kubectlArgs are the global flags every kubectl run gets: the
	// control plane's kubeconfig, and a discovery cache in its directory
	// rather than in ~/.kube.
	kubectlArgs []string
	// admin is the harness's own client: set-up, raw watches, the floor.
	admin kubernetes.Interface
	// cutover is a kube.Cluster with cutover's own client settings; its
	// requests are counted in requests.
	cutover  *kube.Cluster
	requests atomic.Int64
	// floor is a bare client with the same settings as cutover's.
	floor kubernetes.Interface
}

func run(ctx context.Context, o options) (err error) {
	if o.n < 1 || o.replicas < 1 || o.replicas > 100 || o.pods < 4 || o.nodes < 1 {
		return errors.New("want -n >= 1, 1 <= -replicas <= 100, -pods >= 4, -nodes >= 1")
	}
	only := map[string]bool{}
	for m := range strings.SplitSeq(o.only, ",") {
		switch m = strings.TrimSpace(m); m {
		case "latency", "rollback", "memory":
			only[m] = true
		case "":
		default:
			return fmt.Errorf("-only: unknown measure %q (want latency, rollback, memory)", m)
		}
	}
	bin, err := testenv.BinDir()
	if err != nil {
		return err
	}
	b := &bench{o: o, kubectl: filepath.Join(bin, "kubectl")}
	if _, err := os.Stat(b.kubectl); err != nil {
		return fmt.Errorf("no kubectl next to the control plane (%w): run testenv/build-controlplane", err)
	}
	dir, err := os.MkdirTemp("", "cutover-bench-")
	if err != nil {
		return fmt.Errorf("make a directory for the control plane: %w", err)
	}
	defer func() {
		if err != nil {
			logf("the control plane's logs are in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}()
	logf("starting the control plane in %s", dir)
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	b.c, err = testenv.Start(startCtx, bin, dir)
	cancel()
	if err != nil {
		return fmt.Errorf("start the control plane: %w", err)
	}
	defer b.c.Stop()
	b.admin = b.c.Client
	b.kubectlArgs = []string{"--kubeconfig=" + b.c.Kubeconfig, "--cache-dir=" + filepath.Join(dir, "kubectl-cache")}

	// cutover's client as cutover builds it: kube.NewForConfig picks the
	// rate limits when the config sets none.
	cfg := rest.CopyConfig(b.c.Config)
	cfg.QPS, cfg.Burst = 0, 0
	counted := rest.CopyConfig(cfg)
	counted.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return countingTransport{rt: rt, n: &b.requests}
	}
	if b.cutover, err = kube.NewForConfig(counted); err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 50, 100 // what kube.NewForConfig chose
	if b.floor, err = kubernetes.NewForConfig(cfg); err != nil {
		return fmt.Errorf("client for %s: %w", cfg.Host, err)
	}

	rep := report{N: o.n, Replicas: o.replicas, Nodes: o.nodes, CPUs: runtime.NumCPU(), Go: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}
	if v, err := b.admin.Discovery().ServerVersion(); err == nil {
		rep.Server = v.GitVersion
	}
	if rep.NodePods, err = b.addNodes(ctx); err != nil {
		return err
	}
	if only["latency"] {
		if rep.Latency, err = b.latency(ctx, &rep); err != nil {
			return err
		}
	}
	if only["rollback"] {
		if rep.Rollback, err = b.rollback(ctx); err != nil {
			return err
		}
	}
	if only["memory"] {
		if rep.Memory, err = b.memory(ctx); err != nil {
			return err
		}
	}
	if o.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.print(os.Stdout)
}

type countingTransport struct {
	rt http.RoundTripper
	n  *atomic.Int64
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.rt.RoundTrip(r)
}

// addNodes registers the kwok nodes, waits for them to be Ready and
// returns how many pods each may run, as kwok's node-initialize stage set
// it. kwok keeps their leases (testenv passes --node-lease-duration-seconds).
func (b *bench) addNodes(ctx context.Context) (string, error) {
	for i := range b.o.nodes {
		if err := b.c.AddNode(ctx, fmt.Sprintf("kwok-%d", i)); err != nil {
			return "", err
		}
	}
	var pods string
	err := waitFor(ctx, time.Minute, 100*time.Millisecond, "wait for the kwok nodes", func(ctx context.Context) (bool, error) {
		nodes, err := b.admin.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		ready := 0
		for _, n := range nodes.Items {
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					ready++
					pods = n.Status.Allocatable.Pods().String()
				}
			}
		}
		return ready == b.o.nodes, nil
	})
	return pods, err
}

// --- event latency ---

// latencySample is one rollout, every time measured from the Ready update
// of the last pod to turn Ready, as it arrived at the raw watch (pod
// durations from that pod's own Ready update).
type latencySample struct {
	podSeen     []time.Duration // per pod: cutover's progress callback shows it Ready
	control     []time.Duration // per pod: a second raw watch sees it Ready
	readyCount  time.Duration   // cutover's progress callback reports all pods in its Ready count
	status      time.Duration   // the Deployment's status says complete, at the raw watch
	cutoverDone time.Duration   // WaitRollout returned
	printed     time.Duration   // kubectl printed "successfully rolled out"
	kubectlExit time.Duration   // kubectl's process exited
}

func (b *bench) latency(ctx context.Context, rep *report) (*latencyReport, error) {
	const ns = "latency"
	if err := b.namespace(ctx, ns); err != nil {
		return nil, err
	}
	d := deployment(ns, "lat", engine.Blue, 0, true)
	if _, err := b.admin.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create deployment %s/%s: %w", ns, d.Name, err)
	}
	start, version, err := b.kubectlStartCost(ctx)
	if err != nil {
		return nil, err
	}
	rep.Kubectl = version
	t := engine.Target{Namespace: ns, Service: "lat-service"}.WithDefaults()
	var samples []latencySample
	for i := range b.o.n {
		s, err := b.latencyOnce(ctx, t)
		if err != nil {
			return nil, fmt.Errorf("latency run %d: %w", i+1, err)
		}
		logf("latency %d/%d: cutover saw the pods Ready after %s, returned after %s; kubectl exited after %s",
			i+1, b.o.n, ms(slices.Max(s.podSeen)), ms(s.cutoverDone), ms(s.kubectlExit))
		samples = append(samples, s)
	}
	r := &latencyReport{KubectlStart: summarize(start)}
	var podSeen, control, count, status, done, printed, exit []time.Duration
	for _, s := range samples {
		podSeen = append(podSeen, s.podSeen...)
		control = append(control, s.control...)
		count = append(count, s.readyCount)
		status = append(status, s.status)
		done = append(done, s.cutoverDone)
		printed = append(printed, s.printed)
		exit = append(exit, s.kubectlExit)
	}
	r.CutoverPodSeen, r.ControlPodSeen, r.CutoverReadyCount = summarize(podSeen), summarize(control), summarize(count)
	r.StatusComplete, r.CutoverDone = summarize(status), summarize(done)
	r.KubectlPrinted, r.KubectlExit = summarize(printed), summarize(exit)
	r.ExitOverDone = ratio(r.KubectlExit, r.CutoverDone)
	return r, nil
}

// kubectlStartCost times `kubectl version --client`, a whole kubectl
// process that talks to no server, after one untimed run to warm the page
// cache. It returns kubectl's version too.
func (b *bench) kubectlStartCost(ctx context.Context) ([]time.Duration, string, error) {
	var times []time.Duration
	var version string
	for i := range b.o.n + 1 {
		cmd := exec.CommandContext(ctx, b.kubectl, append([]string{"version", "--client"}, b.kubectlArgs...)...) //nolint:gosec // the control plane's own kubectl
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		t0 := time.Now()
		err := cmd.Run()
		took := time.Since(t0)
		if err != nil {
			return nil, "", fmt.Errorf("kubectl version --client: %w: %s", err, out.Bytes())
		}
		if i == 0 {
			version = strings.TrimPrefix(strings.SplitN(out.String(), "\n", 2)[0], "Client Version: ")
			continue
		}
		times = append(times, took)
	}
	return times, version, nil
}

// latencyOnce scales t's blue Deployment from 0 to the -replicas pods,
// held by the scheduling gate; starts a raw watch, cutover's WaitRollout
// and `kubectl rollout status`; once both are watching, releases the
// pods; and times what each saw. It scales back to 0 before it returns.
func (b *bench) latencyOnce(ctx context.Context, t engine.Target) (latencySample, error) {
	var s latencySample
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	ns, name, want := t.Namespace, t.Deployment(engine.Blue), int32(b.o.replicas) //nolint:gosec // checked: 1..100
	sel := "app=lat,color=blue"
	if err := b.scale(ctx, ns, name, want); err != nil {
		return s, err
	}
	var held []corev1.Pod
	err := waitFor(ctx, time.Minute, 20*time.Millisecond, "wait for the held pods of "+name, func(ctx context.Context) (bool, error) {
		d, err := b.admin.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		pods, err := b.livePods(ctx, ns, sel)
		held = pods
		return d.Status.ObservedGeneration >= d.Generation && d.Status.Replicas == want && len(pods) == int(want), err
	})
	if err != nil {
		return s, err
	}

	raw, err := startRawWatch(ctx, b.admin, b.floor, ns, name, sel, want)
	if err != nil {
		return s, err
	}
	defer raw.stop()

	// cutover. seen and counted are written by the progress callback only,
	// which runs on WaitRollout's goroutine; they are read after
	// WaitRollout returns.
	seen := map[string]time.Time{}
	var counted time.Time
	synced := make(chan struct{})
	var once sync.Once
	type result struct {
		at  time.Time
		err error
	}
	cutover := make(chan result, 1)
	go func() {
		err := b.cutover.WaitRollout(ctx, t, engine.Blue, func(cs engine.ColorState) {
			now := time.Now()
			for _, p := range cs.Pods {
				if _, ok := seen[p.Name]; p.Ready && !ok {
					seen[p.Name] = now
				}
			}
			if cs.Ready >= want && counted.IsZero() {
				counted = now
			}
			once.Do(func() { close(synced) })
		})
		cutover <- result{time.Now(), err}
	}()

	k, err := b.startRolloutStatus(ctx, ns, name)
	if err != nil {
		return s, err
	}
	for _, w := range []struct {
		what string
		ch   <-chan struct{}
	}{{"cutover's first progress report", synced}, {`kubectl's first "Waiting for" line`, k.waiting}} {
		select {
		case <-w.ch:
		case <-k.exited:
			return s, fmt.Errorf("kubectl rollout status exited before the pods were released: %w: %s", k.err, k.stderr.Bytes())
		case <-ctx.Done():
			return s, fmt.Errorf("wait for %s: %w", w.what, context.Cause(ctx))
		}
	}
	// Both have listed; give their watch requests time to be established,
	// so that neither catches up on the first event from a list.
	if err := sleep(ctx, 300*time.Millisecond); err != nil {
		return s, err
	}
	if err := b.release(ctx, held, 4); err != nil {
		return s, err
	}

	var cut result
	select {
	case cut = <-cutover:
	case <-ctx.Done():
		return s, fmt.Errorf("wait for cutover's WaitRollout: %w", context.Cause(ctx))
	}
	if cut.err != nil {
		return s, fmt.Errorf("cutover's WaitRollout: %w", cut.err)
	}
	select {
	case <-k.exited:
	case <-ctx.Done():
		return s, fmt.Errorf("wait for kubectl rollout status: %w", context.Cause(ctx))
	}
	if k.err != nil || k.printedAt.IsZero() {
		return s, fmt.Errorf("kubectl rollout status: %w: %s", k.err, k.stderr.Bytes())
	}
	select {
	case <-raw.completeCh:
	case <-ctx.Done():
		return s, fmt.Errorf("wait for the raw watch to see %s complete: %w", name, context.Cause(ctx))
	}

	ready, control := raw.readyTimes()
	var last time.Time
	for _, p := range held {
		at, ok := ready[p.Name]
		if !ok {
			return s, fmt.Errorf("the raw watch never saw pod %s Ready", p.Name)
		}
		if at.After(last) {
			last = at
		}
		if got, ok := seen[p.Name]; ok {
			s.podSeen = append(s.podSeen, got.Sub(at))
		}
		if got, ok := control[p.Name]; ok {
			s.control = append(s.control, got.Sub(at))
		}
	}
	if len(s.podSeen) == 0 || counted.IsZero() {
		return s, fmt.Errorf("cutover's progress reports showed %d pods Ready, and a Ready count of %d %t", len(s.podSeen), want, !counted.IsZero())
	}
	s.readyCount = counted.Sub(last)
	s.status = raw.complete.Sub(last)
	s.cutoverDone = cut.at.Sub(last)
	s.printed = k.printedAt.Sub(last)
	s.kubectlExit = k.exitedAt.Sub(last)

	if err := b.scale(ctx, ns, name, 0); err != nil {
		return s, err
	}
	return s, waitFor(ctx, time.Minute, 50*time.Millisecond, "wait for the pods of "+name+" to go", func(ctx context.Context) (bool, error) {
		pods, err := b.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		return err == nil && len(pods.Items) == 0, err
	})
}

// rawWatch records when each pod's Ready=True update, and the Deployment's
// complete status, arrive: the API server's own moment, as near as a
// client can see it. A second pod watch, on another client, arrives at
// the same events in its own time: how far apart two bare watches are is
// the resolution of the pod figures.
type rawWatch struct {
	stop func()

	mu             sync.Mutex
	ready, control map[string]time.Time
	complete       time.Time // set before completeCh closes
	completeCh     chan struct{}
}

func startRawWatch(ctx context.Context, cs, control kubernetes.Interface, ns, name, sel string, want int32) (*rawWatch, error) {
	w := &rawWatch{ready: map[string]time.Time{}, control: map[string]time.Time{}, completeCh: make(chan struct{})}
	var wg sync.WaitGroup
	var stops []func()
	w.stop = func() {
		for _, stop := range stops {
			stop()
		}
		wg.Wait()
	}
	for _, pw := range []struct {
		cs   kubernetes.Interface
		into map[string]time.Time
	}{{cs, w.ready}, {control, w.control}} {
		pods, err := pw.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			w.stop()
			return nil, fmt.Errorf("list pods %s in %s: %w", sel, ns, err)
		}
		watcher, err := pw.cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: pods.ResourceVersion})
		if err != nil {
			w.stop()
			return nil, fmt.Errorf("watch pods %s in %s: %w", sel, ns, err)
		}
		stops = append(stops, watcher.Stop)
		wg.Go(func() {
			for ev := range watcher.ResultChan() {
				now := time.Now()
				if p, ok := ev.Object.(*corev1.Pod); ok && podReady(p) {
					w.mu.Lock()
					if _, seen := pw.into[p.Name]; !seen {
						pw.into[p.Name] = now
					}
					w.mu.Unlock()
				}
			}
		})
	}
	byName := fields.OneTermEqualSelector("metadata.name", name).String()
	deps, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{FieldSelector: byName})
	if err != nil {
		w.stop()
		return nil, fmt.Errorf("list deployment %s/%s: %w", ns, name, err)
	}
	dw, err := cs.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{FieldSelector: byName, ResourceVersion: deps.ResourceVersion})
	if err != nil {
		w.stop()
		return nil, fmt.Errorf("watch deployment %s/%s: %w", ns, name, err)
	}
	stops = append(stops, dw.Stop)
	wg.Go(func() {
		for ev := range dw.ResultChan() {
			now := time.Now()
			if d, ok := ev.Object.(*appsv1.Deployment); ok && w.complete.IsZero() && complete(d, want) {
				w.complete = now
				close(w.completeCh)
			}
		}
	})
	return w, nil
}

// readyTimes returns copies of the reference and the control watch's
// Ready times.
func (w *rawWatch) readyTimes() (ready, control map[string]time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.ready), maps.Clone(w.control)
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// complete is engine.RolloutStatus's "done" on a Deployment's own status.
func complete(d *appsv1.Deployment, want int32) bool {
	st := d.Status
	return st.ObservedGeneration >= d.Generation && st.Replicas == want && st.UpdatedReplicas == want && st.AvailableReplicas == want
}

// kubectlRun is one `kubectl rollout status`.
type kubectlRun struct {
	waiting chan struct{} // closed at its first "Waiting for" line
	exited  chan struct{} // closed once it has exited
	// Set before exited closes.
	printedAt, exitedAt time.Time
	err                 error
	stderr              bytes.Buffer
}

func (b *bench) startRolloutStatus(ctx context.Context, ns, name string) (*kubectlRun, error) {
	k := &kubectlRun{waiting: make(chan struct{}), exited: make(chan struct{})}
	args := append([]string{"rollout", "status", "deployment/" + name, "-n", ns, "--timeout=2m"}, b.kubectlArgs...)
	cmd := exec.CommandContext(ctx, b.kubectl, args...) //nolint:gosec // the control plane's own kubectl
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("kubectl rollout status: %w", err)
	}
	cmd.Stderr = &k.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("kubectl rollout status: %w", err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		var once sync.Once
		for sc.Scan() {
			now := time.Now()
			switch line := sc.Text(); {
			case strings.HasPrefix(line, "Waiting for"):
				once.Do(func() { close(k.waiting) })
			case strings.Contains(line, "successfully rolled out"):
				k.printedAt = now
			}
		}
		// The pipe ends when kubectl exits; Wait reaps it.
		k.err = cmd.Wait()
		k.exitedAt = time.Now()
		close(k.exited)
	}()
	return k, nil
}

// --- rollback with a warm color ---

func (b *bench) rollback(ctx context.Context) (*rollbackReport, error) {
	const ns, svcName = "rollback", "web-service"
	if err := b.namespace(ctx, ns); err != nil {
		return nil, err
	}
	if err := b.pair(ctx, ns, "web", 3, false); err != nil {
		return nil, err
	}
	t := engine.Target{Namespace: ns, Service: svcName}.WithDefaults()
	var switchedAt time.Time
	hooks := engine.ReleaseHooks{
		Actor: engine.Actor{Name: "cutover-bench"}, Clock: engine.RealClock{},
		Switched: func(engine.SwitchRequest) error { switchedAt = time.Now(); return nil },
	}
	var calls, switched, patches []time.Duration
	var requests []int64
	rollback := func(to engine.Color, record bool) error {
		switchedAt = time.Time{}
		n0 := b.requests.Load()
		t0 := time.Now()
		got, err := engine.RunRollback(ctx, b.cutover, t, engine.RollbackOptions{To: to}, hooks)
		took := time.Since(t0)
		if err != nil || got != to || switchedAt.IsZero() {
			return fmt.Errorf("roll back %s to %s: got %s, switched %t: %w", t, to, got, !switchedAt.IsZero(), err)
		}
		if record {
			calls = append(calls, took)
			switched = append(switched, switchedAt.Sub(t0))
			requests = append(requests, b.requests.Load()-n0)
		}
		return nil
	}
	patch := func(to engine.Color, record bool) error {
		body := fmt.Appendf(nil, `{"spec":{"selector":{%q:%q}}}`, t.SelectorKey, to)
		t0 := time.Now()
		svc, err := b.floor.CoreV1().Services(ns).Patch(ctx, svcName, types.MergePatchType, body, metav1.PatchOptions{FieldManager: "cutover-bench"})
		took := time.Since(t0)
		if err != nil {
			return fmt.Errorf("patch service %s/%s to %s: %w", ns, svcName, to, err)
		}
		if got := svc.Spec.Selector[t.SelectorKey]; got != string(to) {
			return fmt.Errorf("patch service %s/%s: it selects %s, want %s", ns, svcName, got, to)
		}
		if record {
			patches = append(patches, took)
		}
		return nil
	}
	// One of each, untimed, to open connections and fill caches.
	if err := rollback(engine.Blue, false); err != nil {
		return nil, err
	}
	if err := patch(engine.Green, false); err != nil {
		return nil, err
	}
	// Every operation flips the Service. The pattern RPPR interleaves
	// the two kinds and gives each both target colors in turn.
	live := engine.Green
	for i := range 2 * b.o.n {
		to := live.Other()
		var err error
		if i%4 == 0 || i%4 == 3 {
			err = rollback(to, true)
		} else {
			err = patch(to, true)
		}
		if err != nil {
			return nil, err
		}
		live = to
	}
	logf("rollback: RunRollback median %s, patch median %s", ms(summarize(calls).median), ms(summarize(patches).median))

	// Why Observe reads pods from the watch cache: a consistent List right
	// after a write waits for the cache to catch up with etcd. Time both,
	// each right after a write to the Service, as a rollback's reading
	// often comes right after one.
	var consistent, cached []time.Duration
	for range b.o.n {
		for _, rv := range []string{"", "0"} {
			live = live.Other()
			if err := patch(live, false); err != nil {
				return nil, err
			}
			t0 := time.Now()
			if _, err := b.floor.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web,color=blue", ResourceVersion: rv}); err != nil {
				return nil, fmt.Errorf("list pods in %s: %w", ns, err)
			}
			if rv == "" {
				consistent = append(consistent, time.Since(t0))
			} else {
				cached = append(cached, time.Since(t0))
			}
		}
	}
	r := &rollbackReport{
		Switched: summarize(switched), Returned: summarize(calls), Patch: summarize(patches),
		Requests:   slices.Max(requests),
		ListAfter:  summarize(consistent),
		ListCached: summarize(cached),
	}
	if m := slices.Min(requests); m != r.Requests {
		r.RequestsNote = fmt.Sprintf("%d to %d", m, r.Requests)
	}
	r.ReturnedOverPatch = ratio(r.Returned, r.Patch)
	return r, nil
}

// --- memory ---

// childReport is what the memory child prints.
type childReport struct {
	// Before any client exists.
	IdleRSS uint64 `json:"idleRSSBytes"`
	IdleHWM uint64 `json:"idleHWMBytes"`
	// At the end of the window, while still watching.
	RSS       uint64 `json:"rssBytes"`
	HWM       uint64 `json:"hwmBytes"`
	HeapInuse uint64 `json:"heapInuseBytes"`
	GoSys     uint64 `json:"goSysBytes"`
	NumGC     uint32 `json:"numGC"`

	Observes      int      `json:"observes"`
	ObservedPods  int      `json:"observedPods"`
	Progress      int      `json:"progressReports"`
	WatchedPods   int      `json:"watchedPods"`
	Errors        []string `json:"errors,omitempty"`
	WatchedForSec float64  `json:"watchedForSeconds"`
}

func (b *bench) memory(ctx context.Context) (*memoryReport, error) {
	const ns, app = "memory", "mem"
	if err := b.namespace(ctx, ns); err != nil {
		return nil, err
	}
	per := int32(b.o.pods / 2) //nolint:gosec // a flag, far below 2^31
	if err := b.pair(ctx, ns, app, per, true); err != nil {
		return nil, err
	}
	r := &memoryReport{Pods: 2 * int(per), WatchFor: b.o.watchFor.String(), ObserveEvery: b.o.observeEvery.String()}
	if err := b.podSize(ctx, ns, r); err != nil {
		return nil, err
	}

	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the harness binary to run the memory child: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, "-watch", "-kubeconfig="+b.c.Kubeconfig, "-namespace="+ns, "-service="+app+"-service", //nolint:gosec // this binary
		"-watch-for="+b.o.watchFor.String(), "-observe-every="+b.o.observeEvery.String())
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logf("memory: a child process watches %d pods for %s", r.Pods, b.o.watchFor)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("memory child: %w", err)
	}
	if err := json.Unmarshal(out, &r.Child); err != nil {
		return nil, fmt.Errorf("memory child printed %q: %w", out, err)
	}
	if len(r.Child.Errors) > 0 {
		return nil, fmt.Errorf("memory child: %s", strings.Join(r.Child.Errors, "; "))
	}
	r.MeetsTarget = r.Child.HWM <= 80<<20
	return r, nil
}

// pair creates app-blue and app-green with n pods each and a Service
// app-service that selects green, and waits until they are Ready. With
// holdOne, one pod of each color stays held by the scheduling gate, so that
// each rollout stays unfinished and a WaitRollout keeps watching it.
func (b *bench) pair(ctx context.Context, ns, app string, n int32, holdOne bool) error {
	for _, c := range []engine.Color{engine.Blue, engine.Green} {
		d := deployment(ns, app, c, n, holdOne)
		if _, err := b.admin.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create deployment %s/%s: %w", ns, d.Name, err)
		}
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: app + "-service", Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": app, "color": string(engine.Green)},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	if _, err := b.admin.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create service %s/%s: %w", ns, svc.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	want := n
	if holdOne {
		for _, c := range []engine.Color{engine.Blue, engine.Green} {
			sel := fmt.Sprintf("app=%s,color=%s", app, c)
			var pods []corev1.Pod
			err := waitFor(ctx, 0, time.Second, fmt.Sprintf("wait for the %d pods of %s-%s", n, app, c), func(ctx context.Context) (bool, error) {
				var err error
				pods, err = b.livePods(ctx, ns, sel)
				logf("%s-%s: %d of %d pods created", app, c, len(pods), n)
				return len(pods) == int(n), err
			})
			if err != nil {
				return err
			}
			slices.SortFunc(pods, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
			if err := b.release(ctx, pods[:len(pods)-1], 16); err != nil {
				return err
			}
		}
		want = n - 1
	}
	for _, c := range []engine.Color{engine.Blue, engine.Green} {
		name := app + "-" + string(c)
		err := waitFor(ctx, 0, time.Second, fmt.Sprintf("wait for %d Ready pods of %s/%s", want, ns, name), func(ctx context.Context) (bool, error) {
			d, err := b.admin.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if n > 10 {
				logf("%s: %d of %d pods Ready", name, d.Status.ReadyReplicas, want)
			}
			return d.Status.ReadyReplicas == want && d.Status.Replicas == n, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// podSize records how big the watched pods are, as the API server sends
// them and as cutover keeps them (without managedFields).
func (b *bench) podSize(ctx context.Context, ns string, r *memoryReport) error {
	pods, err := b.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{Limit: 50})
	if err != nil {
		return fmt.Errorf("list pods in %s: %w", ns, err)
	}
	var full, bare int
	for i := range pods.Items {
		p := &pods.Items[i]
		j, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("encode pod %s: %w", p.Name, err)
		}
		full += len(j)
		p.ManagedFields = nil
		if j, err = json.Marshal(p); err != nil {
			return fmt.Errorf("encode pod %s: %w", p.Name, err)
		}
		bare += len(j)
	}
	if n := len(pods.Items); n > 0 {
		r.PodJSONBytes, r.PodJSONBareBytes = full/n, bare/n
	}
	return nil
}

// watchChild is the memory child: it reads its own RSS, then watches the
// pair the way cutover does during a release (a WaitRollout per color,
// Observe on a timer) and reads its RSS again at the end, still watching.
func watchChild(ctx context.Context, o options) error {
	var rep childReport
	var err error
	if rep.IdleRSS, rep.IdleHWM, err = procMemory(); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return fmt.Errorf("read %s: %w", o.kubeconfig, err)
	}
	cl, err := kube.NewForConfig(cfg)
	if err != nil {
		return err
	}
	t := engine.Target{Namespace: o.namespace, Service: o.service}.WithDefaults()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	watched := map[engine.Color]int{}
	var wg sync.WaitGroup
	for _, c := range []engine.Color{engine.Blue, engine.Green} {
		wg.Go(func() {
			err := cl.WaitRollout(wctx, t, c, func(s engine.ColorState) {
				mu.Lock()
				defer mu.Unlock()
				rep.Progress++
				watched[c] = len(s.Pods)
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case wctx.Err() != nil:
			case err == nil:
				rep.Errors = append(rep.Errors, fmt.Sprintf("the rollout of %s finished: it should stay held", c))
			default:
				rep.Errors = append(rep.Errors, err.Error())
			}
		})
	}
	start := time.Now()
	end := time.NewTimer(o.watchFor)
	defer end.Stop()
	tick := time.NewTicker(o.observeEvery)
	defer tick.Stop()
	for done := false; !done; {
		obs, err := cl.Observe(wctx, t)
		if err != nil {
			return fmt.Errorf("observe %s: %w", t, err)
		}
		rep.Observes++
		rep.ObservedPods = len(obs.Color(engine.Blue).Pods) + len(obs.Color(engine.Green).Pods)
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-end.C:
			done = true
		case <-tick.C:
		}
	}
	rep.WatchedForSec = time.Since(start).Seconds()
	if rep.RSS, rep.HWM, err = procMemory(); err != nil {
		return err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rep.HeapInuse, rep.GoSys, rep.NumGC = ms.HeapInuse, ms.Sys, ms.NumGC
	mu.Lock()
	rep.WatchedPods = watched[engine.Blue] + watched[engine.Green]
	mu.Unlock()
	cancel()
	wg.Wait()
	return json.NewEncoder(os.Stdout).Encode(rep)
}

// procMemory reads VmRSS and VmHWM from /proc/self/status, in bytes.
func procMemory() (rss, hwm uint64, err error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0, fmt.Errorf("read this process's memory: %w", err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("read %s from /proc/self/status: %w", key, err)
		}
		if key == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("read /proc/self/status: %w", err)
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, errors.New("no VmRSS or VmHWM in /proc/self/status")
	}
	return rss, hwm, nil
}

// --- cluster helpers ---

func (b *bench) namespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := b.admin.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// deployment is app-color with a pod template the size of a small real
// service's: a port, a probe, resources, a few variables. With held, its
// pods are created behind the scheduling gate.
func deployment(ns, app string, c engine.Color, replicas int32, held bool) *appsv1.Deployment {
	labels := map[string]string{"app": app, "color": string(c)}
	deadline := int32(600)
	pod := corev1.PodSpec{
		Containers: []corev1.Container{{
			Name:  "app",
			Image: "registry.invalid/" + app + ":v1",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			Env: []corev1.EnvVar{
				{Name: "COLOR", Value: string(c)},
				{Name: "LOG_LEVEL", Value: "info"},
				{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
			},
			ReadinessProbe: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
				PeriodSeconds: 5,
			},
		}},
		Tolerations: []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
	}
	if held {
		pod.SchedulingGates = []corev1.PodSchedulingGate{{Name: gate}}
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: app + "-" + string(c), Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas:                &replicas,
			ProgressDeadlineSeconds: &deadline,
			Selector:                &metav1.LabelSelector{MatchLabels: labels},
			Template:                corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: pod},
		},
	}
}

func (b *bench) scale(ctx context.Context, ns, name string, n int32) error {
	body := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, n)
	if _, err := b.admin.AppsV1().Deployments(ns).Patch(ctx, name, types.MergePatchType, body, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("scale deployment %s/%s to %d: %w", ns, name, n, err)
	}
	return nil
}

// livePods lists the pods of sel that are not being deleted.
func (b *bench) livePods(ctx context.Context, ns, sel string) ([]corev1.Pod, error) {
	list, err := b.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list pods %s in %s: %w", sel, ns, err)
	}
	return slices.DeleteFunc(list.Items, func(p corev1.Pod) bool { return p.DeletionTimestamp != nil }), nil
}

// release removes the scheduling gate from pods, parallel at a time.
func (b *bench) release(ctx context.Context, pods []corev1.Pod, parallel int) error {
	if len(pods) == 0 {
		return nil
	}
	patch := []byte(`[{"op":"remove","path":"/spec/schedulingGates"}]`)
	next := make(chan string)
	errs := make(chan error, parallel)
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for name := range next {
				_, err := b.admin.CoreV1().Pods(pods[0].Namespace).Patch(ctx, name, types.JSONPatchType, patch, metav1.PatchOptions{})
				if err != nil {
					errs <- fmt.Errorf("release pod %s/%s: %w", pods[0].Namespace, name, err)
					return
				}
			}
		})
	}
	var err error
feed:
	for _, p := range pods {
		select {
		case next <- p.Name:
		case err = <-errs:
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if err != nil {
		return err
	}
	return <-errs // nil once closed and empty
}

// waitFor calls cond every `every` until it is true, for at most limit
// (0: until ctx ends). cond's errors are retried; the last one is reported.
func waitFor(ctx context.Context, limit, every time.Duration, what string, cond func(context.Context) (bool, error)) error {
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	var last error
	for {
		ok, err := cond(ctx)
		if ok && err == nil {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%s: %w (last error: %w)", what, context.Cause(ctx), last)
			}
			return fmt.Errorf("%s: %w", what, context.Cause(ctx))
		case <-time.After(every):
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-time.After(d):
		return nil
	}
}

// --- figures ---

type report struct {
	Server   string `json:"server"`
	Kubectl  string `json:"kubectl,omitempty"`
	Go       string `json:"go"`
	CPUs     int    `json:"cpus"`
	Nodes    int    `json:"nodes"`
	NodePods string `json:"nodeAllocatablePods"`
	N        int    `json:"n"`
	Replicas int    `json:"replicas"`

	Latency  *latencyReport  `json:"latency,omitempty"`
	Rollback *rollbackReport `json:"rollback,omitempty"`
	Memory   *memoryReport   `json:"memory,omitempty"`
}

type latencyReport struct {
	CutoverPodSeen    summary `json:"cutoverPodSeen"`
	ControlPodSeen    summary `json:"secondRawWatchPodSeen"`
	CutoverReadyCount summary `json:"cutoverReadyCount"`
	StatusComplete    summary `json:"deploymentStatusComplete"`
	CutoverDone       summary `json:"cutoverWaitRolloutReturned"`
	KubectlPrinted    summary `json:"kubectlPrinted"`
	KubectlExit       summary `json:"kubectlExited"`
	KubectlStart      summary `json:"kubectlVersionClient"`
	ExitOverDone      ratios  `json:"kubectlExitedOverCutoverReturned"`
}

type rollbackReport struct {
	Switched          summary `json:"runRollbackSwitched"`
	Returned          summary `json:"runRollbackReturned"`
	Patch             summary `json:"clientGoPatch"`
	ReturnedOverPatch ratios  `json:"runRollbackOverPatch"`
	Requests          int64   `json:"requestsPerRunRollback"`
	RequestsNote      string  `json:"requestsRange,omitempty"`
	ListAfter         summary `json:"podListAfterWrite"`
	ListCached        summary `json:"podListAfterWriteResourceVersion0"`
}

type memoryReport struct {
	Pods             int         `json:"pods"`
	WatchFor         string      `json:"watchFor"`
	ObserveEvery     string      `json:"observeEvery"`
	PodJSONBytes     int         `json:"podJSONBytes"`
	PodJSONBareBytes int         `json:"podJSONBytesWithoutManagedFields"`
	Child            childReport `json:"child"`
	MeetsTarget      bool        `json:"peakWithin80MiB"`
}

// summary is a set of durations; the JSON has them in milliseconds.
type summary struct {
	median, p90 time.Duration
	samples     []time.Duration
}

func summarize(d []time.Duration) summary {
	s := slices.Clone(d)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return summary{}
	}
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	// Nearest rank: the smallest sample with at least 90% at or below it.
	return summary{median: med, p90: s[int(math.Ceil(0.9*float64(n)))-1], samples: d}
}

func (s summary) MarshalJSON() ([]byte, error) {
	out := struct {
		Median  float64   `json:"medianMs"`
		P90     float64   `json:"p90Ms"`
		N       int       `json:"n"`
		Samples []float64 `json:"samplesMs"`
	}{Median: msf(s.median), P90: msf(s.p90), N: len(s.samples)}
	for _, d := range s.samples {
		out.Samples = append(out.Samples, msf(d))
	}
	return json.Marshal(out)
}

type ratios struct {
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
}

// ratio divides a's figures by b's; it is 0 where b's is not positive,
// since JSON has no NaN.
func ratio(a, b summary) ratios {
	r := func(x, y time.Duration) float64 {
		if y <= 0 {
			return 0
		}
		return math.Round(float64(x)/float64(y)*100) / 100
	}
	return ratios{Median: r(a.median, b.median), P90: r(a.p90, b.p90)}
}

func msf(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// ms prints a duration in milliseconds with precision to suit.
func ms(d time.Duration) string {
	v := float64(d) / 1e6
	switch a := math.Abs(v); {
	case a < 10:
		return strconv.FormatFloat(v, 'f', 2, 64) + " ms"
	case a < 100:
		return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
}

func mib(b uint64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MiB" }

func (r report) print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "cutover kube bench: kube-apiserver %s, kubectl %s, %s, %d CPUs; %d kwok nodes (allocatable pods %s each)\n",
		r.Server, orDash(r.Kubectl), r.Go, r.CPUs, r.Nodes, r.NodePods)
	// Values are padded so that they line up on the right.
	line := func(name string, cells ...string) {
		fmt.Fprint(tw, name)
		for _, c := range cells {
			fmt.Fprintf(tw, "\t%10s", c)
		}
		fmt.Fprint(tw, "\t\n")
	}
	row := func(name string, s summary) { line("  "+name, ms(s.median), ms(s.p90), strconv.Itoa(len(s.samples))) }
	ratioRow := func(name string, x ratios) {
		line("  "+name, strconv.FormatFloat(x.Median, 'f', 2, 64)+"x", strconv.FormatFloat(x.P90, 'f', 2, 64)+"x", "")
	}
	if l := r.Latency; l != nil {
		line("")
		line(fmt.Sprintf("EVENT LATENCY: after a pod's Ready update reaches a raw watch (%d rollouts of %d pods)", r.N, r.Replicas), "median", "p90", "n")
		row("cutover: WaitRollout progress lists that pod as Ready", l.CutoverPodSeen)
		row("(resolution: a second raw watch on another client sees that pod Ready)", l.ControlPodSeen)
		row("(controller: Deployment status complete at the raw watch, after the last pod)", l.StatusComplete)
		row("cutover: WaitRollout progress's Ready count includes the last pod", l.CutoverReadyCount)
		row("cutover: WaitRollout returns done, after the last pod", l.CutoverDone)
		row(`kubectl rollout status: prints "successfully rolled out", after the last pod`, l.KubectlPrinted)
		row("kubectl rollout status: process exits, after the last pod", l.KubectlExit)
		ratioRow("ratio kubectl exits / cutover returns", l.ExitOverDone)
		row("kubectl version --client, whole process (start cost; not inside the times above)", l.KubectlStart)
	}
	if rb := r.Rollback; rb != nil {
		line("")
		line("ROLLBACK, warm color (3 Ready pods each side; target color alternating)", "median", "p90", "n")
		row("engine.RunRollback: call -> Service patched (Switched hook)", rb.Switched)
		row("engine.RunRollback: call -> return", rb.Returned)
		row("client-go Services(ns).Patch of the selector, merge patch (floor)", rb.Patch)
		ratioRow("ratio RunRollback returns / Patch", rb.ReturnedOverPatch)
		req := strconv.FormatInt(rb.Requests, 10)
		if rb.RequestsNote != "" {
			req = rb.RequestsNote
		}
		line("  API requests per RunRollback", req, "", "")
		row("client-go pods List right after a Service write, consistent read", rb.ListAfter)
		row("the same List with resourceVersion=0 (watch cache; what Observe uses)", rb.ListCached)
	}
	if m := r.Memory; m != nil {
		c := m.Child
		line("")
		line(fmt.Sprintf("MEMORY: %d pods, %d per color (%.1f KiB of JSON each without managedFields)", m.Pods, m.Pods/2, float64(m.PodJSONBareBytes)/1024),
			"RSS", "peak", "Go heap")
		line(fmt.Sprintf("  cutover watching %d pods: WaitRollout on both colors, Observe every %s, for %.0fs", c.WatchedPods, m.ObserveEvery, c.WatchedForSec),
			mib(c.RSS), mib(c.HWM), mib(c.HeapInuse))
		line("  idle process: the same binary before it builds a client", mib(c.IdleRSS), mib(c.IdleHWM), "")
		verdict := "met"
		if !m.MeetsTarget {
			verdict = "NOT met"
		}
		line("  target: peak <= 80 MiB", "", verdict, "")
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print the table: %w", err)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
