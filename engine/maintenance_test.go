package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
)

// TestMaintenanceDuringARun: after the release, maintenance on points the
// Service at the page and off brings back the color that was live, each
// journaled with who did it and published so views show the live color;
// during the release itself it is refused.
func TestMaintenanceDuringARun(t *testing.T) {
	blueGreen := bgSpec()
	blueGreen.Maintenance, blueGreen.ScaleDownDelay, blueGreen.Approve = "maintenance", spec.Duration(time.Hour), "switch?"
	p := &spec.Pipeline{Metadata: spec.Metadata{Name: "web"}, Stages: []spec.Stage{
		{Name: "release", Budget: spec.Duration(time.Hour), Steps: []spec.Step{{Name: "blue-green", BlueGreen: &blueGreen}}},
	}}
	m := newMemCluster()
	h := newHarness(t, Config{Pipeline: p, Clusters: func(string) (Cluster, error) { return lockingMem{m}, nil }})
	done := h.start()
	h.wait("gate.waiting", func(ev Event) bool { _, ok := ev.(GateWaiting); return ok })
	ctx := context.Background()
	dana := Actor{Name: "dana"}
	if _, err := h.eng.Maintenance(ctx, dana, true); err == nil || !strings.Contains(err.Error(), "in flight") {
		t.Errorf("maintenance during the release: %v, want a refusal", err)
	}
	if err := h.eng.Approve(dana, ""); err != nil {
		t.Fatal(err)
	}
	h.wait("scale-down delay", func(ev Event) bool {
		p, ok := ev.(ReleaseProgress)
		return ok && p.Phase == PhaseScaleDownDelay
	})
	// The release waits out its scale-down delay: still in flight.
	if _, err := h.eng.Maintenance(ctx, dana, true); err == nil {
		t.Error("maintenance during the scale-down delay was not refused")
	}
	if err := h.eng.Abort(dana, "done watching"); err != nil {
		t.Fatal(err)
	}
	<-done

	// A new run on the same cluster, with the release long over.
	q := &spec.Pipeline{Metadata: spec.Metadata{Name: "web"}, Stages: []spec.Stage{
		{Name: "release", Budget: spec.Duration(time.Hour), Steps: []spec.Step{{Name: "blue-green", BlueGreen: &blueGreen}}},
		{Name: "watch", Budget: spec.Duration(time.Hour), Steps: []spec.Step{{Name: "gate", Approve: "ok?"}}},
	}}
	h2 := newHarness(t, Config{Pipeline: q, SkipStages: []string{"release"}, Clusters: func(string) (Cluster, error) { return lockingMem{m}, nil }})
	done2 := h2.start()
	h2.wait("gate.waiting", func(ev Event) bool { _, ok := ev.(GateWaiting); return ok })
	if msg, err := h2.eng.Maintenance(ctx, dana, true); err != nil || m.live != "maintenance" || !strings.Contains(msg, "now serves maintenance (was green)") {
		t.Fatalf("maintenance on: %q, %v, live %s", msg, err, m.live)
	}
	if msg, err := h2.eng.Maintenance(ctx, dana, true); err != nil || !strings.Contains(msg, "already serves the maintenance page") {
		t.Errorf("maintenance on twice: %q, %v", msg, err)
	}
	if msg, err := h2.eng.Maintenance(ctx, dana, false); err != nil || m.live != spec.Green {
		t.Fatalf("maintenance off: %q, %v, live %s; want green back", msg, err, m.live)
	}
	if err := h2.eng.Approve(dana, ""); err != nil {
		t.Fatal(err)
	}
	<-done2
	var got []string
	for _, r := range h2.records() {
		if r.Type == RecMaintenance {
			got = append(got, string(r.From)+">"+string(r.To)+" by "+r.Actor.Name+" "+string(r.Status))
		}
	}
	if want := "green>maintenance by dana succeeded; maintenance>green by dana succeeded"; strings.Join(got, "; ") != want {
		t.Errorf("journal %q, want %q", strings.Join(got, "; "), want)
	}
	live := spec.Color("")
	h2.mu.Lock()
	for _, ev := range h2.events {
		if p, ok := ev.(ReleaseProgress); ok && strings.HasPrefix(p.Message, "maintenance") {
			live = p.Live
		}
	}
	h2.mu.Unlock()
	if live != spec.Green {
		t.Errorf("the last maintenance progress says %q is live, want green", live)
	}
}
