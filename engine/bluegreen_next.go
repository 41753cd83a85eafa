package engine

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
)

// Phase is where a blue-green release stands.
type Phase string

// The phases of a blue-green release, in order, then the side exits.
const (
	PhaseDeploying        Phase = "deploying-preview"
	PhasePreviewReady     Phase = "preview-ready"
	PhasePreAnalysis      Phase = "pre-promotion-analysis"
	PhaseAwaitingApproval Phase = "awaiting-approval"
	PhaseSwitching        Phase = "switching"
	PhasePostAnalysis     Phase = "post-promotion-analysis"
	PhaseScaleDownDelay   Phase = "scale-down-delay"
	PhaseDone             Phase = "done"
	PhaseRollingBack      Phase = "rolling-back"
	PhaseRolledBack       Phase = "rolled-back"
	PhaseAborting         Phase = "aborting"
	PhaseAborted          Phase = "aborted"
	PhaseFailed           Phase = "failed"
)

// Final reports whether the release has ended.
func (p Phase) Final() bool {
	switch p {
	case PhaseDone, PhaseRolledBack, PhaseAborted, PhaseFailed:
		return true
	}
	return false
}

// InFlight reports whether a release in this phase has started and not
// ended: a maintenance switch would cut into it.
func (p Phase) InFlight() bool { return p != "" && !p.Final() }

// BeforeSwitch reports whether a release in this phase is still on its
// way to the switch, where a promote can hurry it.
func (p Phase) BeforeSwitch() bool {
	switch p {
	case PhaseDeploying, PhasePreviewReady, PhasePreAnalysis, PhaseAwaitingApproval:
		return true
	}
	return false
}

// switched reports whether, in this phase, traffic has gone to the new color.
func (p Phase) switched() bool {
	switch p {
	case PhasePostAnalysis, PhaseScaleDownDelay, PhaseDone, PhaseRollingBack, PhaseRolledBack:
		return true
	}
	return false
}

// Release is a blue-green release's memory between observations. Everything
// else is read from the cluster each time, so a restarted console resumes
// from what the cluster says.
type Release struct {
	Phase Phase `json:"phase"`
	// From is the color live when the release began; To is the color
	// being released.
	From spec.Color `json:"from,omitempty"`
	To   spec.Color `json:"to,omitempty"`
	// Version is the Service resourceVersion this release last saw or
	// wrote. Any other change is someone else's.
	Version    string    `json:"version,omitempty"`
	Approved   bool      `json:"approved,omitempty"`
	SwitchedAt time.Time `json:"switchedAt,omitzero"`
	// ScaledUp is set once a rollback scaled its target up from zero.
	ScaledUp bool `json:"scaledUp,omitempty"`
	// ScaledDown is the color this release scaled to zero, once it asked
	// for that; Restored is set once it scaled that color back up because
	// someone pointed the Service at it meanwhile.
	ScaledDown spec.Color `json:"scaledDown,omitempty"`
	Restored   bool       `json:"restored,omitempty"`
	// PreAnalyzed and PostAnalyzed are set once those analyses passed.
	PreAnalyzed  bool `json:"preAnalyzed,omitempty"`
	PostAnalyzed bool `json:"postAnalyzed,omitempty"`
	// Rollback, Abort and Promote are requests from a person.
	Rollback bool   `json:"rollback,omitempty"`
	Promote  bool   `json:"promote,omitempty"`
	Abort    bool   `json:"abort,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// RollbackBy is who rolls back when it is not the run's actor: the
	// post-promotion analysis, which the journal must not put on a person.
	RollbackBy *Actor `json:"rollbackBy,omitempty"`
}

// AnalysisActor is the actor of a rollback the post-promotion analysis
// decided.
var AnalysisActor = Actor{Name: "cutover (post-promotion analysis)"}

// ActionKind is what the executor must do next.
type ActionKind string

// The actions of a release.
const (
	ActNone        ActionKind = ""
	ActDeploy      ActionKind = "deploy"
	ActWaitRollout ActionKind = "wait-rollout"
	ActApprove     ActionKind = "approve"
	ActSwitch      ActionKind = "switch"
	ActWaitUntil   ActionKind = "wait-until"
	ActScale       ActionKind = "scale"
	ActAnalyze     ActionKind = "analyze"
)

// The analyses of a blue-green release, as ActAnalyze names them.
const (
	PrePromotion  = "pre-promotion"
	PostPromotion = "post-promotion"
)

// Action is one step the executor applies to the cluster.
type Action struct {
	Kind      ActionKind
	Color     spec.Color
	Container string
	Image     string
	Replicas  int32
	// MinReady is what a switch requires of Color's Ready pods.
	MinReady int32
	Until    time.Time
	// Analysis names the analysis to run: PrePromotion or PostPromotion.
	Analysis string
}

// NextBlueGreen decides, from the release's memory and a fresh observation,
// the release's next phase and the one action to apply. It is pure; the
// executor applies the action, observes again and asks again. ActNone means
// the release has ended, in r.Phase.
func NextBlueGreen(spec spec.BlueGreenSpec, r Release, obs Observation, now time.Time) (Release, Action) {
	t := spec.Target()
	for range 16 { // each pass moves to a later phase; the bound is a backstop
		if r.Phase.Final() {
			return r, Action{}
		}
		if r.ScaledDown != "" && obs.Service.Live == r.ScaledDown {
			return restore(spec, r, obs)
		}
		if r.Phase != "" && r.Phase != PhaseAborting &&
			obs.Service.Version != r.Version && !switchLanded(r, obs, spec) && !rollbackLanded(r, obs) {
			return fail(r, fmt.Sprintf("service %s was changed by someone else during the release "+
				"(resourceVersion %s, now %s; it selects %s=%s); cutover overwrote nothing and stopped%s",
				t, r.Version, obs.Service.Version, t.SelectorKey, obs.Service.Live, servesNothing(t, obs))), Action{}
		}
		if (r.Rollback || r.Abort) && !r.Phase.switched() && r.Phase != PhaseAborting && r.Phase != "" && !switchLanded(r, obs, spec) {
			r.Phase = PhaseAborting // before the switch there is nothing to roll back
		}
		switch r.Phase {
		case "":
			r = begin(spec, t, obs)
		case PhaseDeploying:
			c := obs.Color(r.To)
			if c.Images[spec.Container] != spec.Image || c.Replicas != spec.Replicas {
				return r, Action{Kind: ActDeploy, Color: r.To, Container: spec.Container, Image: spec.Image, Replicas: spec.Replicas}
			}
			ok, _, err := RolloutStatus(c)
			if err != nil {
				return fail(r, fmt.Sprintf("preview %s did not become ready: %v; the live color %s was not touched", r.To, err, r.From)), Action{}
			}
			if !ok || c.Ready < spec.Replicas {
				return r, Action{Kind: ActWaitRollout, Color: r.To}
			}
			r.Phase = PhasePreviewReady
		case PhasePreviewReady:
			r.Phase = PhasePreAnalysis
		case PhasePreAnalysis:
			if spec.PrePromotion != nil && !r.PreAnalyzed && !r.Promote {
				return r, Action{Kind: ActAnalyze, Analysis: PrePromotion}
			}
			r.Phase = PhaseAwaitingApproval
		case PhaseAwaitingApproval:
			if spec.Approve != "" && !r.Approved && !r.Promote {
				return r, Action{Kind: ActApprove}
			}
			r.Phase = PhaseSwitching
		case PhaseSwitching:
			if !switchLanded(r, obs, spec) && !previewReady(spec, obs.Color(r.To)) {
				// The preview changed while it waited (a gate can wait an
				// hour): deploy and judge it again, and ask again.
				r.Phase, r.Approved, r.Promote = PhaseDeploying, false, false
				continue
			}
			if switchLanded(r, obs, spec) {
				r.Version = obs.Service.Version
				r.SwitchedAt = obs.Service.Release.SwitchedAt
				if r.SwitchedAt.IsZero() {
					r.SwitchedAt = now
				}
				r.Phase = PhasePostAnalysis
				continue
			}
			return r, Action{Kind: ActSwitch, Color: r.To, Image: spec.Image, MinReady: spec.Replicas}
		case PhasePostAnalysis:
			if r.Rollback {
				r.Phase = PhaseRollingBack
				continue
			}
			if spec.PostPromotion != nil && !r.PostAnalyzed {
				return r, Action{Kind: ActAnalyze, Analysis: PostPromotion}
			}
			r.Phase = PhaseScaleDownDelay
		case PhaseScaleDownDelay:
			if r.Rollback {
				r.Phase = PhaseRollingBack
				continue
			}
			if r.Abort {
				r.Phase, r.Reason = PhaseAborted, fmt.Sprintf("aborted after the switch; %s stays live and %s stays up", r.To, r.From)
				continue
			}
			if until := r.SwitchedAt.Add(spec.ScaleDownDelay.D()); now.Before(until) {
				return r, Action{Kind: ActWaitUntil, Until: until}
			}
			if obs.Color(r.From).Replicas > 0 {
				// The old color is the only way back: keep it until the new
				// one is whole.
				if c := obs.Color(r.To); !previewReady(spec, c) {
					return fail(r, fmt.Sprintf("not scaling %s down: %s has %d/%d Ready pods%s; both colors stay up, "+
						"roll back to %s, or run again to finish once %s is healthy",
						r.From, r.To, c.Ready, spec.Replicas, podReasons(c.Pods), r.From, r.To)), Action{}
				}
				r.ScaledDown = r.From
				return r, Action{Kind: ActScale, Color: r.From, Replicas: 0}
			}
			r.Phase = PhaseDone
		case PhaseRollingBack:
			act, err := NextRollback(obs, r.From, spec.Replicas, r.ScaledUp)
			if err != nil {
				return fail(r, "roll back: "+err.Error()), Action{}
			}
			if act.Kind == ActNone {
				why := r.Reason
				r.Phase, r.Reason = PhaseRolledBack, fmt.Sprintf("traffic is back on %s", r.From)
				if why != "" {
					r.Reason += " (" + why + ")"
				}
				r.Version = obs.Service.Version
				continue
			}
			if act.Kind == ActScale {
				r.ScaledUp = true
			}
			return r, act
		case PhaseAborting:
			if obs.Color(r.To).Replicas > 0 && obs.Service.Live != r.To {
				r.ScaledDown = r.To
				return r, Action{Kind: ActScale, Color: r.To, Replicas: 0}
			}
			r.Phase = PhaseAborted
			if r.Reason == "" {
				r.Reason = fmt.Sprintf("stopped before the switch; %s stays live", obs.Service.Live)
			}
		}
	}
	return fail(r, "release state machine did not settle (a bug)"), Action{}
}

// restore answers a Service that someone pointed at the color this
// release scaled down, between cutover's check of the selector and its
// write, or just after: no API makes the two objects' writes one. The edit
// is theirs and stays; the missing pods are cutover's doing, so it scales
// that color back up, waits for every replica, and stops.
func restore(spec spec.BlueGreenSpec, r Release, obs Observation) (Release, Action) {
	col := r.ScaledDown
	c := obs.Color(col)
	if c.Replicas < spec.Replicas {
		r.Restored = true
		return r, Action{Kind: ActScale, Color: col, Replicas: spec.Replicas}
	}
	done, _, err := RolloutStatus(c)
	if err != nil {
		return fail(r, fmt.Sprintf("service %s was pointed at %s by someone else while cutover scaled %s down; "+
			"cutover scaled it back up, and it cannot become ready: %v", spec.Target(), col, col, err)), Action{}
	}
	if !done || c.Ready < spec.Replicas {
		return r, Action{Kind: ActWaitRollout, Color: col}
	}
	did := fmt.Sprintf("%s kept its pods", col)
	if r.Restored {
		did = fmt.Sprintf("cutover scaled %s back up to %d", col, spec.Replicas)
	}
	return fail(r, fmt.Sprintf("service %s was pointed at %s by someone else (resourceVersion %s, now %s) while cutover scaled %s down; "+
		"%s and it has %d/%d Ready pods; cutover changed nothing else and stopped",
		spec.Target(), col, r.Version, obs.Service.Version, col, did, c.Ready, spec.Replicas)), Action{}
}

// servesNothing warns, after someone else's edit, when the color the
// Service now selects has no Ready pod, and names the way back.
func servesNothing(t spec.Target, obs Observation) string {
	live := obs.Service.Live
	if !live.Valid() || obs.Color(live).Ready > 0 {
		return ""
	}
	other := obs.Color(live.Other())
	if other.Ready == 0 {
		return fmt.Sprintf(". %s has no Ready pod, nor has %s: the Service serves nothing", live, live.Other())
	}
	return fmt.Sprintf(". %s has no Ready pod, so the Service serves nothing; %s has %d: `%s`",
		live, live.Other(), other.Ready, RollbackCommand(t.String(), live.Other()))
}

// begin reads where the pair stands when a release starts or resumes.
func begin(blueGreen spec.BlueGreenSpec, t spec.Target, obs Observation) Release {
	r := Release{Version: obs.Service.Version}
	live := obs.Service.Live
	if !live.Valid() {
		return fail(r, fmt.Sprintf("service %s selects %s=%q; want blue or green", t, t.SelectorKey, live))
	}
	for _, c := range []spec.Color{spec.Blue, spec.Green} {
		if !obs.Color(c).Exists {
			return fail(r, fmt.Sprintf("deployment %s/%s (%s) not found", t.Namespace, t.Deployment(c), c))
		}
	}
	if obs.Color(live).Images[blueGreen.Container] == blueGreen.Image {
		mark := obs.Service.Release
		if mark.Release == blueGreen.Image && mark.Previous == live.Other() && obs.Color(mark.Previous).Replicas > 0 {
			// A console restarted after the switch: finish the scale-down.
			r.From, r.To, r.SwitchedAt, r.Phase = mark.Previous, live, mark.SwitchedAt, PhaseScaleDownDelay
			return r
		}
		r.From, r.To, r.Phase = live, live, PhaseDone
		r.Reason = fmt.Sprintf("%s already serves %s; nothing to switch", live, blueGreen.Image)
		return r
	}
	r.From, r.To, r.Phase = live, live.Other(), PhaseDeploying
	return r
}

// previewReady reports whether c runs the spec's image on all its replicas,
// rolled out and Ready: what a switch to it, or scaling the other color
// down, needs.
func previewReady(spec spec.BlueGreenSpec, c ColorState) bool {
	done, _, err := RolloutStatus(c)
	return err == nil && done && c.Images[spec.Container] == spec.Image && c.Replicas == spec.Replicas && c.Ready >= spec.Replicas
}

// rollbackLanded reports whether a rollback's switch has happened.
func rollbackLanded(r Release, obs Observation) bool {
	return r.Phase == PhaseRollingBack && obs.Service.Live == r.From
}

// switchLanded reports whether the Service already selects the new color
// with this release's mark: the switch happened even if its reply was lost.
func switchLanded(r Release, obs Observation, spec spec.BlueGreenSpec) bool {
	return r.Phase == PhaseSwitching && obs.Service.Live == r.To && obs.Service.Release.Release == spec.Image
}

func fail(r Release, reason string) Release {
	r.Phase, r.Reason = PhaseFailed, reason
	return r
}

// NextRollback decides the next action of a rollback to color to. It never
// points the Service at a color without Ready pods: a warm color is switched
// to at once; a scaled-down one is scaled up to replicas and, once the
// caller says it did that (scaledUp), waited for until every replica is
// Ready, so that traffic does not land on the first pod alone. ActNone means
// the Service already selects to.
func NextRollback(obs Observation, to spec.Color, replicas int32, scaledUp bool) (Action, error) {
	if obs.Service.Live == to {
		return Action{}, nil
	}
	c := obs.Color(to)
	w := ColorWarmth(c)
	switch {
	case w == WarmthMissing:
		return Action{}, fmt.Errorf("deployment %s (%s) not found", c.Deployment, to)
	case w == WarmthCold:
		return Action{Kind: ActScale, Color: to, Replicas: max(replicas, 1)}, nil
	case scaledUp:
		done, _, err := RolloutStatus(c)
		if err != nil {
			return Action{}, err
		}
		if done && c.Ready >= c.Replicas {
			return Action{Kind: ActSwitch, Color: to, Image: releaseOf(c), MinReady: c.Replicas}, nil
		}
		return Action{Kind: ActWaitRollout, Color: to}, nil
	case w == WarmthWarm:
		return Action{Kind: ActSwitch, Color: to, Image: releaseOf(c), MinReady: 1}, nil
	}
	if _, _, err := RolloutStatus(c); err != nil {
		return Action{}, err
	}
	return Action{Kind: ActWaitRollout, Color: to}, nil
}

// Warmth is what a rollback to a color finds, as NextRollback judges it;
// the views call a color warm or cold by it and by nothing else.
type Warmth string

// The warmths of a color.
const (
	// WarmthMissing: its Deployment is not found.
	WarmthMissing Warmth = "missing"
	// WarmthCold: scaled to zero, though pods may still be terminating
	// (and Ready): a rollback scales it up first.
	WarmthCold Warmth = "cold"
	// WarmthStarting: scaled up, no pod Ready yet.
	WarmthStarting Warmth = "starting"
	// WarmthWarm: scaled up with a Ready pod: a rollback is one patch.
	WarmthWarm Warmth = "warm"
)

// ColorWarmth judges c.
func ColorWarmth(c ColorState) Warmth {
	switch {
	case !c.Exists:
		return WarmthMissing
	case c.Replicas == 0:
		return WarmthCold
	case c.Ready >= 1:
		return WarmthWarm
	}
	return WarmthStarting
}

// releaseOf names what a color serves: its images, sorted.
func releaseOf(c ColorState) string {
	return strings.Join(slices.Sorted(maps.Values(c.Images)), ",")
}
