package demo_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cutover-sh/cutover/demo"
	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/kube"
	"github.com/cutover-sh/cutover/testenv"
)

// simPair is the guide's pair in the simulated cluster: blue live with two
// Ready pods of web:v1, green scaled to zero.
func simPair(t *testing.T, speed float64) (context.Context, *demo.Sim, *kube.Cluster, spec.Target) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	blue := testenv.Deployment("prod", "web", "blue", "web:v1", 2)
	green := testenv.Deployment("prod", "web", "green", "web:v1", 0)
	deadline := int32(20)
	green.Spec.ProgressDeadlineSeconds = &deadline
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web-service", Namespace: "prod"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web", "color": "blue"}},
	}
	sim, err := demo.NewSim(speed, 1, []runtime.Object{blue, green, svc}...)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { sim.Run(done) })
	t.Cleanup(func() { close(done); wg.Wait() })
	c := kube.New(sim.Client())
	tg, err := c.Resolve(ctx, spec.Target{Namespace: "prod", Service: "web-service", SelectorKey: "color"})
	if err != nil {
		t.Fatal(err)
	}
	return ctx, sim, c, tg
}

// TestSimRollsOutAndSwitches drives the simulated cluster with the same
// calls a release makes: the green rollout is waited for pod by pod, sees
// only green's pods, and the switch is conditional on the Service's
// resourceVersion.
func TestSimRollsOutAndSwitches(t *testing.T) {
	ctx, sim, c, tg := simPair(t, 10)
	obs, err := c.Observe(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	if obs.Service.Live != spec.Blue || obs.Color(spec.Blue).Ready != 2 || len(obs.Color(spec.Blue).Pods) != 2 || obs.Service.Version == "" {
		t.Fatalf("at the start: live %s, blue %d Ready of %d pods, service version %q; want blue, 2 Ready pods and a version", obs.Service.Live, obs.Color(spec.Blue).Ready, len(obs.Color(spec.Blue).Pods), obs.Service.Version)
	}
	if err := c.Deploy(ctx, tg, spec.Green, "app", "web:v2", 2); err != nil {
		t.Fatal(err)
	}
	// Blue's pods change while green's rollout is watched: a watch that
	// ignored its selector would hand them to green's count.
	if _, err := sim.Client().AppsV1().Deployments("prod").Patch(ctx, "web-blue", types.MergePatchType, []byte(`{"spec":{"replicas":3}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	var seen []engine.ColorState
	if err := c.WaitRollout(ctx, tg, spec.Green, func(s engine.ColorState) { seen = append(seen, s) }); err != nil {
		t.Fatal(err)
	}
	waited := false
	for _, s := range seen {
		waited = waited || s.Ready < 2
		for _, p := range s.Pods {
			if !strings.HasPrefix(p.Name, "web-green-") {
				t.Errorf("green's rollout listed pod %s: the watch leaked another color's pods", p.Name)
			}
		}
	}
	if !waited {
		t.Errorf("the rollout was never seen with fewer than 2 Ready pods (%d states): it did not wait for the pods", len(seen))
	}
	after, err := c.Observe(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	if after.Color(spec.Green).Ready != 2 || after.Color(spec.Green).Images["app"] != "web:v2" || after.Color(spec.Green).Generation < 2 || after.Color(spec.Green).ObservedGeneration != after.Color(spec.Green).Generation {
		t.Fatalf("green after its rollout: %+v; want 2 Ready pods of web:v2 at a new, observed generation", after.Color(spec.Green))
	}

	stale := engine.SwitchRequest{To: spec.Green, From: spec.Blue, Version: "1", Release: "web:v2", At: time.Now()}
	if _, err := c.Switch(ctx, tg, stale); err == nil || !strings.Contains(err.Error(), "changed since") {
		t.Fatalf("switch at a stale resourceVersion: %v; want a conflict", err)
	}
	fresh := stale
	fresh.Version = after.Service.Version
	if _, err := c.Switch(ctx, tg, fresh); err != nil {
		t.Fatal(err)
	}
	final, err := c.Observe(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	if final.Service.Live != spec.Green {
		t.Fatalf("after the switch the Service selects %s, want green", final.Service.Live)
	}
}

// TestSimReplacesPodsOnAnImageChange: an image change at the same replica
// count is a new generation, and new pods replace the old ones, which is
// what a staging deploy waits for.
func TestSimReplacesPodsOnAnImageChange(t *testing.T) {
	ctx, sim, c, _ := simPair(t, 10)
	if err := c.SetImage(ctx, "prod", "web-blue", "app", "web:v2"); err != nil {
		t.Fatal(err)
	}
	behind := false
	err := c.WaitDeployment(ctx, "prod", "web-blue", func(s engine.ColorState) {
		behind = behind || s.Updated < s.Replicas || s.Current > s.Updated
	})
	if err != nil {
		t.Fatal(err)
	}
	if !behind {
		t.Error("the wait never saw old pods or missing new ones: it ended before the new pods came")
	}
	d, err := sim.Client().AppsV1().Deployments("prod").Get(ctx, "web-blue", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Generation != 2 || d.Status.ObservedGeneration != 2 || d.Annotations["deployment.kubernetes.io/revision"] != "2" {
		t.Errorf("web-blue at generation %d, observed %d, revision %q; want 2, 2 and \"2\" after one change of its template",
			d.Generation, d.Status.ObservedGeneration, d.Annotations["deployment.kubernetes.io/revision"])
	}
	pods, err := sim.Client().CoreV1().Pods("prod").List(ctx, metav1.ListOptions{LabelSelector: "color=blue"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 2 {
		t.Fatalf("blue has %d pods, want 2", len(pods.Items))
	}
	for _, p := range pods.Items {
		if p.Spec.Containers[0].Image != "web:v2" {
			t.Errorf("pod %s runs %s, want web:v2", p.Name, p.Spec.Containers[0].Image)
		}
	}
}

// TestSimCrashLoop: a crashing image never gets Ready, the rollout fails
// on its progress deadline naming the reason, and the pod's events say
// why, as kubectl describe would.
func TestSimCrashLoop(t *testing.T) {
	ctx, sim, c, tg := simPair(t, 20)
	sim.Crash("web:bad")
	if err := c.Deploy(ctx, tg, spec.Green, "app", "web:bad", 1); err != nil {
		t.Fatal(err)
	}
	err := c.WaitRollout(ctx, tg, spec.Green, nil)
	if err == nil || !strings.Contains(err.Error(), "progress deadline") || !strings.Contains(err.Error(), "CrashLoopBackOff") {
		t.Fatalf("rollout of a crashing image: %v; want its progress deadline exceeded, naming CrashLoopBackOff", err)
	}
	obs, err := c.Observe(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	if len(obs.Color(spec.Green).Pods) != 1 || obs.Color(spec.Green).Pods[0].Ready {
		t.Fatalf("green pods %+v; want one pod, not Ready", obs.Color(spec.Green).Pods)
	}
	d, err := c.PodDetail(ctx, "prod", obs.Color(spec.Green).Pods[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Events) != 1 || d.Events[0].Reason != "BackOff" || len(d.Containers) != 1 || d.Containers[0].Reason != "CrashLoopBackOff" {
		t.Fatalf("pod detail %+v; want its one BackOff event and a container in CrashLoopBackOff", d)
	}
}

// TestSimAnswersOtherGroupsWithAnError: a group the simulator does not
// serve answers a call with an error that says so, rather than a nil
// pointer, should kube come to need one.
func TestSimAnswersOtherGroupsWithAnError(t *testing.T) {
	ctx, sim, _, _ := simPair(t, 10)
	_, err := sim.Client().BatchV1().Jobs("prod").List(ctx, metav1.ListOptions{})
	if err == nil || !strings.Contains(err.Error(), "does not serve") {
		t.Fatalf("list jobs: got %v, want an error saying the simulated cluster does not serve them", err)
	}
}
