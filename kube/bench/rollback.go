package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/apimachinery/pkg/types"

	"github.com/cutover-sh/cutover/engine"
)

func (b *bench) rollback(ctx context.Context) (*rollbackReport, error) {
	const ns, svcName = "rollback", "web-service"
	if err := b.namespace(ctx, ns); err != nil {
		return nil, err
	}
	if err := b.pair(ctx, ns, "web", int32(b.o.rollbackPods), false); err != nil { //nolint:gosec // checked: 1..5000
		return nil, err
	}
	t := spec.Target{Namespace: ns, Service: svcName}.WithDefaults()
	var switchedAt time.Time
	hooks := engine.ReleaseHooks{
		Actor: engine.Actor{Name: "cutover-bench"}, Clock: engine.RealClock{},
		Switched: func(engine.SwitchRequest) error { switchedAt = time.Now(); return nil },
	}
	var calls, switched, patches []time.Duration
	var requests []int64
	rollback := func(to spec.Color, record bool) error {
		switchedAt = time.Time{}
		n0 := b.requests.Load()
		t0 := time.Now()
		got, err := engine.RunRollback(ctx, b.cutover, t, engine.RollbackOptions{To: to}, hooks)
		took := time.Since(t0)
		if err != nil || got != to || switchedAt.IsZero() {
			return fmt.Errorf("roll back %s to %s: got %s, switched %t: %w", t, to, got, !switchedAt.IsZero(), err)
		}
		if record {
			calls = append(calls, took)
			switched = append(switched, switchedAt.Sub(t0))
			requests = append(requests, b.requests.Load()-n0)
		}
		return nil
	}
	patch := func(to spec.Color, record bool) error {
		body := fmt.Appendf(nil, `{"spec":{"selector":{%q:%q}}}`, t.SelectorKey, to)
		t0 := time.Now()
		svc, err := b.floor.CoreV1().Services(ns).Patch(ctx, svcName, types.MergePatchType, body, metav1.PatchOptions{FieldManager: "cutover-bench"})
		took := time.Since(t0)
		if err != nil {
			return fmt.Errorf("patch service %s/%s to %s: %w", ns, svcName, to, err)
		}
		if got := svc.Spec.Selector[t.SelectorKey]; got != string(to) {
			return fmt.Errorf("patch service %s/%s: it selects %s, want %s", ns, svcName, got, to)
		}
		if record {
			patches = append(patches, took)
		}
		return nil
	}
	// One of each, untimed, to open connections and fill caches.
	if err := rollback(spec.Blue, false); err != nil {
		return nil, err
	}
	if err := patch(spec.Green, false); err != nil {
		return nil, err
	}
	// Every operation flips the Service. The pattern RPPR interleaves
	// the two kinds and gives each both target colors in turn.
	live := spec.Green
	rounds := func() error {
		for i := range 2 * b.o.n {
			to := live.Other()
			var err error
			if i%4 == 0 || i%4 == 3 {
				err = rollback(to, true)
			} else {
				err = patch(to, true)
			}
			if err != nil {
				return err
			}
			live = to
		}
		return nil
	}
	if err := rounds(); err != nil {
		return nil, err
	}
	logf("rollback: RunRollback median %s, patch median %s", ms(summarize(calls).median), ms(summarize(patches).median))
	cold := struct {
		calls, switched, patches []time.Duration
		requests                 []int64
	}{calls, switched, patches, requests}

	// The same again while a WatchPair keeps the pair in its caches, as
	// the console's does: Observe reads the Service and nothing else.
	// First the client's rate limiter (50/s, burst 100) refills: the rounds
	// above spent up to 7 requests each, and a drained bucket would add its
	// 20 ms waits to these.
	calls, switched, patches, requests = nil, nil, nil, nil
	time.Sleep(3 * time.Second)
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	synced := make(chan struct{})
	var once sync.Once
	watchDone := make(chan error, 1)
	go func() {
		watchDone <- b.cutover.WatchPair(wctx, t, func(engine.Observation) { once.Do(func() { close(synced) }) })
	}()
	select {
	case <-synced:
	case err := <-watchDone:
		return nil, fmt.Errorf("watch %s: %w", t, err)
	}
	if err := rounds(); err != nil {
		return nil, err
	}
	stopWatch()
	if err := <-watchDone; err != nil && !errors.Is(err, context.Canceled) {
		return nil, fmt.Errorf("watch %s: %w", t, err)
	}
	logf("rollback, pair watched: RunRollback median %s, patch median %s", ms(summarize(calls).median), ms(summarize(patches).median))

	// Why Observe reads pods from the watch cache: a consistent List right
	// after a write waits for the cache to catch up with etcd. Time both,
	// each right after a write to the Service, as a rollback's reading
	// often comes right after one.
	var consistent, cached []time.Duration
	for range b.o.n {
		for _, rv := range []string{"", "0"} {
			live = live.Other()
			if err := patch(live, false); err != nil {
				return nil, err
			}
			t0 := time.Now()
			if _, err := b.floor.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web,color=blue", ResourceVersion: rv}); err != nil {
				return nil, fmt.Errorf("list pods in %s: %w", ns, err)
			}
			if rv == "" {
				consistent = append(consistent, time.Since(t0))
			} else {
				cached = append(cached, time.Since(t0))
			}
		}
	}
	r := &rollbackReport{
		PodsPerColor: b.o.rollbackPods,
		Switched:     summarize(cold.switched), Returned: summarize(cold.calls), Patch: summarize(cold.patches),
		Requests:     slices.Max(cold.requests),
		WarmSwitched: summarize(switched), WarmReturned: summarize(calls), WarmPatch: summarize(patches),
		WarmRequests: slices.Max(requests),
		ListAfter:    summarize(consistent),
		ListCached:   summarize(cached),
	}
	if m := slices.Min(cold.requests); m != r.Requests {
		r.RequestsNote = fmt.Sprintf("%d to %d", m, r.Requests)
	}
	if m := slices.Min(requests); m != r.WarmRequests {
		r.WarmRequestsNote = fmt.Sprintf("%d to %d", m, r.WarmRequests)
	}
	r.ReturnedOverPatch = ratio(r.Returned, r.Patch)
	r.WarmOverPatch = ratio(r.WarmReturned, r.WarmPatch)
	return r, nil
}

type rollbackReport struct {
	PodsPerColor      int     `json:"podsPerColor"`
	Switched          summary `json:"runRollbackSwitched"`
	Returned          summary `json:"runRollbackReturned"`
	Patch             summary `json:"clientGoPatch"`
	ReturnedOverPatch ratios  `json:"runRollbackOverPatch"`
	Requests          int64   `json:"requestsPerRunRollback"`
	RequestsNote      string  `json:"requestsRange,omitempty"`
	// Warm*: the same with a WatchPair keeping the pair in its caches.
	WarmSwitched     summary `json:"watchedRunRollbackSwitched"`
	WarmReturned     summary `json:"watchedRunRollbackReturned"`
	WarmPatch        summary `json:"watchedClientGoPatch"`
	WarmOverPatch    ratios  `json:"watchedRunRollbackOverPatch"`
	WarmRequests     int64   `json:"watchedRequestsPerRunRollback"`
	WarmRequestsNote string  `json:"watchedRequestsRange,omitempty"`
	ListAfter        summary `json:"podListAfterWrite"`
	ListCached       summary `json:"podListAfterWriteResourceVersion0"`
}
