package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
)

var t0 = time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)

func bgSpec() spec.BlueGreenSpec {
	return spec.BlueGreenSpec{
		Namespace: "prod", Service: "web-service", Container: "web", Image: "web:v2",
		Replicas: 3, ScaleDownDelay: spec.Duration(5 * time.Minute),
	}
}

// color builds a settled Deployment state: replicas pods, all ready.
func color(name, image string, replicas int32) *ColorState {
	return &ColorState{
		Deployment: name, Exists: true, Images: map[string]string{"web": image}, Template: map[string]string{"container/web/image": image},
		Replicas: replicas, Current: replicas, Updated: replicas, Ready: replicas, Available: replicas,
		Generation: 2, ObservedGeneration: 2,
	}
}

func obsOf(live spec.Color, version string, blue, green *ColorState) Observation {
	return Observation{Service: ServiceState{Live: live, Version: version}, Colors: map[spec.Color]*ColorState{spec.Blue: blue, spec.Green: green}}
}

func TestNextBlueGreen(t *testing.T) {
	rolling := color("web-green", "web:v2", 3)
	rolling.Ready, rolling.Available, rolling.Updated = 1, 1, 3
	stale := color("web-green", "web:v2", 3)
	stale.Generation = 3
	deadline := color("web-green", "web:v2", 3)
	deadline.Ready, deadline.Available, deadline.DeadlineExceeded = 0, 0, true
	deadline.Pods = []PodState{{Name: "web-green-1", Phase: "Pending", Reason: "Unschedulable"}}
	switched := obsOf(spec.Green, "8", color("web-blue", "web:v1", 3), color("web-green", "web:v2", 3))
	switched.Service.Release = ReleaseMark{Release: "web:v2", Previous: spec.Blue, SwitchedAt: t0}
	switchedCold := obsOf(spec.Green, "8", color("web-blue", "web:v1", 0), color("web-green", "web:v2", 3))
	switchedCold.Service.Release = switched.Service.Release
	maintenance := obsOf("maintenance", "5", color("web-blue", "web:v1", 3), color("web-green", "web:v1", 0))
	noGreen := obsOf(spec.Blue, "5", color("web-blue", "web:v1", 3), &ColorState{Deployment: "web-green"})
	crashing := obsOf(spec.Green, "8", color("web-blue", "web:v1", 3), color("web-green", "web:v2", 3))
	crashing.Colors[spec.Green].Ready, crashing.Colors[spec.Green].Available = 1, 1
	crashing.Colors[spec.Green].Pods = []PodState{{Name: "web-green-1", Ready: true}, {Name: "web-green-2", Phase: "Running", Reason: "CrashLoopBackOff"}}
	crashing.Service.Release = switched.Service.Release
	oneReady := color("web-blue", "web:v1", 3)
	oneReady.Ready, oneReady.Available = 1, 1
	blueGreen := bgSpec()
	analysed := bgSpec()
	slo := &spec.AnalysisSpec{Count: 1, Metrics: []spec.AnalysisMetric{{Name: "errors", Query: "e", SuccessCondition: "< 0.05"}}}
	analysed.PrePromotion, analysed.PostPromotion = slo, slo
	gated := bgSpec()
	gated.Approve = "switch?"

	tests := []struct {
		name      string
		spec      spec.BlueGreenSpec
		r         Release
		obs       Observation
		now       time.Time
		phase     Phase
		act       Action
		reasonHas string
	}{
		{
			name: "start deploys the color that is not live", spec: blueGreen,
			obs:   obsOf(spec.Blue, "5", color("web-blue", "web:v1", 3), color("web-green", "web:v1", 0)),
			phase: PhaseDeploying, act: Action{Kind: ActDeploy, Color: spec.Green, Container: "web", Image: "web:v2", Replicas: 3},
		},
		{
			name: "start from green deploys blue", spec: blueGreen,
			obs:   obsOf(spec.Green, "5", color("web-blue", "web:v0", 0), color("web-green", "web:v1", 3)),
			phase: PhaseDeploying, act: Action{Kind: ActDeploy, Color: spec.Blue, Container: "web", Image: "web:v2", Replicas: 3},
		},
		{
			name: "a selector that is not a color fails", spec: blueGreen, obs: maintenance,
			phase: PhaseFailed, reasonHas: `selects color="maintenance"`,
		},
		{
			name: "a missing deployment fails naming it", spec: blueGreen, obs: noGreen,
			phase: PhaseFailed, reasonHas: "deployment prod/web-green (green) not found",
		},
		{
			name: "the image already live does nothing", spec: blueGreen,
			obs:   obsOf(spec.Blue, "5", color("web-blue", "web:v2", 3), color("web-green", "web:v1", 0)),
			phase: PhaseDone, reasonHas: "already serves",
		},
		{
			name: "a restart after the switch resumes the scale-down delay", spec: blueGreen, obs: switched, now: t0.Add(time.Minute),
			phase: PhaseScaleDownDelay, act: Action{Kind: ActWaitUntil, Until: t0.Add(5 * time.Minute)},
		},
		{
			name: "preview rolling out is waited for", spec: blueGreen,
			r:     Release{Phase: PhaseDeploying, From: spec.Blue, To: spec.Green, Version: "5"},
			obs:   obsOf(spec.Blue, "5", color("web-blue", "web:v1", 3), rolling),
			phase: PhaseDeploying, act: Action{Kind: ActWaitRollout, Color: spec.Green},
		},
		{
			name: "a spec change not yet observed is waited for", spec: blueGreen,
			r:     Release{Phase: PhaseDeploying, From: spec.Blue, To: spec.Green, Version: "5"},
			obs:   obsOf(spec.Blue, "5", color("web-blue", "web:v1", 3), stale),
			phase: PhaseDeploying, act: Action{Kind: ActWaitRollout, Color: spec.Green},
		},
		{
			name: "a preview past its deadline fails and names the pods", spec: blueGreen,
			r:     Release{Phase: PhaseDeploying, From: spec.Blue, To: spec.Green, Version: "5"},
			obs:   obsOf(spec.Blue, "5", color("web-blue", "web:v1", 3), deadline),
			phase: PhaseFailed, reasonHas: "web-green-1 (Unschedulable)",
		},
		{
			name: "a ready preview is switched to, requiring every replica ready", spec: blueGreen,
			r:     Release{Phase: PhaseDeploying, From: spec.Blue, To: spec.Green, Version: "5"},
			obs:   obsOf(spec.Blue, "5", color("web-blue", "web:v1", 3), color("web-green", "web:v2", 3)),
			phase: PhaseSwitching, act: Action{Kind: ActSwitch, Color: spec.Green, Image: "web:v2", MinReady: 3},
		},
		{
			name: "a gate waits for approval before the switch", spec: gated,
			r:     Release{Phase: PhaseDeploying, From: spec.Blue, To: spec.Green, Version: "5"},
			obs:   obsOf(spec.Blue, "5", color("web-blue", "web:v1", 3), color("web-green", "web:v2", 3)),
			phase: PhaseAwaitingApproval, act: Action{Kind: ActApprove},
		},
		{
			name: "an approved gate switches", spec: gated,
			r:     Release{Phase: PhaseAwaitingApproval, From: spec.Blue, To: spec.Green, Version: "5", Approved: true},
			obs:   obsOf(spec.Blue, "5", color("web-blue", "web:v1", 3), color("web-green", "web:v2", 3)),
			phase: PhaseSwitching, act: Action{Kind: ActSwitch, Color: spec.Green, Image: "web:v2", MinReady: 3},
		},
		{
			name: "someone else's edit to the service stops the release", spec: blueGreen,
			r:     Release{Phase: PhaseDeploying, From: spec.Blue, To: spec.Green, Version: "5"},
			obs:   obsOf(spec.Blue, "6", color("web-blue", "web:v1", 3), color("web-green", "web:v2", 3)),
			phase: PhaseFailed, reasonHas: "changed by someone else",
		},
		{
			name: "someone pointing the service at a color with no Ready pod is told of", spec: blueGreen,
			r:     Release{Phase: PhaseScaleDownDelay, From: spec.Blue, To: spec.Green, Version: "8", SwitchedAt: t0},
			obs:   obsOf(spec.Blue, "9", color("web-blue", "web:v1", 0), color("web-green", "web:v2", 3)),
			now:   t0.Add(time.Minute),
			phase: PhaseFailed, reasonHas: "cutover overwrote nothing and stopped. blue has no Ready pod, so the Service serves nothing; green has 3: `cutover rollback web-service -n prod --to green`",
		},
		{
			name: "a landed switch starts the scale-down delay", spec: blueGreen,
			r: Release{Phase: PhaseSwitching, From: spec.Blue, To: spec.Green, Version: "5"}, obs: switched, now: t0,
			phase: PhaseScaleDownDelay, act: Action{Kind: ActWaitUntil, Until: t0.Add(5 * time.Minute)},
		},
		{
			name: "after the delay the old color is scaled down", spec: blueGreen,
			r:   Release{Phase: PhaseScaleDownDelay, From: spec.Blue, To: spec.Green, Version: "8", SwitchedAt: t0},
			obs: switched, now: t0.Add(5 * time.Minute),
			phase: PhaseScaleDownDelay, act: Action{Kind: ActScale, Color: spec.Blue, Replicas: 0},
		},
		{
			name: "someone switching back during the delay stops the scale-down", spec: blueGreen,
			r:     Release{Phase: PhaseScaleDownDelay, From: spec.Blue, To: spec.Green, Version: "8", SwitchedAt: t0},
			obs:   obsOf(spec.Blue, "9", color("web-blue", "web:v1", 3), color("web-green", "web:v2", 3)),
			now:   t0.Add(5 * time.Minute),
			phase: PhaseFailed, reasonHas: "changed by someone else",
		},
		{
			name: "someone pointing the service at the color being scaled down gets its pods back", spec: blueGreen,
			r:     Release{Phase: PhaseScaleDownDelay, From: spec.Blue, To: spec.Green, Version: "8", SwitchedAt: t0, ScaledDown: spec.Blue},
			obs:   obsOf(spec.Blue, "9", color("web-blue", "web:v1", 0), color("web-green", "web:v2", 3)),
			now:   t0.Add(5 * time.Minute),
			phase: PhaseScaleDownDelay, act: Action{Kind: ActScale, Color: spec.Blue, Replicas: 3},
		},
		{
			name: "a color scaled back up for someone's edit is waited for", spec: blueGreen,
			r:     Release{Phase: PhaseScaleDownDelay, From: spec.Blue, To: spec.Green, Version: "8", SwitchedAt: t0, ScaledDown: spec.Blue, Restored: true},
			obs:   obsOf(spec.Blue, "9", oneReady, color("web-green", "web:v2", 3)),
			now:   t0.Add(5 * time.Minute),
			phase: PhaseScaleDownDelay, act: Action{Kind: ActWaitRollout, Color: spec.Blue},
		},
		{
			name: "a color scaled back up for someone's edit, once whole, stops the release saying so", spec: blueGreen,
			r:     Release{Phase: PhaseScaleDownDelay, From: spec.Blue, To: spec.Green, Version: "8", SwitchedAt: t0, ScaledDown: spec.Blue, Restored: true},
			obs:   obsOf(spec.Blue, "9", color("web-blue", "web:v1", 3), color("web-green", "web:v2", 3)),
			now:   t0.Add(5 * time.Minute),
			phase: PhaseFailed, reasonHas: "pointed at blue by someone else (resourceVersion 8, now 9) while cutover scaled blue down; cutover scaled blue back up to 3 and it has 3/3 Ready pods",
		},
		{
			name: "an edit that beat the scale-down leaves the color as it was", spec: blueGreen,
			r:     Release{Phase: PhaseScaleDownDelay, From: spec.Blue, To: spec.Green, Version: "8", SwitchedAt: t0, ScaledDown: spec.Blue},
			obs:   obsOf(spec.Blue, "9", color("web-blue", "web:v1", 3), color("web-green", "web:v2", 3)),
			now:   t0.Add(5 * time.Minute),
			phase: PhaseFailed, reasonHas: "blue kept its pods and it has 3/3 Ready pods",
		},
		{
			name: "someone pointing the service at an aborted preview gets its pods back", spec: blueGreen,
			r:     Release{Phase: PhaseAborting, From: spec.Blue, To: spec.Green, Version: "5", Abort: true, ScaledDown: spec.Green},
			obs:   obsOf(spec.Green, "6", color("web-blue", "web:v1", 3), color("web-green", "web:v2", 0)),
			phase: PhaseAborting, act: Action{Kind: ActScale, Color: spec.Green, Replicas: 3},
		},
		{
			name: "a new color that lost Ready pods during the delay keeps the old one up", spec: blueGreen,
			r:   Release{Phase: PhaseScaleDownDelay, From: spec.Blue, To: spec.Green, Version: "8", SwitchedAt: t0},
			obs: crashing, now: t0.Add(5 * time.Minute),
			phase: PhaseFailed, reasonHas: "not scaling blue down: green has 1/3 Ready pods: pods web-green-2 (CrashLoopBackOff)",
		},
		{
			name: "a preview changed while the gate waited is judged and approved again", spec: gated,
			r:     Release{Phase: PhaseAwaitingApproval, From: spec.Blue, To: spec.Green, Version: "5", Approved: true},
			obs:   obsOf(spec.Blue, "5", color("web-blue", "web:v1", 3), color("web-green", "web:v3", 3)),
			phase: PhaseDeploying, act: Action{Kind: ActDeploy, Color: spec.Green, Container: "web", Image: "web:v2", Replicas: 3},
		},
		{
			name: "someone else's edit during a rollback stops it", spec: blueGreen,
			r:     Release{Phase: PhaseRollingBack, From: spec.Blue, To: spec.Green, Version: "8", Rollback: true},
			obs:   obsOf("maintenance", "9", color("web-blue", "web:v1", 0), color("web-green", "web:v2", 3)),
			phase: PhaseFailed, reasonHas: "changed by someone else",
		},
		{
			name: "a cold rollback, once scaled up, waits for every replica", spec: blueGreen,
			r:     Release{Phase: PhaseRollingBack, From: spec.Blue, To: spec.Green, Version: "8", Rollback: true, ScaledUp: true},
			obs:   obsOf(spec.Green, "8", oneReady, color("web-green", "web:v2", 3)),
			phase: PhaseRollingBack, act: Action{Kind: ActWaitRollout, Color: spec.Blue},
		},
		{
			name: "a ready preview is analysed before the switch", spec: analysed,
			r:     Release{Phase: PhaseDeploying, From: spec.Blue, To: spec.Green, Version: "5"},
			obs:   obsOf(spec.Blue, "5", color("web-blue", "web:v1", 3), color("web-green", "web:v2", 3)),
			phase: PhasePreAnalysis, act: Action{Kind: ActAnalyze, Analysis: PrePromotion},
		},
		{
			name: "a landed switch is analysed before the delay", spec: analysed,
			r: Release{Phase: PhaseSwitching, From: spec.Blue, To: spec.Green, Version: "5", PreAnalyzed: true}, obs: switched, now: t0,
			phase: PhasePostAnalysis, act: Action{Kind: ActAnalyze, Analysis: PostPromotion},
		},
		{
			name: "a failed post-promotion analysis rolls back", spec: analysed,
			r:     Release{Phase: PhasePostAnalysis, From: spec.Blue, To: spec.Green, Version: "8", PreAnalyzed: true, Rollback: true, Reason: "post-promotion analysis failed: x"},
			obs:   switched,
			phase: PhaseRollingBack, act: Action{Kind: ActSwitch, Color: spec.Blue, Image: "web:v1", MinReady: 1},
		},
		{
			name: "the old color at zero is done", spec: blueGreen,
			r:   Release{Phase: PhaseScaleDownDelay, From: spec.Blue, To: spec.Green, Version: "8", SwitchedAt: t0},
			obs: switchedCold, now: t0.Add(6 * time.Minute), phase: PhaseDone,
		},
		{
			name: "rollback with the old color warm is one switch", spec: blueGreen,
			r:     Release{Phase: PhaseScaleDownDelay, From: spec.Blue, To: spec.Green, Version: "8", SwitchedAt: t0, Rollback: true},
			obs:   switched,
			phase: PhaseRollingBack, act: Action{Kind: ActSwitch, Color: spec.Blue, Image: "web:v1", MinReady: 1},
		},
		{
			name: "rollback with the old color cold scales it up first", spec: blueGreen,
			r:     Release{Phase: PhaseScaleDownDelay, From: spec.Blue, To: spec.Green, Version: "8", SwitchedAt: t0, Rollback: true},
			obs:   switchedCold,
			phase: PhaseRollingBack, act: Action{Kind: ActScale, Color: spec.Blue, Replicas: 3},
		},
		{
			name: "rollback landed", spec: blueGreen,
			r:     Release{Phase: PhaseRollingBack, From: spec.Blue, To: spec.Green, Version: "8"},
			obs:   obsOf(spec.Blue, "9", color("web-blue", "web:v1", 3), color("web-green", "web:v2", 3)),
			phase: PhaseRolledBack,
		},
		{
			name: "abort before the switch scales the preview down", spec: blueGreen,
			r:     Release{Phase: PhaseDeploying, From: spec.Blue, To: spec.Green, Version: "5", Abort: true},
			obs:   obsOf(spec.Blue, "5", color("web-blue", "web:v1", 3), rolling),
			phase: PhaseAborting, act: Action{Kind: ActScale, Color: spec.Green, Replicas: 0},
		},
		{
			name: "rollback before the switch is an abort: the live color was never touched", spec: blueGreen,
			r:     Release{Phase: PhaseAwaitingApproval, From: spec.Blue, To: spec.Green, Version: "5", Rollback: true},
			obs:   obsOf(spec.Blue, "5", color("web-blue", "web:v1", 3), color("web-green", "web:v2", 0)),
			phase: PhaseAborted, reasonHas: "blue stays live",
		},
		{
			name: "abort after the switch leaves both colors up", spec: blueGreen,
			r:     Release{Phase: PhaseScaleDownDelay, From: spec.Blue, To: spec.Green, Version: "8", SwitchedAt: t0, Abort: true},
			obs:   switched,
			phase: PhaseAborted, reasonHas: "green stays live and blue stays up",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = t0
			}
			r, act := NextBlueGreen(tc.spec, tc.r, tc.obs, now)
			if r.Phase != tc.phase {
				t.Errorf("phase: got %s (%s), want %s", r.Phase, r.Reason, tc.phase)
			}
			if act != tc.act {
				t.Errorf("action: got %+v, want %+v", act, tc.act)
			}
			if !strings.Contains(r.Reason, tc.reasonHas) {
				t.Errorf("reason: got %q, want it to contain %q", r.Reason, tc.reasonHas)
			}
		})
	}
}

// TestNextBlueGreenNeverSwitchesToUnready walks every phase with a preview
// that has no Ready pod and checks that no decision is a switch to it.
func TestNextBlueGreenNeverSwitchesToUnready(t *testing.T) {
	unready := color("web-green", "web:v2", 3)
	unready.Ready, unready.Available = 0, 0
	obs := obsOf(spec.Blue, "5", color("web-blue", "web:v1", 3), unready)
	for _, p := range []Phase{"", PhaseDeploying, PhasePreviewReady, PhasePreAnalysis, PhaseAwaitingApproval} {
		r := Release{Phase: p, From: spec.Blue, To: spec.Green, Version: "5", Approved: true}
		if p == "" {
			r = Release{}
		}
		_, act := NextBlueGreen(bgSpec(), r, obs, t0)
		if act.Kind == ActSwitch && act.MinReady < 1 {
			t.Errorf("phase %q: switch to green with MinReady %d", p, act.MinReady)
		}
		if p == PhaseDeploying && act.Kind != ActWaitRollout {
			t.Errorf("phase %q: got %+v, want a wait for the rollout", p, act)
		}
	}
}

func TestNextRollback(t *testing.T) {
	half := color("web-blue", "web:v1", 3)
	half.Ready, half.Available = 0, 0
	one := color("web-blue", "web:v1", 3)
	one.Ready, one.Available = 1, 1
	tests := []struct {
		name     string
		obs      Observation
		scaledUp bool
		act      Action
		wantErr  string
	}{
		{"already live", obsOf(spec.Blue, "1", color("web-blue", "web:v1", 3), color("web-green", "web:v2", 3)), false, Action{}, ""},
		{"warm", obsOf(spec.Green, "1", color("web-blue", "web:v1", 3), color("web-green", "web:v2", 3)), false,
			Action{Kind: ActSwitch, Color: spec.Blue, Image: "web:v1", MinReady: 1}, ""},
		{"cold", obsOf(spec.Green, "1", color("web-blue", "web:v1", 0), color("web-green", "web:v2", 3)), false,
			Action{Kind: ActScale, Color: spec.Blue, Replicas: 4}, ""},
		{"scaling up", obsOf(spec.Green, "1", half, color("web-green", "web:v2", 3)), false, Action{Kind: ActWaitRollout, Color: spec.Blue}, ""},
		// Once scaled up from zero, one Ready pod is not enough: the
		// whole load would land on it.
		{"scaled up, one pod Ready", obsOf(spec.Green, "1", one, color("web-green", "web:v2", 3)), true, Action{Kind: ActWaitRollout, Color: spec.Blue}, ""},
		{"scaled up, all Ready", obsOf(spec.Green, "1", color("web-blue", "web:v1", 3), color("web-green", "web:v2", 3)), true,
			Action{Kind: ActSwitch, Color: spec.Blue, Image: "web:v1", MinReady: 3}, ""},
		{"missing", obsOf(spec.Green, "1", &ColorState{Deployment: "web-blue"}, color("web-green", "web:v2", 3)), false, Action{}, "not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			act, err := NextRollback(tc.obs, spec.Blue, 4, tc.scaledUp)
			if act != tc.act {
				t.Errorf("got %+v, want %+v", act, tc.act)
			}
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("error: got %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestRolloutStatus(t *testing.T) {
	mod := func(f func(*ColorState)) ColorState {
		c := color("web-green", "web:v2", 3)
		f(c)
		return *c
	}
	tests := []struct {
		name    string
		c       ColorState
		done    bool
		msg     string
		wantErr string
	}{
		{"complete", mod(func(*ColorState) {}), true, "3 of 3 ready", ""},
		// The order is kubectl's: an unobserved generation hides the rest.
		{"generation first", mod(func(c *ColorState) { c.Generation, c.DeadlineExceeded = 3, true }), false, "waiting for the deployment spec update to be observed", ""},
		{"deadline", mod(func(c *ColorState) { c.DeadlineExceeded = true }), false, "", "exceeded its progress deadline"},
		{"updated", mod(func(c *ColorState) { c.Updated = 1 }), false, "1 of 3 new replicas updated", ""},
		{"old pending", mod(func(c *ColorState) { c.Current = 5 }), false, "2 old replicas pending termination", ""},
		{"available", mod(func(c *ColorState) { c.Available = 2 }), false, "2 of 3 updated replicas available", ""},
		{"missing", ColorState{Deployment: "x"}, false, "", "deployment x not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			done, msg, err := RolloutStatus(tc.c)
			if done != tc.done || msg != tc.msg {
				t.Errorf("got %v %q, want %v %q", done, msg, tc.done, tc.msg)
			}
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("error: got %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestTargetDefaults(t *testing.T) {
	got := spec.Target{Namespace: "p", Service: "claude-tiu-service"}.WithDefaults()
	if got.Blue != "claude-tiu-blue" || got.Green != "claude-tiu-green" || got.SelectorKey != "color" {
		t.Errorf("got %+v, want claude-tiu-blue/claude-tiu-green keyed by color", got)
	}
}

// TestColorWarmthIsWhatRollbackDoes: the warmth the views show is what a
// rollback then does: warm switches at once, cold scales up first,
// starting waits for a Ready pod, missing cannot roll back. A color
// scaled to zero whose pods still terminate, Ready, is cold.
func TestColorWarmthIsWhatRollbackDoes(t *testing.T) {
	terminating := color("web-blue", "web:v1", 0)
	terminating.Ready, terminating.Current = 3, 3
	starting := color("web-blue", "web:v1", 3)
	starting.Ready, starting.Available = 0, 0
	for _, tc := range []struct {
		name string
		blue *ColorState
		want Warmth
		act  ActionKind
	}{
		{"warm", color("web-blue", "web:v1", 3), WarmthWarm, ActSwitch},
		{"scaled to zero, pods still Ready while they terminate", terminating, WarmthCold, ActScale},
		{"starting", starting, WarmthStarting, ActWaitRollout},
		{"missing", &ColorState{Deployment: "web-blue"}, WarmthMissing, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obs := obsOf(spec.Green, "1", tc.blue, color("web-green", "web:v2", 3))
			act, err := NextRollback(obs, spec.Blue, 3, false)
			if got := ColorWarmth(*tc.blue); got != tc.want || act.Kind != tc.act || (err != nil) != (tc.act == "") {
				t.Errorf("warmth %s, rollback %s (%v); want %s, %s", got, act.Kind, err, tc.want, tc.act)
			}
		})
	}
}
