package engine

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
)

// TestSkipStageInAnEmergency: during an emergency run, a stage that has
// not started can be skipped; one that has, or one that does not exist,
// cannot; the skip is journaled with who asked; outside an emergency, or
// after the run, SkipStage refuses.
func TestSkipStageInAnEmergency(t *testing.T) {
	p := &spec.Pipeline{Metadata: spec.Metadata{Name: "p"}, Stages: []spec.Stage{
		{Name: "deploy", Budget: spec.Duration(time.Minute), Steps: []spec.Step{{Name: "gate", Approve: "go?"}}},
		{Name: "monitoring", Budget: spec.Duration(time.Minute), Needs: []string{"deploy"}, Steps: []spec.Step{{Name: "slo", Run: "exit 1"}}},
		{Name: "notify", Budget: spec.Duration(time.Minute), Needs: []string{"monitoring"}, Steps: []spec.Step{{Name: "say", Run: "true"}}},
	}}
	h := newHarness(t, Config{Pipeline: p, Emergency: true, Reason: "sev1: checkout down"})
	done := h.start()
	h.wait("gate.waiting", func(ev Event) bool { _, ok := ev.(GateWaiting); return ok })
	carol := Actor{Name: "carol"}
	if err := h.eng.SkipStage(carol, "monitoring", "SLO checks after the fire"); err != nil {
		t.Fatalf("skip a stage not yet started: %v", err)
	}
	for stage, want := range map[string]string{"deploy": "already running", "nope": `no stage "nope"`, "monitoring": "already skipped"} {
		if err := h.eng.SkipStage(carol, stage, ""); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("skip %s: %v, want %q", stage, err, want)
		}
	}
	if err := h.eng.Approve(carol, ""); err != nil {
		t.Fatal(err)
	}
	final := <-done
	mon, _ := final.Stage("monitoring")
	note, _ := final.Stage("notify")
	if final.Status != StatusSucceeded || mon.Status != StatusSkipped || note.Status != StatusSucceeded {
		t.Errorf("run %s, monitoring %s, notify %s; want succeeded with monitoring skipped and notify run", final.Status, mon.Status, note.Status)
	}
	var rec *Record
	for _, r := range h.records() {
		if r.Type == RecStageSkipped && r.Stage == "monitoring" {
			rec = &r
		}
	}
	if rec == nil || rec.Actor == nil || rec.Actor.Name != "carol" || !strings.Contains(rec.Reason, "SLO checks after the fire") {
		t.Errorf("journal: %+v, want monitoring skipped by carol with her reason", rec)
	}
	if err := h.eng.SkipStage(carol, "notify", ""); !errors.Is(err, ErrNotRunning) {
		t.Errorf("skip after the run: %v, want ErrNotRunning", err)
	}

	calm := newHarness(t, Config{Pipeline: testPipeline()})
	if err := calm.eng.SkipStage(carol, "b", ""); !errors.Is(err, ErrNotEmergency) {
		t.Errorf("skip outside an emergency: %v, want ErrNotEmergency", err)
	}
}
