package engine

import (
	"context"
	"fmt"

	"github.com/cutover-sh/cutover/engine/spec"
)

// approveRunner runs an approve step: a gate that waits for a person.
type approveRunner struct{ e *Engine }

func (r approveRunner) run(ctx context.Context, sc *stepScope) (Status, string) {
	e, s, st, name := r.e, sc.stage, sc.step, sc.name
	sc.begin(spec.KindApprove)
	d, ok := e.gates.await(ctx, s, name, st.Approve, st.Timeout.D(), st.OnTimeout)
	if !ok {
		return sc.finish(StatusCancelled, "stopped while waiting for approval")
	}
	status, reason := StatusSucceeded, ""
	if d.outcome != spec.GateApprove {
		status, reason = StatusFailed, rejection(d)
	}
	return sc.finishBy(status, reason, actorPtr(d.actor))
}

func rejection(d decision) string {
	reason := fmt.Sprintf("rejected by %s", d.actor)
	if d.reason != "" {
		reason += ": " + d.reason
	}
	return reason
}
