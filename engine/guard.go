package engine

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// decisionLog counts what people decided in a run (gates decided,
// rollbacks, promotes, aborts, skips, maintenance switches), so that an
// action can be made conditional on having seen all of them. Two
// operators on one release who confirm conflicting actions at the same
// moment get exactly one applied: the second was decided on a state that
// is gone.
type decisionLog struct {
	n    atomic.Uint64
	last atomic.Pointer[string]
	// mu makes a guarded action's check and its effect one step.
	mu sync.Mutex
}

// note counts a decision, before the event that reports it is
// published, and keeps what it was for a stale action's refusal.
func (d *decisionLog) note(format string, a ...any) {
	what := fmt.Sprintf(format, a...)
	d.last.Store(&what)
	d.n.Add(1)
}

// Decisions is how many decisions the run has taken so far.
func (e *Engine) Decisions() uint64 { return e.decisions.n.Load() }

// StaleError refuses an action decided before a decision its maker had
// not seen.
type StaleError struct {
	// Last is the most recent decision, as "who did what".
	Last string
}

func (e *StaleError) Error() string {
	return "not applied: since you looked, " + e.Last + "; look again"
}

// Guarded is the engine's actions, each applied only if no decision was
// taken after the first seen ones: the count a console had applied when
// its user opened the confirmation.
type Guarded struct {
	e    *Engine
	seen uint64
}

// Guard returns the engine's actions conditional on seen, the Decisions a
// person saw before acting.
func (e *Engine) Guard(seen uint64) *Guarded { return &Guarded{e: e, seen: seen} }

func (g *Guarded) do(f func() error) error {
	d := &g.e.decisions
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n.Load() != g.seen {
		last := "someone decided"
		if p := d.last.Load(); p != nil {
			last = *p
		}
		return &StaleError{Last: last}
	}
	return f()
}

// Approve is Engine.Approve, guarded.
func (g *Guarded) Approve(actor Actor, gateID string) error {
	return g.do(func() error { return g.e.Approve(actor, gateID) })
}

// ApproveSeen is Engine.ApproveSeen, guarded.
func (g *Guarded) ApproveSeen(actor Actor, gateID, seen string) error {
	return g.do(func() error { return g.e.ApproveSeen(actor, gateID, seen) })
}

// Abort is Engine.Abort, guarded.
func (g *Guarded) Abort(actor Actor, reason string) error {
	return g.do(func() error { return g.e.Abort(actor, reason) })
}

// Rollback is Engine.Rollback, guarded.
func (g *Guarded) Rollback(actor Actor, service, reason string) error {
	return g.do(func() error { return g.e.Rollback(actor, service, reason) })
}

// Promote is Engine.Promote, guarded.
func (g *Guarded) Promote(actor Actor, service, reason string) error {
	return g.do(func() error { return g.e.Promote(actor, service, reason) })
}

// SkipStage is Engine.SkipStage, guarded.
func (g *Guarded) SkipStage(actor Actor, stage, reason string) error {
	return g.do(func() error { return g.e.SkipStage(actor, stage, reason) })
}

// Maintenance is Engine.Maintenance, guarded. A maintenance switch can
// take minutes (a cold color is scaled up first), so it claims its turn,
// counted as a decision, and runs outside the lock: a conflicting action
// meanwhile is refused at once rather than left waiting.
func (g *Guarded) Maintenance(ctx context.Context, actor Actor, on bool) (string, error) {
	if err := g.do(func() error {
		g.e.decisions.note("%s is switching maintenance %s", actor, map[bool]string{true: "on", false: "off"}[on])
		return nil
	}); err != nil {
		return "", err
	}
	return g.e.Maintenance(ctx, actor, on)
}
