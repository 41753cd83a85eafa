package kube

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/engine/spec"
)

// A waiting gate lives on the release lock's Lease, in three annotations:
// the holder publishes the gate, a person's `cutover approve` writes a
// decision, and the holder answers it. Writing the decision is an update
// guarded by the Lease's resourceVersion, and only when no other decision
// waits for its answer, so racing decisions reach the holder one at a
// time and its gate book applies the first.
const (
	annGate     = "cutover.dev/gate"
	annDecision = "cutover.dev/decision"
	annAnswer   = "cutover.dev/answer"
)

// gatePoll is how often a decision's writer reads the Lease for the
// holder's answer (the holder watches it for decisions; a writer may hold
// only get and update on leases).
const gatePoll = 200 * time.Millisecond

var _ engine.GatePublisher = (*Lock)(nil)

// PublishGate publishes n on the Lease, or withdraws it when n is nil.
// While a gate is published the Lease is watched for decisions.
func (l *Lock) PublishGate(ctx context.Context, n *engine.GateNotice) error {
	var value string
	if n != nil {
		b, err := json.Marshal(n)
		if err != nil {
			return err
		}
		value = string(b)
	}
	err := l.modify(ctx, func(lease *coordinationv1.Lease) {
		if n == nil {
			delete(lease.Annotations, annGate)
			delete(lease.Annotations, annDecision)
			return
		}
		if lease.Annotations == nil {
			lease.Annotations = map[string]string{}
		}
		lease.Annotations[annGate] = value
	})
	if err != nil {
		return err
	}
	l.gateMu.Lock()
	defer l.gateMu.Unlock()
	switch {
	case n == nil && l.stopPoll != nil:
		l.stopPoll()
		l.stopPoll = nil
	case n != nil && l.stopPoll == nil:
		pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		l.stopPoll = cancel
		go l.pollDecisions(pctx)
	}
	return nil
}

// Decisions delivers each decision written on the Lease once.
func (l *Lock) Decisions() <-chan engine.RemoteDecision { return l.decisions }

// Answer tells the writer of a decision what became of it, and clears the
// decision so that the next one may be written.
func (l *Lock) Answer(ctx context.Context, a engine.GateAnswer) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return l.modify(ctx, func(lease *coordinationv1.Lease) {
		if lease.Annotations == nil {
			lease.Annotations = map[string]string{}
		}
		var d engine.RemoteDecision
		if json.Unmarshal([]byte(lease.Annotations[annDecision]), &d) == nil && d.ID == a.ID {
			delete(lease.Annotations, annDecision)
		}
		lease.Annotations[annAnswer] = string(b)
	})
}

// pollDecisions delivers the decisions written on the Lease while a gate
// is published. It watches the Lease rather than reading it every
// gatePoll: a gate can wait an hour, and a console at a gate should cost
// the API server, and its own host, next to nothing.
func (l *Lock) pollDecisions(ctx context.Context) {
	leases := l.c.cs.CoordinationV1().Leases(l.ns)
	byName := fields.OneTermEqualSelector("metadata.name", l.name).String()
	inf := l.c.informer(&coordinationv1.Lease{}, func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		o.FieldSelector = byName
		return leases.List(ctx, o)
	}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		o.FieldSelector = byName
		return leases.Watch(ctx, o)
	})
	changed := make(chan struct{}, 1)
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { notify(changed) },
		UpdateFunc: func(any, any) { notify(changed) },
	}); err != nil {
		return
	}
	go inf.RunWithContext(ctx)
	delivered := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		obj, ok, _ := inf.GetStore().GetByKey(l.ns + "/" + l.name)
		if !ok {
			continue
		}
		raw := obj.(*coordinationv1.Lease).Annotations[annDecision]
		var d engine.RemoteDecision
		if raw == "" || json.Unmarshal([]byte(raw), &d) != nil || d.ID == "" || d.ID == delivered {
			continue
		}
		select {
		case l.decisions <- d:
			delivered = d.ID
		case <-ctx.Done():
			return
		}
	}
}

// modify applies f to the Lease while this lock holds it, retrying on a
// conflict with a fresh read.
func (l *Lock) modify(ctx context.Context, f func(*coordinationv1.Lease)) error {
	leases := l.c.cs.CoordinationV1().Leases(l.ns)
	l.mu.Lock()
	next := l.current.DeepCopy()
	l.mu.Unlock()
	for range 5 {
		f(next)
		updated, err := leases.Update(ctx, next, metav1.UpdateOptions{FieldManager: FieldManager})
		if err == nil {
			l.set(updated)
			return nil
		}
		if !apierrors.IsConflict(err) {
			return fmt.Errorf("write release lock lease %s/%s: %w", l.ns, l.name, err)
		}
		cur, err := leases.Get(ctx, l.name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("read release lock lease %s/%s: %w", l.ns, l.name, err)
		}
		if h := deref(cur.Spec.HolderIdentity); h != l.holder {
			return fmt.Errorf("release lock lease %s/%s is held by %s now", l.ns, l.name, h)
		}
		l.set(cur)
		next = cur.DeepCopy()
	}
	return fmt.Errorf("write release lock lease %s/%s: it kept changing", l.ns, l.name)
}

// WhoAmI is the caller's Kubernetes identity, from a SelfSubjectReview:
// the actor a decision written from this machine is journaled as.
func (c *Cluster) WhoAmI(ctx context.Context) (engine.Actor, error) {
	r, err := c.cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return engine.Actor{}, fmt.Errorf("who am I (SelfSubjectReview): %w", err)
	}
	u := r.Status.UserInfo
	if u.Username == "" {
		return engine.Actor{}, errors.New("who am I (SelfSubjectReview): the API server named no user")
	}
	return engine.Actor{Name: u.Username, ID: "kubernetes user, via the release lock"}, nil
}

// ErrNoGate is a Service whose release waits at no gate.
var ErrNoGate = errors.New("no gate is waiting")

// ReadGate returns the gate published on t's release lock and who holds
// the lock.
func (c *Cluster) ReadGate(ctx context.Context, t spec.Target) (*engine.GateNotice, string, error) {
	name := LeaseName(t.Service)
	cur, err := c.cs.CoordinationV1().Leases(t.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, "", fmt.Errorf("service %s: %w: no release holds its lock (lease %s/%s not found)", t, ErrNoGate, t.Namespace, name)
	}
	if err != nil {
		return nil, "", fmt.Errorf("read release lock lease %s/%s: %w", t.Namespace, name, err)
	}
	holder := deref(cur.Spec.HolderIdentity)
	raw := cur.Annotations[annGate]
	if raw == "" || holder == "" || expired(cur, c.now()) {
		return nil, holder, fmt.Errorf("service %s: %w (lease %s/%s holder %q)", t, ErrNoGate, t.Namespace, name, holder)
	}
	var n engine.GateNotice
	if err := json.Unmarshal([]byte(raw), &n); err != nil {
		return nil, holder, fmt.Errorf("lease %s/%s: annotation %s: %w", t.Namespace, name, annGate, err)
	}
	return &n, holder, nil
}

// DecideGate writes d on t's release lock and waits, until ctx ends, for
// the holder's answer: nil when the decision was applied.
func (c *Cluster) DecideGate(ctx context.Context, t spec.Target, d engine.RemoteDecision) error {
	leases := c.cs.CoordinationV1().Leases(t.Namespace)
	name := LeaseName(t.Service)
	if d.ID == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		d.ID = hex.EncodeToString(b)
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	tick := time.NewTicker(gatePoll)
	defer tick.Stop()
	written := false
	for {
		cur, err := leases.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("read release lock lease %s/%s: %w", t.Namespace, name, err)
		}
		var a engine.GateAnswer
		switch {
		case written && json.Unmarshal([]byte(cur.Annotations[annAnswer]), &a) == nil && a.ID == d.ID:
			if a.Error != "" {
				return errors.New(a.Error)
			}
			return nil
		case written && !strings.Contains(cur.Annotations[annDecision], `"id":"`+d.ID+`"`):
			return fmt.Errorf("service %s: the gate closed before the run holding its lock read your decision (decided elsewhere, or the run ended)", t)
		case written:
		case cur.Annotations[annGate] == "":
			return fmt.Errorf("service %s: %w", t, ErrNoGate)
		case cur.Annotations[annDecision] == "":
			// Another decision waits for its answer otherwise: this one
			// is written after it, and the gate book tells who was first.
			cur.Annotations[annDecision] = string(raw)
			_, err := leases.Update(ctx, cur, metav1.UpdateOptions{FieldManager: FieldManager})
			switch {
			case err == nil:
				written = true
			case apierrors.IsConflict(err):
			default:
				return fmt.Errorf("write the decision on release lock lease %s/%s: %w", t.Namespace, name, err)
			}
		}
		select {
		case <-ctx.Done():
			if written {
				return fmt.Errorf("decision %s on service %s was written, but the run holding its lock did not answer: %w", d.ID, t, ctx.Err())
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}
