package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
)

// stepRunner runs one kind of step, from its start to its end, through
// its scope.
type stepRunner interface {
	run(ctx context.Context, sc *stepScope) (Status, string)
}

// stepScope is one step of a run as its runner sees it: where it is, and
// how it starts and ends.
type stepScope struct {
	e     *Engine
	stage *spec.Stage
	step  *spec.Step
	name  string
	start time.Time
}

// begin announces the step's first attempt and starts its clock.
func (sc *stepScope) begin(kind spec.StepKind) {
	sc.e.out.emit(StepStarted{Stage: sc.stage.Name, Step: sc.name, Kind: kind, Attempt: 1})
	sc.start = sc.e.clock.Now()
}

// finish ends the step's only attempt, and returns how it ended.
func (sc *stepScope) finish(status Status, reason string) (Status, string) {
	return sc.finishBy(status, reason, nil)
}

// finishBy is finish for an end a person decided.
func (sc *stepScope) finishBy(status Status, reason string, actor *Actor) (Status, string) {
	var elapsed time.Duration
	if !sc.start.IsZero() {
		elapsed = sc.e.clock.Now().Sub(sc.start)
	}
	sc.end(stepEnd{status: status, attempt: 1, elapsed: elapsed, reason: reason, actor: actor})
	return status, reason
}

// stepEnd is how one attempt of a step ended.
type stepEnd struct {
	status   Status
	attempt  int
	exitCode *int
	elapsed  time.Duration
	reason   string
	actor    *Actor // who decided a gate
}

// end journals and publishes the end of a step attempt.
func (sc *stepScope) end(end stepEnd) {
	e, s, name := sc.e, sc.stage, sc.name
	rec := Record{
		Type: RecStepFinished, Stage: s.Name, Step: name, Status: end.status, Attempt: end.attempt,
		ExitCode: end.exitCode, Duration: end.elapsed, Reason: end.reason, Actor: end.actor,
	}
	if end.status == StatusFailed && end.exitCode != nil {
		rec.Output = e.commands.outputTail(s.Name, name)
	}
	_ = e.out.record(rec)
	ev := StepFinished{Stage: s.Name, Step: name, Status: end.status, Attempt: end.attempt, Elapsed: end.elapsed, Reason: e.mask.String(end.reason)}
	if end.exitCode != nil {
		ev.ExitCode = *end.exitCode
	}
	e.out.emit(ev)
}

// runStep runs one step to completion and returns its status and, if it did
// not succeed, why.
func (e *Engine) runStep(ctx context.Context, s *spec.Stage, j int) (Status, string) {
	sc := &stepScope{e: e, stage: s, step: &s.Steps[j], name: s.Steps[j].StepName(j)}
	r, ok := e.runners[sc.step.Kind()]
	if !ok {
		// Validation rejects these; this guards a Pipeline built in code.
		return sc.finish(StatusFailed, fmt.Sprintf("%s steps are not yet implemented", sc.step.Kind()))
	}
	return r.run(ctx, sc)
}

// timedOut reports whether a step's own timeout, rather than the stage or
// the run stopping, ended ctx.
func timedOut(stageCtx, ctx context.Context) bool {
	return stageCtx.Err() == nil && errors.Is(context.Cause(ctx), context.DeadlineExceeded)
}
