package engine

import (
	"testing"
	"time"
)

// TestReleaseProgressCarriesBothColors: a view that shows blue and green
// side by side gets both from each progress event, and sees the old color
// scaled down after the switch even though the phase did not change.
func TestReleaseProgressCarriesBothColors(t *testing.T) {
	blueGreen := bgSpec()
	blueGreen.ScaleDownDelay = Duration(10 * time.Millisecond)
	p := &Pipeline{
		Metadata: Metadata{Name: "web"},
		Stages:   []Stage{{Name: "release", Budget: Duration(time.Hour), Steps: []Step{{Name: "blue-green", BlueGreen: &blueGreen}}}},
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
	if first.Service.Live != Blue || first.Color(Blue).Replicas == 0 {
		t.Errorf("first observation: %s live, blue at %d replicas; want blue live and running", first.Service.Live, first.Color(Blue).Replicas)
	}
	if took <= 0 {
		t.Error("the release never reported how long the preview's rollout took")
	}
	if last.Service.Live != Green || last.Color(Green).Ready != blueGreen.Replicas || last.Color(Blue).Replicas != 0 {
		t.Errorf("last observation: %s live, green %d ready, blue at %d replicas; want green live with %d ready and blue scaled to 0",
			last.Service.Live, last.Color(Green).Ready, last.Color(Blue).Replicas, blueGreen.Replicas)
	}
}
