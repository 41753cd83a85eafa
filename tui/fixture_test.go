package tui

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	tea "charm.land/bubbletea/v2"

	"github.com/cutover-sh/cutover/engine"
)

// t0 is when every fixture run starts; the console's clock is fixed a
// little after it, so elapsed times in frames never change.
var t0 = time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)

// guidePipeline is the deployment guide's seven stages.
func guidePipeline() *spec.Pipeline {
	stage := func(name string, budget time.Duration, steps ...spec.Step) spec.Stage {
		return spec.Stage{Name: name, Budget: spec.Duration(budget), Steps: steps}
	}
	run := func(name string) spec.Step { return spec.Step{Name: name, Run: "true"} }
	bg := &spec.BlueGreenSpec{Namespace: "production", Service: "claude-tiu-service", Container: "app", Image: "ghcr.io/claude-tiu/claude-tiu:v2.4.0", Replicas: 3}
	return &spec.Pipeline{
		Metadata: spec.Metadata{Name: "claude-tiu"},
		Stages: []spec.Stage{
			stage("code-quality", 15*time.Minute, run("lint")),
			stage("testing", 20*time.Minute, run("unit")),
			stage("build-and-scan", 30*time.Minute, run("build")),
			stage("staging-deploy", 15*time.Minute, run("rollout")),
			stage("performance-test", 20*time.Minute, run("load")),
			stage("production-deploy", 30*time.Minute, spec.Step{Name: "blue-green", BlueGreen: bg}),
			stage("monitoring", 25*time.Minute, run("slo")),
		},
	}
}

// script builds a run's events with increasing sequence numbers and times.
type script struct {
	seq    uint64
	events []engine.Event
}

func (s *script) meta(sec int) engine.Meta {
	s.seq++
	return engine.Meta{Seq: s.seq, Time: t0.Add(time.Duration(sec) * time.Second), Run: "20261126T030000Z-4242"}
}

func (s *script) add(evs ...engine.Event) { s.events = append(s.events, evs...) }

// stageDone runs one stage of plain steps to success, with some output.
func (s *script) stageDone(name, step string, from, took int, lines ...string) {
	s.add(engine.StageStarted{Meta: s.meta(from), Stage: name}, engine.StepStarted{Meta: s.meta(from), Stage: name, Step: step, Kind: spec.KindRun, Attempt: 1})
	for _, l := range lines {
		s.add(engine.StepOutput{Meta: s.meta(from + 1), Stage: name, Step: step, Stream: engine.Stdout, Line: l})
	}
	s.add(engine.StepFinished{Meta: s.meta(from + took), Stage: name, Step: step, Status: engine.StatusSucceeded},
		engine.StageFinished{Meta: s.meta(from + took), Stage: name, Status: engine.StatusSucceeded})
}

func pods(deploy string, n int, ready bool, reason string) []engine.PodState {
	var out []engine.PodState
	for i := range n {
		p := engine.PodState{Name: fmt.Sprintf("%s-7d9f8b6c4-%ckxqz", deploy, 'a'+i), Phase: "Running", Ready: ready, Age: time.Duration(40+i) * time.Minute, Node: "node-1", Reason: reason}
		if !ready {
			p.Phase, p.Age = "Pending", time.Duration(20+i)*time.Second
		}
		out = append(out, p)
	}
	return out
}

// release is a progress event of the production blue-green step.
func (s *script) release(sec int, phase engine.Phase, live spec.Color, act engine.ActionKind, green engine.ColorState, msg string) {
	blue := engine.ColorState{Deployment: "claude-tiu-blue", Exists: true, Images: map[string]string{"app": "ghcr.io/claude-tiu/claude-tiu:v2.3.9"},
		Replicas: 3, Ready: 3, Available: 3, Updated: 3, Pods: pods("claude-tiu-blue", 3, true, "")}
	obs := &engine.Observation{
		Service: engine.ServiceState{Live: live, Selector: map[string]string{"app": "claude-tiu", "color": string(live)},
			Release: engine.ReleaseMark{Release: "ghcr.io/claude-tiu/claude-tiu:v2.3.9", SwitchedAt: t0.Add(-26 * time.Hour), SwitchedBy: "dana"}},
		Colors: map[spec.Color]*engine.ColorState{spec.Blue: &blue, spec.Green: &green},
	}
	s.add(engine.ReleaseProgress{Meta: s.meta(sec), Stage: "production-deploy", Step: "blue-green", Service: "production/claude-tiu-service",
		Phase: phase, From: spec.Blue, To: spec.Green, Live: live, Action: act, Color: spec.Green, State: green, Message: msg, Observed: obs,
		ScaleDownDelay: 10 * time.Minute})
}

func green(ready int32, reason string) engine.ColorState {
	ps := pods("claude-tiu-green", int(ready), true, "")
	if ready < 3 {
		ps = append(ps, pods("claude-tiu-green", 3-int(ready), false, reason)...)
	}
	return engine.ColorState{Deployment: "claude-tiu-green", Exists: true, Images: map[string]string{"app": "ghcr.io/claude-tiu/claude-tiu:v2.4.0"},
		Replicas: 3, Ready: ready, Available: ready, Updated: 3, Pods: ps}
}

// upToProduction is a run whose first five stages passed and whose
// blue-green step has started.
func upToProduction() *script {
	s := &script{}
	s.add(engine.RunStarted{Meta: s.meta(0), Pipeline: "claude-tiu", Actor: engine.Actor{Name: "alice"}, Budget: 155 * time.Minute})
	s.stageDone("code-quality", "lint", 0, 95, "flake8 .: 0 problems")
	s.stageDone("testing", "unit", 95, 310, "412 passed in 298.1s")
	s.stageDone("build-and-scan", "build", 405, 420, "trivy: 0 critical, 0 high")
	s.stageDone("staging-deploy", "rollout", 825, 240, "deployment claude-tiu-app rolled out to staging")
	s.stageDone("performance-test", "load", 1065, 600, "p95=0.41s error_rate=0.2% rate=48 req/s")
	s.add(engine.StageStarted{Meta: s.meta(1665), Stage: "production-deploy"},
		engine.StepStarted{Meta: s.meta(1665), Stage: "production-deploy", Step: "blue-green", Kind: spec.KindBlueGreen, Attempt: 1})
	return s
}

// The states the golden frames show. Each returns the events and the
// time the console's clock says.
var states = map[string]func() (*script, time.Time){
	"running": func() (*script, time.Time) {
		s := upToProduction()
		s.release(1670, engine.PhaseDeploying, spec.Blue, engine.ActWaitRollout, green(1, "ContainerCreating"), "1 of 3 updated replicas available")
		return s, t0.Add(1700 * time.Second)
	},
	"awaiting-approval": func() (*script, time.Time) { return atTheGate(), t0.Add(1750 * time.Second) },
	"gate-preview-unready": func() (*script, time.Time) {
		s := atTheGate()
		s.release(1740, engine.PhaseAwaitingApproval, spec.Blue, engine.ActApprove, green(2, "Unhealthy"), "")
		return s, t0.Add(1750 * time.Second)
	},
	"emergency": func() (*script, time.Time) {
		s := upToProduction()
		s.events[0] = engine.RunStarted{Meta: s.events[0].Header(), Pipeline: "claude-tiu", Actor: engine.Actor{Name: "alice"}, Budget: 155 * time.Minute,
			Emergency: true, Reason: "sev1: checkout down"}
		s.release(1670, engine.PhaseDeploying, spec.Blue, engine.ActWaitRollout, green(1, "ContainerCreating"), "1 of 3 updated replicas available")
		return s, t0.Add(1700 * time.Second)
	},
	"released": func() (*script, time.Time) { return released(), t0.Add(1745 * time.Second) },
	"in-maintenance": func() (*script, time.Time) {
		s := released()
		s.release(1740, engine.PhaseDone, "maintenance", engine.ActNone, green(3, ""), "maintenance on by dana")
		return s, t0.Add(1745 * time.Second)
	},
	"switched-warm": func() (*script, time.Time) {
		// Green is live; blue stays warm for the scale-down delay, its
		// countdown on screen.
		s := released()
		for i := len(s.events) - 1; i >= 0; i-- {
			if r, ok := s.events[i].(engine.ReleaseProgress); ok {
				r.ScaleDownAt = r.Time.Add(10 * time.Minute)
				s.events[i] = r
				break
			}
		}
		return s, t0.Add(1745 * time.Second)
	},
	"post-promotion": func() (*script, time.Time) {
		s := upToProduction()
		s.release(1730, engine.PhasePostAnalysis, spec.Green, engine.ActAnalyze, green(3, ""), "")
		return s, t0.Add(1745 * time.Second)
	},
	"switching": func() (*script, time.Time) {
		s := upToProduction()
		s.release(1720, engine.PhaseSwitching, spec.Blue, engine.ActSwitch, green(3, ""), "")
		return s, t0.Add(1721 * time.Second)
	},
	"rolled-back": func() (*script, time.Time) {
		s := upToProduction()
		s.release(1730, engine.PhasePostAnalysis, spec.Green, engine.ActAnalyze, green(3, ""), "")
		s.add(engine.AnalysisMeasured{Meta: s.meta(1760), Stage: "production-deploy", Step: "blue-green", Metric: "post-promotion/error-rate",
			Measurement: engine.Measurement{Time: t0.Add(1760 * time.Second), Query: "errors", Value: 0.2031, Verdict: engine.VerdictFail, Reason: "0.2031 >= 0.05"},
			Condition:   "< 0.05", Round: 2, Count: 4})
		s.release(1762, engine.PhaseRolledBack, spec.Blue, engine.ActNone, green(3, ""), "post-promotion analysis failed: metric post-promotion/error-rate failed 2 of 2 measurements")
		s.add(engine.StepFinished{Meta: s.meta(1763), Stage: "production-deploy", Step: "blue-green", Status: engine.StatusFailed, Reason: "rolled back: post-promotion analysis failed"},
			engine.StageFinished{Meta: s.meta(1763), Stage: "production-deploy", Status: engine.StatusFailed, Reason: "rolled back"},
			engine.StageFinished{Meta: s.meta(1763), Stage: "monitoring", Status: engine.StatusCancelled, Reason: "production-deploy failed"},
			engine.RunFinished{Meta: s.meta(1763), Status: engine.StatusFailed})
		return s, t0.Add(1800 * time.Second)
	},
	"failed": func() (*script, time.Time) {
		s := upToProduction()
		s.release(1670, engine.PhaseDeploying, spec.Blue, engine.ActWaitRollout, green(1, "ImagePullBackOff"), "1 of 3 updated replicas available")
		s.add(engine.StepFinished{Meta: s.meta(2400), Stage: "production-deploy", Step: "blue-green", Status: engine.StatusFailed,
			Reason: "timed out after 12m: 2 pods not Ready: claude-tiu-green-7d9f8b6c4-bkxqz ImagePullBackOff"},
			engine.StageFinished{Meta: s.meta(2400), Stage: "production-deploy", Status: engine.StatusFailed, Reason: "step blue-green failed"},
			engine.StageFinished{Meta: s.meta(2400), Stage: "monitoring", Status: engine.StatusCancelled, Reason: "production-deploy failed"},
			engine.RunFinished{Meta: s.meta(2400), Status: engine.StatusFailed})
		return s, t0.Add(2410 * time.Second)
	},
}

// noDataPanels are the guide's six panels when Prometheus answers with
// nothing, or does not answer: never a zero.
func noDataPanels() []engine.PanelData {
	var out []engine.PanelData
	for i, ps := range spec.DefaultPanels(spec.QueryVars{Namespace: "production"}) {
		d := engine.PanelData{Spec: ps, Query: ps.Query, At: t0.Add(1700 * time.Second), Step: 15 * time.Second, State: spec.PanelNoData}
		if i%2 == 1 {
			d.State, d.Err = spec.PanelUnavailable, fmt.Errorf("query at http://prometheus:9090: connection refused")
		}
		out = append(out, d)
	}
	return out
}

// noBlueGreen is the guide's pipeline with a plain deploy in place of the
// blue-green switch, its production stage running.
func noBlueGreen() (*spec.Pipeline, *script, time.Time) {
	p := guidePipeline()
	p.Stages[5].Steps = []spec.Step{{Name: "deploy", Run: "kubectl apply -k prod"}}
	s := &script{}
	s.add(engine.RunStarted{Meta: s.meta(0), Pipeline: "claude-tiu", Actor: engine.Actor{Name: "alice"}, Budget: 155 * time.Minute})
	s.stageDone("code-quality", "lint", 0, 95, "flake8 .: 0 problems")
	s.stageDone("testing", "unit", 95, 310, "412 passed in 298.1s")
	s.stageDone("build-and-scan", "build", 405, 420, "trivy: 0 critical, 0 high")
	s.stageDone("staging-deploy", "rollout", 825, 240, "deployment claude-tiu-app rolled out to staging")
	s.stageDone("performance-test", "load", 1065, 600, "p95=0.41s error_rate=0.2% rate=48 req/s")
	s.add(engine.StageStarted{Meta: s.meta(1665), Stage: "production-deploy"},
		engine.StepStarted{Meta: s.meta(1665), Stage: "production-deploy", Step: "deploy", Kind: spec.KindRun, Attempt: 1},
		engine.StepOutput{Meta: s.meta(1666), Stage: "production-deploy", Step: "deploy", Stream: engine.Stdout, Line: "deployment.apps/claude-tiu configured"})
	return p, s, t0.Add(1700 * time.Second)
}

// consoleOf is a console of pipeline p after the script's events, with
// no panels: a pipeline that names no Prometheus.
func consoleOf(p *spec.Pipeline, s *script, now time.Time, w, h int) Model {
	m := New(Options{Controller: &calls{}, Actor: engine.Actor{Name: "oncall"}, Now: func() time.Time { return now }})
	snap := engine.NewSnapshot(p)
	msgs := []engine.Message{{Snapshot: &snap}}
	for _, ev := range s.events {
		msgs = append(msgs, engine.Message{Event: ev})
	}
	m = step(m, tea.WindowSizeMsg{Width: w, Height: h})
	return step(m, eventsMsg(msgs))
}

// fixedPanels are the guide's six panels after a refresh, with 120 points
// each; the error ratio is critical.
func fixedPanels(points int) []engine.PanelData {
	specs := spec.DefaultPanels(spec.QueryVars{Namespace: "production"})
	at := t0.Add(1700 * time.Second)
	var out []engine.PanelData
	for i, panelSpec := range specs {
		d := engine.PanelData{Spec: panelSpec, Query: panelSpec.Query, At: at, Step: 15 * time.Second, State: spec.PanelOK}
		for c, color := range []string{"blue", "green"} {
			se := engine.Series{Name: "color=" + color, Labels: map[string]string{"color": color}, HasCurrent: true, State: spec.PanelOK}
			for p := range points {
				v := float64((p*(i+3)+c*7)%17) + float64(i)
				se.Points = append(se.Points, engine.Point{T: at.Add(time.Duration(p-points+1) * 15 * time.Second).UnixMilli(), V: v})
			}
			se.Current = se.Points[len(se.Points)-1].V
			d.Series = append(d.Series, se)
		}
		switch panelSpec.Title {
		case "5xx error ratio":
			d.Series[0].Current, d.Series[1].Current = 0.001, 0.2031
			d.Series[1].State, d.State = spec.PanelCrit, spec.PanelCrit
		case "Memory":
			d.Series = d.Series[:1]
			d.Series[0].Name, d.Series[0].Current = "", 812<<20
		case "Restarts (15m)":
			d.State, d.Series, d.Err = spec.PanelUnavailable, nil, fmt.Errorf("query sum(increase(...)) at http://prometheus:9090: no answer within 5s")
		}
		out = append(out, d)
	}
	return out
}

// calls records what the console asked of the engine.
type calls struct {
	mu  sync.Mutex
	log []string
}

func (c *calls) add(s string) {
	c.mu.Lock()
	c.log = append(c.log, s)
	c.mu.Unlock()
}

func (c *calls) ApproveSeen(a engine.Actor, gate, seen string) error {
	if seen != "" {
		gate += " (diff " + seen + ")"
	}
	c.add("approve " + gate + " by " + a.Name)
	return nil
}

func (c *calls) Abort(a engine.Actor, reason string) error {
	c.add("abort by " + a.Name + ": " + reason)
	return nil
}

func (c *calls) Maintenance(_ context.Context, a engine.Actor, on bool) (string, error) {
	c.add(fmt.Sprintf("maintenance on=%v by %s", on, a.Name))
	return "maintenance switched", nil
}

func (c *calls) Promote(a engine.Actor, service, reason string) error {
	c.add("promote " + service + " by " + a.Name + ": " + reason)
	return nil
}

func (c *calls) SkipStage(a engine.Actor, stage, reason string) error {
	c.add("skip " + stage + " by " + a.Name + ": " + reason)
	return nil
}

func (c *calls) Rollback(a engine.Actor, service, reason string) error {
	c.add("rollback " + service + " by " + a.Name + ": " + reason)
	return nil
}

// console builds a console in a state, at a size, with every message
// applied synchronously: no program, no goroutines.
func console(state string, w, h int, o Options) (Model, *calls) {
	s, now := states[state]()
	c := &calls{}
	o.Controller, o.Actor, o.Now = c, engine.Actor{Name: "oncall"}, func() time.Time { return now }
	if o.Image == "" {
		o.Image, o.KubeContext, o.Namespace = "ghcr.io/claude-tiu/claude-tiu:v2.4.0", "claude-tiu-production", "production"
	}
	m := New(o)
	snap := engine.NewSnapshot(guidePipeline())
	msgs := []engine.Message{{Snapshot: &snap}}
	for _, ev := range s.events {
		msgs = append(msgs, engine.Message{Event: ev})
	}
	m = step(m, tea.WindowSizeMsg{Width: w, Height: h})
	m = step(m, eventsMsg(msgs))
	m = step(m, panelsMsg(fixedPanels(120)))
	return m, c
}

// step applies one message and drops the command, as a program would run
// it later.
func step(m Model, msg tea.Msg) Model {
	next, _ := m.Update(msg)
	return next.(Model)
}

// released is a run whose release is done, green live, and whose
// monitoring stage runs.
func released() *script {
	s := upToProduction()
	s.release(1730, engine.PhaseDone, spec.Green, engine.ActNone, green(3, ""), "")
	s.add(engine.StepFinished{Meta: s.meta(1731), Stage: "production-deploy", Step: "blue-green", Status: engine.StatusSucceeded},
		engine.StageFinished{Meta: s.meta(1731), Stage: "production-deploy", Status: engine.StatusSucceeded},
		engine.StageStarted{Meta: s.meta(1731), Stage: "monitoring"},
		engine.StepStarted{Meta: s.meta(1731), Stage: "monitoring", Step: "slo", Kind: spec.KindRun, Attempt: 1})
	return s
}

// atTheGate is a release whose preview is Ready, at its gate.
func atTheGate() *script {
	s := upToProduction()
	s.release(1670, engine.PhaseDeploying, spec.Blue, engine.ActWaitRollout, green(0, "ContainerCreating"), "")
	s.release(1720, engine.PhaseAwaitingApproval, spec.Blue, engine.ActApprove, green(3, ""), "")
	s.add(engine.GateWaiting{Meta: s.meta(1720), Gate: "production-deploy/blue-green", Stage: "production-deploy", Step: "blue-green",
		Instruction: "Green is Ready. Switch production traffic?", Diff: new(gateDiff())})
	return s
}

// gateDiff is what the fixture's gate changes: the image, a variable, a
// Secret-backed variable and a CPU limit.
func gateDiff() engine.TemplateDiff {
	live := engine.ColorState{Replicas: 3, Template: map[string]string{
		"container/app/image": "ghcr.io/claude-tiu/claude-tiu:v2.3.9", "container/app/env/LOG_LEVEL": `"info"`,
		"container/app/resources/limits/cpu": "500m",
	}}
	preview := engine.ColorState{Replicas: 3, Template: map[string]string{
		"container/app/image": "ghcr.io/claude-tiu/claude-tiu:v2.4.0", "container/app/env/LOG_LEVEL": `"debug"`,
		"container/app/env/DB_PASSWORD": "secretKeyRef db/password", "container/app/resources/limits/cpu": "1",
	}}
	return engine.DiffColors(spec.Blue, spec.Green, live, preview, "color")
}
