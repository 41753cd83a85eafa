package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
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

	mu         sync.Mutex
	checks     int
	violations []string
	// since is when the Service began to select a color with no Ready
	// pod, zero while it selects one with some.
	since    time.Time
	selected string
	changes  int
}

func watch(ctx context.Context, cs kubernetes.Interface, ns string) (*watcher, error) {
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
	w := &watcher{svcs: f.Core().V1().Services().Informer(), pods: f.Core().V1().Pods().Informer(), ns: ns}
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
	if color != w.selected {
		w.selected = color
		w.changes++
	}
	switch {
	case ready > 0:
		w.since = time.Time{}
	case w.since.IsZero():
		w.since = time.Now()
	case time.Since(w.since) >= grace:
		w.violations = append(w.violations, fmt.Sprintf("1: the Service selects %q, which has had no Ready pod for %s (since %s)", color, time.Since(w.since).Round(time.Millisecond), w.since.Format("15:04:05.000")))
		w.since = time.Now() // one violation a grace, not one a check
	}
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

func (w *watcher) result() (checks int, violations []string, changes int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.checks, append([]string(nil), w.violations...), w.changes
}
