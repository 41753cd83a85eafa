package spec

import (
	"fmt"
	"time"

	"github.com/cutover-sh/cutover/human"
)

// MaintenanceTarget returns the blue-green step whose Service has a
// maintenance page, with its stage and step names, or false.
func (p *Pipeline) MaintenanceTarget() (stage, step string, spec BlueGreenSpec, ok bool) {
	for _, r := range p.BlueGreenSteps() {
		if r.BlueGreen.Maintenance != "" {
			return r.Stage, r.Name, *r.BlueGreen, true
		}
	}
	return "", "", BlueGreenSpec{}, false
}

// The identity every pipeline file must declare, so that a later format
// change can be detected instead of misread.
const (
	APIVersion   = "cutover.dev/v1alpha1"
	KindPipeline = "Pipeline"
)

// Pipeline is a release pipeline as written in a pipeline file.
type Pipeline struct {
	APIVersion string   `json:"apiVersion" jsonschema:"enum=cutover.dev/v1alpha1"`
	Kind       string   `json:"kind" jsonschema:"enum=Pipeline"`
	Metadata   Metadata `json:"metadata"`
	// Vars gives variables default values; --set and the environment win
	// over them.
	Vars map[string]string `json:"vars,omitempty"`
	// SecretEnv names variables whose values are replaced by *** in every
	// output stream and in the journal.
	SecretEnv []string `json:"secretEnv,omitempty"`
	// Prometheus is where analysis steps send their queries.
	Prometheus *PrometheusSpec `json:"prometheus,omitempty"`
	// Panels are the metrics shown while the pipeline runs; without them,
	// the guide's six (DefaultPanels).
	Panels []PanelSpec `json:"panels,omitempty"`
	// Notify tells Slack or Microsoft Teams about the run as it goes:
	// started, approval needed, promoted, rolled back, failed, finished.
	Notify *NotifySpec `json:"notify,omitempty"`
	Stages []Stage     `json:"stages" jsonschema:"minItems=1"`

	// Source is where the pipeline was read from; it is not part of the file.
	Source Source `json:"-"`
}

// Source describes the file a pipeline came from.
type Source struct {
	Path string
	// Hash is the SHA-256 of the file's bytes, so the journal can tell which
	// version of the file a run used.
	Hash string
	// Vars holds the variables the file referenced, with their values.
	Vars map[string]string
}

// Metadata names a pipeline.
type Metadata struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// OverBudget says what happens when a stage runs past its budget.
type OverBudget string

// The over-budget policies.
const (
	OverBudgetWarn OverBudget = "warn"
	OverBudgetFail OverBudget = "fail"
)

// Stage is a named group of steps with a time budget.
type Stage struct {
	Name   string   `json:"name"`
	Budget Duration `json:"budget"`
	Needs  []string `json:"needs,omitempty"`
	// SkippableInEmergency marks stages that --emergency skips.
	SkippableInEmergency bool       `json:"skippableInEmergency,omitempty"`
	OnOverBudget         OverBudget `json:"onOverBudget,omitempty" jsonschema:"enum=warn,enum=fail"`
	Steps                []Step     `json:"steps" jsonschema:"minItems=1"`
}

// Step is one unit of work. Exactly one of the kind fields (run, approve,
// deploy, blueGreen, analysis, loadtest, notify) is set.
type Step struct {
	Name string `json:"name,omitempty"`

	// Run is a shell command.
	Run     string            `json:"run,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	Dir     string            `json:"dir,omitempty"`
	Retries int               `json:"retries,omitempty" jsonschema:"minimum=0,maximum=10"`

	// Approve is a manual gate; its value is the instruction shown to the
	// person who must approve.
	Approve string `json:"approve,omitempty"`
	// OnTimeout is what an approve gate decides when its timeout passes.
	OnTimeout GateOutcome `json:"onTimeout,omitempty" jsonschema:"enum=approve,enum=reject"`

	// Timeout bounds a run step's attempt or an approve gate's wait.
	Timeout Duration `json:"timeout,omitempty"`

	// Deploy applies manifests, sets an image and waits for the rollout
	// (the guide's staging deploy).
	Deploy *DeploySpec `json:"deploy,omitempty"`
	// BlueGreen releases an image to the color that is not live and
	// switches the Service to it.
	BlueGreen *BlueGreenSpec `json:"blueGreen,omitempty"`

	// Analysis measures Prometheus queries against conditions, and passes,
	// fails, or pauses for a person when it cannot tell.
	Analysis *AnalysisSpec `json:"analysis,omitempty"`
	// Alerts fails the step while Prometheus has any of the named alerts
	// firing (the guide's stage 7 check).
	Alerts *AlertsSpec `json:"alerts,omitempty"`
	// Notify sends a message to Slack or Microsoft Teams now.
	Notify *NotifyStepSpec `json:"notify,omitempty"`
	// LoadTest sends a constant rate of requests and fails on broken
	// thresholds (the guide's stage 5).
	LoadTest *LoadTestSpec `json:"loadtest,omitempty"`
}

// GateOutcome is the decision an approve gate takes on timeout.
type GateOutcome string

// The gate outcomes.
const (
	GateApprove GateOutcome = "approve"
	GateReject  GateOutcome = "reject"
)

// StepKind names what a step does.
type StepKind string

// The step kinds.
const (
	KindRun       StepKind = "run"
	KindApprove   StepKind = "approve"
	KindDeploy    StepKind = "deploy"
	KindBlueGreen StepKind = "blueGreen"
	KindAnalysis  StepKind = "analysis"
	KindLoadTest  StepKind = "loadtest"
	KindNotify    StepKind = "notify"
	KindAlerts    StepKind = "alerts"
)

// implemented lists step kinds the runner can execute.
func (k StepKind) implemented() bool {
	return k == KindRun || k == KindApprove || k == KindDeploy || k == KindBlueGreen || k == KindAnalysis || k == KindAlerts || k == KindNotify || k == KindLoadTest
}

// Kinds returns every kind field that is set on the step, in a fixed order.
// Validation requires exactly one.
func (s *Step) Kinds() []StepKind {
	var kinds []StepKind
	if s.Run != "" {
		kinds = append(kinds, KindRun)
	}
	if s.Approve != "" {
		kinds = append(kinds, KindApprove)
	}
	for _, k := range []struct {
		kind StepKind
		set  bool
	}{
		{KindDeploy, s.Deploy != nil},
		{KindBlueGreen, s.BlueGreen != nil},
		{KindAnalysis, s.Analysis != nil},
		{KindLoadTest, s.LoadTest != nil},
		{KindAlerts, s.Alerts != nil},
		{KindNotify, s.Notify != nil},
	} {
		if k.set {
			kinds = append(kinds, k.kind)
		}
	}
	return kinds
}

// Kind returns the step's kind, or "" when it has none or several.
func (s *Step) Kind() StepKind {
	if k := s.Kinds(); len(k) == 1 {
		return k[0]
	}
	return ""
}

// Duration is a time.Duration written as a Go duration string ("15m").
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats the duration the way it is written in a pipeline file.
// String writes d as every view does (human.Duration): 15m, 4m05s.
func (d Duration) String() string { return human.Duration(time.Duration(d)) }

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("is empty; write a duration like 90s, 15m or 1h30m")
	}
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (write it like 90s, 15m or 1h30m)", b)
	}
	*d = Duration(v)
	return nil
}

// StepName returns the name used for a step in events and the journal: its
// own name, or its kind and position when it has none.
func (s *Step) StepName(index int) string {
	if s.Name != "" {
		return s.Name
	}
	k := s.Kind()
	if k == "" {
		k = "step"
	}
	return fmt.Sprintf("%s-%d", k, index+1)
}

// StepRef is a step of a pipeline, and where it is: its stage's name and
// its own.
type StepRef struct {
	Stage, Name string
	*Step
}

// BlueGreenSteps lists the pipeline's blueGreen steps, in order.
func (p *Pipeline) BlueGreenSteps() []StepRef {
	var out []StepRef
	for i := range p.Stages {
		s := &p.Stages[i]
		for j := range s.Steps {
			if s.Steps[j].BlueGreen != nil {
				out = append(out, StepRef{Stage: s.Name, Name: s.Steps[j].StepName(j), Step: &s.Steps[j]})
			}
		}
	}
	return out
}

// SchemaID is the $id of the pipeline file's JSON Schema.
const SchemaID = "https://cutover.dev/schemas/pipeline-v1alpha1.json"
