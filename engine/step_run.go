package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/cutover-sh/cutover/engine/spec"

	"github.com/cutover-sh/cutover/engine/edge"
	"github.com/cutover-sh/cutover/sanitize"
)

// commandRunner runs a run step: a command in its own process group,
// attempt after attempt.
type commandRunner struct {
	e *Engine
	// baseEnv is the environment every run step starts from.
	baseEnv []string
	// devNull is every step's standard input, opened once per run.
	devNull *os.File
}

func (c *commandRunner) run(ctx context.Context, sc *stepScope) (Status, string) {
	e, s, st, name := c.e, sc.stage, sc.step, sc.name
	attempts := 1 + st.Retries
	env := c.stepEnv(s, st, name)
	// A step with its own PATH or working directory goes through the
	// shell, which resolves the command there.
	_, ownPath := st.Env["PATH"]
	viaShell := ownPath || st.Dir != ""
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			reason := "stopped: " + context.Cause(ctx).Error()
			sc.end(stepEnd{status: StatusCancelled, attempt: attempt, reason: reason})
			return StatusCancelled, reason
		}
		e.out.emit(StepStarted{Stage: s.Name, Step: name, Kind: spec.KindRun, Attempt: attempt})
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
		code, err := c.run1(actx, edge.Command{
			Script: st.Run, Shell: viaShell, Env: env, Dir: st.Dir, Grace: e.cfg.KillGrace, Kill: e.killCh, Stdin: c.devNull,
			Cut: e.mask.Cut, Marker: stepMarker(e.runID, s.Name, name),
			Line: func(stderr bool, text string, partial bool) {
				stream := Stdout
				if stderr {
					stream = Stderr
				}
				c.emitOutput(s, name, stream, text, partial)
			},
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

func (c *commandRunner) stepEnv(s *spec.Stage, st *spec.Step, name string) []string {
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

// run1 runs one attempt through the run's process runner.
func (c *commandRunner) run1(ctx context.Context, cmd edge.Command) (int, error) {
	if c.e.cfg.Processes == nil {
		// cmd/cutover gives every run one; a run built without is told why.
		return -1, errors.New("this run has no process runner (engine.Config.Processes)")
	}
	return c.e.cfg.Processes.Run(ctx, cmd)
}

// emitOutput publishes one line (or window) of a step's output: made safe
// to print first, so that a secret split by an escape sequence is whole
// again when it is masked, then cut into event-sized pieces.
func (c *commandRunner) emitOutput(s *spec.Stage, name string, stream Stream, text string, partial bool) {
	e := c.e
	parts := splitLine(e.mask.String(sanitize.Line(text)), maxEventLine)
	for k, piece := range parts {
		e.out.emit(StepOutput{Stage: s.Name, Step: name, Stream: stream, Line: piece, Partial: partial || k < len(parts)-1})
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

// maxEventLine is the longest line one output event carries; longer lines
// are split into partial events.
const maxEventLine = 64 << 10

// splitLine cuts s into pieces of at most n bytes without splitting a UTF-8
// sequence.
func splitLine(s string, n int) []string {
	if len(s) <= n {
		return []string{s}
	}
	var parts []string
	for len(s) > n {
		cut := n
		for back := 0; back < utf8.UTFMax && cut > 0 && !utf8.RuneStart(s[cut]); back++ {
			cut--
		}
		if cut == 0 {
			cut = n
		}
		parts = append(parts, s[:cut])
		s = s[cut:]
	}
	return append(parts, s)
}
