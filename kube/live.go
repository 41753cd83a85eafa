package kube

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

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

// pairWatch is the informers WatchPair reads a pair from.
type pairWatch struct {
	c      *Cluster
	t      spec.Target
	svc    cache.SharedIndexInformer
	colors []*colorWatch
}

// colorWatch is one color's Deployment and pods.
type colorWatch struct {
	color     spec.Color
	name      string
	dep, pods cache.SharedIndexInformer
	// sel is the pod selector the pods informer lists by, "" when the
	// Deployment did not exist.
	sel string
	// changes counts the events of dep and pods; built is the state read
	// from them at a count, kept until the next event, so that reading an
	// unchanged pair costs no walk over its pods.
	changes atomic.Uint64
	mu      sync.Mutex
	built   *builtState
}

type builtState struct {
	changes uint64
	at      time.Time
	state   engine.ColorState
}

// WatchPair calls seen with a new reading of t's Service, both Deployments
// and their pods after every change, until ctx ends. The readings come from
// informers' caches, so a change reaches seen as soon as its watch event
// does, without listing a thousand pods to find it. Events that arrive
// while seen runs are folded into one reading.
func (c *Cluster) WatchPair(ctx context.Context, t spec.Target, seen func(engine.Observation)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := c.pairInformers(ctx, t)
	if err != nil {
		return err
	}
	changed := make(chan struct{}, 1)
	// Each handler counts its color's change before it pokes the loop, in
	// that order and in one handler: the reading the poke causes must not
	// find the old count and keep a color built before the change.
	handler := func(count *atomic.Uint64) cache.ResourceEventHandlerFuncs {
		poke := func() {
			if count != nil {
				count.Add(1)
			}
			notify(changed)
		}
		return cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { poke() },
			UpdateFunc: func(any, any) { poke() },
			DeleteFunc: func(any) { poke() },
		}
	}
	type watched struct {
		inf   cache.SharedIndexInformer
		count *atomic.Uint64
	}
	all := []watched{{inf: w.svc}}
	for _, cw := range w.colors {
		all = append(all, watched{cw.dep, &cw.changes})
		if cw.pods != nil {
			all = append(all, watched{cw.pods, &cw.changes})
		}
	}
	synced := make([]cache.InformerSynced, 0, len(all))
	for _, x := range all {
		if _, err := x.inf.AddEventHandler(handler(x.count)); err != nil {
			return fmt.Errorf("watch service %s: %w", t, err)
		}
		go x.inf.RunWithContext(ctx)
		synced = append(synced, x.inf.HasSynced)
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
	// Synced: Observe and Switch read this pair from here until the
	// watch ends.
	c.warm.add(t, w)
	defer c.warm.remove(t, w)
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-changed:
		}
		obs, err := w.read()
		if err != nil {
			return err
		}
		seen(obs)
	}
}

// pairInformers builds, without starting them, the informers of t's
// Service, its Deployments, and the pods each Deployment selects now.
func (c *Cluster) pairInformers(ctx context.Context, t spec.Target) (*pairWatch, error) {
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
	svcs, deps, pods := c.cs.CoreV1().Services(ns), c.cs.AppsV1().Deployments(ns), c.cs.CoreV1().Pods(ns)
	w := &pairWatch{c: c, t: t}
	w.svc = byName(&corev1.Service{}, t.Service, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return svcs.List(ctx, o) },
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) { return svcs.Watch(ctx, o) })
	for _, col := range []spec.Color{spec.Blue, spec.Green} {
		cw := &colorWatch{color: col, name: t.Deployment(col)}
		cw.dep = byName(&appsv1.Deployment{}, cw.name, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return deps.List(ctx, o) },
			func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) { return deps.Watch(ctx, o) })
		w.colors = append(w.colors, cw)
		d, err := deps.Get(ctx, cw.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read deployment %s/%s: %w", ns, cw.name, err)
		}
		if cw.sel, err = selectorOf(d); err != nil {
			return nil, err
		}
		sel := cw.sel
		cw.pods = c.informer(&corev1.Pod{}, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = sel
			return pods.List(ctx, o)
		}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = sel
			return pods.Watch(ctx, o)
		})
	}
	return w, nil
}

// read is the pair as the informers' caches hold it now.
func (w *pairWatch) read() (engine.Observation, error) {
	ns := w.t.Namespace
	obj, found, _ := w.svc.GetStore().GetByKey(ns + "/" + w.t.Service)
	if !found {
		return engine.Observation{}, fmt.Errorf("service %s: deleted while watched", w.t)
	}
	colors, err := w.readColors()
	if err != nil {
		return engine.Observation{}, err
	}
	return engine.Observation{Service: serviceState(obj.(*corev1.Service), w.t.SelectorKey), Colors: colors}, nil
}

// readColors is both Deployments and their pods as the caches hold them.
func (w *pairWatch) readColors() (map[spec.Color]*engine.ColorState, error) {
	ns := w.t.Namespace
	colors := map[spec.Color]*engine.ColorState{}
	for _, cw := range w.colors {
		if s, ok := cw.cached(w.c.now()); ok && !w.c.warm.behind(ns+"/"+cw.name, s.Generation) {
			colors[cw.color] = s
			continue
		}
		// Counted before the caches are read: an event that lands while
		// they are read makes the next reading build again.
		n := cw.changes.Load()
		dobj, found, _ := cw.dep.GetStore().GetByKey(ns + "/" + cw.name)
		if !found {
			colors[cw.color] = &engine.ColorState{Deployment: cw.name}
			continue
		}
		d := dobj.(*appsv1.Deployment)
		// A Deployment created, or given a new selector, while watched
		// has pods this watch does not list: the caller reads the
		// cluster again.
		if sel, err := selectorOf(d); err != nil || sel != cw.sel || cw.pods == nil {
			return nil, fmt.Errorf("deployment %s/%s: created or its selector changed while watched", ns, cw.name)
		}
		if w.c.warm.behind(ns+"/"+cw.name, d.Generation) {
			return nil, fmt.Errorf("deployment %s/%s: the watch has not seen cutover's last write yet", ns, cw.name)
		}
		var ps []*corev1.Pod
		for _, p := range cw.pods.GetStore().List() {
			ps = append(ps, p.(*corev1.Pod))
		}
		now := w.c.now()
		s := deploymentState(d, ps, now)
		cw.keep(n, now, s)
		colors[cw.color] = &s
	}
	return colors, nil
}

// cached is the color as last built, if no event came since, with its
// pods' ages moved on to now. The copy's Pods are its own; Images and
// Template are never changed once read, so they are shared.
func (cw *colorWatch) cached(now time.Time) (*engine.ColorState, bool) {
	cw.mu.Lock()
	b := cw.built
	cw.mu.Unlock()
	if b == nil || b.changes != cw.changes.Load() {
		return nil, false
	}
	s := b.state
	s.Pods = slices.Clone(b.state.Pods)
	for i := range s.Pods {
		s.Pods[i].Age += now.Sub(b.at)
	}
	return &s, true
}

func (cw *colorWatch) keep(changes uint64, at time.Time, s engine.ColorState) {
	s.Pods = slices.Clone(s.Pods)
	cw.mu.Lock()
	defer cw.mu.Unlock()
	cw.built = &builtState{changes: changes, at: at, state: s}
}

// warmPairs are the pairs whose WatchPair has synced, by target; the
// latest watch of a pair is read while several run (a gate's inside a
// release's).
type warmPairs struct {
	mu    sync.Mutex
	pairs map[spec.Target][]*pairWatch
	// written is the generation of each Deployment (namespace/name) as
	// this client last wrote it. A watch's cache may not hold that write
	// yet: until it does, the color is read from the API server, so that
	// a reading right after cutover's own scale or deploy is never older
	// than the write.
	written map[string]int64
}

func (wp *warmPairs) wrote(key string, generation int64) {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	if wp.written == nil {
		wp.written = map[string]int64{}
	}
	wp.written[key] = max(wp.written[key], generation)
}

// behind reports whether a Deployment (namespace/name) read from a cache
// at generation is older than this client's last write to it.
func (wp *warmPairs) behind(key string, generation int64) bool {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	return generation < wp.written[key]
}

func (wp *warmPairs) add(t spec.Target, w *pairWatch) {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	if wp.pairs == nil {
		wp.pairs = map[spec.Target][]*pairWatch{}
	}
	wp.pairs[t] = append(wp.pairs[t], w)
}

// remove forgets w, and no other watch of the same pair.
func (wp *warmPairs) remove(t spec.Target, w *pairWatch) {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	ws := slices.DeleteFunc(wp.pairs[t], func(x *pairWatch) bool { return x == w })
	if len(ws) == 0 {
		delete(wp.pairs, t)
		return
	}
	wp.pairs[t] = ws
}

func (wp *warmPairs) get(t spec.Target) *pairWatch {
	wp.mu.Lock()
	defer wp.mu.Unlock()
	if ws := wp.pairs[t]; len(ws) > 0 {
		return ws[len(ws)-1]
	}
	return nil
}

// deployment is Deployment name of t's pair as a synced watch holds it,
// or nil.
func (wp *warmPairs) deployment(t spec.Target, name string) *appsv1.Deployment {
	w := wp.get(t)
	if w == nil {
		return nil
	}
	for _, cw := range w.colors {
		if cw.name != name {
			continue
		}
		if obj, ok, _ := cw.dep.GetStore().GetByKey(t.Namespace + "/" + name); ok {
			return obj.(*appsv1.Deployment)
		}
	}
	return nil
}
