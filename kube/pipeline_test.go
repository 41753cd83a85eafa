package kube_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/kube"
	"github.com/cutover-sh/cutover/loadtest"
	"github.com/cutover-sh/cutover/proc"
	"github.com/cutover-sh/cutover/prom"
	"github.com/cutover-sh/cutover/testenv"
	"github.com/cutover-sh/cutover/webhook"
)

func noVars(string) (string, bool) { return "", false }

// runPipeline loads a pipeline from text, written beside the test's
// manifests so relative paths resolve, and runs it against clusters.
func runPipeline(ctx context.Context, t *testing.T, text string, clusters engine.Clusters, onEvent ...func(*engine.Engine, engine.Event)) (engine.Snapshot, []engine.Record, []engine.Event) {
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
	defer func() { _ = j.Close() }()
	eng, err := engine.New(engine.Config{
		Pipeline: p, Journal: j, Actor: tester, AutoApprove: true, Clusters: clusters, KillGrace: time.Second, Processes: &proc.Runner{}, LoadTester: loadtest.Vegeta{}, Webhooks: webhook.Poster{},
		Metrics: func(ps spec.PrometheusSpec) (engine.Metrics, error) {
			return prom.New(prom.Config{Address: ps.Address})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	sub := eng.Subscribe(1 << 12)
	var events []engine.Event
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := sub.Next(ctx)
			if err != nil {
				return
			}
			if m.Event != nil {
				events = append(events, m.Event)
				for _, f := range onEvent {
					f(eng, m.Event)
				}
			}
		}
	}()
	final, err := eng.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	<-done
	recs, skipped, err := engine.ReadJournal(state)
	if err != nil || len(skipped) > 0 {
		t.Fatalf("read journal: %v, skipped %v", err, skipped)
	}
	return final, recs, events
}

// logEvents logs a release's progress, measurements and warnings, to read
// when a test fails.
func logEvents(t *testing.T) func(*engine.Engine, engine.Event) {
	return func(_ *engine.Engine, ev engine.Event) {
		switch e := ev.(type) {
		case engine.ReleaseProgress:
			t.Logf("%s %s live=%s %s %d/%d next %s: %s", e.Time.Format(time.TimeOnly), e.Phase, e.Live, e.Color, e.State.Ready, e.State.Replicas, e.Action, e.Message)
		case engine.AnalysisMeasured:
			t.Logf("%s %s = %g: %s %s", e.Time.Format(time.TimeOnly), e.Metric, e.Measurement.Value, e.Measurement.Verdict, e.Measurement.Reason)
		case engine.Warning:
			t.Logf("%s warning: %s", e.Time.Format(time.TimeOnly), e.Message)
		}
	}
}

func clustersOf(byContext map[string]*testenv.Cluster) engine.Clusters {
	return func(name string) (engine.Cluster, error) {
		c, ok := byContext[name]
		if !ok {
			return nil, fmt.Errorf("no context %q", name)
		}
		return kube.NewForConfig(c.Config)
	}
}

func findRecord(recs []engine.Record, typ string) (engine.Record, bool) {
	for _, r := range recs {
		if r.Type == typ {
			return r, true
		}
	}
	return engine.Record{}, false
}

// TestPipelineBlueGreenStep runs a blueGreen step through the engine, with
// its gate before the switch, and checks the journal and the events.
func TestPipelineBlueGreenStep(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 0}, true)

	final, recs, events := runPipeline(ctx, t, `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: web}
stages:
  - name: production
    budget: 5m
    steps:
      - name: switch
        blueGreen:
          context: prod
          namespace: `+ns+`
          service: web-service
          container: app
          image: web:v2
          replicas: 2
          scaleDownDelay: 1s
          approve: Green serves web:v2. Switch traffic?
`, clustersOf(map[string]*testenv.Cluster{"prod": c}))
	if final.Status != engine.StatusSucceeded {
		st, _ := final.Stage("production")
		t.Fatalf("run %s, want succeeded; step: %+v", final.Status, st.Steps[0])
	}
	sw, ok := findRecord(recs, engine.RecReleaseSwitched)
	if !ok || sw.From != spec.Blue || sw.To != spec.Green || sw.Release != "web:v2" || sw.Actor == nil || sw.Actor.Name != tester.Name ||
		sw.Service != ns+"/web-service" {
		t.Errorf("journal release.switched: %+v, want blue -> green of web:v2 on %s/web-service by %s", sw, ns, tester.Name)
	}
	fin, ok := findRecord(recs, engine.RecReleaseFinished)
	if !ok || fin.Phase != engine.PhaseDone {
		t.Errorf("journal release.finished: %+v, want phase done", fin)
	}
	gate, ok := findRecord(recs, engine.RecGateApproved)
	if !ok || gate.Actor == nil || gate.Actor.Name != engine.AutoApproveActor || gate.Gate != "production/switch" {
		t.Errorf("journal gate.approved: %+v, want production/switch by auto-approve", gate)
	}
	phases := map[engine.Phase]bool{}
	for _, ev := range events {
		if p, ok := ev.(engine.ReleaseProgress); ok {
			phases[p.Phase] = true
		}
	}
	for _, want := range []engine.Phase{engine.PhaseDeploying, engine.PhaseAwaitingApproval, engine.PhaseScaleDownDelay, engine.PhaseDone} {
		if !phases[want] {
			t.Errorf("no release.progress event in phase %s; saw %v", want, phases)
		}
	}
	svc, err := c.Client.CoreV1().Services(ns).Get(ctx, "web-service", metav1.GetOptions{})
	if err != nil || svc.Spec.Selector["color"] != "green" {
		t.Errorf("service selects %v (%v), want green", svc.Spec.Selector, err)
	}
}

// TestPipelineDeployStepTwoClusters is the guide's staging then production
// flow on two clusters: the deploy step applies manifests to "staging" and
// the blueGreen step switches "production". Neither touches the other.
func TestPipelineDeployStepTwoClusters(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	prod := sharedCluster(t)
	staging := ownCluster(ctx, t)
	ns := namespace(ctx, t, prod.Client)
	makePair(ctx, t, prod.Client, ns, testenv.Pair{Name: "shop", Live: "green", BlueImage: "shop:v0", GreenImage: "shop:v1", Blue: 0, Green: 2})
	watchInvariant(ctx, t, prod.Client, ns, "shop-service", "color")
	stagingNS := namespace(ctx, t, staging.Client)
	manifests, err := filepath.Abs("testdata/staging")
	if err != nil {
		t.Fatal(err)
	}

	final, recs, _ := runPipeline(ctx, t, `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: shop}
stages:
  - name: staging-deploy
    budget: 5m
    steps:
      - deploy:
          context: staging
          namespace: `+stagingNS+`
          manifests: `+manifests+`
          deployment: shop-app
          container: shop
          image: shop:v2
  - name: production-deploy
    budget: 5m
    needs: [staging-deploy]
    steps:
      - blueGreen:
          context: production
          namespace: `+ns+`
          service: shop-service
          container: app
          image: shop:v2
          replicas: 2
          scaleDownDelay: 1s
`, clustersOf(map[string]*testenv.Cluster{"staging": staging, "production": prod}))
	if final.Status != engine.StatusSucceeded {
		for _, st := range final.Stages {
			for _, step := range st.Steps {
				t.Logf("%s/%s: %s %s", st.Name, step.Name, step.Status, step.Reason)
			}
		}
		t.Fatalf("run %s, want succeeded", final.Status)
	}
	d, err := staging.Client.AppsV1().Deployments(stagingNS).Get(ctx, "shop-app", metav1.GetOptions{})
	if err != nil || d.Spec.Template.Spec.Containers[0].Image != "shop:v2" || d.Status.ReadyReplicas != 2 {
		t.Errorf("staging shop-app: %v; want shop:v2 with 2 Ready", err)
	}
	if _, err := staging.Client.CoreV1().ConfigMaps(stagingNS).Get(ctx, "shop-config", metav1.GetOptions{}); err != nil {
		t.Errorf("the staging manifests' ConfigMap was not applied: %v", err)
	}
	owned := false
	for _, mf := range d.ManagedFields {
		owned = owned || mf.Manager == kube.FieldManager
	}
	if !owned {
		t.Errorf("staging shop-app has no fields managed by %q", kube.FieldManager)
	}
	if _, err := prod.Client.AppsV1().Deployments(ns).Get(ctx, "shop-app", metav1.GetOptions{}); err == nil {
		t.Error("the staging Deployment was created in production too")
	}
	svc, err := prod.Client.CoreV1().Services(ns).Get(ctx, "shop-service", metav1.GetOptions{})
	if err != nil || svc.Spec.Selector["color"] != "blue" {
		t.Errorf("production service selects %v (%v), want blue (it was green)", svc.Spec.Selector, err)
	}
	if sw, ok := findRecord(recs, engine.RecReleaseSwitched); !ok || sw.To != spec.Blue {
		t.Errorf("journal release.switched %+v, want a switch to blue", sw)
	}
}

// TestDeployStepReportsBadManifests: a manifest that is not an object
// fails the step naming the file, and nothing is applied.
func TestDeployStepReportsBadManifests(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := sharedCluster(t)
	ns := namespace(ctx, t, c.Client)
	dir := t.TempDir()
	good := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n"
	bad := "apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n"
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.yaml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := kube.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	_, err = k.Apply(ctx, ns, dir)
	if err == nil || !strings.Contains(err.Error(), "b.yaml: document 1: ConfigMap has no metadata.name") {
		t.Errorf("got %v, want an error naming b.yaml and the missing name", err)
	}
	if _, err := c.Client.CoreV1().ConfigMaps(ns).Get(ctx, "fine", metav1.GetOptions{}); err == nil {
		t.Error("a.yaml was applied although b.yaml was broken")
	}
}

// TestRollbackDuringARelease: a person asks the running engine to roll back
// while the old color is still warm. Traffic goes back in one switch, the
// run ends rolled back, and the journal says who asked and why.
func TestRollbackDuringARelease(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 0}, true)
	text := strings.Replace(releasePipeline(ns), "scaleDownDelay: 1s", "scaleDownDelay: 10m", 1)
	var asked error
	var once sync.Once
	final, recs, _ := runPipeline(ctx, t, text, clustersOf(map[string]*testenv.Cluster{"prod": c}), func(eng *engine.Engine, ev engine.Event) {
		if p, ok := ev.(engine.ReleaseProgress); ok && p.Phase == engine.PhaseScaleDownDelay {
			once.Do(func() { asked = eng.Rollback(engine.Actor{Name: "bob"}, "", "5xx at 12%") })
		}
	})
	if asked != nil {
		t.Fatalf("Rollback: %v", asked)
	}
	st, _ := final.Stage("production")
	if !final.RolledBack || final.Status != engine.StatusFailed || !strings.Contains(st.Steps[0].Reason, "rolled back") {
		t.Fatalf("run %s, rolled back %v, step %q; want a failed run marked rolled back", final.Status, final.RolledBack, st.Steps[0].Reason)
	}
	if live, _, _ := selects(ctx, t, c.Client, ns); live != "blue" {
		t.Errorf("service selects %s, want blue", live)
	}
	if n := replicas(ctx, t, c.Client, ns, "web-green"); n != 2 {
		t.Errorf("green has %d replicas; a rollback leaves it up for inspection, want 2", n)
	}
	req, ok := findRecord(recs, engine.RecRollbackRequested)
	if !ok || req.Actor == nil || req.Actor.Name != "bob" || req.Reason != "5xx at 12%" {
		t.Errorf("journal rollback request: %+v, want bob's with his reason", req)
	}
	if fin, ok := findRecord(recs, engine.RecReleaseFinished); !ok || fin.Phase != engine.PhaseRolledBack {
		t.Errorf("journal release.finished: %+v, want rolled-back", fin)
	}
}

// TestStepTimeoutNamesThePods: a blueGreen step whose preview cannot be
// scheduled fails at its own timeout, long before the Deployment's
// progress deadline, saying why the pods are not ready.
func TestStepTimeoutNamesThePods(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 0}, true)
	patch := `{"spec":{"template":{"spec":{"nodeSelector":{"disk":"none-such"}}}}}`
	if _, err := c.Client.AppsV1().Deployments(ns).Patch(ctx, "web-green", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(releasePipeline(ns), "      - name: switch\n", "      - name: switch\n        timeout: 4s\n", 1)
	final, _, _ := runPipeline(ctx, t, text, clustersOf(map[string]*testenv.Cluster{"prod": c}))
	st, _ := final.Stage("production")
	reason := st.Steps[0].Reason
	for _, want := range []string{"timed out after 4s while deploying-preview", "(Unschedulable)", "the live color blue was not touched"} {
		if !strings.Contains(reason, want) {
			t.Errorf("step reason %q lacks %q", reason, want)
		}
	}
	if final.Status != engine.StatusFailed || st.Steps[0].Status != engine.StatusFailed {
		t.Errorf("run %s, step %s; want both failed", final.Status, st.Steps[0].Status)
	}
	if live, _, _ := selects(ctx, t, c.Client, ns); live != "blue" {
		t.Errorf("service selects %s, want blue", live)
	}
}
