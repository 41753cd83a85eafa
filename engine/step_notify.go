package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/cutover-sh/cutover/engine/spec"
)

// notifyRunner runs a notify step: it sends its message to every target
// now and succeeds whether or not the message was delivered.
type notifyRunner struct{ e *Engine }

func (r notifyRunner) run(ctx context.Context, sc *stepScope) (Status, string) {
	e, s, st, name := r.e, sc.stage, sc.step, sc.name
	notifySpec := *st.Notify
	sc.begin(spec.KindNotify)
	finish := sc.finish
	targets := targetsOf(notifySpec.Slack, notifySpec.Teams)
	if len(targets) == 0 && e.p.Notify != nil {
		targets = targetsOf(e.p.Notify.Slack, e.p.Notify.Teams)
	}
	if len(targets) == 0 {
		// Validation rejects this; it guards a Pipeline built in code.
		return finish(StatusSucceeded, "nothing sent: the step names no slack or teams webhook, and the pipeline has no notify: to use")
	}
	stageCtx := ctx
	if st.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, st.Timeout.D())
		defer cancel()
	}
	n := e.notes.newNotice(spec.NotifyMessage, s, st, name)
	n.headline = notifySpec.Message
	n = n.masked(e.mask)
	pol := e.notes.policy()
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() {
			var attempts int
			attempts, errs[i] = e.notes.deliver(ctx, t, n, pol)
			e.notes.reportDelivery(t, n, attempts, errs[i])
		})
	}
	wg.Wait()
	if stageCtx.Err() != nil {
		return finish(StatusCancelled, "stopped while sending the notification")
	}
	var failed []string
	for i, err := range errs {
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s (%v)", targets[i].Kind, err))
		}
	}
	if len(failed) > 0 {
		return finish(StatusSucceeded, "not delivered to "+strings.Join(failed, ", ")+"; a notification never fails a release")
	}
	return finish(StatusSucceeded, "")
}
