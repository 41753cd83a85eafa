package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
)

// gateBook holds a run's approve gates: those that wait for a person, and
// how each was decided. Every decision is journaled before it is reported
// or acted on, and the first one for a gate is the only one applied.
type gateBook struct {
	out         *publisher
	mask        *Masker
	clock       Clock
	autoApprove bool
	// asked tells people that a gate of a step waits for one of them.
	asked func(s *spec.Stage, step, instruction string, diff *TemplateDiff)

	mu      sync.Mutex
	waiting map[string]*gate
	decided map[string]decision
}

// gate is one that waits: its decision arrives on decided.
type gate struct {
	decided chan decision
	guard   *gateGuard
}

// gateGuard is what a blue-green release's gate adds to a plain one.
type gateGuard struct {
	// refuse says why a person may not approve the gate now; nil when they
	// may. seen is the hash of the diff they read, or "" when they state
	// none. It refuses while the preview is not fully Ready, and when the
	// preview differs from what they read.
	refuse func(seen string) error
	// diff is what approving changes, as now observed.
	diff func() *TemplateDiff
}

func (g *gateGuard) currentDiff() *TemplateDiff {
	if g == nil || g.diff == nil {
		return nil
	}
	return g.diff()
}

// decision is how a gate was decided, and by whom.
type decision struct {
	outcome spec.GateOutcome
	actor   Actor
	reason  string
}

// timeoutActor decides a gate nobody decided in time.
const timeoutActor = "timeout"

// gateID names the gate of a step, as people type it: STAGE/STEP.
func gateID(stage, step string) string { return stage + "/" + step }

// names lists the gates that wait for a decision, sorted.
func (b *gateBook) names() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Sorted(maps.Keys(b.waiting))
}

// decisionOf returns how the gate id was decided, if it was.
func (b *gateBook) decisionOf(id string) (decision, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.decided[id]
	return d, ok
}

// decideNamed decides gate id, or the only gate waiting when id is empty.
// seen is the hash of the diff the person read ("" for none).
func (b *gateBook) decideNamed(id string, outcome spec.GateOutcome, actor Actor, reason, seen string) error {
	if id == "" {
		waiting := b.names()
		switch len(waiting) {
		case 0:
			return ErrNoGate
		case 1:
			id = waiting[0]
		default:
			return fmt.Errorf("several gates are waiting (%s); name one", strings.Join(waiting, ", "))
		}
	}
	return b.decideSeen(id, outcome, actor, reason, seen)
}

// decide decides a gate for someone who read no diff.
func (b *gateBook) decide(id string, outcome spec.GateOutcome, actor Actor, reason string) error {
	return b.decideSeen(id, outcome, actor, reason, "")
}

// decideSeen applies the first decision for a gate; any later one gets
// ErrGateDecided, saying who decided. The decision is journaled before it
// is reported or acted on; if it cannot be, it is not applied.
func (b *gateBook) decideSeen(id string, outcome spec.GateOutcome, actor Actor, reason, seen string) error {
	b.mu.Lock()
	g, ok := b.waiting[id]
	if ok && outcome == spec.GateApprove && g.guard != nil && actor.Name != AutoApproveActor && actor.Name != timeoutActor {
		if err := g.guard.refuse(seen); err != nil {
			b.mu.Unlock()
			return fmt.Errorf("gate %s: approval refused: %w", id, err)
		}
	}
	if ok {
		delete(b.waiting, id)
		b.decided[id] = decision{outcome: outcome, actor: actor, reason: reason}
	}
	prior, wasDecided := b.decided[id]
	b.mu.Unlock()
	switch {
	case !ok && wasDecided:
		return fmt.Errorf("gate %s: %w (%s by %s)", id, ErrGateDecided, verb(prior.outcome), prior.actor)
	case !ok:
		return fmt.Errorf("gate %s: %w", id, ErrNoGate)
	}
	typ := RecGateApproved
	if outcome != spec.GateApprove {
		typ = RecGateRejected
	}
	stage, step, _ := strings.Cut(id, "/")
	if err := b.out.record(Record{Type: typ, Gate: id, Stage: stage, Step: step, Actor: actorPtr(actor), Reason: reason, Diff: g.guard.currentDiff(), Seen: seen}); err != nil {
		// The run is stopping (a journal failure cancels it); the gate
		// ends as cancelled, never as a decision nobody can audit.
		return fmt.Errorf("record decision on gate %s: %w", id, err)
	}
	b.out.emitDecision(GateDecided{Gate: id, Outcome: outcome, Actor: actor, Reason: b.mask.String(reason)}, "%s %s %s", actor, verb(outcome), id)
	g.decided <- decision{outcome: outcome, actor: actor, reason: reason}
	return nil
}

func verb(o spec.GateOutcome) string {
	if o == spec.GateApprove {
		return "approved"
	}
	return "rejected"
}

// awaitGate opens the gate of step name and waits for its decision. ok is
// false when ctx ended first.
func (b *gateBook) await(ctx context.Context, s *spec.Stage, name, instruction string, timeout time.Duration, onTimeout spec.GateOutcome) (d decision, ok bool) {
	return b.open(ctx, s, name, instruction, timeout, onTimeout, nil, false)
}

// awaitGuarded is await for a gate whose approval guard may refuse.
func (b *gateBook) awaitGuarded(ctx context.Context, s *spec.Stage, name, instruction string, timeout time.Duration, onTimeout spec.GateOutcome, guard *gateGuard) (d decision, ok bool) {
	return b.open(ctx, s, name, instruction, timeout, onTimeout, guard, false)
}

// awaitPerson opens a gate that stands for something cutover could not
// measure, or a check that failed. --auto-approve passes the gates a
// person planned, never these: missing data never promotes, so only a
// person decides them, and they are asked for even under it.
func (b *gateBook) awaitPerson(ctx context.Context, s *spec.Stage, name, instruction string) (d decision, ok bool) {
	return b.open(ctx, s, name, instruction, 0, "", nil, true)
}

func (b *gateBook) open(ctx context.Context, s *spec.Stage, name, instruction string, timeout time.Duration, onTimeout spec.GateOutcome, guard *gateGuard, person bool) (d decision, ok bool) {
	auto := b.autoApprove && !person
	id := gateID(s.Name, name)
	diff := guard.currentDiff()
	_ = b.out.record(Record{Type: RecGateWaiting, Stage: s.Name, Step: name, Gate: id, Reason: instruction, Diff: diff})
	// The gate opens only once it is journaled, and is announced under the
	// lock decide takes: whoever sees it waiting can decide it, and no
	// decision is recorded or published before the gate itself.
	g := &gate{decided: make(chan decision, 1), guard: guard}
	b.mu.Lock()
	b.waiting[id] = g
	b.out.emit(GateWaiting{Gate: id, Stage: s.Name, Step: name, Instruction: b.mask.String(instruction), Timeout: timeout, OnTimeout: onTimeout, Diff: diff})
	b.mu.Unlock()
	if !auto { // with it, nobody is needed: the gate is decided below
		b.asked(s, name, instruction, diff)
	}
	stopped := func() (decision, bool) {
		b.mu.Lock()
		delete(b.waiting, id)
		b.mu.Unlock()
		return decision{}, false
	}
	if auto {
		_ = b.decide(id, spec.GateApprove, Actor{Name: AutoApproveActor}, "--auto-approve")
	}
	var expired <-chan time.Time
	if timeout > 0 {
		t := b.clock.NewTimer(timeout)
		defer t.Stop()
		expired = t.C()
	}
	select {
	case d = <-g.decided:
		return d, true
	case <-expired:
		outcome := onTimeout
		if outcome == "" {
			outcome = spec.GateReject
		}
		// If a person decided at the same instant, this fails and their
		// decision, already in the channel, stands.
		if err := b.decide(id, outcome, Actor{Name: timeoutActor}, fmt.Sprintf("no decision within %s", timeout)); err != nil && ctx.Err() != nil {
			return stopped()
		}
		select {
		case d = <-g.decided:
			return d, true
		case <-ctx.Done():
			return stopped()
		}
	case <-ctx.Done():
		return stopped()
	}
}
