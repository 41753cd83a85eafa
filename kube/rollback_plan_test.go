package kube_test

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/engine/spec"
	"github.com/cutover-sh/cutover/kube"
	"github.com/cutover-sh/cutover/testenv"
)

// TestRollbackPlanSaysWhatHappens walks the four states the old color can
// be in when someone asks for a rollback (warm, partly Ready, cold,
// missing) on the real control plane. For each it renders the
// confirmation as cutover rollback and the console do (the engine's
// PlanRollback), then lets RunRollback act, and checks that the Service
// and the old color end as the text said.
func TestRollbackPlanSaysWhatHappens(t *testing.T) {
	tests := []struct {
		name string
		blue int32
		// prep puts blue in the state under test.
		prep     func(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns string)
		effect   engine.Effect
		text     string // NS stands for the namespace
		switched bool
		// blueReplicas is blue's desired count after; -1: it does not exist.
		blueReplicas int32
	}{
		{name: "warm", blue: 2, effect: engine.EffectSwitch, switched: true, blueReplicas: 2,
			text: "Switch NS/web-service from green back to blue (blue: 2/2 Ready, warm)."},
		{name: "partly Ready", blue: 2, prep: unreadyOnePod, effect: engine.EffectSwitch, switched: true, blueReplicas: 2,
			text: "Switch NS/web-service from green back to blue now (blue: 1/2 Ready): traffic lands on its 1 Ready pods while the others start."},
		{name: "cold", blue: 0, effect: engine.EffectScaleUp, switched: true, blueReplicas: 2,
			text: "Switch NS/web-service from green back to blue. blue is cold (0/0 Ready): it is scaled up to 2 first, and traffic moves once its pods are Ready."},
		{name: "missing", blue: 2, prep: deleteBlue, effect: engine.EffectRefused, switched: false, blueReplicas: -1,
			text: "Cannot rollback NS/web-service to blue: deployment web-blue (blue) not found."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "green", BlueImage: "web:v1", GreenImage: "web:v2", Blue: tc.blue, Green: 2}, true)
			if tc.prep != nil {
				tc.prep(ctx, t, c.Client, ns)
			}
			cl := kube.New(c.Client)
			target := spec.Target{Namespace: ns, Service: "web-service"}.WithDefaults()
			obs, err := cl.Observe(ctx, target)
			if err != nil {
				t.Fatalf("observe %s: %v", target, err)
			}
			plan := engine.PlanRollback(target.String(), obs, spec.Blue, engine.RollbackReplicas(obs, spec.Blue, 0))
			t.Logf("%s: %s", tc.name, plan)
			if want := strings.ReplaceAll(tc.text, "NS", ns); plan.Effect != tc.effect || plan.String() != want {
				t.Fatalf("confirmation: got %s %q, want %s %q", plan.Effect, plan, tc.effect, want)
			}

			var genBefore int64
			if tc.blueReplicas >= 0 {
				genBefore = generation(ctx, t, c.Client, ns, "web-blue")
			}
			log := releaseLog{logf: t.Logf}
			to, err := engine.RunRollback(ctx, cl, target, engine.RollbackOptions{To: spec.Blue, Version: obs.Service.Version}, log.hooks())
			live, _, _ := selects(ctx, t, c.Client, ns)
			switch {
			case tc.switched && (err != nil || to != spec.Blue || live != "blue"):
				t.Fatalf("the text says the Service moves to blue; rollback returned %s, %v and the Service selects %s", to, err, live)
			case !tc.switched && (err == nil || live != "green"):
				t.Fatalf("the text says nothing moves; rollback returned %v and the Service selects %s", err, live)
			}
			d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "web-blue", metav1.GetOptions{})
			switch {
			case tc.blueReplicas < 0 && err == nil:
				t.Errorf("web-blue exists after the rollback; the text said it was missing")
			case tc.blueReplicas >= 0 && (err != nil || *d.Spec.Replicas != tc.blueReplicas):
				t.Errorf("web-blue after the rollback: %v, want %d replicas as the text said", err, tc.blueReplicas)
			case tc.effect == engine.EffectSwitch && d.Generation != genBefore:
				t.Errorf("web-blue's generation went %d -> %d: the text said traffic just switches", genBefore, d.Generation)
			case tc.effect == engine.EffectScaleUp && d.Generation == genBefore:
				t.Errorf("web-blue's generation stayed %d: the text said it is scaled up first", genBefore)
			}
		})
	}
}

// unreadyOnePod marks one of blue's two pods not Ready, as a failing
// readiness probe would, and waits for the Deployment to count 1 Ready.
func unreadyOnePod(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns string) {
	t.Helper()
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web,color=blue"})
	if err != nil || len(pods.Items) != 2 {
		t.Fatalf("blue's pods: %v (%d), want 2", err, len(pods.Items))
	}
	if err := testenv.SetPodReady(ctx, cs, ns, pods.Items[0].Name, false); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, "web-blue", metav1.GetOptions{})
		return err == nil && d.Status.ReadyReplicas == 1, err
	})
	if err != nil {
		t.Fatalf("deployment %s/web-blue never counted 1 Ready pod: %v", ns, err)
	}
}

// deleteBlue removes blue's Deployment, as someone cleaning up might.
func deleteBlue(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns string) {
	t.Helper()
	if err := cs.AppsV1().Deployments(ns).Delete(ctx, "web-blue", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete deployment %s/web-blue: %v", ns, err)
	}
}
