package kube

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-sh/cutover/engine"
)

// LeaseDuration is how long a release lock lasts without renewal.
const LeaseDuration = 30 * time.Second

// RenewEvery is how often a held lock is renewed. It is short so that
// `cutover abort`, which takes the lock away, stops the holder within
// seconds.
const RenewEvery = 2 * time.Second

// LeaseName is the name of the release lock's Lease for a Service.
func LeaseName(service string) string { return "cutover-" + service }

// Lock is a held release lock: a coordination.k8s.io Lease per Service,
// renewed in the background until Release.
type Lock struct {
	c      *Cluster
	ns     string
	name   string
	holder string
	// previous is a holder whose lock may be taken although it has not
	// expired: the run this one resumes.
	previous string
	took     string
	lost     chan struct{}
	// lostTo is written before lost is closed.
	lostTo  string
	stop    context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	current *coordinationv1.Lease

	// The published gate (gate.go): decisions read from the Lease, and
	// how to stop reading.
	decisions chan engine.RemoteDecision
	gateMu    sync.Mutex
	stopPoll  context.CancelFunc
}

var _ engine.ReleaseLock = (*Lock)(nil)

// Lock takes the release lock of t's Service for holder. A lock held by
// someone else whose lease has not expired is refused, naming them; an
// expired one, or one held by previous (the run being resumed), is taken
// over, and TakenFrom says from whom.
func (c *Cluster) Lock(ctx context.Context, t spec.Target, holder, previous string) (engine.ReleaseLock, error) {
	l := &Lock{
		c: c, ns: t.Namespace, name: LeaseName(t.Service), holder: holder, previous: previous,
		lost: make(chan struct{}), done: make(chan struct{}), decisions: make(chan engine.RemoteDecision),
	}
	if err := l.acquire(ctx); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.stop = cancel
	go l.renew(rctx)
	return l, nil
}

// HeldError is a release lock held by someone else.
type HeldError struct {
	Lease     string
	Holder    string
	Since     time.Time
	RenewedAt time.Time
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("another release holds the lock: %s since %s (lease %s, last renewed %s); "+
		"wait for it to finish, or for the lease to expire %s after its last renewal",
		e.Holder, e.Since.UTC().Format(time.RFC3339), e.Lease, e.RenewedAt.UTC().Format(time.RFC3339), LeaseDuration)
}

func (l *Lock) acquire(ctx context.Context) error {
	leases := l.c.cs.CoordinationV1().Leases(l.ns)
	now := metav1.NewMicroTime(l.c.now())
	secs := int32(LeaseDuration / time.Second)
	for range 3 { // a lost race with another console is retried
		cur, err := leases.Get(ctx, l.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			lease := &coordinationv1.Lease{
				ObjectMeta: metav1.ObjectMeta{Name: l.name, Namespace: l.ns, Labels: map[string]string{"app.kubernetes.io/managed-by": "cutover"}},
				Spec: coordinationv1.LeaseSpec{
					HolderIdentity: &l.holder, LeaseDurationSeconds: &secs, AcquireTime: &now, RenewTime: &now,
				},
			}
			created, err := leases.Create(ctx, lease, metav1.CreateOptions{FieldManager: FieldManager})
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			if err != nil {
				return fmt.Errorf("create release lock lease %s/%s: %w", l.ns, l.name, err)
			}
			l.set(created)
			return nil
		}
		if err != nil {
			return fmt.Errorf("read release lock lease %s/%s: %w", l.ns, l.name, err)
		}
		holder := deref(cur.Spec.HolderIdentity)
		if holder != "" && !expired(cur, now.Time) && !aborted(cur) && (l.previous == "" || holder != l.previous) {
			return &HeldError{Lease: l.ns + "/" + l.name, Holder: holder, Since: microTime(cur.Spec.AcquireTime), RenewedAt: microTime(cur.Spec.RenewTime)}
		}
		next := cur.DeepCopy()
		delete(next.Annotations, abortedAnnotation)
		next.Spec.HolderIdentity, next.Spec.LeaseDurationSeconds = &l.holder, &secs
		next.Spec.AcquireTime, next.Spec.RenewTime = &now, &now
		// The update carries cur's resourceVersion: of two consoles taking
		// over at once, one wins and the other sees a conflict.
		updated, err := leases.Update(ctx, next, metav1.UpdateOptions{FieldManager: FieldManager})
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("take release lock lease %s/%s: %w", l.ns, l.name, err)
		}
		if holder != "" {
			l.took = fmt.Sprintf("%s (last renewed %s)", holder, microTime(cur.Spec.RenewTime).UTC().Format(time.RFC3339))
		}
		l.set(updated)
		return nil
	}
	return fmt.Errorf("take release lock lease %s/%s: it kept changing under us", l.ns, l.name)
}

// abortedAnnotation marks a lease that `cutover abort` holds only to stop
// the release that held it: anyone may take it over at once, since the
// aborted holder stops on finding any other holder at its next renewal.
// Without it, a maintenance switch right after an abort would wait for the
// lease to expire.
const abortedAnnotation = "cutover.dev/aborted"

func aborted(l *coordinationv1.Lease) bool { return l.Annotations[abortedAnnotation] != "" }

func expired(l *coordinationv1.Lease, now time.Time) bool {
	if l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		return true
	}
	return now.After(l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second))
}

func (l *Lock) set(lease *coordinationv1.Lease) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.current = lease
}

// renew keeps the lease fresh until stopped. The lock is lost only when a
// renewal finds someone else holding it (or the Lease deleted): an API
// server that cannot be reached is not a reason to end a release, which
// itself cannot write meanwhile.
func (l *Lock) renew(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(RenewEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if holder, lost := l.renewOnce(ctx); lost {
			l.lostTo = holder
			close(l.lost)
			return
		}
	}
}

// renewOnce renews the lease. lost is true, with the new holder, when
// someone else holds it.
func (l *Lock) renewOnce(ctx context.Context) (holder string, lost bool) {
	leases := l.c.cs.CoordinationV1().Leases(l.ns)
	l.mu.Lock()
	next := l.current.DeepCopy()
	l.mu.Unlock()
	now := metav1.NewMicroTime(l.c.now())
	next.Spec.RenewTime = &now
	updated, err := leases.Update(ctx, next, metav1.UpdateOptions{FieldManager: FieldManager})
	switch {
	case err == nil:
		l.set(updated)
		return "", false
	case apierrors.IsNotFound(err):
		return "nobody (the Lease was deleted)", true
	case apierrors.IsConflict(err):
		cur, gerr := leases.Get(ctx, l.name, metav1.GetOptions{})
		if gerr != nil {
			return "", false // try again at the next tick
		}
		if h := deref(cur.Spec.HolderIdentity); h != l.holder {
			return h, true
		}
		l.set(cur)
	}
	return "", false
}

// TakenFrom names the holder whose expired lease was taken over, or "".
func (l *Lock) TakenFrom() string { return l.took }

// Lost is closed if the lock is lost while held.
func (l *Lock) Lost() <-chan struct{} { return l.lost }

// LostTo names who holds the lock once Lost is closed.
func (l *Lock) LostTo() string {
	select {
	case <-l.lost:
		return l.lostTo
	default:
		return ""
	}
}

// Release stops renewing and gives the lease up, if it is still ours.
func (l *Lock) Release(ctx context.Context) error {
	l.gateMu.Lock()
	if l.stopPoll != nil {
		l.stopPoll()
		l.stopPoll = nil
	}
	l.gateMu.Unlock()
	l.stop()
	<-l.done
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	leases := l.c.cs.CoordinationV1().Leases(l.ns)
	cur, err := leases.Get(ctx, l.name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("release lock lease %s/%s: %w", l.ns, l.name, err)
	}
	if deref(cur.Spec.HolderIdentity) != l.holder {
		return nil
	}
	cur.Spec.HolderIdentity, cur.Spec.RenewTime = nil, nil
	if _, err := leases.Update(ctx, cur, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil {
		return fmt.Errorf("release lock lease %s/%s: %w", l.ns, l.name, err)
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func microTime(t *metav1.MicroTime) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}

// LockState is who holds a release lock, as the Lease says.
type LockState struct {
	Lease     string    `json:"lease"`
	Holder    string    `json:"holder,omitempty"`
	Since     time.Time `json:"since,omitzero"`
	RenewedAt time.Time `json:"renewedAt,omitzero"`
	Expired   bool      `json:"expired"`
	// Aborted is set while `cutover abort` holds the lock to stop a
	// release: no release holds it, and anyone may take it.
	Aborted bool `json:"aborted,omitempty"`
}

// ReadLock reads the release lock of t's Service. It returns nil when there
// has never been one.
func (c *Cluster) ReadLock(ctx context.Context, t spec.Target) (*LockState, error) {
	name := LeaseName(t.Service)
	cur, err := c.cs.CoordinationV1().Leases(t.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read release lock lease %s/%s: %w", t.Namespace, name, err)
	}
	return &LockState{
		Lease: t.Namespace + "/" + name, Holder: deref(cur.Spec.HolderIdentity),
		Since: microTime(cur.Spec.AcquireTime), RenewedAt: microTime(cur.Spec.RenewTime), Expired: expired(cur, c.now()), Aborted: aborted(cur),
	}, nil
}

// BreakLock takes the release lock away from whoever holds it, with a
// holder naming who broke it and why. The holding console finds out at its
// next renewal and stops its release: this is how `cutover abort` reaches
// a release run from another terminal.
func (c *Cluster) BreakLock(ctx context.Context, t spec.Target, by string) (previous string, err error) {
	leases := c.cs.CoordinationV1().Leases(t.Namespace)
	name := LeaseName(t.Service)
	cur, err := leases.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read release lock lease %s/%s: %w", t.Namespace, name, err)
	}
	previous = deref(cur.Spec.HolderIdentity)
	if previous == "" || expired(cur, c.now()) {
		return "", nil
	}
	now := metav1.NewMicroTime(c.now())
	cur.Spec.HolderIdentity, cur.Spec.AcquireTime, cur.Spec.RenewTime = &by, &now, &now
	if cur.Annotations == nil {
		cur.Annotations = map[string]string{}
	}
	cur.Annotations[abortedAnnotation] = "true"
	if _, err := leases.Update(ctx, cur, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil {
		return "", fmt.Errorf("break release lock lease %s/%s: %w", t.Namespace, name, err)
	}
	return previous, nil
}
