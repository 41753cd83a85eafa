package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/human"
	"github.com/cutover-sh/cutover/sanitize"
)

// printer writes a run's events to a stream. Each is an ordinary
// subscriber of the engine.
type printer interface {
	event(engine.Event) error
	// resync is called when the printer fell behind and missed dropped
	// events; s is the state that includes them.
	resync(s engine.Snapshot, dropped int) error
}

// plainPrinter writes one timestamped line per event, for CI logs and dumb
// terminals.
type plainPrinter struct {
	w           *bufio.Writer
	autoApprove bool
	// shown is the diff each waiting gate's reader was last shown, which
	// an approval typed on stdin is bound to; nil when nobody types.
	shown *shownDiffs
}

// shownDiffs is the hash of the diff printed for each waiting gate.
type shownDiffs struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *shownDiffs) set(gate, hash string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]string{}
	}
	s.m[gate] = hash
}

// get is gate's shown hash; "" when none was shown.
func (s *shownDiffs) get(gate string) string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[gate]
}

// printDiff prints what approving gate changes, one change a line.
func (p *plainPrinter) printDiff(t time.Time, gate, lead string, d *engine.TemplateDiff) {
	p.line(t, "gate %s: %s (%s live → %s preview, diff %s):", gate, lead, d.From, d.To, d.Hash)
	for _, l := range d.Summary(len(d.Changes) + 1) {
		p.line(t, "gate %s:   %s", gate, l)
	}
	p.shown.set(gate, d.Hash)
}

func newPlainPrinter(w io.Writer, autoApprove bool) *plainPrinter {
	return &plainPrinter{w: bufio.NewWriter(w), autoApprove: autoApprove}
}

const plainTime = "2006-01-02T15:04:05.000Z07:00"

func (p *plainPrinter) line(t time.Time, format string, args ...any) {
	_, _ = p.w.WriteString(t.UTC().Format(plainTime))
	_ = p.w.WriteByte(' ')
	// One line per event, whatever a name or a step's output holds.
	_, _ = p.w.WriteString(sanitize.Line(fmt.Sprintf(format, args...)))
	_ = p.w.WriteByte('\n')
}

func (p *plainPrinter) event(ev engine.Event) error {
	t := ev.Header().Time
	switch e := ev.(type) {
	case engine.RunStarted:
		p.line(t, "run %s started: pipeline %s (%s) by %s; %d stages, budget %s", e.Run, e.Pipeline, e.Path, e.Actor, len(e.Stages), human.Duration(e.Budget))
		if e.Emergency {
			p.line(t, "EMERGENCY run: %s", e.Reason)
		}
	case engine.StageSkipped:
		p.line(t, "stage %s skipped by %s: %s", e.Stage, e.Actor, e.Reason)
	case engine.StageStarted:
		p.line(t, "stage %s started (budget %s)", e.Stage, human.Duration(e.Budget))
	case engine.StageFinished:
		if e.Elapsed == 0 {
			p.line(t, "stage %s %s: %s", e.Stage, e.Status, e.Reason)
			break
		}
		msg := fmt.Sprintf("stage %s %s in %s of %s budget", e.Stage, e.Status, human.Duration(e.Elapsed), human.Duration(e.Budget))
		if e.Reason != "" {
			msg += ": " + e.Reason
		}
		p.line(t, "%s", msg)
	case engine.StepStarted:
		if e.Attempt > 1 {
			p.line(t, "step %s/%s started (attempt %d)", e.Stage, e.Step, e.Attempt)
		} else {
			p.line(t, "step %s/%s started", e.Stage, e.Step)
		}
	case engine.StepOutput:
		sep := "|"
		if e.Stream == engine.Stderr {
			sep = "!"
		}
		p.line(t, "%s/%s %s %s", e.Stage, e.Step, sep, e.Line)
	case engine.StepFinished:
		msg := fmt.Sprintf("step %s/%s %s in %s", e.Stage, e.Step, e.Status, human.Duration(e.Elapsed))
		if e.Reason != "" {
			msg += ": " + e.Reason
		}
		p.line(t, "%s", msg)
	case engine.GateWaiting:
		p.line(t, "gate %s waiting for approval: %s", e.Gate, e.Instruction)
		if e.Diff != nil {
			p.printDiff(t, e.Gate, "approving it changes", e.Diff)
		}
		if !p.autoApprove {
			hint := `type "approve" and Enter to approve, "reject REASON" to reject`
			if e.Timeout > 0 {
				hint += fmt.Sprintf("; after %s it will %s", human.Duration(e.Timeout), outcomeOr(e.OnTimeout))
			}
			p.line(t, "gate %s: %s", e.Gate, hint)
		}
	case engine.GateDecided:
		p.shown.set(e.Gate, "")
		verb := "approved"
		if e.Outcome != spec.GateApprove {
			verb = "rejected"
		}
		msg := fmt.Sprintf("gate %s %s by %s", e.Gate, verb, e.Actor)
		if e.Reason != "" {
			msg += ": " + e.Reason
		}
		p.line(t, "%s", msg)
	case engine.ReleaseProgress:
		p.line(t, "%s", releaseLine(e))
		if gate := e.Stage + "/" + e.Step; e.Diff != nil && p.shown.get(gate) != "" && p.shown.get(gate) != e.Diff.Hash {
			p.printDiff(t, gate, "the preview changed; approving now changes", e.Diff)
		}
	case engine.AnalysisMeasured:
		m := e.Measurement
		// Four significant digits: 0.19999999999999998 is 0.2 to a person;
		// nothing measured is "no data", never 0.
		msg := fmt.Sprintf("%s/%s measurement %d/%d %s = %s: %s", e.Stage, e.Step, e.Round, e.Count, e.Metric, m.ValueText(), m.Verdict)
		if e.Condition != "" {
			msg += " (want " + e.Condition + ")"
		}
		if m.Reason != "" {
			msg += ": " + m.Reason
		}
		p.line(t, "%s", msg)
	case engine.Warning:
		p.line(t, "WARNING %s", e.Message)
	case engine.RunAborted:
		p.line(t, "run aborted by %s: %s", e.Actor, e.Reason)
	case engine.ReleaseRequested:
		p.line(t, "%s of %s asked by %s: %s", e.Action, e.Service, e.Actor, e.Reason)
	case engine.RunFinished:
		msg := fmt.Sprintf("run %s %s in %s", e.Run, e.Status, human.Duration(e.Elapsed))
		if e.Reason != "" {
			msg += ": " + e.Reason
		}
		p.line(t, "%s", msg)
	}
	return p.w.Flush()
}

func outcomeOr(o spec.GateOutcome) string {
	if o == "" {
		return string(spec.GateReject)
	}
	return string(o)
}

func (p *plainPrinter) resync(s engine.Snapshot, dropped int) error {
	var parts []string
	for _, st := range s.Stages {
		parts = append(parts, st.Name+"="+string(st.Status))
	}
	p.line(time.Now(), "output fell behind: %d events not shown; now %s", dropped, strings.Join(parts, " "))
	return p.w.Flush()
}

// jsonPrinter writes one JSON object per event: the event's fields plus
// "type". The schema is documented in docs/events.md.
type jsonPrinter struct {
	w *bufio.Writer
}

func newJSONPrinter(w io.Writer) *jsonPrinter { return &jsonPrinter{w: bufio.NewWriter(w)} }

func (p *jsonPrinter) event(ev engine.Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", ev.Type(), err)
	}
	// Every event marshals to an object; splice the type in front.
	_, _ = fmt.Fprintf(p.w, `{"type":%q,`, ev.Type())
	_, _ = p.w.Write(b[1:])
	_ = p.w.WriteByte('\n')
	return p.w.Flush()
}

type jsonStage struct {
	Name   string        `json:"name"`
	Status engine.Status `json:"status"`
}

func (p *jsonPrinter) resync(s engine.Snapshot, dropped int) error {
	stages := make([]jsonStage, 0, len(s.Stages))
	for _, st := range s.Stages {
		stages = append(stages, jsonStage{st.Name, st.Status})
	}
	b, err := json.Marshal(struct {
		Type    string        `json:"type"`
		Seq     uint64        `json:"seq"`
		Run     string        `json:"run"`
		Dropped int           `json:"dropped"`
		Status  engine.Status `json:"status"`
		Stages  []jsonStage   `json:"stages"`
	}{"resync", s.Seq, s.Run, dropped, s.Status, stages})
	if err != nil {
		return fmt.Errorf("encode resync: %w", err)
	}
	_, _ = p.w.Write(append(b, '\n'))
	return p.w.Flush()
}

// releaseLine is one line of a release's progress: where it stands, the
// color it works on, and why a pod is not ready.
func releaseLine(e engine.ReleaseProgress) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s %s", e.Stage, e.Step, e.Phase)
	if e.Service != "" {
		fmt.Fprintf(&b, " service %s live=%s", e.Service, e.Live)
	}
	if e.Color != "" {
		fmt.Fprintf(&b, " %s", e.Color)
	}
	if d := e.State.Deployment; d != "" && e.State.Exists {
		fmt.Fprintf(&b, " %s %d/%d ready", d, e.State.Ready, e.State.Replicas)
	}
	if e.Action != "" {
		fmt.Fprintf(&b, " next: %s", e.Action)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	var waiting []string
	for _, pod := range e.State.Pods {
		if !pod.Ready && pod.Reason != "" {
			waiting = append(waiting, pod.Name+" "+pod.Reason)
		}
	}
	if len(waiting) > 0 {
		fmt.Fprintf(&b, " [%s]", strings.Join(waiting, ", "))
	}
	return b.String()
}
