package kube_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/kube"
	"github.com/cutover-sh/cutover/testenv"
)

func releasePipeline(ns string) string {
	return `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: web}
stages:
  - name: production
    budget: 5m
    steps:
      - name: switch
        blueGreen:
          context: prod
          namespace: ` + ns + `
          service: web-service
          container: app
          image: web:v2
          replicas: 2
          scaleDownDelay: 1s
`
}

// TestSecondConsoleIsRefused: while one console holds a release's lock, a
// second one's release fails naming the holder, and changes nothing.
func TestSecondConsoleIsRefused(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 0}, true)
	_, _, rv := selects(ctx, t, c.Client, ns)

	target := spec.Target{Namespace: ns, Service: "web-service"}.WithDefaults()
	first, err := kube.New(c.Client).Lock(ctx, target, "alice on bastion-1 (run A)", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = kube.New(c.Client).Lock(ctx, target, "bob on bastion-2 (run B)", "")
	var held *kube.HeldError
	if !errors.As(err, &held) || held.Holder != "alice on bastion-1 (run A)" || held.Since.IsZero() {
		t.Fatalf("second lock: got %v, want a HeldError naming alice and since when", err)
	}
	t.Logf("refusal: %v", err)

	final, _, _ := runPipeline(ctx, t, releasePipeline(ns), clustersOf(map[string]*testenv.Cluster{"prod": c}))
	st, _ := final.Stage("production")
	if final.Status != engine.StatusFailed || !strings.Contains(st.Steps[0].Reason, "alice on bastion-1") {
		t.Errorf("run %s, step %q; want failed, naming alice", final.Status, st.Steps[0].Reason)
	}
	if live, _, rv2 := selects(ctx, t, c.Client, ns); live != "blue" || rv2 != rv {
		t.Errorf("service selects %s at %s, want blue untouched at %s", live, rv2, rv)
	}
	if n := replicas(ctx, t, c.Client, ns, "web-green"); n != 0 {
		t.Errorf("green scaled to %d by a refused release, want 0", n)
	}

	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	second, err := kube.New(c.Client).Lock(ctx, target, "bob on bastion-2 (run B)", "")
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	if second.TakenFrom() != "" {
		t.Errorf("a released lock was reported as taken over from %q", second.TakenFrom())
	}
	if err := second.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestExpiredLockIsTakenOver: a lease its holder stopped renewing is taken
// over, and the run journals from whom.
func TestExpiredLockIsTakenOver(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 0}, true)
	holder, secs := "carol on a crashed laptop", int32(30)
	old := metav1.NewMicroTime(time.Now().Add(-5 * time.Minute))
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: kube.LeaseName("web-service"), Namespace: ns},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, AcquireTime: &old, RenewTime: &old},
	}
	if _, err := c.Client.CoordinationV1().Leases(ns).Create(ctx, lease, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	final, recs, _ := runPipeline(ctx, t, releasePipeline(ns), clustersOf(map[string]*testenv.Cluster{"prod": c}))
	if final.Status != engine.StatusSucceeded {
		t.Fatalf("run %s, want succeeded", final.Status)
	}
	rec, ok := findRecord(recs, engine.RecLeaseTakenOver)
	if !ok || !strings.Contains(rec.Reason, holder) || rec.Actor == nil {
		t.Errorf("journal: %+v, want a takeover record naming %q and the actor", rec, holder)
	}
	got, err := c.Client.CoordinationV1().Leases(ns).Get(ctx, kube.LeaseName("web-service"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.HolderIdentity != nil && *got.Spec.HolderIdentity != "" {
		t.Errorf("after the run the lease is held by %q, want it released", *got.Spec.HolderIdentity)
	}
}

// TestLostLockStopsTheRelease: `cutover abort` from another console takes
// the lock away; the release notices at its next renewal and stops,
// leaving traffic where it is.
func TestLostLockStopsTheRelease(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 0}, true)
	text := strings.Replace(releasePipeline(ns), "scaleDownDelay: 1s", "scaleDownDelay: 10m", 1)
	target := spec.Target{Namespace: ns, Service: "web-service"}.WithDefaults()
	var broke error
	var once sync.Once
	final, _, _ := runPipeline(ctx, t, text, clustersOf(map[string]*testenv.Cluster{"prod": c}), func(_ *engine.Engine, ev engine.Event) {
		if p, ok := ev.(engine.ReleaseProgress); ok && p.Phase == engine.PhaseScaleDownDelay {
			once.Do(func() { _, broke = kube.New(c.Client).BreakLock(ctx, target, "abort by carol: wrong tag") })
		}
	})
	if broke != nil {
		t.Fatal(broke)
	}
	st, _ := final.Stage("production")
	if final.Status == engine.StatusSucceeded || !strings.Contains(st.Steps[0].Reason, "held by abort by carol: wrong tag") {
		t.Errorf("run %s, step %q; want it stopped, naming who took the lock", final.Status, st.Steps[0].Reason)
	}
	if live, _, _ := selects(ctx, t, c.Client, ns); live != "green" {
		t.Errorf("service selects %s; an abort after the switch leaves traffic on green", live)
	}
	if n := replicas(ctx, t, c.Client, ns, "web-blue"); n != 2 {
		t.Errorf("blue has %d replicas; it must stay warm for a rollback, want 2", n)
	}
	// The abort holds the lock only to stop the release: a maintenance
	// switch or a new release may take it at once.
	next, err := kube.New(c.Client).Lock(ctx, target, "dave on bastion-1 (cutover maintenance on)", "")
	if err != nil {
		t.Fatalf("lock after the abort stopped the release: %v", err)
	}
	if next.TakenFrom() == "" || !strings.Contains(next.TakenFrom(), "abort by carol") {
		t.Errorf("the lock after the abort was taken from %q, want the abort named", next.TakenFrom())
	}
	if l, err := kube.New(c.Client).ReadLock(ctx, target); err != nil || l == nil || l.Aborted || l.Holder != "dave on bastion-1 (cutover maintenance on)" {
		t.Errorf("after the takeover the lock reads %+v (%v), want dave's, not aborted", l, err)
	}
	_ = next.Release(ctx)
}

// TestMissingContainerFailsAtOnce: a typo in the container name cannot be
// fixed by retrying; the step fails with it instead of retrying for minutes.
func TestMissingContainerFailsAtOnce(t *testing.T) {
	ctx, c, ns := releaseEnv(t, time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 0}, true)
	text := strings.Replace(releasePipeline(ns), "container: app", "container: ap", 1)
	final, _, events := runPipeline(ctx, t, text, clustersOf(map[string]*testenv.Cluster{"prod": c}))
	st, _ := final.Stage("production")
	if final.Status != engine.StatusFailed || !strings.Contains(st.Steps[0].Reason, `has no container "ap" (it has app)`) {
		t.Errorf("run %s, step %q; want failed naming the container", final.Status, st.Steps[0].Reason)
	}
	for _, ev := range events {
		if w, ok := ev.(engine.Warning); ok && w.Code == engine.WarnRetry {
			t.Errorf("retried a permanent error: %s", w.Message)
		}
	}
}
