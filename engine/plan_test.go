package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
)

// TestPlanRollback walks the colors a rollback can find, and checks that
// the plan says what NextRollback, the decision a rollback then takes,
// does.
func TestPlanRollback(t *testing.T) {
	partly := color("web-blue", "web:v1", 3)
	partly.Ready, partly.Available = 2, 2
	starting := color("web-blue", "web:v1", 3)
	starting.Ready, starting.Available = 0, 0
	tests := []struct {
		name   string
		blue   *ColorState
		effect Effect
		says   string
		first  ActionKind
	}{
		{"warm", color("web-blue", "web:v1", 3), EffectSwitch, "Switch prod/web-service from green back to blue (blue: 3/3 Ready, warm).", ActSwitch},
		{"partly Ready", partly, EffectSwitch, "Switch prod/web-service from green back to blue now (blue: 2/3 Ready): traffic lands on its 2 Ready pods", ActSwitch},
		{"cold", color("web-blue", "web:v1", 0), EffectScaleUp, "blue is cold (0/0 Ready): it is scaled up to 3 first, and traffic moves once its pods are Ready.", ActScale},
		{"pods not Ready yet", starting, EffectWait, "once one of its pods is Ready (blue: 0/3 Ready now)", ActWaitRollout},
		{"missing", &ColorState{Deployment: "web-blue"}, EffectRefused, "Cannot rollback prod/web-service to blue: deployment web-blue (blue) not found.", ActNone},
	}
	for _, tc := range tests {
		obs := obsOf(spec.Green, "8", tc.blue, color("web-green", "web:v2", 3))
		p := PlanRollback("prod/web-service", obs, spec.Blue, 3)
		if p.Effect != tc.effect || !strings.Contains(p.String(), tc.says) {
			t.Errorf("%s: got %s %q, want %s saying %q", tc.name, p.Effect, p, tc.effect, tc.says)
		}
		act, _ := NextRollback(obs, spec.Blue, 3, false)
		if act.Kind != tc.first {
			t.Errorf("%s: NextRollback takes %q, the plan expects %q", tc.name, act.Kind, tc.first)
		}
	}
	obs := obsOf(spec.Blue, "8", color("web-blue", "web:v1", 3), color("web-green", "web:v2", 3))
	if p := PlanRollback("prod/web-service", obs, spec.Blue, 3); p.Effect != EffectNothing {
		t.Errorf("live already: got %s, want %s", p.Effect, EffectNothing)
	}
}

func TestPlanReleaseRollback(t *testing.T) {
	obs := obsOf(spec.Blue, "8", color("web-blue", "web:v1", 3), color("web-green", "web:v2", 3))
	before := ReleaseProgress{Service: "prod/web-service", Phase: PhaseAwaitingApproval, From: spec.Blue, To: spec.Green, Observed: &obs}
	if p := PlanReleaseRollback(before); p.Effect != EffectStop || !strings.Contains(p.String(), "before the switch: the Service stays on blue, and green is scaled down") {
		t.Errorf("before the switch: got %s %q", p.Effect, p)
	}
	after := obsOf(spec.Green, "9", color("web-blue", "web:v1", 0), color("web-green", "web:v2", 3))
	r := ReleaseProgress{Service: "prod/web-service", Phase: PhasePostAnalysis, From: spec.Blue, To: spec.Green, Observed: &after, RolloutTook: 50 * time.Second}
	if p := PlanReleaseRollback(r); p.Effect != EffectScaleUp || p.ScaleTo != 3 || !strings.Contains(p.String(), "about 50s, as long as green's rollout took") {
		t.Errorf("after the switch, blue cold: got %s to %d %q", p.Effect, p.ScaleTo, p)
	}
}

func TestPlanPromote(t *testing.T) {
	partly := color("web-green", "web:v2", 3)
	partly.Ready = 2
	for _, tc := range []struct {
		name   string
		green  *ColorState
		effect Effect
	}{
		{"Ready", color("web-green", "web:v2", 3), EffectSwitch},
		{"partly Ready", partly, EffectRefused},
		{"scaled down", color("web-green", "web:v2", 0), EffectRefused},
	} {
		obs := obsOf(spec.Blue, "8", color("web-blue", "web:v1", 3), tc.green)
		if p := PlanPromote("prod/web-service", obs, spec.Green); p.Effect != tc.effect {
			t.Errorf("%s: got %s %q, want %s", tc.name, p.Effect, p, tc.effect)
		}
	}
}

// TestPlanReleasePromote: approving a release at its gate states both
// colors, their images and readiness, and how long the old one stays up.
func TestPlanReleasePromote(t *testing.T) {
	obs := obsOf(spec.Blue, "8", color("web-blue", "web:v1", 3), color("web-green", "web:v2", 3))
	r := ReleaseProgress{Service: "prod/web-service", Phase: PhaseAwaitingApproval, From: spec.Blue, To: spec.Green, Observed: &obs}
	for _, tc := range []struct {
		delay time.Duration
		want  string
	}{
		{10 * time.Minute, "Switch prod/web-service from blue (web:v1, 3/3 Ready) to green (web:v2, 3/3 Ready). Blue stays warm for 10m after the switch."},
		{90 * time.Second, "Blue stays warm for 1m30s after the switch."},
		{0, "Blue is scaled down after the switch (no scaleDownDelay)."},
	} {
		r.ScaleDownDelay = tc.delay
		if p := PlanReleasePromote(r); p.Effect != EffectSwitch || !strings.Contains(p.String(), tc.want) {
			t.Errorf("scaleDownDelay %s: got %s %q, want %q", tc.delay, p.Effect, p, tc.want)
		}
	}
	partly := color("web-green", "web:v2", 3)
	partly.Ready = 2
	notReady := obsOf(spec.Blue, "8", color("web-blue", "web:v1", 3), partly)
	r.Observed = &notReady
	if p := PlanReleasePromote(r); p.Effect != EffectRefused || !strings.Contains(p.String(), "2/3 Ready pods") {
		t.Errorf("green 2/3 Ready: got %s %q, want refused, naming the Ready pods", p.Effect, p)
	}
}

// TestExplainAbortNamesTheRunsGrace: the abort confirmation states the
// grace the run's steps really get, from the run's own events.
func TestExplainAbortNamesTheRunsGrace(t *testing.T) {
	h := newHarness(t, Config{Pipeline: testPipeline(), KillGrace: 1500 * time.Millisecond})
	final := h.run()
	if got, want := ExplainAbort(final), "SIGTERM, then SIGKILL after 1.5s"; !strings.Contains(got, want) {
		t.Errorf("abort text %q, want it to say %q", got, want)
	}
	if got := ExplainAbort(Snapshot{}); !strings.Contains(got, "SIGKILL after a grace period") {
		t.Errorf("abort text with no run: %q", got)
	}
}
