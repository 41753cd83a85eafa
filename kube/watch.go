package kube

import (
	"context"
	"fmt"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"github.com/cutover-sh/cutover/engine"
)

// WaitRollout watches color's Deployment and its pods until the rollout is
// complete, as engine.RolloutStatus judges it, and reports every change.
// Informers are used rather than bare watches: after a disconnect or an API
// server restart their reflectors resume from the last resourceVersion, or
// relist, so a restart does not end the wait.
func (c *Cluster) WaitRollout(ctx context.Context, t spec.Target, color spec.Color, progress func(engine.ColorState)) error {
	return c.WaitDeployment(ctx, t.Namespace, t.Deployment(color), progress)
}

// WaitDeployment is WaitRollout for any Deployment.
func (c *Cluster) WaitDeployment(ctx context.Context, namespace, name string, progress func(engine.ColorState)) error {
	t := spec.Target{Namespace: namespace}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops both informers

	deps := c.informer(&appsv1.Deployment{}, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		return c.cs.AppsV1().Deployments(t.Namespace).List(ctx, o)
	}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		return c.cs.AppsV1().Deployments(t.Namespace).Watch(ctx, o)
	})
	// The pod selector comes from the Deployment itself.
	d, err := c.cs.AppsV1().Deployments(t.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("read deployment %s/%s: %w", t.Namespace, name, err)
	}
	sel, err := selectorOf(d)
	if err != nil {
		return err
	}
	pods := c.informer(&corev1.Pod{}, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		o.LabelSelector = sel
		return c.cs.CoreV1().Pods(t.Namespace).List(ctx, o)
	}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		o.LabelSelector = sel
		return c.cs.CoreV1().Pods(t.Namespace).Watch(ctx, o)
	})

	changed := make(chan struct{}, 1)
	// Reflectors retry watch errors by themselves; one that retrying
	// cannot fix (no permission to watch) must end the wait, not hang it.
	denied := make(chan error, 1)
	onWatchError := func(_ *cache.Reflector, err error) {
		if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
			select {
			case denied <- err:
			default:
			}
		}
	}
	poke := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { notify(changed) },
		UpdateFunc: func(any, any) { notify(changed) },
		DeleteFunc: func(any) { notify(changed) },
	}
	for _, inf := range []cache.SharedIndexInformer{deps, pods} {
		if _, err := inf.AddEventHandler(poke); err != nil {
			return fmt.Errorf("watch deployment %s/%s: %w", t.Namespace, name, err)
		}
		_ = inf.SetWatchErrorHandler(onWatchError) // cannot fail before Run
		go inf.RunWithContext(ctx)
	}
	syncCtx, stopSync := context.WithTimeout(ctx, syncTimeout)
	go func() {
		select {
		case err := <-denied:
			stopSync()
			denied <- err
		case <-syncCtx.Done():
		}
	}()
	synced := cache.WaitForCacheSync(syncCtx.Done(), deps.HasSynced, pods.HasSynced)
	stopSync()
	if !synced {
		select {
		case err := <-denied:
			return fmt.Errorf("watch deployment %s/%s: %w (%w)", t.Namespace, name, err, engine.ErrPermanent)
		default:
		}
		if ctx.Err() != nil {
			return fmt.Errorf("watch deployment %s/%s: %w", t.Namespace, name, context.Cause(ctx))
		}
		return fmt.Errorf("watch deployment %s/%s: no answer within %s", t.Namespace, name, syncTimeout)
	}
	var last *engine.ColorState
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for deployment %s/%s: %w", t.Namespace, name, context.Cause(ctx))
		case err := <-denied:
			return fmt.Errorf("watch deployment %s/%s: %w (%w)", t.Namespace, name, err, engine.ErrPermanent)
		case <-changed:
		}
		obj, ok, _ := deps.GetStore().GetByKey(t.Namespace + "/" + name)
		if !ok {
			return &engine.RolloutError{Deployment: t.Namespace + "/" + name, Msg: "was deleted"}
		}
		var ps []*corev1.Pod
		for _, o := range pods.GetStore().List() {
			ps = append(ps, o.(*corev1.Pod))
		}
		s := deploymentState(obj.(*appsv1.Deployment), ps, c.now())
		if last == nil || !sameProgress(*last, s) {
			if progress != nil {
				progress(s)
			}
			last = &s
		}
		done, _, err := engine.RolloutStatus(s)
		if err != nil || done {
			return err
		}
	}
}

// syncTimeout bounds the first list of a wait; the executor retries after
// it, and reports the retry, rather than wait in silence.
const syncTimeout = 30 * time.Second

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// informer builds an informer on one list/watch, with managedFields
// stripped: cutover never reads them and they are much of an object's size.
func (c *Cluster) informer(obj runtime.Object, list cache.ListWithContextFunc, w cache.WatchFuncWithContext) cache.SharedIndexInformer {
	// As client-go's generated informers do: a client that cannot stream
	// lists (the demo's simulated cluster) says so, and the reflector
	// lists and watches instead of waiting for a bookmark that never comes.
	lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{ListWithContextFunc: list, WatchFuncWithContext: w}, c.cs)
	inf := cache.NewSharedIndexInformer(lw, obj, 0, cache.Indexers{})
	_ = inf.SetTransform(stripManagedFields) // cannot fail before Run
	return inf
}

func stripManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// sameProgress reports whether two readings would show the same to a person:
// the counts and each pod's phase, readiness and reason. Ages always differ.
func sameProgress(a, b engine.ColorState) bool {
	if a.Replicas != b.Replicas || a.Current != b.Current || a.Updated != b.Updated || a.Ready != b.Ready ||
		a.Available != b.Available || a.ObservedGeneration != b.ObservedGeneration || a.DeadlineExceeded != b.DeadlineExceeded ||
		len(a.Pods) != len(b.Pods) {
		return false
	}
	for i := range a.Pods {
		p, q := a.Pods[i], b.Pods[i]
		if p.Name != q.Name || p.Phase != q.Phase || p.Ready != q.Ready || p.Reason != q.Reason || p.Restarts != q.Restarts {
			return false
		}
	}
	return true
}
