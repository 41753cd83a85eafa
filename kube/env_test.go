package kube_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/cutover-sh/cutover/testenv"
)

// invariantTotals adds up every invariant watcher of the package run.
var invariantTotals struct{ checked, violations atomic.Int64 }

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopShared()
	if n := invariantTotals.checked.Load(); n > 0 {
		fmt.Printf("invariant watcher: %d changes checked, %d violations\n", n, invariantTotals.violations.Load())
	}
	os.Exit(code)
}

func sharedCluster(t *testing.T) *testenv.Cluster {
	t.Helper()
	c, err := testenv.Shared()
	if err != nil {
		t.Fatalf("test control plane: %v", err)
	}
	return c
}

// ownCluster starts a control plane for one test.
func ownCluster(ctx context.Context, t *testing.T) *testenv.Cluster {
	t.Helper()
	bin, err := testenv.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	c, err := testenv.Start(ctx, bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	t.Cleanup(func() {
		if t.Failed() {
			// The test's own output says what cutover saw; the components'
			// logs say what the cluster was doing meanwhile.
			for _, name := range []string{"kwok", "kube-controller-manager", "kube-scheduler"} {
				t.Logf("last lines of %s.log:\n%s", name, c.LogTail(name, 25))
			}
		}
	})
	if err := addNodes(ctx, c, 2); err != nil {
		t.Fatal(err)
	}
	return c
}

func addNodes(ctx context.Context, c *testenv.Cluster, n int) error {
	for i := range n {
		if err := c.AddNode(ctx, fmt.Sprintf("kwok-%d", i)); err != nil {
			return err
		}
	}
	return nil
}

func namespace(ctx context.Context, t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	ns, err := testenv.Namespace(ctx, cs)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// releaseEnv gives a test a context bounded by timeout, the shared control
// plane, and a fresh namespace holding pair. watched runs the invariant
// watcher for the rest of the test; only tests that break the invariant
// on purpose go without.
func releaseEnv(t *testing.T, timeout time.Duration, pair testenv.Pair, watched bool) (context.Context, *testenv.Cluster, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	c := sharedCluster(t)
	ns := namespace(ctx, t, c.Client)
	makePair(ctx, t, c.Client, ns, pair)
	if watched {
		watchInvariant(ctx, t, c.Client, ns, "web-service", "color")
	}
	return ctx, c, ns
}

func makePair(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns string, p testenv.Pair) {
	t.Helper()
	if err := testenv.CreatePair(ctx, cs, ns, p); err != nil {
		t.Fatal(err)
	}
}

// invariant watches a Service and the pods of its namespace for as long as
// the test runs. On every change it reads the Service and lists the Ready
// pods of the color it selects: there must be at least one. Fresh reads,
// rather than the watch streams' own copies, keep the Service and the pods
// consistent with each other.
type invariant struct {
	checked, violations atomic.Int64
	mu                  sync.Mutex
	first               string
}

func watchInvariant(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, service, key string) *invariant {
	t.Helper()
	inv := &invariant{}
	ctx, cancel := context.WithCancel(ctx)
	changed := make(chan struct{}, 1)
	poke := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { notify(changed) },
		UpdateFunc: func(any, any) { notify(changed) },
		DeleteFunc: func(any) { notify(changed) },
	}
	svcInf := cache.NewSharedIndexInformer(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", service).String()
			return cs.CoreV1().Services(ns).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", service).String()
			return cs.CoreV1().Services(ns).Watch(ctx, o)
		},
	}, &corev1.Service{}, 0, cache.Indexers{})
	podInf := cache.NewSharedIndexInformer(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return cs.CoreV1().Pods(ns).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return cs.CoreV1().Pods(ns).Watch(ctx, o)
		},
	}, &corev1.Pod{}, 0, cache.Indexers{})
	var wg sync.WaitGroup
	for _, inf := range []cache.SharedIndexInformer{svcInf, podInf} {
		if _, err := inf.AddEventHandler(poke); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { inf.RunWithContext(ctx) })
	}
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
			inv.check(ctx, cs, ns, service, key)
		}
	})
	if !cache.WaitForCacheSync(ctx.Done(), svcInf.HasSynced, podInf.HasSynced) {
		t.Fatal("invariant watcher did not sync")
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		n, v := inv.checked.Load(), inv.violations.Load()
		invariantTotals.checked.Add(n)
		invariantTotals.violations.Add(v)
		t.Logf("invariant: %d changes checked, %d violations", n, v)
		if v > 0 {
			t.Errorf("the service selected a color with no Ready pod %d times; first: %s", v, inv.first)
		}
	})
	return inv
}

func (inv *invariant) check(ctx context.Context, cs kubernetes.Interface, ns, service, key string) {
	svc, err := cs.CoreV1().Services(ns).Get(ctx, service, metav1.GetOptions{})
	if err != nil {
		return // not created yet, or the API server is down: nothing to check
	}
	live := svc.Spec.Selector[key]
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: svc.Spec.Selector})})
	if err != nil {
		return
	}
	inv.checked.Add(1)
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return
			}
		}
	}
	inv.violations.Add(1)
	inv.mu.Lock()
	if inv.first == "" {
		var why []string
		for _, p := range pods.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady {
					why = append(why, fmt.Sprintf("%s: %s %s %s", p.Name, c.Status, c.Reason, c.Message))
				}
			}
		}
		inv.first = fmt.Sprintf("at %s service %s/%s selects %s=%s (resourceVersion %s) with %d pods, none Ready %v",
			time.Now().Format(time.TimeOnly), ns, service, key, live, svc.ResourceVersion, len(pods.Items), why)
	}
	inv.mu.Unlock()
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
