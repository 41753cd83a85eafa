package kube_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/engine/spec"
	"github.com/cutover-sh/cutover/kube"
	"github.com/cutover-sh/cutover/proc"
	"github.com/cutover-sh/cutover/testenv"
)

// secretValue is the Secret's value that must never be shown.
const secretValue = "hunter2-never-shown-7f3a"

// TestTheGateShowsWhatChanges: at a blue-green gate the engine says what
// the switch changes, from the cluster, with a Secret's value never shown;
// an approval given against a diff the preview no longer matches (someone
// ran kubectl set image on it) is refused.
func TestTheGateShowsWhatChanges(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 3*time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 3, Green: 0}, true)
	cs := c.Client
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "db"}, StringData: map[string]string{"password": secretValue},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	setTemplate(ctx, t, cs, ns, "web-blue", "1", "250m", false)
	setTemplate(ctx, t, cs, ns, "web-green", "2", "500m", true)
	cl := kube.New(cs)
	if err := cl.WaitDeployment(ctx, ns, "web-blue", nil); err != nil {
		t.Fatal(err)
	}

	r := startRun(ctx, t, releasePipeline(ns)+"          approve: Green serves web:v2. Switch traffic?\n", clustersOf(map[string]*testenv.Cluster{"prod": c}))
	eng, next := r.eng, r.next

	gate := next("gate.waiting", func(ev engine.Event) bool { _, ok := ev.(engine.GateWaiting); return ok }).(engine.GateWaiting)
	if gate.Diff == nil {
		t.Fatalf("gate.waiting has no diff: %+v", gate)
	}
	got := map[string]engine.Change{}
	for _, ch := range gate.Diff.Changes {
		got[ch.Path] = ch
	}
	for _, want := range []engine.Change{
		{Path: "container/app/image", From: "web:v1", To: "web:v2"},
		{Path: "replicas", From: "3", To: "2"},
		{Path: "container/app/env/MODE", From: `"1"`, To: `"2"`},
		{Path: "container/app/env/DB_PASSWORD", To: "secretKeyRef db/password"},
		{Path: "container/app/resources/limits/cpu", From: "250m", To: "500m"},
	} {
		if got[want.Path] != want {
			t.Errorf("diff at %s: got %+v, want %+v", want.Path, got[want.Path], want)
		}
	}
	if _, ok := got["label/color"]; ok || len(got) != 5 {
		t.Errorf("diff: got %d changes %+v, want the 5 above and not the color label", len(got), gate.Diff.Changes)
	}
	if s := strings.Join(gate.Diff.Summary(8), "\n"); !strings.Contains(s, "app image: v1 → v2") || !strings.Contains(s, "replicas: 3 → 2") {
		t.Errorf("summary:\n%s\nwant the image and replicas first, in words", s)
	}

	// Someone changes the preview after the card was drawn: the approval
	// given against what was read is refused.
	read := gate.Diff.Hash
	if err := cl.SetImage(ctx, ns, "web-green", "app", "web:v2-hotfix"); err != nil {
		t.Fatal(err)
	}
	next("release.progress with the new image in its diff", func(ev engine.Event) bool {
		pr, ok := ev.(engine.ReleaseProgress)
		return ok && pr.Diff != nil && pr.Diff.Hash != read && strings.Contains(pr.Diff.Unified(), "web:v2-hotfix")
	})
	err := eng.ApproveSeen(engine.Actor{Name: "alice"}, "", read)
	if err == nil || !strings.Contains(err.Error(), "the preview changed since you looked") {
		t.Fatalf("approve against the old diff: %v, want it refused as the preview changed since it was read", err)
	}
	if err := eng.Reject(engine.Actor{Name: "alice"}, "", "someone changed the preview"); err != nil {
		t.Fatal(err)
	}
	if final := r.wait(); final.Status == engine.StatusSucceeded {
		t.Fatalf("run %s, want it to end rejected", final.Status)
	}
	if live, _, _ := selects(ctx, t, cs, ns); live != "blue" {
		t.Errorf("service selects %s after the rejection, want blue", live)
	}
	recs, _, err := engine.ReadJournal(r.state)
	if err != nil {
		t.Fatal(err)
	}
	waiting, _ := findRecord(recs, engine.RecGateWaiting)
	rejected, _ := findRecord(recs, engine.RecGateRejected)
	if waiting.Diff == nil || waiting.Diff.Hash != read || rejected.Diff == nil || rejected.Diff.Hash == read {
		t.Errorf("journal: gate.waiting diff %+v, gate.rejected diff %+v; want the diff read, then the one decided on", waiting.Diff, rejected.Diff)
	}
	journal, err := json.Marshal(recs)
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"events": string(r.all()), "journal": string(journal), "unified diff": gate.Diff.Unified()} {
		if strings.Contains(text, secretValue) {
			t.Errorf("the Secret's value is in the %s", name)
		}
		if !strings.Contains(text, "secretKeyRef db/password") {
			t.Errorf("the %s do not name the Secret the variable comes from", name)
		}
	}
}

// setTemplate gives a color's pod template a plain env var, a CPU limit
// and, if secret, a variable from the Secret db.
func setTemplate(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, name, mode, cpu string, secret bool) {
	t.Helper()
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ct := &d.Spec.Template.Spec.Containers[0]
	ct.Env = []corev1.EnvVar{{Name: "MODE", Value: mode}}
	if secret {
		ct.Env = append(ct.Env, corev1.EnvVar{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"},
		}})
	}
	ct.Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
	if _, err := cs.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// run is a pipeline run whose gates people decide, with every event it
// publishes.
type run struct {
	eng   *engine.Engine
	state string
	// next returns the next event that matches, failing the test if the
	// events end first.
	next func(what string, match func(engine.Event) bool) engine.Event
	// wait waits for the run's end and for its last event.
	wait func() engine.Snapshot
	// all is every event as JSON lines, once wait has returned.
	all func() []byte
}

// startRun starts a pipeline from text with no auto-approval.
func startRun(ctx context.Context, t *testing.T, text string, clusters engine.Clusters) run {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pipeline.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := spec.LoadFile(path, noVars)
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	j, err := engine.OpenJournal(state)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	eng, err := engine.New(engine.Config{Pipeline: p, Journal: j, Actor: tester, Clusters: clusters, KillGrace: time.Second, Processes: &proc.Runner{}})
	if err != nil {
		t.Fatal(err)
	}
	sub := eng.Subscribe(1 << 12)
	events := make(chan engine.Event, 1<<12)
	var all []byte
	go func() {
		defer close(events)
		for {
			m, err := sub.Next(ctx)
			if err != nil {
				return
			}
			if m.Event != nil {
				b, _ := json.Marshal(m.Event)
				all = append(append(all, b...), '\n')
				events <- m.Event
			}
		}
	}()
	done := make(chan engine.Snapshot, 1)
	go func() {
		s, err := eng.Run(ctx)
		if err != nil {
			t.Errorf("run: %v", err)
		}
		done <- s
	}()
	return run{
		eng: eng, state: state,
		next: func(what string, match func(engine.Event) bool) engine.Event {
			t.Helper()
			for ev := range events {
				if match(ev) {
					return ev
				}
			}
			t.Fatalf("no %s before the events ended", what)
			return nil
		},
		wait: func() engine.Snapshot {
			s := <-done
			for range events { // the run is over: its last events follow
			}
			return s
		},
		all: func() []byte { return all },
	}
}

// TestDeployStepSaysWhatItChanges: before a deploy step changes anything,
// it says what its rollout changes: the Deployment now against the result
// of a server-side dry run of its manifests with its image set. A variable
// someone else set stays, as server-side apply keeps fields it does not
// own, and the diff says so by not listing it: it is the API server's
// answer, not a comparison with the manifest.
func TestDeployStepSaysWhatItChanges(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := sharedCluster(t)
	ns := namespace(ctx, t, c.Client)
	d := testenv.Deployment(ns, "shop", "app", "shop:v0", 1)
	d.Name = "shop-app"
	d.Labels, d.Spec.Selector.MatchLabels, d.Spec.Template.Labels = map[string]string{"app": "shop"}, map[string]string{"app": "shop"}, map[string]string{"app": "shop"}
	d.Spec.Template.Spec.Containers[0].Name = "shop"
	d.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "MODE", Value: "old"}}
	if _, err := c.Client.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	manifests, err := filepath.Abs("testdata/staging")
	if err != nil {
		t.Fatal(err)
	}
	final, _, events := runPipeline(ctx, t, `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: shop}
stages:
  - name: staging-deploy
    budget: 5m
    steps:
      - deploy:
          context: staging
          namespace: `+ns+`
          manifests: `+manifests+`
          deployment: shop-app
          container: shop
          image: shop:v2
`, clustersOf(map[string]*testenv.Cluster{"staging": c}))
	if final.Status != engine.StatusSucceeded {
		t.Fatalf("run %s, want succeeded", final.Status)
	}
	var first *engine.ReleaseProgress
	for _, ev := range events {
		if pr, ok := ev.(engine.ReleaseProgress); ok {
			first = &pr
			break
		}
	}
	if first == nil || first.Diff == nil {
		t.Fatalf("the deploy step's first progress: %+v, want the plan's diff before anything is applied", first)
	}
	got := map[string]engine.Change{}
	for _, ch := range first.Diff.Changes {
		got[ch.Path] = ch
	}
	for _, want := range []engine.Change{
		{Path: "container/shop/image", From: "shop:v0", To: "shop:v2"},
		{Path: "replicas", From: "1", To: "2"},
	} {
		if got[want.Path] != want {
			t.Errorf("diff at %s: got %+v, want %+v", want.Path, got[want.Path], want)
		}
	}
	if ch, ok := got["container/shop/env/MODE"]; ok {
		t.Errorf("diff lists %+v; server-side apply keeps MODE, which another manager set", ch)
	}
	if first.Diff.Deployment != ns+"/shop-app" || !strings.Contains(first.Message, "will change: shop image: v0 → v2") {
		t.Errorf("the plan's event: deployment %q, message %q", first.Diff.Deployment, first.Message)
	}
}
