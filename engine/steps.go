package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cutover-sh/cutover/sanitize"
)

// runStage runs one stage's steps in order and returns its status.
func (sd *scheduler) runStage(ctx context.Context, i int) Status {
	e := sd.e
	s := &e.p.Stages[i]
	budget := s.Budget.D()
	start := e.clock.Now()
	_ = e.out.record(Record{Type: RecStageStarted, Stage: s.Name, Budget: budget})
	e.out.emit(StageStarted{Stage: s.Name, Budget: budget})

	sctx, cancel := context.WithCancelCause(ctx)
	var watch sync.WaitGroup
	watch.Go(func() { sd.watchBudget(sctx, s, cancel) })

	status, reason := StatusSucceeded, ""
	last := -1 // the step that ended the stage
	for j := range s.Steps {
		if sctx.Err() != nil {
			// Never start a step (the traffic switch, say) once the
			// stage was told to stop.
			status, reason = StatusCancelled, "stopped: "+context.Cause(sctx).Error()
			break
		}
		last = j
		if status, reason = e.runStep(sctx, s, j); status != StatusSucceeded {
			break
		}
	}
	if errors.Is(context.Cause(sctx), errOverBudget) && status != StatusSucceeded {
		status, reason = StatusFailed, fmt.Sprintf("ran over its budget of %s (onOverBudget: fail)", s.Budget)
	}
	cancel(nil)
	watch.Wait()
	elapsed := e.clock.Now().Sub(start)
	if status == StatusFailed {
		e.notes.failed(s, last, reason)
	}
	_ = e.out.record(Record{Type: RecStageFinished, Stage: s.Name, Status: status, Duration: elapsed, Budget: budget, Reason: reason})
	e.out.emit(StageFinished{Stage: s.Name, Status: status, Elapsed: elapsed, Budget: budget, Reason: e.mask.String(reason)})
	return status
}

// watchBudget warns when a stage passes its budget and, with
// onOverBudget: fail, stops it. It ends when the stage does.
func (sd *scheduler) watchBudget(ctx context.Context, s *Stage, cancel context.CancelCauseFunc) {
	e := sd.e
	t := e.clock.NewTimer(s.Budget.D())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C():
	}
	msg := fmt.Sprintf("stage %s is over its budget of %s", s.Name, s.Budget)
	if s.OnOverBudget == OverBudgetFail {
		msg += "; stopping it (onOverBudget: fail)"
	}
	_ = e.out.record(Record{Type: RecWarning, Stage: s.Name, Budget: s.Budget.D(), Reason: msg})
	e.out.emit(Warning{Code: WarnOverBudget, Stage: s.Name, Message: msg})
	if s.OnOverBudget == OverBudgetFail {
		cancel(errOverBudget)
	}
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

// stepRunner runs one kind of step, from its start to its end, through
// its scope.
type stepRunner interface {
	run(ctx context.Context, sc *stepScope) (Status, string)
}

// stepScope is one step of a run as its runner sees it: where it is, and
// how it starts and ends.
type stepScope struct {
	e     *Engine
	stage *Stage
	step  *Step
	name  string
	start time.Time
}

// begin announces the step's first attempt and starts its clock.
func (sc *stepScope) begin(kind StepKind) {
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

// runStep runs one step to completion and returns its status and, if it did
// not succeed, why.
func (e *Engine) runStep(ctx context.Context, s *Stage, j int) (Status, string) {
	sc := &stepScope{e: e, stage: s, step: &s.Steps[j], name: s.Steps[j].StepName(j)}
	r, ok := e.runners[sc.step.Kind()]
	if !ok {
		// Validation rejects these; this guards a Pipeline built in code.
		return sc.finish(StatusFailed, fmt.Sprintf("%s steps are not yet implemented", sc.step.Kind()))
	}
	return r.run(ctx, sc)
}

func (c *commandRunner) stepEnv(s *Stage, st *Step, name string) []string {
	e := c.e
	env := slices.Clip(c.baseEnv)
	for _, k := range slices.Sorted(maps.Keys(st.Env)) {
		env = append(env, k+"="+st.Env[k])
	}
	return append(env, stepMarker(e.runID, s.Name, name)...)
}

// stepMarker are the environment entries that name a step's processes,
// wherever they go.
func stepMarker(run, stage, step string) []string {
	return []string{"CUTOVER_RUN=" + run, "CUTOVER_STAGE=" + stage, "CUTOVER_STEP=" + step}
}

// argvFor returns how to execute a run step. A step with its own PATH or
// working directory always goes through the shell, which resolves the
// command there; otherwise the direct form is looked up once per command.
func (c *commandRunner) argvFor(st *Step) []string {
	if _, ok := st.Env["PATH"]; ok || st.Dir != "" {
		return shell(st.Run)
	}
	c.argvMu.Lock()
	defer c.argvMu.Unlock()
	if c.argv == nil {
		c.argv = map[string][]string{}
	}
	args, ok := c.argv[st.Run]
	if !ok {
		args = argv(st.Run)
		c.argv[st.Run] = args
	}
	return args
}

// emitOutput publishes one line (or window) of a step's output: made safe
// to print first, so that a secret split by an escape sequence is whole
// again when it is masked, then cut into event-sized pieces.
func (c *commandRunner) emitOutput(s *Stage, name string, stream Stream, text string, partial bool) {
	e := c.e
	parts := splitLine(e.mask.String(sanitize.Line(text)), maxEventLine)
	for k, piece := range parts {
		e.out.emit(StepOutput{Stage: s.Name, Step: name, Stream: stream, Line: piece, Partial: partial || k < len(parts)-1})
	}
}

// commandRunner runs a run step: a command in its own process group,
// attempt after attempt.
type commandRunner struct {
	e *Engine
	// baseEnv is the environment every run step starts from.
	baseEnv []string
	// devNull is every step's standard input, opened once per run.
	devNull *os.File
	// argv caches how each run command is executed, so that PATH is
	// searched once per command rather than once per attempt.
	argvMu sync.Mutex
	argv   map[string][]string
}

func (c *commandRunner) run(ctx context.Context, sc *stepScope) (Status, string) {
	e, s, st, name := c.e, sc.stage, sc.step, sc.name
	attempts := 1 + st.Retries
	env := c.stepEnv(s, st, name)
	args := c.argvFor(st)
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			reason := "stopped: " + context.Cause(ctx).Error()
			sc.end(stepEnd{status: StatusCancelled, attempt: attempt, reason: reason})
			return StatusCancelled, reason
		}
		e.out.emit(StepStarted{Stage: s.Name, Step: name, Kind: KindRun, Attempt: attempt})
		start := e.clock.Now()
		actx, cancel := context.WithCancelCause(ctx)
		var watch sync.WaitGroup
		if st.Timeout > 0 {
			watch.Go(func() {
				t := e.clock.NewTimer(st.Timeout.D())
				defer t.Stop()
				select {
				case <-t.C():
					cancel(errStepTimedOut)
				case <-actx.Done():
				}
			})
		}
		code, err := runCommand(actx, command{
			args: args, env: env, dir: st.Dir, grace: e.cfg.KillGrace, kill: e.killCh, stdin: c.devNull, mask: e.mask,
			marker: stepMarker(e.runID, s.Name, name),
			line:   func(stream Stream, text string, partial bool) { c.emitOutput(s, name, stream, text, partial) },
		})
		cause := context.Cause(actx)
		cancel(nil)
		watch.Wait()
		elapsed := e.clock.Now().Sub(start)

		// The exit code is judged first: a step that finished its work
		// just as a stop arrived did finish it.
		status, reason := StatusSucceeded, ""
		switch {
		case err == nil && code == 0:
		case errors.Is(cause, errStepTimedOut):
			status, reason = StatusFailed, fmt.Sprintf("timed out after %s", st.Timeout)
		case ctx.Err() != nil:
			status, reason = StatusCancelled, "stopped: "+context.Cause(ctx).Error()
		case err != nil:
			status, reason = StatusFailed, err.Error()
		default:
			status, reason = StatusFailed, fmt.Sprintf("exited with status %d", code)
		}
		sc.end(stepEnd{status: status, attempt: attempt, exitCode: &code, elapsed: elapsed, reason: reason})
		if status != StatusFailed || attempt >= attempts {
			return status, reason
		}
		msg := fmt.Sprintf("step %s/%s failed (%s); retrying, attempt %d of %d", s.Name, name, reason, attempt+1, attempts)
		e.out.emit(Warning{Code: WarnRetry, Stage: s.Name, Step: name, Message: e.mask.String(msg)})
	}
}

// outputTail returns the last lines a step printed, for the journal. Every
// line was published before the step's result is recorded.
func (c *commandRunner) outputTail(stage, step string) []string {
	e := c.e
	e.out.publishHeld() // the step's last lines may still be held
	snap := e.Snapshot()
	st, _ := snap.Stage(stage)
	for _, x := range st.Steps {
		if x.Name == step {
			lines := make([]string, len(x.Tail))
			for i, l := range x.Tail {
				lines[i] = l.Line
			}
			return lines
		}
	}
	return nil
}

// approveRunner runs an approve step: a gate that waits for a person.
type approveRunner struct{ e *Engine }

func (r approveRunner) run(ctx context.Context, sc *stepScope) (Status, string) {
	e, s, st, name := r.e, sc.stage, sc.step, sc.name
	sc.begin(KindApprove)
	d, ok := e.gates.await(ctx, s, name, st.Approve, st.Timeout.D(), st.OnTimeout)
	if !ok {
		return sc.finish(StatusCancelled, "stopped while waiting for approval")
	}
	status, reason := StatusSucceeded, ""
	if d.outcome != GateApprove {
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

// notifyRunner runs a notify step: it sends its message to every target
// now and succeeds whether or not the message was delivered.
type notifyRunner struct{ e *Engine }

func (r notifyRunner) run(ctx context.Context, sc *stepScope) (Status, string) {
	e, s, st, name := r.e, sc.stage, sc.step, sc.name
	spec := *st.Notify
	sc.begin(KindNotify)
	finish := sc.finish
	targets := targetsOf(spec.Slack, spec.Teams)
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
	n := e.notes.newNotice(NotifyMessage, s, st, name)
	n.headline = spec.Message
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
			failed = append(failed, fmt.Sprintf("%s (%v)", targets[i].kind, err))
		}
	}
	if len(failed) > 0 {
		return finish(StatusSucceeded, "not delivered to "+strings.Join(failed, ", ")+"; a notification never fails a release")
	}
	return finish(StatusSucceeded, "")
}
