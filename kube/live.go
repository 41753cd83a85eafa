package kube

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/engine/spec"
)

var _ engine.PairWatcher = (*Cluster)(nil)

// WatchPair calls seen with a new reading of t's Service, both Deployments
// and their pods after every change, until ctx ends. The readings come from
// informers' caches, so a change reaches seen as soon as its watch event
// does, without listing a thousand pods to find it. Events that arrive
// while seen runs are folded into one reading.
func (c *Cluster) WatchPair(ctx context.Context, t spec.Target, seen func(engine.Observation)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ns := t.Namespace
	byName := func(obj runtime.Object, name string, list func(context.Context, metav1.ListOptions) (runtime.Object, error), w func(context.Context, metav1.ListOptions) (watch.Interface, error)) cache.SharedIndexInformer {
		sel := fields.OneTermEqualSelector("metadata.name", name).String()
		return c.informer(obj, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return list(ctx, o)
		}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return w(ctx, o)
		})
	}
	svcs := c.cs.CoreV1().Services(ns)
	deps := c.cs.AppsV1().Deployments(ns)
	svc := byName(&corev1.Service{}, t.Service, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return svcs.List(ctx, o) },
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) { return svcs.Watch(ctx, o) })
	informers := []cache.SharedIndexInformer{svc}
	type color struct {
		c         spec.Color
		name      string
		dep, pods cache.SharedIndexInformer
		// sel is the pod selector the pods informer lists by, "" when
		// the Deployment did not exist.
		sel string
	}
	var colors []*color
	for _, col := range []spec.Color{spec.Blue, spec.Green} {
		name := t.Deployment(col)
		cs := &color{c: col, name: name}
		cs.dep = byName(&appsv1.Deployment{}, name, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return deps.List(ctx, o) },
			func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) { return deps.Watch(ctx, o) })
		informers = append(informers, cs.dep)
		// The pods are those the Deployment selects now; a selector
		// changed while the gate waits ends the watch, and the
		// engine reads the cluster again.
		d, err := deps.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return fmt.Errorf("read deployment %s/%s: %w", ns, name, err)
		default:
			sel, err := selectorOf(d)
			if err != nil {
				return err
			}
			cs.pods = c.informer(&corev1.Pod{}, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				o.LabelSelector = sel
				return c.cs.CoreV1().Pods(ns).List(ctx, o)
			}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				o.LabelSelector = sel
				return c.cs.CoreV1().Pods(ns).Watch(ctx, o)
			})
			cs.sel = sel
			informers = append(informers, cs.pods)
		}
		colors = append(colors, cs)
	}
	changed := make(chan struct{}, 1)
	poke := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { notify(changed) },
		UpdateFunc: func(any, any) { notify(changed) },
		DeleteFunc: func(any) { notify(changed) },
	}
	synced := make([]cache.InformerSynced, 0, len(informers))
	for _, inf := range informers {
		if _, err := inf.AddEventHandler(poke); err != nil {
			return fmt.Errorf("watch service %s: %w", t, err)
		}
		go inf.RunWithContext(ctx)
		synced = append(synced, inf.HasSynced)
	}
	syncCtx, stopSync := context.WithTimeout(ctx, syncTimeout)
	ok := cache.WaitForCacheSync(syncCtx.Done(), synced...)
	stopSync()
	if !ok {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return fmt.Errorf("watch service %s: no answer within %s", t, syncTimeout)
	}
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-changed:
		}
		obj, found, _ := svc.GetStore().GetByKey(ns + "/" + t.Service)
		if !found {
			return fmt.Errorf("service %s: deleted while watched", t)
		}
		obs := engine.Observation{Service: serviceState(obj.(*corev1.Service), t.SelectorKey), Colors: map[spec.Color]*engine.ColorState{}}
		for _, cs := range colors {
			dobj, found, _ := cs.dep.GetStore().GetByKey(ns + "/" + cs.name)
			if !found {
				obs.Colors[cs.c] = &engine.ColorState{Deployment: cs.name}
				continue
			}
			d := dobj.(*appsv1.Deployment)
			// A Deployment created, or given a new selector, while
			// watched has pods this watch does not list: the caller
			// reads the cluster again.
			if sel, err := selectorOf(d); err != nil || sel != cs.sel {
				return fmt.Errorf("deployment %s/%s: created or its selector changed while watched", ns, cs.name)
			}
			var pods []*corev1.Pod
			for _, p := range cs.pods.GetStore().List() {
				pods = append(pods, p.(*corev1.Pod))
			}
			s := deploymentState(d, pods, c.now())
			obs.Colors[cs.c] = &s
		}
		seen(obs)
	}
}
