package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/cutover-sh/cutover/engine/spec"
)

// TestPromoteSkipsWhatIsLeft: the state machine, asked to promote, goes
// past an unfinished pre-promotion analysis and an unanswered gate, but
// never past a preview that is not Ready.
func TestPromoteSkipsWhatIsLeft(t *testing.T) {
	blueGreen := bgSpec()
	blueGreen.Approve = "switch?"
	blueGreen.PrePromotion = &spec.AnalysisSpec{Count: 1, Metrics: []spec.AnalysisMetric{{Name: "errors", Query: "e", SuccessCondition: "< 0.05"}}}
	ready := Observation{Service: ServiceState{Live: spec.Blue, Version: "5"}, Colors: map[spec.Color]*ColorState{
		spec.Blue: color("web-blue", "web:v1", 3), spec.Green: color("web-green", "web:v2", 3),
	}}
	for _, phase := range []Phase{PhasePreAnalysis, PhaseAwaitingApproval} {
		r := Release{Phase: phase, From: spec.Blue, To: spec.Green, Version: "5", Promote: true}
		r, act := NextBlueGreen(blueGreen, r, ready, t0)
		if r.Phase != PhaseSwitching || act.Kind != ActSwitch {
			t.Errorf("promote in %s: %s, %s; want a switch", phase, r.Phase, act.Kind)
		}
	}
	notReady := ready
	notReady.Colors = map[spec.Color]*ColorState{spec.Blue: color("web-blue", "web:v1", 3), spec.Green: color("web-green", "web:v2", 3)}
	notReady.Colors[spec.Green].Ready = 1
	r, act := NextBlueGreen(blueGreen, Release{Phase: PhaseDeploying, From: spec.Blue, To: spec.Green, Version: "5", Promote: true}, notReady, t0)
	if act.Kind != ActWaitRollout {
		t.Errorf("promote with 1/3 Ready: %s, %s; want to wait for the rollout", r.Phase, act.Kind)
	}
}

// TestPromoteInterruptsTheAnalysis: a promote request during a running
// pre-promotion analysis ends it and the release switches.
func TestPromoteInterruptsTheAnalysis(t *testing.T) {
	m := newMemCluster()
	blueGreen := bgSpec()
	blueGreen.PrePromotion = &spec.AnalysisSpec{Count: 1, Metrics: []spec.AnalysisMetric{{Name: "errors", Query: "e", SuccessCondition: "< 0.05"}}}
	blueGreen.ScaleDownDelay = 0
	requests := make(chan Request, 1)
	h := execHooks()
	h.Requests = requests
	interrupted := false
	h.Analyze = func(ctx context.Context, which string, _ Release) (bool, string, error) {
		if which != PrePromotion {
			return true, "", nil
		}
		requests <- RequestPromote
		<-ctx.Done() // an analysis that would otherwise run for ever
		interrupted = true
		return false, "", ctx.Err()
	}
	r, err := RunBlueGreen(context.Background(), m, blueGreen, h)
	if err != nil || r.Phase != PhaseDone || m.live != spec.Green || !interrupted || r.PreAnalyzed {
		t.Errorf("got %s (%v), %s live, analysis interrupted %v, pre-analyzed %v; want done on green without the analysis passing",
			r.Phase, err, m.live, interrupted, r.PreAnalyzed)
	}
}

func TestPromoteWithoutARelease(t *testing.T) {
	h := newHarness(t, Config{Pipeline: testPipeline()})
	if err := h.eng.Promote(Actor{Name: "x"}, "", "now"); !errors.Is(err, ErrNoRelease) {
		t.Errorf("promote with no release running: %v, want ErrNoRelease", err)
	}
}
