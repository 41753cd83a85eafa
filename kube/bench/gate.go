package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/engine/spec"
	"github.com/cutover-sh/cutover/testenv"
)

// gateReport is how soon a change of a pod reaches the engine while a
// blue-green gate waits: through WatchPair, as the engine watches now, and
// through Observe every 100ms, as it read the cluster before (the
// baseline), both running at once on the same pair.
type gateReport struct {
	Pods      int     `json:"pods"`
	Watch     summary `json:"watchPair"`
	Poll      summary `json:"observeEvery100ms"`
	WatchPoll ratios  `json:"watchOverPoll"`
}

// gateOne is one observer: the time each pod was first seen with the
// readiness it waits for.
type gateOne struct {
	mu   sync.Mutex
	want map[string]bool // pod -> the readiness looked for
	seen map[string]time.Time
}

func (g *gateOne) look(obs engine.Observation) {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, p := range obs.Color(spec.Green).Pods {
		if want, ok := g.want[p.Name]; ok && p.Ready == want {
			if _, done := g.seen[p.Name]; !done {
				g.seen[p.Name] = now
			}
		}
	}
}

func (g *gateOne) expect(pod string, ready bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.want = map[string]bool{pod: ready}
	g.seen = map[string]time.Time{}
}

func (g *gateOne) seenAt(pod string) (time.Time, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.seen[pod]
	return t, ok
}

func (b *bench) gate(ctx context.Context) (*gateReport, error) {
	const ns, app = "bench-gate", "gate"
	if err := b.namespace(ctx, ns); err != nil {
		return nil, err
	}
	per := int32(b.o.pods / 2) //nolint:gosec // a flag, far below 2^31
	if err := b.pair(ctx, ns, app, per, false); err != nil {
		return nil, err
	}
	t := spec.Target{Namespace: ns, Service: app + "-service"}.WithDefaults()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watch, poll := &gateOne{}, &gateOne{}
	watch.expect("", false)
	poll.expect("", false)
	watchErr := make(chan error, 1)
	go func() { watchErr <- b.cutover.WatchPair(ctx, t, watch.look) }()
	go func() {
		for ctx.Err() == nil {
			if obs, err := b.cutover.Observe(ctx, t); err == nil {
				poll.look(obs)
			}
			_ = sleep(ctx, 100*time.Millisecond)
		}
	}()
	pods, err := b.livePods(ctx, ns, fmt.Sprintf("app=%s,color=green", app))
	if err != nil {
		return nil, err
	}
	r := &gateReport{Pods: 2 * int(per)}
	var fromWatch, fromPoll []time.Duration
	for i := range b.o.n * 2 {
		pod := pods[i%len(pods)].Name
		ready := i%2 == 1 // unready, then Ready again
		watch.expect(pod, ready)
		poll.expect(pod, ready)
		start := time.Now()
		if err := testenv.SetPodReady(ctx, b.admin, ns, pod, ready); err != nil {
			return nil, err
		}
		err := waitFor(ctx, 30*time.Second, 5*time.Millisecond, fmt.Sprintf("both observers to see pod %s Ready=%v", pod, ready), func(context.Context) (bool, error) {
			select {
			case err := <-watchErr:
				return false, fmt.Errorf("WatchPair ended: %w", err)
			default:
			}
			_, w := watch.seenAt(pod)
			_, p := poll.seenAt(pod)
			return w && p, nil
		})
		if err != nil {
			return nil, err
		}
		if ready {
			continue // the measure is a pod going unready; this resets it
		}
		w, _ := watch.seenAt(pod)
		p, _ := poll.seenAt(pod)
		fromWatch, fromPoll = append(fromWatch, w.Sub(start)), append(fromPoll, p.Sub(start))
	}
	r.Watch, r.Poll = summarize(fromWatch), summarize(fromPoll)
	r.WatchPoll = ratio(r.Watch, r.Poll)
	_ = b.admin.CoreV1().Namespaces().Delete(context.WithoutCancel(ctx), ns, metav1.DeleteOptions{})
	return r, nil
}
