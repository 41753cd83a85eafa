package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/cutover-sh/cutover/engine/spec"
)

// decisions is what plan decides in one pass over the stages.
type decisions struct {
	// start lists pending stages to start now, in pipeline order.
	start []int
	// blocked maps pending stages that can never run to the need that
	// ended without success.
	blocked map[int]string
	// abandoned lists pending stages that will not start because the run
	// is stopping.
	abandoned []int
}

// plan decides, from the stages' statuses alone, which stages start now
// and which will never run. It is pure, so the scheduling rules are tested
// as a table; schedule applies what it decides. free is how many more
// stages may run at once; stopping is set once the run was cancelled.
func plan(stages []spec.Stage, status []Status, free int, stopping bool) decisions {
	index := make(map[string]int, len(stages))
	for i, s := range stages {
		index[s.Name] = i
	}
	st := slices.Clone(status)
	d := decisions{blocked: map[int]string{}}
	// Blocking cascades down the graph: repeat until nothing changes.
	for changed := true; changed; {
		changed = false
		for i, s := range stages {
			if st[i] != StatusPending {
				continue
			}
			for _, n := range s.Needs {
				if x := st[index[n]]; x == StatusFailed || x == StatusCancelled {
					d.blocked[i] = n
					st[i] = StatusCancelled
					changed = true
					break
				}
			}
		}
	}
	for i, s := range stages {
		if st[i] != StatusPending {
			continue
		}
		if stopping {
			d.abandoned = append(d.abandoned, i)
			continue
		}
		ready := true
		for _, n := range s.Needs {
			if x := st[index[n]]; x != StatusSucceeded && x != StatusSkipped {
				ready = false
				break
			}
		}
		if ready && len(d.start) < free {
			d.start = append(d.start, i)
		}
	}
	return d
}

// scheduler runs a run's stages as their needs allow, at most
// Config.Parallel at once, and takes the skips asked for meanwhile.
type scheduler struct {
	e *Engine
	// skips maps the stages skipped from the start to why.
	skips map[string]string
	// skipCh carries SkipStage to the scheduler, which alone knows which
	// stages have started; scheduled is closed when it is done.
	skipCh    chan skipRequest
	scheduled chan struct{}
}

type stageResult struct {
	idx    int
	status Status
}

// schedule runs stages as their needs allow and returns the run's status.
func (sd *scheduler) schedule(ctx context.Context) Status {
	e := sd.e
	p := e.p
	status := make([]Status, len(p.Stages))
	index := map[string]int{}
	for i, s := range p.Stages {
		index[s.Name] = i
		status[i] = StatusPending
	}
	for _, name := range slices.Sorted(maps.Keys(sd.skips)) {
		reason := sd.skips[name]
		status[index[name]] = StatusSkipped
		_ = e.out.record(Record{Type: RecStageSkipped, Stage: name, Actor: actorPtr(e.cfg.Actor), Reason: reason})
		e.out.emit(StageSkipped{Stage: name, Actor: e.cfg.Actor, Reason: e.mask.String(reason)})
	}
	results := make(chan stageResult)
	running := 0
	for {
		d := plan(p.Stages, status, e.cfg.Parallel-running, ctx.Err() != nil)
		for _, i := range slices.Sorted(maps.Keys(d.blocked)) {
			status[i] = StatusCancelled
			sd.finishUnrun(p.Stages[i], fmt.Sprintf("not run: needs %s, which did not succeed", d.blocked[i]))
		}
		for _, i := range d.abandoned {
			status[i] = StatusCancelled
			sd.finishUnrun(p.Stages[i], "not run: the run was stopped")
		}
		for _, i := range d.start {
			status[i] = StatusRunning
			running++
			go func() { results <- stageResult{idx: i, status: sd.runStage(ctx, i)} }()
		}
		if running == 0 {
			break
		}
		select {
		case r := <-results:
			running--
			status[r.idx] = r.status
		case req := <-sd.skipCh:
			req.reply <- sd.skipNow(req, status, index)
		}
	}
	final := StatusSucceeded
	for _, st := range status {
		if st != StatusSucceeded && st != StatusSkipped {
			final = StatusFailed
		}
	}
	return final
}

func (sd *scheduler) finishUnrun(s spec.Stage, reason string) {
	e := sd.e
	_ = e.out.record(Record{Type: RecStageFinished, Stage: s.Name, Status: StatusCancelled, Budget: s.Budget.D(), Reason: reason})
	e.out.emit(StageFinished{Stage: s.Name, Status: StatusCancelled, Budget: s.Budget.D(), Reason: reason})
}

// skipRequest is SkipStage's question to the scheduler.
type skipRequest struct {
	stage, reason string
	actor         Actor
	reply         chan error
}

// ErrNotEmergency refuses a skip during a run that is not an emergency.
var ErrNotEmergency = errors.New("skipping a stage during a run needs emergency mode (cutover run --emergency --reason ...)")

// SkipStage skips a stage that has not started yet, in an emergency run:
// stages that need it then run as if it had succeeded, as with
// --skip-stage. It is journaled with who asked and why.
func (e *Engine) SkipStage(actor Actor, stage, reason string) error {
	if !e.cfg.Emergency {
		return ErrNotEmergency
	}
	return e.sched.skip(skipRequest{stage: stage, reason: reason, actor: actor, reply: make(chan error, 1)})
}

// skip hands a skip to the running scheduler, which alone knows which
// stages have started.
func (sd *scheduler) skip(req skipRequest) error {
	select {
	case sd.skipCh <- req:
		return <-req.reply
	case <-sd.scheduled:
		return ErrNotRunning
	}
}

func (sd *scheduler) skipNow(req skipRequest, status []Status, index map[string]int) error {
	e := sd.e
	i, ok := index[req.stage]
	if !ok {
		return fmt.Errorf("skip: pipeline %s has no stage %q", e.p.Metadata.Name, req.stage)
	}
	if status[i] != StatusPending {
		return fmt.Errorf("skip: stage %s is already %s; only a stage that has not started can be skipped", req.stage, status[i])
	}
	status[i] = StatusSkipped
	reason := "emergency: skipped by " + req.actor.Name
	if req.reason != "" {
		reason += ": " + req.reason
	}
	_ = e.out.record(Record{Type: RecStageSkipped, Stage: req.stage, Actor: actorPtr(req.actor), Reason: reason})
	e.out.emitDecision(StageSkipped{Stage: req.stage, Actor: req.actor, Reason: e.mask.String(reason)}, "%s skipped stage %s", req.actor, req.stage)
	return nil
}

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
func (sd *scheduler) watchBudget(ctx context.Context, s *spec.Stage, cancel context.CancelCauseFunc) {
	e := sd.e
	t := e.clock.NewTimer(s.Budget.D())
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C():
	}
	msg := fmt.Sprintf("stage %s is over its budget of %s", s.Name, s.Budget)
	if s.OnOverBudget == spec.OverBudgetFail {
		msg += "; stopping it (onOverBudget: fail)"
	}
	_ = e.out.record(Record{Type: RecWarning, Stage: s.Name, Budget: s.Budget.D(), Reason: msg})
	e.out.emit(Warning{Code: WarnOverBudget, Stage: s.Name, Message: msg})
	if s.OnOverBudget == spec.OverBudgetFail {
		cancel(errOverBudget)
	}
}
