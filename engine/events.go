package engine

import (
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
)

// Meta is stamped on every event by the engine when it is published.
type Meta struct {
	// Seq orders events within a run; a snapshot's Seq is the last event
	// it includes.
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	Run  string    `json:"run"`
	// Decisions is how many decisions people had taken in the run when
	// the event was published (see Engine.Guard).
	Decisions uint64 `json:"decisions,omitempty"`
}

// Event is one thing that happened in a run. Events are immutable values;
// the concrete types below are the whole set.
type Event interface {
	// Type is the event's stable name in the JSON stream, e.g. "stage.started".
	Type() string
	// Header returns the event's sequence number, time and run.
	Header() Meta
	withMeta(Meta) Event
}

// Actor is who asked for an action: an OS user, an SSH key, or
// "auto-approve".
type Actor struct {
	Name string `json:"name"`
	// ID identifies the credential behind the name, such as an SSH key
	// fingerprint, when there is one.
	ID string `json:"id,omitempty"`
}

func (a Actor) String() string {
	if a.ID == "" {
		return a.Name
	}
	return a.Name + " · " + a.ID
}

// RunStarted opens a run.
type RunStarted struct {
	Meta
	Pipeline    string            `json:"pipeline"`
	Path        string            `json:"path"`
	Hash        string            `json:"hash"`
	Vars        map[string]string `json:"vars,omitempty"`
	Actor       Actor             `json:"actor"`
	Stages      []string          `json:"stages"`
	Budget      time.Duration     `json:"budgetNs"`
	Emergency   bool              `json:"emergency,omitempty"`
	Reason      string            `json:"reason,omitempty"`
	AutoApprove bool              `json:"autoApprove,omitempty"`
	// KillGrace is how long a stopped step's processes get between
	// SIGTERM and SIGKILL.
	KillGrace time.Duration `json:"killGraceNs,omitempty"`
}

// StageStarted marks a stage beginning its first step.
type StageStarted struct {
	Meta
	Stage  string        `json:"stage"`
	Budget time.Duration `json:"budgetNs"`
}

// StageSkipped marks a stage that will not run because it was skipped on
// purpose (--skip-stage or --emergency).
type StageSkipped struct {
	Meta
	Stage  string `json:"stage"`
	Actor  Actor  `json:"actor"`
	Reason string `json:"reason"`
}

// StageFinished closes a stage with its result.
type StageFinished struct {
	Meta
	Stage   string        `json:"stage"`
	Status  Status        `json:"status"`
	Elapsed time.Duration `json:"elapsedNs"`
	Budget  time.Duration `json:"budgetNs"`
	// Reason explains a failure or cancellation.
	Reason string `json:"reason,omitempty"`
}

// StepStarted marks one attempt of a step beginning.
type StepStarted struct {
	Meta
	Stage   string        `json:"stage"`
	Step    string        `json:"step"`
	Kind    spec.StepKind `json:"kind"`
	Attempt int           `json:"attempt"`
}

// Stream names where a line of step output came from.
type Stream string

// The output streams.
const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// StepOutput is one line of a step's output, already masked and made safe
// to print.
type StepOutput struct {
	Meta
	Stage  string `json:"stage"`
	Step   string `json:"step"`
	Stream Stream `json:"stream"`
	Line   string `json:"line"`
	// Partial is set when a very long line was split; the next event with
	// the same stream continues it.
	Partial bool `json:"partial,omitempty"`
}

// StepFinished closes one step.
type StepFinished struct {
	Meta
	Stage    string        `json:"stage"`
	Step     string        `json:"step"`
	Status   Status        `json:"status"`
	Attempt  int           `json:"attempt"`
	ExitCode int           `json:"exitCode"`
	Elapsed  time.Duration `json:"elapsedNs"`
	Reason   string        `json:"reason,omitempty"`
}

// GateWaiting says an approve gate needs a decision.
type GateWaiting struct {
	Meta
	Gate        string           `json:"gate"`
	Stage       string           `json:"stage"`
	Step        string           `json:"step"`
	Instruction string           `json:"instruction" sanitize:"text"`
	Timeout     time.Duration    `json:"timeoutNs,omitempty"`
	OnTimeout   spec.GateOutcome `json:"onTimeout,omitempty"`
	// Diff is what approving a blue-green release's gate changes, as
	// observed when it opened; release.progress carries it as it changes.
	Diff *TemplateDiff `json:"diff,omitempty"`
}

// GateDecided says an approve gate was approved or rejected, and by whom.
type GateDecided struct {
	Meta
	Gate    string           `json:"gate"`
	Outcome spec.GateOutcome `json:"outcome"`
	Actor   Actor            `json:"actor"`
	Reason  string           `json:"reason,omitempty"`
}

// Warning is something a person should notice that does not stop the run,
// such as a stage going over its budget.
type Warning struct {
	Meta
	// Code classifies the warning for programs: one of the Warn codes.
	Code    string `json:"code"`
	Stage   string `json:"stage,omitempty"`
	Step    string `json:"step,omitempty"`
	Message string `json:"message"`
}

// The warning codes.
const (
	WarnOverBudget = "over-budget"
	WarnRetry      = "retry"
	// WarnRollbackLate is a rollback that came as its release ended.
	WarnRollbackLate = "rollback-late"
	// WarnLockTakenOver: a release lock whose holder stopped renewing
	// it was taken over.
	WarnLockTakenOver = "lock-taken-over"
	// WarnNotifyFailed: a Slack or Teams notification could not be
	// delivered. The release goes on.
	WarnNotifyFailed = "notify-failed"
	// WarnUnattended: nobody can answer a gate where the run was started
	// (its standard input closed); the warning says how to decide it from
	// elsewhere.
	WarnUnattended = "unattended"
)

// ReleaseProgress reports a blue-green release or a deploy step: its phase,
// what it does next, and what the cluster says about the color it is
// working on. It is sent when any of that changes.
type ReleaseProgress struct {
	Meta
	Stage string `json:"stage"`
	Step  string `json:"step"`
	// Service is namespace/name; for a deploy step it is empty and
	// Deployment names what is rolled out.
	Service string     `json:"service,omitempty"`
	Phase   Phase      `json:"phase"`
	From    spec.Color `json:"from,omitempty"`
	To      spec.Color `json:"to,omitempty"`
	// Live is the color the Service selects now.
	Live   spec.Color `json:"live,omitempty"`
	Action ActionKind `json:"action,omitempty"`
	// Color and State describe the color being rolled out or checked.
	Color   spec.Color `json:"color,omitempty"`
	State   ColorState `json:"state"`
	Message string     `json:"message,omitempty"`
	// Observed is the latest reading of the Service and both colors, with
	// State folded in, for views that show the pair side by side. Nil for
	// a deploy step.
	Observed *Observation `json:"observed,omitempty"`
	// RolloutTook is how long the preview took from its deploy to Ready,
	// once it is: about how long a cold color takes to come back.
	RolloutTook time.Duration `json:"rolloutTookNs,omitempty"`
	// ScaleDownDelay is how long the old color stays up after the switch.
	ScaleDownDelay time.Duration `json:"scaleDownDelayNs,omitempty"`
	// Diff is what the switch changes: To's pod template against From's,
	// once both colors exist.
	Diff *TemplateDiff `json:"diff,omitempty"`
	// ScaleDownAt is when the old color is scaled down, while the release
	// waits for it (phase scale-down-delay).
	ScaleDownAt time.Time `json:"scaleDownAt,omitzero"`
}

// AnalysisMeasured is one measurement of an analysis step: the value, the
// query as sent, and its verdict.
type AnalysisMeasured struct {
	Meta
	Stage       string      `json:"stage"`
	Step        string      `json:"step"`
	Metric      string      `json:"metric"`
	Measurement Measurement `json:"measurement"`
	Condition   string      `json:"condition,omitempty"`
	Round       int         `json:"round"`
	Count       int         `json:"count"`
}

// ReleaseRequested says someone asked a running release to roll back or
// to promote: every console shows who, as the journal keeps it.
type ReleaseRequested struct {
	Meta
	// Action is "rollback" or "promote".
	Action  string `json:"action"`
	Service string `json:"service"`
	Actor   Actor  `json:"actor"`
	Reason  string `json:"reason,omitempty"`
}

// RunAborted says someone stopped the run.
type RunAborted struct {
	Meta
	Actor  Actor  `json:"actor"`
	Reason string `json:"reason"`
}

// RunFinished closes a run.
type RunFinished struct {
	Meta
	Status  Status        `json:"status"`
	Elapsed time.Duration `json:"elapsedNs"`
	Reason  string        `json:"reason,omitempty"`
}

// Header implements Event for every type that embeds Meta.
func (m Meta) Header() Meta { return m }

// Type implements Event: release.requested.
func (ReleaseRequested) Type() string { return "release.requested" }

// Type implements Event: run.started.
func (RunStarted) Type() string { return "run.started" }

// Type implements Event: stage.started.
func (StageStarted) Type() string { return "stage.started" }

// Type implements Event: stage.skipped.
func (StageSkipped) Type() string { return "stage.skipped" }

// Type implements Event: stage.finished.
func (StageFinished) Type() string { return "stage.finished" }

// Type implements Event: step.started.
func (StepStarted) Type() string { return "step.started" }

// Type implements Event: step.output.
func (StepOutput) Type() string { return "step.output" }

// Type implements Event: step.finished.
func (StepFinished) Type() string { return "step.finished" }

// Type implements Event: gate.waiting.
func (GateWaiting) Type() string { return "gate.waiting" }

// Type implements Event: gate.decided.
func (GateDecided) Type() string { return "gate.decided" }

// Type implements Event: warning.
func (Warning) Type() string { return "warning" }

// Type implements Event: release.progress.
func (ReleaseProgress) Type() string { return "release.progress" }

// Type implements Event: analysis.measured.
func (AnalysisMeasured) Type() string { return "analysis.measured" }

// Type implements Event: run.aborted.
func (RunAborted) Type() string { return "run.aborted" }

// Type implements Event: run.finished.
func (RunFinished) Type() string { return "run.finished" }

func (e RunStarted) withMeta(m Meta) Event    { e.Meta = m; return e }
func (e StageStarted) withMeta(m Meta) Event  { e.Meta = m; return e }
func (e StageSkipped) withMeta(m Meta) Event  { e.Meta = m; return e }
func (e StageFinished) withMeta(m Meta) Event { e.Meta = m; return e }
func (e StepStarted) withMeta(m Meta) Event   { e.Meta = m; return e }
func (e StepOutput) withMeta(m Meta) Event    { e.Meta = m; return e }
func (e StepFinished) withMeta(m Meta) Event  { e.Meta = m; return e }
func (e GateWaiting) withMeta(m Meta) Event   { e.Meta = m; return e }
func (e GateDecided) withMeta(m Meta) Event   { e.Meta = m; return e }
func (e Warning) withMeta(m Meta) Event       { e.Meta = m; return e }
func (e RunAborted) withMeta(m Meta) Event    { e.Meta = m; return e }
func (e ReleaseRequested) withMeta(m Meta) Event {
	e.Meta = m
	return e
}
func (e AnalysisMeasured) withMeta(m Meta) Event {
	e.Meta = m
	return e
}
func (e ReleaseProgress) withMeta(m Meta) Event {
	e.Meta = m
	return e
}
func (e RunFinished) withMeta(m Meta) Event { e.Meta = m; return e }
