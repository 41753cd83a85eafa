package engine

import (
	"slices"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
)

// Status is the state of a run, stage or step.
type Status string

// The statuses. Pending and running are not final; the others are.
const (
	StatusPending   Status = "pending"
	StatusRunning   Status = "running"
	StatusWaiting   Status = "waiting" // an approve gate waits for a person
	StatusSucceeded Status = "succeeded"
	StatusFailed    Status = "failed"
	StatusSkipped   Status = "skipped"
	StatusCancelled Status = "cancelled"
	StatusAborted   Status = "aborted"
)

// Final reports whether the status can no longer change.
func (s Status) Final() bool {
	switch s {
	case StatusSucceeded, StatusFailed, StatusSkipped, StatusCancelled, StatusAborted:
		return true
	}
	return false
}

// tailLines is how many recent output lines a snapshot keeps per step: enough
// to show why a step failed without holding a whole log in memory.
const tailLines = 20

// Snapshot is the whole state of a run at one event. Snapshots are never
// modified once published: Apply returns a new one and shares what did not
// change, so they can be handed to any number of readers.
type Snapshot struct {
	Seq       uint64
	Run       string
	Pipeline  string
	Path      string
	Actor     Actor
	Status    Status
	Started   time.Time
	Finished  time.Time
	Budget    time.Duration
	Emergency bool
	Reason    string
	// KillGrace is how long a stopped step's processes get between
	// SIGTERM and SIGKILL.
	KillGrace time.Duration
	Stages    []StageState
	// Gates lists approve gates that wait for a decision.
	Gates    []GateWaiting
	Warnings []Warning
	// RolledBack is set once a release in the run was rolled back.
	RolledBack bool
	// Decisions is the Decisions of the last event applied.
	Decisions uint64
}

// StageState is one stage in a snapshot.
type StageState struct {
	Name       string
	Needs      []string
	Status     Status
	Budget     time.Duration
	Started    time.Time
	Finished   time.Time
	OverBudget bool
	Reason     string
	// Steps are shared between snapshots: a change replaces the pointer,
	// never the value behind it. Readers must not modify them.
	Steps []*StepState
}

// Elapsed returns how long the stage has run as of now.
func (s StageState) Elapsed(now time.Time) time.Duration {
	switch {
	case s.Started.IsZero():
		return 0
	case s.Finished.IsZero():
		return now.Sub(s.Started)
	default:
		return s.Finished.Sub(s.Started)
	}
}

// StepState is one step in a snapshot.
type StepState struct {
	Name     string
	Kind     spec.StepKind
	Status   Status
	Attempt  int
	ExitCode int
	Started  time.Time
	Finished time.Time
	Reason   string
	// Tail is the step's last lines of output.
	Tail []OutputLine
	// Release is the latest progress of a blueGreen or deploy step.
	Release *ReleaseProgress
	// Measurements are an analysis's latest measurement of each metric, in
	// the order the metrics were first measured.
	Measurements []AnalysisMeasured
}

// OutputLine is one line of a step's output as a snapshot keeps it.
type OutputLine struct {
	Stream  Stream
	Line    string
	Partial bool
	// Time is when the line was printed.
	Time time.Time
}

// Clone returns a deep copy, so that whoever receives a snapshot may keep
// or change it without touching the engine's own. Events share structure
// between snapshots for speed; copies are made only where snapshots leave
// the broadcaster, which is rare (on subscribing and after falling behind).
func (s Snapshot) Clone() Snapshot {
	s.Stages = slices.Clone(s.Stages)
	for i := range s.Stages {
		st := &s.Stages[i]
		st.Needs = slices.Clone(st.Needs)
		steps := make([]*StepState, len(st.Steps))
		for j, step := range st.Steps {
			c := *step
			c.Tail = slices.Clone(c.Tail)
			c.Measurements = slices.Clone(c.Measurements)
			steps[j] = &c
		}
		st.Steps = steps
	}
	s.Gates = slices.Clone(s.Gates)
	s.Warnings = slices.Clone(s.Warnings)
	return s
}

// NewSnapshot returns the state of a run of p before anything happened.
func NewSnapshot(p *spec.Pipeline) Snapshot {
	s := Snapshot{Pipeline: p.Metadata.Name, Path: p.Source.Path, Status: StatusPending}
	for _, st := range p.Stages {
		ss := StageState{Name: st.Name, Needs: slices.Clone(st.Needs), Status: StatusPending, Budget: st.Budget.D()}
		for i, step := range st.Steps {
			ss.Steps = append(ss.Steps, &StepState{Name: step.StepName(i), Kind: step.Kind(), Status: StatusPending})
		}
		s.Budget += st.Budget.D()
		s.Stages = append(s.Stages, ss)
	}
	return s
}

// Stage returns the named stage's state.
func (s *Snapshot) Stage(name string) (StageState, bool) {
	for _, st := range s.Stages {
		if st.Name == name {
			return st, true
		}
	}
	return StageState{}, false
}

// Apply returns the snapshot that results from ev. It is a pure function.
func Apply(s Snapshot, ev Event) Snapshot {
	m := ev.Header()
	s.Seq, s.Decisions = m.Seq, max(s.Decisions, m.Decisions)
	switch e := ev.(type) {
	case RunStarted:
		s.Run, s.Actor, s.Status, s.Started = e.Run, e.Actor, StatusRunning, e.Time
		s.Emergency, s.Reason, s.KillGrace = e.Emergency, e.Reason, e.KillGrace
	case StageStarted:
		s = s.withStage(e.Stage, func(st *StageState) {
			st.Status, st.Started = StatusRunning, e.Time
		})
	case StageSkipped:
		s = s.withStage(e.Stage, func(st *StageState) {
			st.Status, st.Reason = StatusSkipped, e.Reason
		})
	case StageFinished:
		s = s.withStage(e.Stage, func(st *StageState) {
			st.Status, st.Reason, st.Finished = e.Status, e.Reason, e.Time
			st.Steps = slices.Clone(st.Steps)
			for i, step := range st.Steps {
				// Steps that never ran end with their stage.
				if !step.Status.Final() {
					ended := *step
					ended.Status = StatusCancelled
					if e.Status == StatusSkipped {
						ended.Status = StatusSkipped
					}
					st.Steps[i] = &ended
				}
			}
		})
	case StepStarted:
		s = s.withStep(e.Stage, e.Step, func(st *StepState) {
			st.Status, st.Attempt, st.Started, st.Finished = StatusRunning, e.Attempt, e.Time, time.Time{}
			st.Tail = nil // each attempt's output stands alone
		})
	case StepOutput:
		s = s.withStep(e.Stage, e.Step, func(st *StepState) {
			tail := st.Tail
			if len(tail) >= tailLines {
				tail = tail[len(tail)-tailLines+1:]
			}
			st.Tail = append(slices.Clip(tail), OutputLine{Stream: e.Stream, Line: e.Line, Partial: e.Partial, Time: m.Time})
		})
	case StepFinished:
		s = s.withStep(e.Stage, e.Step, func(st *StepState) {
			st.Status, st.ExitCode, st.Finished, st.Reason = e.Status, e.ExitCode, e.Time, e.Reason
		})
	case GateWaiting:
		s.Gates = append(slices.Clip(s.Gates), e)
		s = s.withStep(e.Stage, e.Step, func(st *StepState) { st.Status = StatusWaiting })
	case GateDecided:
		for _, g := range s.Gates {
			if g.Gate == e.Gate {
				// A decided gate's step works again (a blue-green step
				// switches after its gate), or ends with its own event.
				s = s.withStep(g.Stage, g.Step, func(st *StepState) {
					if st.Status == StatusWaiting {
						st.Status = StatusRunning
					}
				})
			}
		}
		s.Gates = slices.DeleteFunc(slices.Clone(s.Gates), func(g GateWaiting) bool { return g.Gate == e.Gate })
	case Warning:
		s.Warnings = append(slices.Clip(s.Warnings), e)
		if e.Code == WarnOverBudget {
			s = s.withStage(e.Stage, func(st *StageState) { st.OverBudget = true })
		}
	case ReleaseProgress:
		s = s.withStep(e.Stage, e.Step, func(st *StepState) { st.Release = &e })
		s = s.withGateDiff(e)
		if e.Phase == PhaseRolledBack {
			s.RolledBack = true
		}
	case AnalysisMeasured:
		s = s.withStep(e.Stage, e.Step, func(st *StepState) {
			ms := slices.Clone(st.Measurements)
			if i := slices.IndexFunc(ms, func(m AnalysisMeasured) bool { return m.Metric == e.Metric }); i >= 0 {
				ms[i] = e
			} else {
				ms = append(ms, e)
			}
			st.Measurements = ms
		})
	case RunAborted:
		s.Status = StatusAborted
	case RunFinished:
		s.Status, s.Finished = e.Status, e.Time
		s.Gates = nil
	}
	return s
}

// withStage returns s with a changed copy of the named stage, leaving the
// original snapshot's stages untouched.
func (s Snapshot) withStage(name string, f func(*StageState)) Snapshot {
	i := slices.IndexFunc(s.Stages, func(st StageState) bool { return st.Name == name })
	if i < 0 {
		return s
	}
	s.Stages = slices.Clone(s.Stages)
	f(&s.Stages[i])
	return s
}

func (s Snapshot) withStep(stage, step string, f func(*StepState)) Snapshot {
	return s.withStage(stage, func(st *StageState) {
		j := slices.IndexFunc(st.Steps, func(x *StepState) bool { return x.Name == step })
		if j < 0 {
			return
		}
		st.Steps = slices.Clone(st.Steps)
		changed := *st.Steps[j]
		f(&changed)
		st.Steps[j] = &changed
	})
}

// withGateDiff keeps a waiting gate's diff what approving it changes now,
// as the release's latest progress e says.
func (s Snapshot) withGateDiff(e ReleaseProgress) Snapshot {
	i := slices.IndexFunc(s.Gates, func(g GateWaiting) bool { return g.Stage == e.Stage && g.Step == e.Step })
	if i < 0 || e.Diff == nil {
		return s
	}
	s.Gates = slices.Clone(s.Gates)
	s.Gates[i].Diff = e.Diff
	return s
}
