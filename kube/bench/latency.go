package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"github.com/cutover-sh/cutover/engine"
)

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
	d := deployment(ns, "lat", spec.Blue, 0, true)
	if _, err := b.admin.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create deployment %s/%s: %w", ns, d.Name, err)
	}
	start, version, err := b.kubectlStartCost(ctx)
	if err != nil {
		return nil, err
	}
	rep.Kubectl = version
	t := spec.Target{Namespace: ns, Service: "lat-service"}.WithDefaults()
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
func (b *bench) latencyOnce(ctx context.Context, t spec.Target) (latencySample, error) {
	var s latencySample
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	ns, name, want := t.Namespace, t.Deployment(spec.Blue), int32(b.o.replicas) //nolint:gosec // checked: 1..100
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
		err := b.cutover.WaitRollout(ctx, t, spec.Blue, func(cs engine.ColorState) {
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
