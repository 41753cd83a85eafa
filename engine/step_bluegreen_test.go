package engine

import (
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
