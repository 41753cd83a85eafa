package kube_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/engine/spec"
	"github.com/cutover-sh/cutover/kube"
	"github.com/cutover-sh/cutover/testenv"
)

// requestLog records the API requests a client makes, method and path.
type requestLog struct {
	mu   sync.Mutex
	reqs []string
	rt   http.RoundTripper
}

func (l *requestLog) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.reqs = append(l.reqs, r.Method+" "+r.URL.Path)
	l.mu.Unlock()
	return l.rt.RoundTrip(r)
}

// loggedCluster is a Cluster on c whose API requests go to its log.
func loggedCluster(t *testing.T, c *testenv.Cluster) (*kube.Cluster, *requestLog) {
	t.Helper()
	log := &requestLog{}
	cfg := rest.CopyConfig(c.Config)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { log.rt = rt; return log }
	k, err := kube.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return k, log
}

func (l *requestLog) since(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.reqs[n:]...)
}

// TestWarmRollbackIsTwoRequests: while a WatchPair keeps the pair in its
// caches, a warm rollback reads the Service (its resourceVersion is the
// switch's precondition, so it is read from the API server) and patches
// it: two requests, where reading everything took seven. The switch
// still lands only on a color whose Deployment is Ready, and once the
// watch ends Observe reads the API server again.
func TestWarmRollbackIsTwoRequests(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "green", BlueImage: "web:v1", GreenImage: "web:v2", Blue: 3, Green: 3}, true)
	k, log := loggedCluster(t, c)
	target := spec.Target{Namespace: ns, Service: "web-service"}.WithDefaults()

	cold := len(log.since(0))
	if _, err := k.Observe(ctx, target); err != nil {
		t.Fatal(err)
	}
	if got := log.since(cold); len(got) != 5 {
		t.Errorf("Observe with no watch made %d requests, want 5 (the Service, and each color's Deployment and pods): %v", len(got), got)
	}

	wctx, stop := context.WithCancel(ctx)
	seen := make(chan engine.Observation, 1)
	done := make(chan error, 1)
	go func() {
		done <- k.WatchPair(wctx, target, func(o engine.Observation) {
			select {
			case seen <- o:
			default:
			}
		})
	}()
	// The first reading comes once the caches have synced.
	select {
	case <-seen:
	case err := <-done:
		t.Fatalf("WatchPair ended: %v", err)
	case <-ctx.Done():
		t.Fatal("the watch never synced")
	}

	n := len(log.since(0))
	to, err := engine.RunRollback(ctx, k, target, engine.RollbackOptions{}, engine.ReleaseHooks{Actor: engine.Actor{Name: "tester"}, Clock: engine.RealClock{}})
	if err != nil || to != spec.Blue {
		t.Fatalf("rollback: %v, to %s; want blue", err, to)
	}
	want := []string{"GET /api/v1/namespaces/" + ns + "/services/web-service", "PATCH /api/v1/namespaces/" + ns + "/services/web-service"}
	if got := log.since(n); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("a warm rollback with the pair watched made requests %v, want %v", got, want)
	}
	if live, _, _ := selects(ctx, t, c.Client, ns); live != "blue" {
		t.Errorf("after the rollback the Service selects %s, want blue", live)
	}

	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("WatchPair ended with %v, want context.Canceled", err)
	}
	n = len(log.since(0))
	if _, err := k.Observe(ctx, target); err != nil {
		t.Fatal(err)
	}
	if got := log.since(n); len(got) != 5 {
		t.Errorf("Observe after the watch ended made %d requests, want 5: %v", len(got), got)
	}
}

// TestWarmObserveFollowsTheWatch: while a WatchPair runs, Observe builds a
// color from the caches once and keeps it until the next event; a kept
// color's pods still age, and a change (a scale-down) shows at once.
func TestWarmObserveFollowsTheWatch(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v2", Blue: 3, Green: 3}, true)
	k := kube.New(c.Client)
	target := spec.Target{Namespace: ns, Service: "web-service"}.WithDefaults()
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	seen := make(chan engine.Observation, 100)
	go func() {
		_ = k.WatchPair(wctx, target, func(o engine.Observation) {
			select {
			case seen <- o:
			default:
			}
		})
	}()
	select {
	case <-seen:
	case <-ctx.Done():
		t.Fatal("the watch never synced")
	}
	first, err := k.Observe(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	second, err := k.Observe(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	a, b := first.Color(spec.Green).Pods, second.Color(spec.Green).Pods
	if len(a) != 3 || len(b) != 3 || b[0].Age-a[0].Age < 50*time.Millisecond {
		t.Fatalf("green's pods %+v, then 50ms later %+v; want the same 3 pods, older", a, b)
	}

	if _, err := c.Client.AppsV1().Deployments(ns).Patch(ctx, "web-green", types.MergePatchType, []byte(`{"spec":{"replicas":1}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		obs, err := k.Observe(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		if g := obs.Color(spec.Green); g.Replicas == 1 && len(g.Pods) == 1 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("Observe never showed green scaled to 1: %+v", obs.Color(spec.Green))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestRollbackInTheDelayIsTwoRequests: in the scale-down delay, where a
// person most often asks for one, the release keeps the pair watched, so
// its rollback reads the Service and patches it: two requests.
func TestRollbackInTheDelayIsTwoRequests(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 3, Green: 0}, true)
	k, log := loggedCluster(t, c)
	bg := bgSpec(ns)
	bg.ScaleDownDelay = spec.Duration(time.Minute)
	requests := make(chan engine.Request, 1)
	asked := -1
	waits := 0
	h := engine.ReleaseHooks{
		Actor: tester, Clock: engine.RealClock{}, Requests: requests, RetryFor: time.Minute,
		Observed: func(_ engine.Release, _ engine.Observation, act engine.Action) {
			if act.Kind != engine.ActWaitUntil {
				return
			}
			// The first report of the delay is the executor's; the next
			// comes from the watch, once its caches are current.
			if waits++; waits == 2 {
				asked = len(log.since(0))
				requests <- engine.RequestRollback
			}
		},
	}
	r, err := engine.RunBlueGreen(ctx, k, bg, h)
	if err != nil || r.Phase != engine.PhaseRolledBack {
		t.Fatalf("release: %v, phase %s (%s); want rolled back", err, r.Phase, r.Reason)
	}
	if asked < 0 {
		t.Fatal("the delay was never reported by the watch")
	}
	var upToSwitch []string
	for _, req := range log.since(asked) {
		upToSwitch = append(upToSwitch, req)
		if strings.HasPrefix(req, "PATCH") && strings.HasSuffix(req, "/services/web-service") {
			break
		}
	}
	want := []string{"GET /api/v1/namespaces/" + ns + "/services/web-service", "PATCH /api/v1/namespaces/" + ns + "/services/web-service"}
	if len(upToSwitch) != 2 || upToSwitch[0] != want[0] || upToSwitch[1] != want[1] {
		t.Errorf("from the request to the switch: %v; want %v", upToSwitch, want)
	}
	if live, _, _ := selects(ctx, t, c.Client, ns); live != "blue" {
		t.Errorf("after the rollback the Service selects %s, want blue", live)
	}
}

// TestAPublishedGateIsWatchedNotPolled: while a gate is published on the
// release lock, the holder learns of decisions from a watch of its Lease:
// it reads the Lease no more than its renewals need, where it read it
// every 200 ms.
func TestAPublishedGateIsWatchedNotPolled(t *testing.T) {
	ctx, c, ns := releaseEnv(t, time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 1, Green: 0}, true)
	k, log := loggedCluster(t, c)
	lock, err := k.Lock(ctx, spec.Target{Namespace: ns, Service: "web-service"}, "tester (run gate)", "")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lock.Release(ctx) }()
	pub, ok := lock.(engine.GatePublisher)
	if !ok {
		t.Fatal("the release lock publishes no gates")
	}
	if err := pub.PublishGate(ctx, &engine.GateNotice{Gate: "production/switch", Question: "Switch?"}); err != nil {
		t.Fatal(err)
	}
	n := len(log.since(0))
	time.Sleep(2500 * time.Millisecond)
	gets := 0
	for _, req := range log.since(n) {
		if req == "GET /apis/coordination.k8s.io/v1/namespaces/"+ns+"/leases/cutover-web-service" {
			gets++
		}
	}
	// A renewal that finds a conflict reads the Lease once; 200 ms polls
	// would have read it about twelve times.
	if gets > 2 {
		t.Errorf("the holder read its Lease %d times in 2.5 s at a published gate: %v", gets, log.since(n))
	}
}
