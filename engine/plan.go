package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
	"github.com/cutover-sh/cutover/human"
)

// Effect is what moving a Service's traffic does, if it is asked for now.
type Effect string

// The effects a Plan can have.
const (
	// EffectNothing: the Service already selects the color.
	EffectNothing Effect = "nothing"
	// EffectSwitch: traffic moves at once, to pods that are Ready.
	EffectSwitch Effect = "switch"
	// EffectScaleUp: the color is scaled to zero. It is scaled up first,
	// and traffic moves once every replica is Ready.
	EffectScaleUp Effect = "scale-up"
	// EffectWait: the color has pods but none Ready; traffic moves once
	// one is.
	EffectWait Effect = "wait"
	// EffectStop: the release has not switched yet. It stops; the Service
	// stays where it is, and the preview is scaled down.
	EffectStop Effect = "stop"
	// EffectRefused: it cannot be done; Plan.Reason says why.
	EffectRefused Effect = "refused"
)

// Plan is what a rollback or a promote would do if it were confirmed now,
// worked out by the same decisions the engine then takes (NextRollback,
// NextPromote), so that a confirmation states the effect that follows it
// and never a guess of its own.
type Plan struct {
	// Action is "rollback" or "promote".
	Action  string
	Service string
	// Live is the color the Service selects now; To where traffic goes.
	Live, To spec.Color
	Effect   Effect
	// Target is To's state as observed; LiveState is Live's.
	Target, LiveState ColorState
	// WarmFor is how long a promote keeps the old color up after the
	// switch (the release's scaleDownDelay), when the plan is a release's.
	WarmFor time.Duration
	// ScaleTo is the replicas To is scaled up to, for EffectScaleUp.
	ScaleTo int32
	// Estimate is how long the color's rollout may take, for
	// EffectScaleUp and EffectWait: as long as the preview's took.
	Estimate time.Duration
	// Reason says why, for EffectRefused.
	Reason string
	// ofRelease is set for a release's rollback, whose preview's rollout
	// tells how long a cold color takes, when it was timed.
	ofRelease bool
}

// RollbackTarget is the color a rollback sends a Service back to when
// none is named: the one it served before its last switch, else the other
// color.
func RollbackTarget(t spec.Target, obs Observation) (spec.Color, error) {
	to := obs.Service.Release.Previous
	if !to.Valid() || to == obs.Service.Live {
		to = obs.Service.Live.Other()
	}
	if !to.Valid() {
		return to, fmt.Errorf("roll back service %s: it selects %q and records no previous color; name one", t, obs.Service.Live)
	}
	return to, nil
}

// PlanRollback says what rolling the Service back to to does now.
// replicas is what a scaled-down color is scaled up to.
func PlanRollback(service string, obs Observation, to spec.Color, replicas int32) Plan {
	p := Plan{Action: "rollback", Service: service, Live: obs.Service.Live, To: to, Target: obs.Color(to)}
	act, err := NextRollback(obs, to, replicas, false)
	switch {
	case err != nil:
		p.Effect, p.Reason = EffectRefused, err.Error()
	case act.Kind == ActNone:
		p.Effect = EffectNothing
	case act.Kind == ActSwitch:
		p.Effect = EffectSwitch
	case act.Kind == ActScale:
		p.Effect, p.ScaleTo = EffectScaleUp, act.Replicas
	default:
		p.Effect = EffectWait
	}
	return p
}

// PlanReleaseRollback says what asking a running release to roll back
// does now: before its switch, it stops; after it, traffic goes back to
// the color it came from, as PlanRollback says.
func PlanReleaseRollback(r ReleaseProgress) Plan {
	live := r.Live
	var obs Observation
	if r.Observed != nil {
		obs = *r.Observed
		live = obs.Service.Live
	}
	if live != r.To || r.From == "" {
		return Plan{Action: "rollback", Service: r.Service, Live: live, To: r.To, Effect: EffectStop, Target: obs.Color(r.To)}
	}
	p := PlanRollback(r.Service, obs, r.From, obs.Color(r.To).Replicas)
	p.Estimate, p.ofRelease = r.RolloutTook, true
	return p
}

// NextPromote decides a promote to color to: a switch, only to a color
// every replica of which is Ready, or ActNone when the Service selects it
// already.
func NextPromote(obs Observation, to spec.Color) (Action, error) {
	c := obs.Color(to)
	switch {
	case obs.Service.Live == to:
		return Action{}, nil
	case !c.Exists:
		return Action{}, fmt.Errorf("deployment %s not found", c.Deployment)
	case c.Replicas == 0 || c.Ready < c.Replicas:
		return Action{}, fmt.Errorf("deployment %s has %d/%d Ready pods; promote switches only to a color that is fully Ready", c.Deployment, c.Ready, c.Replicas)
	}
	return Action{Kind: ActSwitch, Color: to, Image: releaseOf(c), MinReady: c.Replicas}, nil
}

// PlanPromote says what promoting the Service to to does now.
func PlanPromote(service string, obs Observation, to spec.Color) Plan {
	p := Plan{Action: "promote", Service: service, Live: obs.Service.Live, To: to, Target: obs.Color(to), LiveState: obs.Color(obs.Service.Live)}
	act, err := NextPromote(obs, to)
	switch {
	case err != nil:
		p.Effect, p.Reason = EffectRefused, err.Error()
	case act.Kind == ActNone:
		p.Effect = EffectNothing
	default:
		p.Effect = EffectSwitch
	}
	return p
}

// PlanReleasePromote says what approving a release at its gate, or
// promoting it, does now: PlanPromote, with how long the old color stays
// warm after the switch.
func PlanReleasePromote(r ReleaseProgress) Plan {
	var obs Observation
	if r.Observed != nil {
		obs = *r.Observed
	} else {
		obs.Service.Live = r.Live
	}
	p := PlanPromote(r.Service, obs, r.To)
	p.WarmFor, p.ofRelease = r.ScaleDownDelay, true
	return p
}

// String says the plan to a person: what happens to the traffic, and to
// which pods.
func (p Plan) String() string {
	t, c := p.Target, p.To
	ready := fmt.Sprintf("%d/%d Ready", t.Ready, t.Replicas)
	move := "to"
	if p.Action == "rollback" {
		move = "back to"
	}
	switch p.Effect {
	case EffectNothing:
		return fmt.Sprintf("Service %s already selects %s; nothing to do.", p.Service, c)
	case EffectStop:
		return fmt.Sprintf("Stop the release of %s on %s before the switch: the Service stays on %s, and %s is scaled down.",
			orName(c, "the new color"), p.Service, orName(p.Live, "the live color"), orName(c, "the new color"))
	case EffectRefused:
		return fmt.Sprintf("Cannot %s %s to %s: %s.", p.Action, p.Service, c, p.Reason)
	case EffectSwitch:
		if t.Ready >= t.Replicas && p.Action == "rollback" {
			return fmt.Sprintf("Switch %s from %s %s %s (%s: %s, warm).", p.Service, p.Live, move, c, c, ready)
		}
		if p.Action == "promote" {
			return p.promoteString()
		}
		if t.Ready >= t.Replicas {
			return fmt.Sprintf("Switch %s from %s %s %s (%s: %s).", p.Service, p.Live, move, c, c, ready)
		}
		return fmt.Sprintf("Switch %s from %s %s %s now (%s: %s): traffic lands on its %d Ready pods while the others start.",
			p.Service, p.Live, move, c, c, ready, t.Ready)
	case EffectScaleUp:
		return fmt.Sprintf("Switch %s from %s %s %s. %s is cold (%s): it is scaled up to %d first, and traffic moves once its pods are Ready%s.",
			p.Service, p.Live, move, c, c, ready, p.ScaleTo, p.took())
	case EffectWait:
		return fmt.Sprintf("Switch %s from %s %s %s once one of its pods is Ready (%s: %s now)%s.", p.Service, p.Live, move, c, c, ready, p.took())
	}
	return fmt.Sprintf("%s %s to %s.", p.Action, p.Service, c)
}

// promoteString names both colors with their images and readiness, and
// what becomes of the old one.
func (p Plan) promoteString() string {
	state := func(cs ColorState) string {
		r := fmt.Sprintf("%d/%d Ready", cs.Ready, cs.Replicas)
		if img := releaseOf(cs); img != "" {
			return img + ", " + r
		}
		return r
	}
	s := fmt.Sprintf("Switch %s from %s (%s) to %s (%s).", p.Service, p.Live, state(p.LiveState), p.To, state(p.Target))
	switch {
	case !p.ofRelease || !p.Live.Valid():
	case p.WarmFor > 0:
		s += fmt.Sprintf(" %s stays warm for %s after the switch.", capital(string(p.Live)), human.Duration(p.WarmFor))
	default:
		s += fmt.Sprintf(" %s is scaled down after the switch (no scaleDownDelay).", capital(string(p.Live)))
	}
	return s
}

// capital starts s with a capital letter, for a color that starts a
// sentence.
func capital(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// took estimates how long a cold color takes to come back: as long as the
// release's own rollout took, when a release timed one.
func (p Plan) took() string {
	switch {
	case p.Estimate > 0:
		return fmt.Sprintf(", about %s, as long as %s's rollout took", human.Duration(p.Estimate), p.Live)
	case p.ofRelease:
		return fmt.Sprintf(", about as long as %s's rollout took", p.Live)
	}
	return ""
}

func orName(c spec.Color, alt string) string {
	if c == "" {
		return alt
	}
	return string(c)
}

// The texts below say what the console's other actions do, so that every
// confirmation a person reads is the engine's.

// ExplainAbort says what aborting the run s does.
func ExplainAbort(s Snapshot) string {
	grace := "a grace period"
	if s.KillGrace > 0 {
		grace = human.Duration(s.KillGrace)
	}
	return fmt.Sprintf("Stop every running step (SIGTERM, then SIGKILL after %s) and cancel the stages not yet run. "+
		"A release in flight stops where it is; the Service keeps selecting a color with Ready pods.", grace)
}

// ExplainSkip says what skipping stage does, by whom.
func ExplainSkip(stage string, by Actor) string {
	return fmt.Sprintf("Stage %s will not run; stages that need it run as if it had succeeded. The journal records that %s skipped it.", stage, by.Name)
}

// ExplainPromoteEarly says what promoting r before its gate does: it
// switches as soon as the preview is Ready, and never before.
func ExplainPromoteEarly(r ReleaseProgress) string {
	var obs Observation
	if r.Observed != nil {
		obs = *r.Observed
	}
	cs := obs.Color(r.To)
	if !cs.Exists && cs.Deployment == "" && r.Color == r.To {
		cs = r.State // what the rollout reported last
	}
	return fmt.Sprintf("Switch %s from %s to %s as soon as %s is Ready (%d/%d now), skipping what is left of the pre-promotion analysis and the approval gate.",
		r.Service, r.From, r.To, r.To, cs.Ready, cs.Replicas)
}

// ExplainMaintenance says what turning the maintenance page on (or off)
// does to service.
func ExplainMaintenance(service, page string, on bool) string {
	if on {
		return fmt.Sprintf("Point %s at the maintenance page (the %q pods) once one of them is Ready. Users get the page until it is turned off.", service, page)
	}
	return fmt.Sprintf("Switch %s back from the maintenance page to the color it served before, scaling that color up first if it is cold.", service)
}

// ExplainTimeout says what becomes of gate g, as of now, if nobody
// decides it.
func ExplainTimeout(g GateWaiting, now time.Time) string {
	if g.Timeout <= 0 {
		return "no timeout"
	}
	outcome := "rejected"
	if g.OnTimeout == spec.GateApprove {
		outcome = "approved"
	}
	return fmt.Sprintf("%s at its timeout, in %s", outcome, human.Duration(max(g.Time.Add(g.Timeout).Sub(now), 0)))
}

// RollbackCommand is the command a person types to roll service
// (namespace/name, as Target.String gives it) back, to color to when it is
// set: what a message that sends them there quotes.
func RollbackCommand(service string, to spec.Color) string {
	cmd := "cutover rollback " + service
	if ns, name, ok := strings.Cut(service, "/"); ok {
		cmd = "cutover rollback " + name + " -n " + ns
	}
	if to != "" {
		cmd += " --to " + string(to)
	}
	return cmd
}
