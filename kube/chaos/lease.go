package main

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// leaseWatcher checks invariant 4 (never two holders of the release
// Lease at once) on every change of the Lease it sees. The Lease has one
// holder field, so two holders at once means one run taking the Lease
// from another that still lived and still held it. A takeover is fair
// when the old lease had expired, when `cutover abort` broke it (the
// abort marks it) or took it from an aborted run, or when the old holder's
// process had already ended (a killed run, resumed).
type leaseWatcher struct {
	inf  cache.SharedIndexInformer
	runs *runs

	mu         sync.Mutex
	checks     int
	violations []string
}

// The annotation `cutover abort` leaves on a Lease it broke (kube's
// abortedAnnotation): the watcher reads it from the object, as anyone can.
const abortedMark = "cutover.dev/aborted"

func watchLease(ctx context.Context, cs kubernetes.Interface, ns string, rs *runs) (*leaseWatcher, error) {
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
	w := &leaseWatcher{inf: f.Coordination().V1().Leases().Informer(), runs: rs}
	if _, err := w.inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(old, cur any) {
			w.check(old.(*coordinationv1.Lease), cur.(*coordinationv1.Lease))
		},
	}); err != nil {
		return nil, err
	}
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), w.inf.HasSynced) {
		return nil, fmt.Errorf("the Lease watcher's cache did not sync")
	}
	return w, nil
}

func (w *leaseWatcher) check(old, cur *coordinationv1.Lease) {
	from, to := holder(old), holder(cur)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.checks++
	if from == "" || to == "" || from == to {
		return
	}
	at := time.Now()
	if cur.Spec.AcquireTime != nil {
		at = cur.Spec.AcquireTime.Time
	}
	switch {
	case old.Spec.RenewTime == nil || old.Spec.LeaseDurationSeconds == nil:
	case at.After(old.Spec.RenewTime.Add(time.Duration(*old.Spec.LeaseDurationSeconds) * time.Second)):
	case cur.Annotations[abortedMark] != "" || old.Annotations[abortedMark] != "":
	case w.runs.endedBefore(from, at):
	default:
		w.violations = append(w.violations, fmt.Sprintf("4: %q took Lease %s from %q at %s, which renewed it at %s and was still running",
			to, cur.Name, from, at.Format("15:04:05.000"), old.Spec.RenewTime.Format("15:04:05.000")))
	}
}

func holder(l *coordinationv1.Lease) string {
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func (w *leaseWatcher) result() (int, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.checks, append([]string(nil), w.violations...)
}

// runs maps the cutover processes the harness started to the runs they
// announced, and says when each ended.
type runs struct {
	mu    sync.Mutex
	procs []*proc
}

func (rs *runs) add(p *proc) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.procs = append(rs.procs, p)
}

var runHolder = regexp.MustCompile(`\(run ([^)]+)\)$`)

// endedBefore reports whether the process whose run a Lease holder names
// had ended by t. A holder the harness did not start is not known to have
// ended.
func (rs *runs) endedBefore(holder string, t time.Time) bool {
	m := runHolder.FindStringSubmatch(holder)
	if m == nil {
		return false
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, p := range rs.procs {
		if p.announced("run " + m[1] + " started") {
			end := p.endedAt()
			return !end.IsZero() && end.Before(t)
		}
	}
	return false
}
