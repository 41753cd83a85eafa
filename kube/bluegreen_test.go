package kube_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/kube"
	"github.com/cutover-sh/cutover/testenv"
)

var tester = engine.Actor{Name: "tester", ID: "SHA256:test"}

func bgSpec(ns string) spec.BlueGreenSpec {
	return spec.BlueGreenSpec{
		Namespace: ns, Service: "web-service", Container: "app", Image: "web:v2", Replicas: 3,
		ScaleDownDelay: spec.Duration(2 * time.Second),
	}
}

// releaseLog collects what the executor reports.
type releaseLog struct {
	mu       sync.Mutex
	phases   []engine.Phase
	switches []engine.SwitchRequest
	progress int
	logf     func(string, ...any)
}

func (l *releaseLog) hooks() engine.ReleaseHooks {
	return engine.ReleaseHooks{
		Actor: tester, Clock: engine.RealClock{},
		Observed: func(r engine.Release, _ engine.Observation, act engine.Action) {
			l.logf("%s: %+v", r.Phase, act)
			l.mu.Lock()
			defer l.mu.Unlock()
			if n := len(l.phases); n == 0 || l.phases[n-1] != r.Phase {
				l.phases = append(l.phases, r.Phase)
			}
		},
		Progress: func(spec.Color, engine.ColorState) {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.progress++
		},
		Switched: func(req engine.SwitchRequest) error {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.switches = append(l.switches, req)
			return nil
		},
		Retrying: func(err error) { l.logf("retrying: %v", err) },
		RetryFor: time.Minute,
	}
}

func selects(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns string) (string, map[string]string, string) {
	t.Helper()
	svc, err := cs.CoreV1().Services(ns).Get(ctx, "web-service", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc.Spec.Selector["color"], svc.Annotations, svc.ResourceVersion
}

func replicas(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, name string) int32 {
	t.Helper()
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return *d.Spec.Replicas
}

// TestBlueGreenEndToEnd releases web:v2 onto green while blue serves web:v1.
func TestBlueGreenEndToEnd(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 3, Green: 0}, true)

	log := releaseLog{logf: t.Logf}
	start := time.Now()
	r, err := engine.RunBlueGreen(ctx, kube.New(c.Client), bgSpec(ns), log.hooks())
	if err != nil || r.Phase != engine.PhaseDone {
		t.Fatalf("release: %v, phase %s (%s); want done", err, r.Phase, r.Reason)
	}
	t.Logf("release took %s; phases %v; %d progress reports", time.Since(start).Round(time.Millisecond), log.phases, log.progress)
	live, ann, _ := selects(ctx, t, c.Client, ns)
	if live != "green" {
		t.Errorf("service selects %s, want green", live)
	}
	if ann[engine.AnnRelease] != "web:v2" || ann[engine.AnnPreviousColor] != "blue" || ann[engine.AnnSwitchedBy] != tester.String() {
		t.Errorf("annotations %v, want release web:v2, previous blue, by %s", ann, tester)
	}
	at, err := time.Parse(time.RFC3339Nano, ann[engine.AnnSwitchedAt])
	if err != nil || at.Before(start) {
		t.Errorf("switched-at %q, want a time after the release began", ann[engine.AnnSwitchedAt])
	}
	if n := replicas(ctx, t, c.Client, ns, "web-blue"); n != 0 {
		t.Errorf("blue has %d replicas after the delay, want 0", n)
	}
	if len(log.switches) != 1 || log.switches[0].To != spec.Green || log.switches[0].From != spec.Blue {
		t.Errorf("switches %+v, want one blue -> green", log.switches)
	}
	want := []engine.Phase{engine.PhaseDeploying, engine.PhaseSwitching, engine.PhaseScaleDownDelay, engine.PhaseDone}
	if !containsInOrder(log.phases, want) {
		t.Errorf("phases %v, want %v in order", log.phases, want)
	}

	// Releasing the same image again does nothing.
	_, _, rv := selects(ctx, t, c.Client, ns)
	r, err = engine.RunBlueGreen(ctx, kube.New(c.Client), bgSpec(ns), log.hooks())
	if _, _, rv2 := selects(ctx, t, c.Client, ns); err != nil || r.Phase != engine.PhaseDone || rv2 != rv {
		t.Errorf("second release: %v, %s (%s), service version %s -> %s; want done and untouched", err, r.Phase, r.Reason, rv, rv2)
	}
}

func containsInOrder(got, want []engine.Phase) bool {
	i := 0
	for _, p := range got {
		if i < len(want) && p == want[i] {
			i++
		}
	}
	return i == len(want)
}

// TestRollbackWarm rolls back while blue still has its pods: one patch.
func TestRollbackWarm(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "green", BlueImage: "web:v1", GreenImage: "web:v2", Blue: 3, Green: 3}, true)
	blueGen := generation(ctx, t, c.Client, ns, "web-blue")
	_, _, rv := selects(ctx, t, c.Client, ns)

	log := releaseLog{logf: t.Logf}
	target := spec.Target{Namespace: ns, Service: "web-service"}.WithDefaults()
	start := time.Now()
	to, err := engine.RunRollback(ctx, kube.New(c.Client), target, engine.RollbackOptions{}, log.hooks())
	took := time.Since(start)
	if err != nil || to != spec.Blue {
		t.Fatalf("rollback: %v, to %s; want blue", err, to)
	}
	t.Logf("warm rollback: %s from the call to the service updated", took.Round(time.Microsecond))
	live, ann, rv2 := selects(ctx, t, c.Client, ns)
	if live != "blue" || ann[engine.AnnPreviousColor] != "green" {
		t.Errorf("service selects %s (previous %s), want blue (previous green)", live, ann[engine.AnnPreviousColor])
	}
	if g := generation(ctx, t, c.Client, ns, "web-blue"); g != blueGen {
		t.Errorf("blue's generation went %d -> %d; a warm rollback must not touch it", blueGen, g)
	}
	if len(log.switches) != 1 {
		t.Errorf("%d switches, want exactly one patch", len(log.switches))
	}
	if rv2 == rv {
		t.Error("the service's resourceVersion did not change")
	}
}

func generation(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, name string) int64 {
	t.Helper()
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d.Generation
}

// TestRollbackCold rolls back after blue was scaled down: blue must be
// scaled up and Ready before the service moves.
func TestRollbackCold(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "green", BlueImage: "web:v1", GreenImage: "web:v2", Blue: 0, Green: 3}, true)

	log := releaseLog{logf: t.Logf}
	h := log.hooks()
	// Observed runs before each action is applied: read blue's Ready pods
	// from the API server just before the switch is sent.
	var readyAtSwitch int32 = -1
	observed := h.Observed
	h.Observed = func(r engine.Release, obs engine.Observation, act engine.Action) {
		observed(r, obs, act)
		if act.Kind == engine.ActSwitch {
			d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "web-blue", metav1.GetOptions{})
			if err == nil {
				readyAtSwitch = d.Status.ReadyReplicas
			}
		}
	}
	target := spec.Target{Namespace: ns, Service: "web-service"}.WithDefaults()
	to, err := engine.RunRollback(ctx, kube.New(c.Client), target, engine.RollbackOptions{To: spec.Blue}, h)
	if err != nil || to != spec.Blue {
		t.Fatalf("rollback: %v, to %s; want blue", err, to)
	}
	if live, _, _ := selects(ctx, t, c.Client, ns); live != "blue" {
		t.Errorf("service selects %s, want blue", live)
	}
	if n := replicas(ctx, t, c.Client, ns, "web-blue"); n != 3 {
		t.Errorf("blue scaled to %d, want 3 (the live color's count)", n)
	}
	if readyAtSwitch != 3 {
		t.Errorf("blue had %d Ready pods just before the switch, want all 3: a cold color is waited for whole", readyAtSwitch)
	}
	if len(log.switches) != 1 {
		t.Errorf("%d switches, want 1", len(log.switches))
	}
	t.Logf("phases %v, blue Ready at the switch: %d", log.phases, readyAtSwitch)
}

// TestPreviewNeverReady: a preview that cannot be scheduled fails the
// release with the pods' reason and leaves the live color alone.
func TestPreviewNeverReady(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 3, Green: 0}, true)
	// No node matches, and the deadline is short.
	patch := `{"spec":{"progressDeadlineSeconds":3,"template":{"spec":{"nodeSelector":{"disk":"none-such"}}}}}`
	if _, err := c.Client.AppsV1().Deployments(ns).Patch(ctx, "web-green", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	_, _, rv := selects(ctx, t, c.Client, ns)

	log := releaseLog{logf: t.Logf}
	r, err := engine.RunBlueGreen(ctx, kube.New(c.Client), bgSpec(ns), log.hooks())
	if err != nil || r.Phase != engine.PhaseFailed {
		t.Fatalf("release: %v, phase %s; want failed", err, r.Phase)
	}
	for _, want := range []string{"progress deadline", "Unschedulable", "live color blue was not touched"} {
		if !strings.Contains(r.Reason, want) {
			t.Errorf("reason %q does not say %q", r.Reason, want)
		}
	}
	if live, _, rv2 := selects(ctx, t, c.Client, ns); live != "blue" || rv2 != rv {
		t.Errorf("service selects %s at version %s (was %s), want blue untouched", live, rv2, rv)
	}
	if len(log.switches) != 0 {
		t.Errorf("switches %+v, want none", log.switches)
	}
}

// TestServiceEditedMidRelease: someone edits the Service while the release
// waits at its gate. The switch must not overwrite their edit.
func TestServiceEditedMidRelease(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 3, Green: 0}, true)

	log := releaseLog{logf: t.Logf}
	h := log.hooks()
	h.Approve = func(ctx context.Context) (bool, error) {
		edit := `{"metadata":{"labels":{"edited-by":"someone-else"}}}`
		_, err := c.Client.CoreV1().Services(ns).Patch(ctx, "web-service", types.MergePatchType, []byte(edit), metav1.PatchOptions{})
		return err == nil, err
	}
	spec := bgSpec(ns)
	spec.Approve = "switch?"
	r, err := engine.RunBlueGreen(ctx, kube.New(c.Client), spec, h)
	if err != nil || r.Phase != engine.PhaseFailed || !strings.Contains(r.Reason, "changed by someone else") {
		t.Fatalf("release: %v, phase %s (%s); want failed: changed by someone else", err, r.Phase, r.Reason)
	}
	svc, err := c.Client.CoreV1().Services(ns).Get(ctx, "web-service", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Spec.Selector["color"] != "blue" || svc.Labels["edited-by"] != "someone-else" {
		t.Errorf("service selects %s with labels %v; want blue and the other edit kept", svc.Spec.Selector["color"], svc.Labels)
	}
}

// TestSwitchIsConditional: a switch carrying a stale resourceVersion is
// refused by the API server, and a switch to a color with no Ready pods is
// refused by cutover.
func TestSwitchIsConditional(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v2", Blue: 3, Green: 3}, true)
	target := spec.Target{Namespace: ns, Service: "web-service"}.WithDefaults()
	k := kube.New(c.Client)
	_, _, stale := selects(ctx, t, c.Client, ns)
	edit := `{"metadata":{"labels":{"edited-by":"someone-else"}}}`
	if _, err := c.Client.CoreV1().Services(ns).Patch(ctx, "web-service", types.MergePatchType, []byte(edit), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	_, _, rv := selects(ctx, t, c.Client, ns)
	req := engine.SwitchRequest{To: spec.Green, From: spec.Blue, Version: stale, MinReady: 3, Release: "web:v2", Actor: tester, At: time.Now()}
	if _, err := k.Switch(ctx, target, req); err == nil || !strings.Contains(err.Error(), "someone else edited it") {
		t.Errorf("switch with the version from before someone's edit: got %v, want a conflict", err)
	}
	req.Version, req.MinReady = rv, 4
	if _, err := k.Switch(ctx, target, req); err == nil || !strings.Contains(err.Error(), "deployment "+ns+"/web-green has 3 Ready pods for selector app=web,color=green, want at least 4") {
		t.Errorf("switch to a color short of Ready pods: got %v, want a refusal", err)
	}
	if err := k.Scale(ctx, target, spec.Blue, 0); err == nil || !strings.Contains(err.Error(), "still selects color=blue") {
		t.Errorf("scaling the live color to 0: got %v, want a refusal", err)
	}
	if live, _, rv2 := selects(ctx, t, c.Client, ns); live != "blue" || rv2 != rv {
		t.Errorf("service selects %s at %s, want blue at %s", live, rv2, rv)
	}
}

// TestSwitchToTheLiveColorWritesNothing: switching a Service to the color
// it selects already changes nothing, whether the caller read its selector
// or not.
func TestSwitchToTheLiveColorWritesNothing(t *testing.T) {
	ctx, c, ns := releaseEnv(t, time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v2", Blue: 2, Green: 0}, false)
	target := spec.Target{Namespace: ns, Service: "web-service"}.WithDefaults()
	k := kube.New(c.Client)
	obs, err := k.Observe(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	for _, sel := range []map[string]string{obs.Service.Selector, nil} {
		req := engine.SwitchRequest{To: spec.Blue, From: spec.Blue, Version: obs.Service.Version, Selector: sel, MinReady: 5, Release: "web:v9", Actor: tester, At: time.Now()}
		v, err := k.Switch(ctx, target, req)
		if err != nil || v != obs.Service.Version {
			t.Errorf("switch to the live color (selector given: %v): got %q, %v; want %q and no error", sel != nil, v, err, obs.Service.Version)
		}
	}
	svc, err := c.Client.CoreV1().Services(ns).Get(ctx, "web-service", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.ResourceVersion != obs.Service.Version || svc.Annotations[engine.AnnRelease] == "web:v9" {
		t.Errorf("the Service was written: resourceVersion %s (was %s), annotations %v", svc.ResourceVersion, obs.Service.Version, svc.Annotations)
	}
}

// TestAPIServerRestartMidRollout kills the API server while a pipeline's
// preview rolls out, keeps it down for longer than the release lock's
// lease, and starts it again: the release, lock and all, must complete.
func TestAPIServerRestartMidRollout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	c := ownCluster(ctx, t)
	ns := namespace(ctx, t, c.Client)
	makePair(ctx, t, c.Client, ns, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 0})
	cs := c.Client // the clients outlive the restart: same address and credentials
	watchInvariant(ctx, t, cs, ns, "web-service", "color")

	// Green's pods can only run on a node that joins after the restart, so
	// the rollout is certainly in progress when the API server dies, and
	// its end is only visible to a watch that came back.
	patch := `{"spec":{"template":{"spec":{"nodeSelector":{"pool":"late"}}}}}`
	if _, err := cs.AppsV1().Deployments(ns).Patch(ctx, "web-green", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	outage := kube.LeaseDuration + 5*time.Second
	restarted := make(chan error, 1)
	var once sync.Once
	final, recs, _ := runPipeline(ctx, t, releasePipeline(ns), clustersOf(map[string]*testenv.Cluster{"prod": c}), logEvents(t), func(_ *engine.Engine, ev engine.Event) {
		p, ok := ev.(engine.ReleaseProgress)
		if !ok || p.Phase != engine.PhaseDeploying || len(p.State.Pods) == 0 {
			return // the controllers have not made the preview's pods yet
		}
		once.Do(func() {
			t.Logf("killing the API server for %s with green at %d/%d ready", outage, p.State.Ready, p.State.Replicas)
			if err := c.KillAPIServer(); err != nil {
				restarted <- err
				return
			}
			go func() {
				time.Sleep(outage)
				if err := c.RestartAPIServer(ctx); err != nil {
					restarted <- err
					return
				}
				if err := c.RestartControllers(); err != nil {
					restarted <- err
					return
				}
				restarted <- c.AddLabeledNode(ctx, "kwok-late", map[string]string{"pool": "late"})
			}()
		})
	})
	select {
	case rerr := <-restarted:
		if rerr != nil {
			t.Fatalf("restart the API server: %v", rerr)
		}
	default:
		t.Fatalf("the API server was never killed (run %s): no preview pods were reported", final.Status)
	}
	st, _ := final.Stage("production")
	if final.Status != engine.StatusSucceeded {
		t.Fatalf("release across an API server outage of %s: %s (%s); want succeeded", outage, final.Status, st.Steps[0].Reason)
	}
	if live, _, _ := selects(ctx, t, cs, ns); live != "green" {
		t.Errorf("service selects %s, want green", live)
	}
	if _, ok := findRecord(recs, engine.RecLeaseTakenOver); ok {
		t.Error("the release lost and retook its own lock during the outage")
	}
}

// TestRollbackStopsWhenSomeoneElseEditsTheService: while a cold rollback
// waits for its color, someone else moves the Service. The rollback must
// not switch over their change.
func TestRollbackStopsWhenSomeoneElseEditsTheService(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "green", BlueImage: "web:v1", GreenImage: "web:v2", Blue: 0, Green: 3}, true)
	log := releaseLog{logf: t.Logf}
	h := log.hooks()
	observed := h.Observed
	h.Observed = func(r engine.Release, obs engine.Observation, act engine.Action) {
		observed(r, obs, act)
		if act.Kind == engine.ActScale {
			edit := `{"metadata":{"labels":{"edited-by":"someone-else"}}}`
			if _, err := c.Client.CoreV1().Services(ns).Patch(ctx, "web-service", types.MergePatchType, []byte(edit), metav1.PatchOptions{}); err != nil {
				t.Error(err)
			}
		}
	}
	target := spec.Target{Namespace: ns, Service: "web-service"}.WithDefaults()
	_, err := engine.RunRollback(ctx, kube.New(c.Client), target, engine.RollbackOptions{To: spec.Blue}, h)
	if err == nil || !strings.Contains(err.Error(), "changed by someone else") {
		t.Fatalf("rollback: got %v, want it stopped by the other edit", err)
	}
	if live, _, _ := selects(ctx, t, c.Client, ns); live != "green" || len(log.switches) != 0 {
		t.Errorf("service selects %s after %d switches, want green and none", live, len(log.switches))
	}
}

// TestSwitchChecksTheServiceSelector: a color whose pods lack one of the
// Service's other selector labels would leave the Service with no
// endpoints, however Ready its pods are; the switch is refused. The test
// gives the Service such a label itself, so no invariant watcher runs.
func TestSwitchChecksTheServiceSelector(t *testing.T) {
	ctx, c, ns := releaseEnv(t, time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v2", Blue: 2, Green: 2}, false)
	edit := `{"spec":{"selector":{"tier":"frontend"}}}`
	if _, err := c.Client.CoreV1().Services(ns).Patch(ctx, "web-service", types.MergePatchType, []byte(edit), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	target := spec.Target{Namespace: ns, Service: "web-service"}.WithDefaults()
	obs, err := kube.New(c.Client).Observe(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	req := engine.SwitchRequest{To: spec.Green, From: spec.Blue, Version: obs.Service.Version, Selector: obs.Service.Selector, MinReady: 1, Actor: tester, At: time.Now()}
	_, err = kube.New(c.Client).Switch(ctx, target, req)
	if err == nil || !strings.Contains(err.Error(), "its pods do not carry the Service's selector") {
		t.Errorf("got %v, want a refusal naming the selector", err)
	}
}
