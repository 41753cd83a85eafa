package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
)

// TestReleaseProgressCarriesBothColors: a view that shows blue and green
// side by side gets both from each progress event, and sees the old color
// scaled down after the switch even though the phase did not change.
func TestReleaseProgressCarriesBothColors(t *testing.T) {
	blueGreen := bgSpec()
	blueGreen.ScaleDownDelay = spec.Duration(10 * time.Millisecond)
	p := &spec.Pipeline{
		Metadata: spec.Metadata{Name: "web"},
		Stages:   []spec.Stage{{Name: "release", Budget: spec.Duration(time.Hour), Steps: []spec.Step{{Name: "blue-green", BlueGreen: &blueGreen}}}},
	}
	m := newMemCluster()
	h := newHarness(t, Config{Pipeline: p, Clusters: func(string) (Cluster, error) { return lockingMem{m}, nil }})
	if final := h.run(); final.Status != StatusSucceeded {
		t.Fatalf("run %s", final.Status)
	}
	h.mu.Lock()
	events := append([]Event(nil), h.events...)
	h.mu.Unlock()
	var first, last *Observation
	var took time.Duration
	for _, ev := range events {
		if p, ok := ev.(ReleaseProgress); ok {
			if p.Observed == nil {
				t.Fatalf("progress %s/%s without an observation", p.Phase, p.Action)
			}
			if first == nil {
				first = p.Observed
			}
			last = p.Observed
			took = p.RolloutTook
		}
	}
	if first == nil {
		t.Fatal("no release progress")
	}
	if first.Service.Live != spec.Blue || first.Color(spec.Blue).Replicas == 0 {
		t.Errorf("first observation: %s live, blue at %d replicas; want blue live and running", first.Service.Live, first.Color(spec.Blue).Replicas)
	}
	if took <= 0 {
		t.Error("the release never reported how long the preview's rollout took")
	}
	if last.Service.Live != spec.Green || last.Color(spec.Green).Ready != blueGreen.Replicas || last.Color(spec.Blue).Replicas != 0 {
		t.Errorf("last observation: %s live, green %d ready, blue at %d replicas; want green live with %d ready and blue scaled to 0",
			last.Service.Live, last.Color(spec.Green).Ready, last.Color(spec.Blue).Replicas, blueGreen.Replicas)
	}
}

// gatedRelease is a pipeline of one blue-green step whose gate asks
// "Switch?", with no scale-down delay.
func gatedRelease() *spec.Pipeline {
	blueGreen := bgSpec()
	blueGreen.Approve = "Switch?"
	blueGreen.ScaleDownDelay = 0
	return &spec.Pipeline{
		Metadata: spec.Metadata{Name: "web"},
		Stages:   []spec.Stage{{Name: "release", Budget: spec.Duration(time.Hour), Steps: []spec.Step{{Name: "blue-green", BlueGreen: &blueGreen}}}},
	}
}

// TestTheGateWatchesThePreview: while a blue-green gate waits, the engine
// keeps reading the cluster, so that a preview pod that stops being Ready
// reaches the views, and an approval is refused until the preview is fully
// Ready again; then it goes through.
func TestTheGateWatchesThePreview(t *testing.T) {
	p := gatedRelease()
	m := newMemCluster()
	h := newHarness(t, Config{Pipeline: p, Clusters: func(string) (Cluster, error) { return lockingMem{m}, nil }})
	done := h.start()
	h.wait("gate.waiting", func(ev Event) bool { _, ok := ev.(GateWaiting); return ok })
	greenReady := func(n int32) func(Event) bool {
		return func(ev Event) bool {
			pr, ok := ev.(ReleaseProgress)
			return ok && pr.Phase == PhaseAwaitingApproval && pr.Observed != nil && pr.Observed.Color(spec.Green).Ready == n
		}
	}
	// setReady changes green's Ready pods and waits until a progress event
	// published after the change shows it.
	setReady := func(n int32) {
		h.mu.Lock()
		seen := len(h.events)
		h.mu.Unlock()
		m.mu.Lock()
		m.colors[spec.Green].Ready = n
		m.mu.Unlock()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			h.mu.Lock()
			later := slices.ContainsFunc(h.events[seen:], greenReady(n))
			h.mu.Unlock()
			if later {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no release.progress showing green %d/3 Ready within 30s of the change", n)
			}
		}
	}

	setReady(1)
	err := h.eng.Approve(Actor{Name: "alice"}, "")
	if err == nil || !strings.Contains(err.Error(), "approval refused") || !strings.Contains(err.Error(), "1/3 Ready") {
		t.Fatalf("approve with green 1/3 Ready: %v, want it refused, naming the Ready pods", err)
	}
	if got := h.eng.WaitingGates(); len(got) != 1 {
		t.Fatalf("after the refusal the gates waiting are %v, want the gate still waiting", got)
	}

	setReady(3)
	if err := h.eng.Approve(Actor{Name: "alice"}, ""); err != nil {
		t.Fatalf("approve with green 3/3 Ready: %v", err)
	}
	if final := <-done; final.Status != StatusSucceeded || m.live != spec.Green {
		t.Fatalf("run %s with %s live, want succeeded on green", final.Status, m.live)
	}
}

// publishingMem is a memCluster whose release lock publishes gates, and
// records each notice it is given; its first publish fails.
type publishingMem struct {
	*memCluster
	lock *recordingPublisher
}

func (p publishingMem) Lock(context.Context, spec.Target, string, string) (ReleaseLock, error) {
	return p.lock, nil
}

type recordingPublisher struct {
	freeLock
	mu       sync.Mutex
	tries    int
	notices  []*GateNotice
	decision chan RemoteDecision
}

func (p *recordingPublisher) PublishGate(_ context.Context, n *GateNotice) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tries++
	if p.tries == 1 {
		return errors.New("the API server is away")
	}
	p.notices = append(p.notices, n)
	return nil
}

func (p *recordingPublisher) Decisions() <-chan RemoteDecision { return p.decision }

func (p *recordingPublisher) Answer(context.Context, GateAnswer) error { return nil }

func (p *recordingPublisher) published() []*GateNotice {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.notices)
}

// TestThePublishedGateFollowsItsDiff: a gate whose first publish fails is
// published again; then it is published once more only when what it
// would switch to changes, however long it waits, since every observation
// with the same diff leaves it be.
func TestThePublishedGateFollowsItsDiff(t *testing.T) {
	p := gatedRelease()
	m := newMemCluster()
	pub := &recordingPublisher{decision: make(chan RemoteDecision)}
	h := newHarness(t, Config{Pipeline: p, Clusters: func(string) (Cluster, error) { return publishingMem{m, pub}, nil }})
	done := h.start()
	h.wait("gate.waiting", func(ev Event) bool { _, ok := ev.(GateWaiting); return ok })
	waitFor := func(n int) []*GateNotice {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if got := pub.published(); len(got) >= n {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d notices published within 30s, want %d", len(pub.published()), n)
			}
		}
	}
	first := waitFor(1)[0]
	// The gate reads the cluster ten times a second meanwhile: each
	// reading is a new observation, with the same diff.
	time.Sleep(time.Second)
	if got := pub.published(); len(got) != 1 {
		t.Fatalf("%d notices published while nothing changed, want 1", len(got))
	}
	m.mu.Lock()
	m.colors[spec.Green].Template = map[string]string{"container/web/image": "web:v3"}
	m.mu.Unlock()
	second := waitFor(2)[1]
	if diffHash(second.Diff) == diffHash(first.Diff) || !strings.Contains(fmt.Sprint(second.Diff), "v1 → v3") {
		t.Fatalf("after green's template changed the notice's diff is %+v, was %+v; want the new one, v1 → v3", second.Diff, first.Diff)
	}
	if err := h.eng.Approve(Actor{Name: "alice"}, ""); err != nil {
		t.Fatal(err)
	}
	if final := <-done; final.Status != StatusSucceeded {
		t.Fatalf("run %s", final.Status)
	}
}
