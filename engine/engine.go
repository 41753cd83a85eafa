package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Recorder is where the engine writes its audit records. *Journal is the
// real one; Append must not return before the record is durable.
type Recorder interface {
	Append(Record) error
}

// Config is everything one run needs.
type Config struct {
	Pipeline *Pipeline
	// Vars are exported to every run step: the --set values and the
	// variables the pipeline referenced.
	Vars map[string]string
	// Secrets are the values to mask everywhere.
	Secrets []string
	// Parallel is how many independent stages may run at once (default 4).
	Parallel int
	// SkipStages names stages to skip on purpose.
	SkipStages []string
	// Emergency skips every stage marked skippableInEmergency; it needs a
	// Reason.
	Emergency bool
	Reason    string
	// Actor is who started the run.
	Actor Actor
	// AutoApprove approves every gate as the actor "auto-approve".
	AutoApprove bool
	// KillGrace is how long a step's processes get between SIGTERM and
	// SIGKILL (default 10s).
	KillGrace time.Duration
	Clock     Clock
	Journal   Recorder
	// Env is the base environment of run steps (default os.Environ()).
	Env []string
}

// AutoApprover is the actor recorded for gates passed by --auto-approve.
var AutoApprover = Actor{Name: "auto-approve"}

// Errors an engine command can return.
var (
	ErrNoGate       = errors.New("no gate is waiting")
	ErrGateDecided  = errors.New("gate was already decided")
	ErrNotRunning   = errors.New("run is not in progress")
	ErrBadSkip      = errors.New("bad skip")
	errOverBudget   = errors.New("stage ran over its budget")
	errStepTimedOut = errors.New("step timed out")
)

// Engine runs one pipeline once. Its methods (Approve, Reject, Abort) may
// be called from any goroutine while Run is in progress.
type Engine struct {
	cfg    Config
	p      *Pipeline
	clock  Clock
	mask   *Masker
	bcast  *Broadcaster
	runID  string
	skips  map[string]string // stage -> reason
	killCh chan struct{}

	emitMu sync.Mutex
	seq    uint64

	// argv caches how each run command is executed, so that PATH is
	// searched once per command rather than once per attempt.
	argvMu sync.Mutex
	argv   map[string][]string
	// baseEnv is the environment every run step starts from.
	baseEnv []string
	devNull *os.File

	mu       sync.Mutex
	gates    map[string]*gate
	cancel   context.CancelCauseFunc
	aborted  *RunAborted
	finished bool
	killOnce sync.Once
	journErr error
}

type gate struct {
	decided chan decision
}

type decision struct {
	outcome GateOutcome
	actor   Actor
	reason  string
}

// ErrAborted is the cancellation cause of a run stopped by Abort.
var ErrAborted = errors.New("aborted")

// New checks cfg and prepares a run. Bad skips and an emergency without a
// reason are input errors (ErrBadSkip).
func New(cfg Config) (*Engine, error) {
	if cfg.Pipeline == nil {
		return nil, errors.New("engine: no pipeline")
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 4
	}
	if cfg.KillGrace <= 0 {
		cfg.KillGrace = 10 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	if cfg.Env == nil {
		cfg.Env = os.Environ()
	}
	p := cfg.Pipeline
	skips := map[string]string{}
	names := stageNames(p)
	for _, s := range cfg.SkipStages {
		if !slices.Contains(names, s) {
			hint := ""
			if sug := suggest(s, names); sug != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", sug)
			}
			return nil, fmt.Errorf("%w: --skip-stage %q names no stage of pipeline %s%s", ErrBadSkip, s, p.Metadata.Name, hint)
		}
		skips[s] = "skipped with --skip-stage"
		if cfg.Reason != "" {
			skips[s] += ": " + cfg.Reason
		}
	}
	if cfg.Emergency {
		if strings.TrimSpace(cfg.Reason) == "" {
			return nil, fmt.Errorf("%w: --emergency needs --reason saying why tests are skipped", ErrBadSkip)
		}
		for _, s := range p.Stages {
			if s.SkippableInEmergency {
				skips[s.Name] = "emergency: " + cfg.Reason
			}
		}
	}
	e := &Engine{
		cfg:    cfg,
		p:      p,
		clock:  cfg.Clock,
		mask:   NewMasker(cfg.Secrets),
		runID:  newRunID(cfg.Clock.Now()),
		skips:  skips,
		killCh: make(chan struct{}),
		gates:  map[string]*gate{},
	}
	e.baseEnv = slices.Clone(cfg.Env)
	for _, k := range slices.Sorted(mapKeys(cfg.Vars)) {
		e.baseEnv = append(e.baseEnv, k+"="+cfg.Vars[k])
	}
	e.bcast = NewBroadcaster(NewSnapshot(p))
	return e, nil
}

func newRunID(now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// RunID identifies this run in events and the journal.
func (e *Engine) RunID() string { return e.runID }

// Subscribe returns a subscription to this run's events; see Broadcaster.
func (e *Engine) Subscribe(buffer int) *Subscription { return e.bcast.Subscribe(buffer) }

// Snapshot returns the run's current state.
func (e *Engine) Snapshot() Snapshot { return e.bcast.Snapshot() }

// emit stamps ev and publishes it. The lock makes sequence numbers follow
// publication order.
func (e *Engine) emit(ev Event) {
	e.emitMu.Lock()
	defer e.emitMu.Unlock()
	e.seq++
	e.bcast.Publish(ev.withMeta(Meta{Seq: e.seq, Time: e.clock.Now(), Run: e.runID}))
}

// record writes rec to the journal. A journal that cannot be written stops
// the run: an unaudited release is not one we allow.
func (e *Engine) record(rec Record) error {
	if e.cfg.Journal == nil {
		return nil
	}
	rec.Time, rec.Run = e.clock.Now(), e.runID
	rec.Reason = e.mask.String(rec.Reason)
	rec.Vars = e.mask.Map(rec.Vars)
	for i, l := range rec.Output {
		rec.Output[i] = e.mask.String(l)
	}
	if err := e.cfg.Journal.Append(rec); err != nil {
		e.mu.Lock()
		first := e.journErr == nil
		if first {
			e.journErr = err
		}
		cancel := e.cancel
		e.mu.Unlock()
		if first && cancel != nil {
			cancel(fmt.Errorf("journal: %w", err))
		}
		return err
	}
	return nil
}

func actorPtr(a Actor) *Actor { return &a }

// Run executes the pipeline and returns the final snapshot. It returns an
// error only when the run could not start at all.
func (e *Engine) Run(ctx context.Context) (Snapshot, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	e.mu.Lock()
	if e.cancel != nil {
		e.mu.Unlock()
		return e.Snapshot(), errors.New("engine: Run called twice")
	}
	e.cancel = cancel
	e.mu.Unlock()

	p := e.p
	skipped := slices.Sorted(mapKeys(e.skips))
	if err := e.record(Record{
		Type: RecRunStarted, Actor: actorPtr(e.cfg.Actor), Pipeline: p.Metadata.Name,
		Path: p.Source.Path, Hash: p.Source.Hash, Vars: e.cfg.Vars,
		Emergency: e.cfg.Emergency, Skips: skipped, Reason: e.cfg.Reason,
	}); err != nil {
		e.bcast.Close()
		return e.Snapshot(), fmt.Errorf("start run of %s: %w", p.Metadata.Name, err)
	}
	start := e.clock.Now()
	e.emit(RunStarted{
		Pipeline: p.Metadata.Name, Path: p.Source.Path, Hash: p.Source.Hash,
		Vars: e.mask.Map(e.cfg.Vars), Actor: e.cfg.Actor, Stages: stageNames(p),
		Budget: e.Snapshot().Budget, Emergency: e.cfg.Emergency, Reason: e.mask.String(e.cfg.Reason),
		AutoApprove: e.cfg.AutoApprove,
	})

	// Steps read no input; one /dev/null serves them all.
	if devNull, err := os.Open(os.DevNull); err == nil {
		e.devNull = devNull
		defer func() { _ = devNull.Close() }()
	}
	status := e.schedule(ctx)

	reason := ""
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, ErrAborted):
		status, reason = StatusAborted, e.abortReason()
	case cause != nil && !errors.Is(cause, context.Canceled):
		status, reason = StatusFailed, cause.Error()
	case ctx.Err() != nil:
		status, reason = StatusAborted, "cancelled"
	}
	elapsed := e.clock.Now().Sub(start)
	// The final record is attempted even if the journal failed earlier, so
	// the failure itself leaves a trace if the disk recovers.
	_ = e.record(Record{Type: RecRunFinished, Status: status, Duration: elapsed, Reason: reason})
	e.mu.Lock()
	e.finished = true
	e.mu.Unlock()
	e.emit(RunFinished{Status: status, Elapsed: elapsed, Reason: e.mask.String(reason)})
	e.bcast.Close()
	return e.Snapshot(), nil
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

type stageResult struct {
	idx    int
	status Status
}

// schedule runs stages as their needs allow and returns the run's status.
func (e *Engine) schedule(ctx context.Context) Status {
	p := e.p
	status := make([]Status, len(p.Stages))
	index := map[string]int{}
	for i, s := range p.Stages {
		index[s.Name] = i
		status[i] = StatusPending
	}
	for _, name := range slices.Sorted(mapKeys(e.skips)) {
		i := index[name]
		reason := e.skips[name]
		status[i] = StatusSkipped
		_ = e.record(Record{Type: RecStageSkipped, Stage: name, Actor: actorPtr(e.cfg.Actor), Reason: reason})
		e.emit(StageSkipped{Stage: name, Actor: e.cfg.Actor, Reason: e.mask.String(reason)})
	}
	results := make(chan stageResult)
	running := 0
	for {
		for i, s := range p.Stages {
			if status[i] != StatusPending {
				continue
			}
			if blocker := blockedBy(s, status, index); blocker != "" {
				status[i] = StatusCancelled
				e.finishUnrun(s, StatusCancelled, fmt.Sprintf("not run: needs %s, which did not succeed", blocker))
				continue
			}
			if ctx.Err() != nil || running >= e.cfg.Parallel || !ready(s, status, index) {
				continue
			}
			status[i] = StatusRunning
			running++
			go func() { results <- stageResult{idx: i, status: e.runStage(ctx, i)} }()
		}
		if running == 0 {
			break
		}
		r := <-results
		running--
		status[r.idx] = r.status
	}
	final := StatusSucceeded
	for i, s := range p.Stages {
		switch status[i] {
		case StatusPending:
			status[i] = StatusCancelled
			e.finishUnrun(s, StatusCancelled, "not run: the run was stopped")
			final = StatusFailed
		case StatusFailed, StatusCancelled:
			final = StatusFailed
		}
	}
	return final
}

func ready(s Stage, status []Status, index map[string]int) bool {
	for _, n := range s.Needs {
		if st := status[index[n]]; st != StatusSucceeded && st != StatusSkipped {
			return false
		}
	}
	return true
}

// blockedBy returns a need that ended without success, if any.
func blockedBy(s Stage, status []Status, index map[string]int) string {
	for _, n := range s.Needs {
		if st := status[index[n]]; st == StatusFailed || st == StatusCancelled {
			return n
		}
	}
	return ""
}

func (e *Engine) finishUnrun(s Stage, status Status, reason string) {
	_ = e.record(Record{Type: RecStageFinished, Stage: s.Name, Status: status, Budget: s.Budget.D(), Reason: reason})
	e.emit(StageFinished{Stage: s.Name, Status: status, Budget: s.Budget.D(), Reason: reason})
}

// runStage runs one stage's steps in order and returns its status.
func (e *Engine) runStage(ctx context.Context, i int) Status {
	s := &e.p.Stages[i]
	budget := s.Budget.D()
	start := e.clock.Now()
	_ = e.record(Record{Type: RecStageStarted, Stage: s.Name, Budget: budget})
	e.emit(StageStarted{Stage: s.Name, Budget: budget})

	sctx, cancel := context.WithCancelCause(ctx)
	var watch sync.WaitGroup
	watch.Go(func() { e.watchBudget(sctx, s, cancel) })

	status, reason := StatusSucceeded, ""
	for j := range s.Steps {
		status, reason = e.runStep(sctx, s, j)
		if status != StatusSucceeded {
			break
		}
	}
	if cause := context.Cause(sctx); errors.Is(cause, errOverBudget) {
		status, reason = StatusFailed, fmt.Sprintf("ran over its budget of %s (onOverBudget: fail)", s.Budget)
	} else if ctx.Err() != nil && status != StatusSucceeded {
		status = StatusCancelled
	}
	cancel(nil)
	watch.Wait()
	elapsed := e.clock.Now().Sub(start)
	_ = e.record(Record{Type: RecStageFinished, Stage: s.Name, Status: status, Duration: elapsed, Budget: budget, Reason: reason})
	e.emit(StageFinished{Stage: s.Name, Status: status, Elapsed: elapsed, Budget: budget, Reason: e.mask.String(reason)})
	return status
}

// watchBudget warns when a stage passes its budget and, with
// onOverBudget: fail, stops it. It ends when the stage does.
func (e *Engine) watchBudget(ctx context.Context, s *Stage, cancel context.CancelCauseFunc) {
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
	_ = e.record(Record{Type: RecWarning, Stage: s.Name, Budget: s.Budget.D(), Reason: msg})
	e.emit(Warning{Code: WarnOverBudget, Stage: s.Name, Message: msg})
	if s.OnOverBudget == OverBudgetFail {
		cancel(errOverBudget)
	}
}

// runStep runs one step to completion and returns its status and, if it did
// not succeed, why.
func (e *Engine) runStep(ctx context.Context, s *Stage, j int) (Status, string) {
	st := &s.Steps[j]
	name := st.StepName(j)
	switch st.Kind() {
	case KindRun:
		return e.runRun(ctx, s, st, name)
	case KindApprove:
		return e.runApprove(ctx, s, st, name)
	default:
		// Validation rejects these; this guards a Pipeline built in code.
		reason := fmt.Sprintf("%s steps are not yet implemented", st.Kind())
		e.emit(StepFinished{Stage: s.Name, Step: name, Status: StatusFailed, Reason: reason})
		return StatusFailed, reason
	}
}

func (e *Engine) stepEnv(s *Stage, st *Step, name string) []string {
	env := slices.Clip(e.baseEnv)
	for _, k := range slices.Sorted(mapKeys(st.Env)) {
		env = append(env, k+"="+st.Env[k])
	}
	return append(env, "CUTOVER_RUN="+e.runID, "CUTOVER_STAGE="+s.Name, "CUTOVER_STEP="+name)
}

func (e *Engine) runRun(ctx context.Context, s *Stage, st *Step, name string) (Status, string) {
	attempts := 1 + st.Retries
	env := e.stepEnv(s, st, name)
	for attempt := 1; ; attempt++ {
		e.emit(StepStarted{Stage: s.Name, Step: name, Kind: KindRun, Attempt: attempt})
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
			args: e.argvFor(st.Run), env: env, dir: st.Dir, grace: e.cfg.KillGrace, kill: e.killCh, stdin: e.devNull,
			line: func(stream Stream, text string, partial bool) {
				parts := splitLine(e.mask.String(text), maxEventLine)
				for k, piece := range parts {
					piece = Sanitize(piece)
					e.emit(StepOutput{Stage: s.Name, Step: name, Stream: stream, Line: piece, Partial: partial || k < len(parts)-1})
				}
			},
		})
		cause := context.Cause(actx)
		cancel(nil)
		watch.Wait()
		elapsed := e.clock.Now().Sub(start)

		status, reason := StatusSucceeded, ""
		switch {
		case errors.Is(cause, errStepTimedOut):
			status, reason = StatusFailed, fmt.Sprintf("timed out after %s", st.Timeout)
		case ctx.Err() != nil:
			status, reason = StatusCancelled, "stopped: "+causeText(context.Cause(ctx))
		case err != nil:
			status, reason = StatusFailed, err.Error()
		case code != 0:
			status, reason = StatusFailed, fmt.Sprintf("exited with status %d", code)
		}
		rec := Record{Type: RecStepFinished, Stage: s.Name, Step: name, Status: status, Attempt: attempt, ExitCode: &code, Duration: elapsed, Reason: reason}
		if status != StatusSucceeded {
			rec.Output = e.outputTail(s.Name, name)
		}
		_ = e.record(rec)
		e.emit(StepFinished{Stage: s.Name, Step: name, Status: status, Attempt: attempt, ExitCode: code, Elapsed: elapsed, Reason: e.mask.String(reason)})
		if status != StatusFailed || attempt >= attempts || ctx.Err() != nil {
			return status, reason
		}
		msg := fmt.Sprintf("step %s/%s failed (%s); retrying, attempt %d of %d", s.Name, name, reason, attempt+1, attempts)
		e.emit(Warning{Code: WarnRetry, Stage: s.Name, Step: name, Message: e.mask.String(msg)})
	}
}

func (e *Engine) argvFor(script string) []string {
	e.argvMu.Lock()
	defer e.argvMu.Unlock()
	if e.argv == nil {
		e.argv = map[string][]string{}
	}
	args, ok := e.argv[script]
	if !ok {
		args = argv(script)
		e.argv[script] = args
	}
	return args
}

func causeText(err error) string {
	if err == nil {
		return "cancelled"
	}
	return err.Error()
}

// outputTail returns the last lines a step printed, for the journal. Every
// line was published before the step's result is recorded.
func (e *Engine) outputTail(stage, step string) []string {
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

func gateID(stage, step string) string { return stage + "/" + step }

func (e *Engine) runApprove(ctx context.Context, s *Stage, st *Step, name string) (Status, string) {
	id := gateID(s.Name, name)
	g := &gate{decided: make(chan decision, 1)}
	e.mu.Lock()
	e.gates[id] = g
	e.mu.Unlock()
	e.emit(StepStarted{Stage: s.Name, Step: name, Kind: KindApprove, Attempt: 1})
	start := e.clock.Now()
	_ = e.record(Record{Type: RecGateWaiting, Stage: s.Name, Step: name, Gate: id, Reason: st.Approve})
	e.emit(GateWaiting{Gate: id, Stage: s.Name, Step: name, Instruction: e.mask.String(st.Approve), Timeout: st.Timeout.D(), OnTimeout: st.OnTimeout})
	if e.cfg.AutoApprove {
		_ = e.decide(id, GateApprove, AutoApprover, "--auto-approve")
	}
	var timeout <-chan time.Time
	if st.Timeout > 0 {
		t := e.clock.NewTimer(st.Timeout.D())
		defer t.Stop()
		timeout = t.C()
	}
	var d decision
	select {
	case d = <-g.decided:
	case <-timeout:
		outcome := st.OnTimeout
		if outcome == "" {
			outcome = GateReject
		}
		// If a person decided at the same instant, decide fails and their
		// decision, already in the channel, stands.
		_ = e.decide(id, outcome, Actor{Name: "timeout"}, fmt.Sprintf("no decision within %s", st.Timeout))
		d = <-g.decided
	case <-ctx.Done():
		e.mu.Lock()
		delete(e.gates, id)
		e.mu.Unlock()
		const reason = "stopped while waiting for approval"
		elapsed := e.clock.Now().Sub(start)
		_ = e.record(Record{Type: RecStepFinished, Stage: s.Name, Step: name, Status: StatusCancelled, Attempt: 1, Duration: elapsed, Reason: reason})
		e.emit(StepFinished{Stage: s.Name, Step: name, Status: StatusCancelled, Attempt: 1, Elapsed: elapsed, Reason: reason})
		return StatusCancelled, reason
	}
	status, reason := StatusSucceeded, ""
	if d.outcome != GateApprove {
		status, reason = StatusFailed, fmt.Sprintf("rejected by %s", d.actor)
		if d.reason != "" {
			reason += ": " + d.reason
		}
	}
	elapsed := e.clock.Now().Sub(start)
	_ = e.record(Record{Type: RecStepFinished, Stage: s.Name, Step: name, Status: status, Attempt: 1, Duration: elapsed, Reason: reason, Actor: actorPtr(d.actor)})
	e.emit(StepFinished{Stage: s.Name, Step: name, Status: status, Attempt: 1, Elapsed: elapsed, Reason: e.mask.String(reason)})
	return status, reason
}

// Approve approves a waiting gate. gateID may be empty when exactly one
// gate waits.
func (e *Engine) Approve(actor Actor, gateID string) error {
	return e.decideNamed(gateID, GateApprove, actor, "")
}

// Reject rejects a waiting gate, which fails its stage.
func (e *Engine) Reject(actor Actor, gateID, reason string) error {
	return e.decideNamed(gateID, GateReject, actor, reason)
}

// WaitingGates lists the gates that wait for a decision, sorted.
func (e *Engine) WaitingGates() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := slices.Collect(mapKeys(e.gates))
	sort.Strings(ids)
	return ids
}

func (e *Engine) decideNamed(id string, outcome GateOutcome, actor Actor, reason string) error {
	if id == "" {
		waiting := e.WaitingGates()
		switch len(waiting) {
		case 0:
			return ErrNoGate
		case 1:
			id = waiting[0]
		default:
			return fmt.Errorf("several gates are waiting (%s); name one", strings.Join(waiting, ", "))
		}
	}
	return e.decide(id, outcome, actor, reason)
}

// decide applies the first decision for a gate; any later one gets
// ErrGateDecided. The decision is journaled before it is reported.
func (e *Engine) decide(id string, outcome GateOutcome, actor Actor, reason string) error {
	e.mu.Lock()
	g, ok := e.gates[id]
	if ok {
		delete(e.gates, id)
	}
	e.mu.Unlock()
	if !ok {
		return fmt.Errorf("gate %s: %w", id, ErrGateDecided)
	}
	typ := RecGateApproved
	if outcome != GateApprove {
		typ = RecGateRejected
	}
	stage, step, _ := strings.Cut(id, "/")
	_ = e.record(Record{Type: typ, Gate: id, Stage: stage, Step: step, Actor: actorPtr(actor), Reason: reason})
	e.emit(GateDecided{Gate: id, Outcome: outcome, Actor: actor, Reason: e.mask.String(reason)})
	g.decided <- decision{outcome: outcome, actor: actor, reason: reason}
	return nil
}

// Abort stops the run: running steps get SIGTERM then SIGKILL, and stages
// not yet run are cancelled. A second Abort skips the grace period.
func (e *Engine) Abort(actor Actor, reason string) error {
	e.mu.Lock()
	cancel, already := e.cancel, e.aborted != nil
	if cancel == nil || e.finished {
		e.mu.Unlock()
		return ErrNotRunning
	}
	if already {
		e.mu.Unlock()
		e.killOnce.Do(func() { close(e.killCh) })
		return nil
	}
	ev := RunAborted{Actor: actor, Reason: reason}
	e.aborted = &ev
	e.mu.Unlock()
	_ = e.record(Record{Type: RecRunAborted, Actor: actorPtr(actor), Reason: reason})
	e.emit(RunAborted{Actor: actor, Reason: e.mask.String(reason)})
	cancel(ErrAborted)
	return nil
}

func (e *Engine) abortReason() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.aborted == nil {
		return "aborted"
	}
	return fmt.Sprintf("aborted by %s: %s", e.aborted.Actor, e.aborted.Reason)
}
