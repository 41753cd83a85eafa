package kube_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/kube"
	"github.com/cutover-sh/cutover/testenv"
)

// TestMaintenanceMode points the Service at a maintenance Deployment and
// back, and refuses a maintenance selector with no Ready pods.
func TestMaintenanceMode(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 0}, true)
	k := kube.New(c.Client)
	target := spec.Target{Namespace: ns, Service: "web-service"}.WithDefaults()

	// No maintenance pods yet: refused.
	obs, err := k.Observe(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	req := engine.SwitchRequest{To: "maintenance", From: spec.Blue, Version: obs.Service.Version, MinReady: 1, Actor: tester, At: time.Now(), Release: "maintenance"}
	if _, err := k.Switch(ctx, target, req); err == nil || !strings.Contains(err.Error(), "the selector has 0 Ready pods") {
		t.Fatalf("maintenance with no pods: got %v, want a refusal", err)
	}

	m := testenv.Deployment(ns, "web", "maintenance", "maintenance:1", 1)
	if _, err := c.Client.AppsV1().Deployments(ns).Create(ctx, m, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := testenv.WaitReady(ctx, c.Client, ns, "web-maintenance", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Switch(ctx, target, req); err != nil {
		t.Fatalf("maintenance on: %v", err)
	}
	obs, err = k.Observe(ctx, target)
	if err != nil || obs.Service.Live != "maintenance" || obs.Service.Release.Previous != spec.Blue {
		t.Fatalf("after maintenance on: %+v (%v), want maintenance with blue as previous", obs.Service, err)
	}
	to, err := engine.RunRollback(ctx, k, target, engine.RollbackOptions{}, engine.ReleaseHooks{Actor: tester, Clock: engine.RealClock{}})
	if err != nil || to != spec.Blue {
		t.Fatalf("maintenance off: %v (to %s), want blue", err, to)
	}
	if live, _, _ := selects(ctx, t, c.Client, ns); live != "blue" {
		t.Errorf("service selects %s, want blue", live)
	}
}

// TestUndoRestoresThePreviousImage is the guide's complete rollback:
// `kubectl rollout undo` of a color.
func TestUndoRestoresThePreviousImage(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 2}, true)
	k := kube.New(c.Client)
	if err := k.SetImage(ctx, ns, "web-green", "app", "web:v2"); err != nil {
		t.Fatal(err)
	}
	if err := k.WaitDeployment(ctx, ns, "web-green", nil); err != nil {
		t.Fatal(err)
	}
	from, to, err := k.Undo(ctx, ns, "web-green")
	if err != nil || from != 2 || to != 1 {
		t.Fatalf("undo green: %d -> %d, %v; want 2 -> 1", from, to, err)
	}
	if err := k.WaitDeployment(ctx, ns, "web-green", nil); err != nil {
		t.Fatal(err)
	}
	d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "web-green", metav1.GetOptions{})
	if err != nil || d.Spec.Template.Spec.Containers[0].Image != "web:v1" {
		t.Errorf("green's image after undo: %v, want web:v1", err)
	}
	if _, ok := d.Spec.Template.Labels["pod-template-hash"]; ok {
		t.Error("the restored template kept the ReplicaSet's pod-template-hash label")
	}
	if _, _, err := k.Undo(ctx, ns, "web-blue"); err == nil || !strings.Contains(err.Error(), "no revision before 1") {
		t.Errorf("undo of a Deployment with no history: got %v, want an error", err)
	}
}

// TestScaleDownAll is the guide's emergency scale-down. It takes the
// service down on purpose, so no invariant watcher runs here.
func TestScaleDownAll(t *testing.T) {
	ctx, c, ns := releaseEnv(t, time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 1}, false)
	target := spec.Target{Namespace: ns, Service: "web-service"}.WithDefaults()
	if err := kube.New(c.Client).ScaleDownAll(ctx, target); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"web-blue", "web-green"} {
		if n := replicas(ctx, t, c.Client, ns, name); n != 0 {
			t.Errorf("%s has %d replicas, want 0", name, n)
		}
	}
}
