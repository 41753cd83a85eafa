package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// grace is how long the Service may seem to select a color with no Ready
// pod before it counts: two watches (the Service's and the pods') are not
// ordered against each other, so a switch can arrive before the pods'
// Ready updates that preceded it. A real violation lasts.
const grace = time.Second

// watcher checks invariant 1 (the Service always selects a color with at
// least one Ready pod) on every change it sees, with informers of its own:
// it shares no code with cutover's.
type watcher struct {
	svcs, pods cache.SharedIndexInformer
	ns         string
	cs         kubernetes.Interface
	// stale counts suspicions the API server did not confirm: the
	// watcher's own caches were behind.
	stale int

	mu         sync.Mutex
	checks     int
	violations []string
	// since is when the Service began to select a color with no Ready
	// pod, zero while it selects one with some.
	since time.Time
}

func watch(ctx context.Context, cs kubernetes.Interface, ns string) (*watcher, error) {
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
	w := &watcher{svcs: f.Core().V1().Services().Informer(), pods: f.Core().V1().Pods().Informer(), ns: ns, cs: cs}
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { w.check() },
		UpdateFunc: func(any, any) { w.check() },
		DeleteFunc: func(any) { w.check() },
	}
	for _, inf := range []cache.SharedIndexInformer{w.svcs, w.pods} {
		if _, err := inf.AddEventHandler(h); err != nil {
			return nil, err
		}
	}
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), w.svcs.HasSynced, w.pods.HasSynced) {
		return nil, fmt.Errorf("the watcher's caches did not sync")
	}
	// A violation that lasts with no further event is found by the clock.
	go func() {
		t := time.NewTicker(grace / 2)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				w.check()
			}
		}
	}()
	return w, nil
}

// check is invariant 1 at this moment.
func (w *watcher) check() {
	obj, ok, _ := w.svcs.GetStore().GetByKey(w.ns + "/web-service")
	if !ok {
		return
	}
	color := obj.(*corev1.Service).Spec.Selector["color"]
	ready := w.ready(color)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.checks++
	switch {
	case ready > 0:
		w.since = time.Time{}
	case w.since.IsZero():
		w.since = time.Now()
	case time.Since(w.since) >= grace:
		// The caches can fall behind (a watch broken by a kube-apiserver
		// restart relists after a backoff): the API server confirms.
		if confirmed, why := w.confirm(); confirmed {
			w.violations = append(w.violations, fmt.Sprintf("1: the Service selects %q, which has had no Ready pod for %s (since %s); %s", color, time.Since(w.since).Round(time.Millisecond), w.since.Format("15:04:05.000"), why))
		} else {
			w.stale++
		}
		w.since = time.Now() // one violation a grace, not one a check
	}
}

// confirm reads the Service and the pods it selects from the API server,
// consistently: true when it selects a color with no Ready pod there too.
// An API server that cannot answer confirms nothing.
func (w *watcher) confirm() (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	svc, err := w.cs.CoreV1().Services(w.ns).Get(ctx, "web-service", metav1.GetOptions{})
	if err != nil {
		return false, ""
	}
	color := svc.Spec.Selector["color"]
	n, ready, err := w.readyNow(ctx, color)
	if err != nil || ready > 0 {
		return false, ""
	}
	return true, fmt.Sprintf("the API server agrees: %d pods of %s, none Ready", n, color)
}

// readyNow lists color's pods from the API server, consistently, and
// counts them and the Ready ones not being deleted.
func (w *watcher) readyNow(ctx context.Context, color string) (pods, ready int, err error) {
	list, err := w.cs.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web,color=" + color})
	if err != nil {
		return 0, 0, err
	}
	for _, p := range list.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	return len(list.Items), ready, nil
}

// ready counts the pods of color that are Ready and not being deleted.
func (w *watcher) ready(color string) int {
	n := 0
	for _, obj := range w.pods.GetStore().List() {
		p := obj.(*corev1.Pod)
		if p.Labels["app"] != "web" || p.Labels["color"] != color || p.DeletionTimestamp != nil {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				n++
			}
		}
	}
	return n
}

func (w *watcher) result() (checks int, violations []string, stale int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.checks, append([]string(nil), w.violations...), w.stale
}
