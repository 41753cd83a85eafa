package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	"github.com/cutover-sh/cutover/engine/edge"
	"github.com/cutover-sh/cutover/human"
)

// Recorder is where the engine writes its audit records. *Journal is the
// real one; Append must not return before an action's record is durable.
type Recorder interface {
	Append(Record) error
}

// Config is everything one run needs.
type Config struct {
	Pipeline *spec.Pipeline
	// Vars are exported to every run step: the --set values, the file's
	// defaults and the variables the pipeline referenced.
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
	// AutoApprove approves every gate as the actor AutoApproveActor.
	AutoApprove bool
	// KillGrace is how long a step's processes get between SIGTERM and
	// SIGKILL (default 10s).
	KillGrace time.Duration
	Clock     Clock
	Journal   Recorder
	// Env is the base environment of run steps (default os.Environ()).
	Env []string
	// Clusters gives blueGreen and deploy steps their cluster by
	// kubeconfig context.
	Clusters Clusters
	// Processes runs run steps' commands: proc.Runner in cutover.
	Processes Processes
	// LoadTester sends loadtest steps' requests: loadtest.Vegeta in
	// cutover.
	LoadTester LoadTester
	// Webhooks posts notifications to Slack and Teams: webhook.Poster in
	// cutover.
	Webhooks WebhookPoster
	// Resume, when set, continues an earlier run: see Resume.
	Resume *Resume
	// Metrics gives analysis steps their backend.
	Metrics func(spec.PrometheusSpec) (Metrics, error)
	// NotifyBackoff is the wait before a failed notification is tried
	// again; it doubles with each attempt (default 1s).
	NotifyBackoff time.Duration
}

// Processes runs one attempt of a run step's command and returns its exit
// code. proc.Runner is cutover's: the engine starts no process itself.
type Processes interface {
	Run(ctx context.Context, c edge.Command) (exitCode int, err error)
}

// LoadTester sends a load test and summarises it; it stops early, and
// summarises what it sent, when ctx ends. loadtest.Vegeta is cutover's.
type LoadTester interface {
	Attack(ctx context.Context, a edge.LoadAttack) edge.LoadSummary
}

// WebhookPoster makes one attempt to deliver a notice to a webhook, within
// timeout; the engine decides what to send and how often to try.
// webhook.Poster is cutover's.
type WebhookPoster interface {
	Post(ctx context.Context, w edge.Webhook, n edge.Notice, timeout time.Duration) edge.Posted
}

// AutoApproveActor is the actor recorded for gates passed by --auto-approve.
const AutoApproveActor = "auto-approve"

// Errors an engine command can return.
var (
	ErrNoGate      = errors.New("no gate is waiting")
	ErrGateDecided = errors.New("gate was already decided")
	ErrNotRunning  = errors.New("run is not in progress")
	ErrBadSkip     = errors.New("bad skip")
	// ErrAborted is the cancellation cause of a run stopped by Abort.
	ErrAborted      = errors.New("aborted")
	errOverBudget   = errors.New("stage ran over its budget")
	errStepTimedOut = errors.New("step timed out")
)

// Engine runs one pipeline once. Its methods (Approve, Reject, Abort) may
// be called from any goroutine while Run is in progress.
type Engine struct {
	cfg    Config
	p      *spec.Pipeline
	clock  Clock
	mask   *Masker
	bcast  *Broadcaster
	runID  string
	killCh chan struct{}

	// out journals records and publishes events.
	out *publisher

	decisions decisionLog

	// gates are the run's approve gates.
	gates *gateBook

	mu       sync.Mutex
	cancel   context.CancelCauseFunc
	aborted  *RunAborted
	finished bool
	killOnce sync.Once
	journErr error
	// releases are the run's blue-green releases in flight.
	releases *releaseBook
	// query is what the release in flight measures.
	query latestQuery

	// notes tells people about the run.
	notes *notifications
	// runners run each kind of step.
	runners map[spec.StepKind]stepRunner
	// commands runs run steps; sched runs stages.
	commands *commandRunner
	sched    *scheduler
}

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
	names := spec.StageNames(p)
	for _, s := range cfg.SkipStages {
		if !slices.Contains(names, s) {
			hint := ""
			if sug := spec.Suggest(s, names); sug != "" {
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
	if r := cfg.Resume; r != nil {
		for _, s := range r.Succeeded {
			// A stage renamed since the run being resumed simply runs.
			if _, skipped := skips[s]; !skipped && slices.Contains(names, s) {
				skips[s] = "succeeded in run " + r.Run + resumeSkip
			}
		}
	}
	e := &Engine{
		cfg:   cfg,
		p:     p,
		clock: cfg.Clock,
		// A webhook URL is a credential wherever it came from.
		mask:   NewMasker(append(slices.Clone(cfg.Secrets), webhooks(p)...)),
		runID:  newRunID(cfg.Clock.Now()),
		killCh: make(chan struct{}),
	}
	baseEnv := slices.Clone(cfg.Env)
	for _, k := range slices.Sorted(maps.Keys(cfg.Vars)) {
		baseEnv = append(baseEnv, k+"="+cfg.Vars[k])
	}
	e.commands = &commandRunner{e: e, baseEnv: baseEnv}
	e.sched = &scheduler{e: e, skips: skips, skipCh: make(chan skipRequest), scheduled: make(chan struct{})}
	e.bcast = NewBroadcaster(NewSnapshot(p))
	e.out = &publisher{clock: e.clock, runID: e.runID, mask: e.mask, journal: cfg.Journal, bcast: e.bcast, decisions: &e.decisions, failed: e.journalFailed}
	e.releases = &releaseBook{out: e.out, mask: e.mask, running: map[string]chan Request{}, rollbacks: map[string]decision{}}
	e.notes = &notifications{p: p, runID: e.runID, actor: cfg.Actor, mask: e.mask, clock: e.clock, out: e.out, releases: e.releases,
		backoff: cfg.NotifyBackoff, kill: e.killCh, poster: cfg.Webhooks}
	e.gates = &gateBook{out: e.out, mask: e.mask, clock: e.clock, autoApprove: cfg.AutoApprove, asked: e.notes.approval,
		waiting: map[string]*gate{}, decided: map[string]decision{}}
	e.notes.gates = e.gates
	e.runners = map[spec.StepKind]stepRunner{
		spec.KindRun: e.commands, spec.KindApprove: approveRunner{e}, spec.KindBlueGreen: blueGreenRunner{e}, spec.KindDeploy: deployRunner{e},
		spec.KindAnalysis: analysisRunner{e}, spec.KindAlerts: alertsRunner{e}, spec.KindNotify: notifyRunner{e}, spec.KindLoadTest: loadTestRunner{e},
	}
	return e, nil
}

func newRunID(now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// Warn publishes a warning about the run from its driver (the command
// that runs it), masked like every event.
func (e *Engine) Warn(code, message string) {
	e.out.emit(Warning{Code: code, Message: e.mask.String(message)})
}

// RunID identifies this run in events and the journal.
func (e *Engine) RunID() string { return e.runID }

// Subscribe returns a subscription to this run's events; see Broadcaster.
func (e *Engine) Subscribe(buffer int) *Subscription { return e.bcast.Subscribe(buffer) }

// Snapshot returns the run's current state.
func (e *Engine) Snapshot() Snapshot { return e.bcast.Snapshot() }

// journalFailed stops the run on the first journal error.
func (e *Engine) journalFailed(err error) {
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
	if err := e.out.record(Record{
		Type: RecRunStarted, Actor: actorPtr(e.cfg.Actor), Pipeline: p.Metadata.Name, Holder: LockHolder(e.cfg.Actor, e.runID),
		Path: p.Source.Path, Hash: p.Source.Hash, Vars: e.cfg.Vars, Stages: spec.StageNames(p),
		Emergency: e.cfg.Emergency, Skips: slices.Sorted(maps.Keys(e.sched.skips)), Reason: e.cfg.Reason,
	}); err != nil {
		e.bcast.Close()
		return e.Snapshot(), fmt.Errorf("start run of %s: %w", p.Metadata.Name, err)
	}
	e.out.startCommits()
	start := e.clock.Now()
	e.out.emit(RunStarted{
		Pipeline: p.Metadata.Name, Path: p.Source.Path, Hash: p.Source.Hash,
		Vars: e.mask.Map(e.cfg.Vars), Actor: e.cfg.Actor, Stages: spec.StageNames(p), // both fresh copies
		Budget: e.Snapshot().Budget, Emergency: e.cfg.Emergency, Reason: e.mask.String(e.cfg.Reason),
		AutoApprove: e.cfg.AutoApprove, KillGrace: e.cfg.KillGrace,
	})
	e.notes.start(ctx)
	started := e.notes.newNotice(spec.NotifyStarted, nil, nil, "")
	started.headline = "Started " + p.Metadata.Name
	if e.cfg.Emergency {
		started.detail = "EMERGENCY run: " + e.cfg.Reason
	}
	e.notes.notify(started)

	// Steps read no input; one /dev/null serves them all.
	if devNull, err := os.Open(os.DevNull); err == nil {
		e.commands.devNull = devNull
		defer func() { _ = devNull.Close() }()
	}
	status := e.sched.schedule(ctx)
	close(e.sched.scheduled)

	// From here Abort is refused, so the outcome cannot change under us; an
	// Abort that came first was journaled before this lock was taken.
	e.mu.Lock()
	e.finished = true
	aborted := e.aborted
	e.mu.Unlock()
	reason := ""
	switch cause := context.Cause(ctx); {
	case aborted != nil:
		status, reason = StatusAborted, fmt.Sprintf("aborted by %s: %s", aborted.Actor, aborted.Reason)
	case cause != nil && !errors.Is(cause, context.Canceled):
		status, reason = StatusFailed, cause.Error()
	case ctx.Err() != nil:
		status, reason = StatusAborted, "cancelled"
	}
	elapsed := e.clock.Now().Sub(start)
	finished := e.notes.newNotice(spec.NotifyFinished, nil, nil, "")
	finished.headline = fmt.Sprintf("%s %s in %s", p.Metadata.Name, status, human.Duration(elapsed))
	finished.detail = reason
	if aborted != nil {
		finished.actor = aborted.Actor.String()
	}
	e.notes.notify(finished)
	// Before run.finished, so that it stays the run's last record and
	// event.
	e.notes.drain()
	// The final record is attempted even if the journal failed earlier, so
	// the failure itself leaves a trace if the disk recovers.
	_ = e.out.record(Record{Type: RecRunFinished, Status: status, Duration: elapsed, Reason: reason})
	e.out.emit(RunFinished{Status: status, Elapsed: elapsed, Reason: e.mask.String(reason)})
	e.out.close()
	return e.Snapshot(), nil
}

// Approve approves a waiting gate. gateID may be empty when exactly one
// gate waits.
func (e *Engine) Approve(actor Actor, gateID string) error {
	return e.gates.decideNamed(gateID, spec.GateApprove, actor, "", "")
}

// ApproveSeen approves a waiting gate for someone who read its diff: seen
// is the diff's hash (TemplateDiff.Hash), and the approval is refused if
// what approving changes is no longer that.
func (e *Engine) ApproveSeen(actor Actor, gateID, seen string) error {
	return e.gates.decideNamed(gateID, spec.GateApprove, actor, "", seen)
}

// Reject rejects a waiting gate, which fails its stage.
func (e *Engine) Reject(actor Actor, gateID, reason string) error {
	return e.gates.decideNamed(gateID, spec.GateReject, actor, reason, "")
}

// WaitingGates lists the gates that wait for a decision, sorted.
func (e *Engine) WaitingGates() []string { return e.gates.names() }

// Abort stops the run: running steps get SIGTERM then SIGKILL, and stages
// not yet run are cancelled. A second Abort skips the grace period.
func (e *Engine) Abort(actor Actor, reason string) error {
	// The lock is held while the abort is journaled and published, so that
	// Run, which takes it to finish, cannot report an outcome first.
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cancel == nil {
		return ErrNotRunning
	}
	if e.finished {
		// The run may still be delivering its last notifications; whoever
		// insists on stopping does not wait for them.
		e.killOnce.Do(func() { close(e.killCh) })
		return ErrNotRunning
	}
	if e.aborted != nil {
		e.killOnce.Do(func() { close(e.killCh) })
		return nil
	}
	e.aborted = &RunAborted{Actor: actor, Reason: reason}
	if err := e.out.write(Record{Type: RecRunAborted, Actor: actorPtr(actor), Reason: reason}); err != nil && e.journErr == nil {
		e.journErr = err
	}
	e.out.emitDecision(RunAborted{Actor: actor, Reason: e.mask.String(reason)}, "%s aborted the run", actor)
	e.cancel(ErrAborted)
	return nil
}

// cluster returns the Cluster for a kubeconfig context.
func (e *Engine) cluster(kctx string) (Cluster, error) {
	if e.cfg.Clusters == nil {
		return nil, errors.New("this run has no cluster access configured")
	}
	cl, err := e.cfg.Clusters(kctx)
	if err != nil {
		name := kctx
		if name == "" {
			name = "(current)"
		}
		return nil, fmt.Errorf("cluster for context %s: %w", name, err)
	}
	return cl, nil
}
