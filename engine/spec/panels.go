package spec

import (
	"fmt"
	"math"
	"strings"

	"github.com/cutover-sh/cutover/human"
)

// PanelSpec is one metrics panel: a query template drawn over time, with
// conditions that color it.
type PanelSpec struct {
	Title string `json:"title"`
	// Query is a PromQL template ({{.Namespace}}, {{.Color}}, ...); each
	// series it returns is a line of the panel.
	Query string `json:"query"`
	Unit  Unit   `json:"unit,omitempty" jsonschema:"enum=req/s,enum=%,enum=seconds,enum=bytes,enum=cores,enum=count"`
	// Warn and Crit are conditions on a series' current value, like
	// "> 0.01" or "< 10"; the panel takes the worst state of its series.
	Warn string `json:"warn,omitempty"`
	Crit string `json:"crit,omitempty"`
}

// Unit is how a panel's values are written.
type Unit string

// The panel units. A % panel's query returns a ratio: 0.05 is shown as 5%,
// the way the guide's error-rate SLO is written.
const (
	UnitReqPerSec Unit = "req/s"
	UnitPercent   Unit = "%"
	UnitSeconds   Unit = "seconds"
	UnitBytes     Unit = "bytes"
	UnitCores     Unit = "cores"
	UnitCount     Unit = "count"
)

var units = []Unit{UnitReqPerSec, UnitPercent, UnitSeconds, UnitBytes, UnitCores, UnitCount}

// Format writes v in the unit: the one formatter of each unit, which the
// console, plain output, history and panels share.
func (u Unit) Format(v float64) string {
	switch u {
	case UnitReqPerSec:
		return human.Number(v) + " req/s"
	case UnitPercent:
		return human.Percent(v)
	case UnitSeconds:
		return human.Seconds(v)
	case UnitBytes:
		return human.Bytes(v)
	case UnitCores:
		return human.Number(v) + " cores"
	}
	return human.Number(v)
}

// PanelState is how a panel looks at a glance.
type PanelState string

// The panel states. Unavailable (the query failed) and no data (it
// returned nothing) are never drawn as zero.
const (
	PanelOK          PanelState = "ok"
	PanelWarn        PanelState = "warn"
	PanelCrit        PanelState = "crit"
	PanelNoData      PanelState = "no data"
	PanelUnavailable PanelState = "unavailable"
)

// Severity orders the states from best to worst, for a panel that takes
// the worst of its series and a view that shows the worst panels first.
func (s PanelState) Severity() int {
	switch s {
	case PanelOK:
		return 0
	case PanelWarn:
		return 1
	case PanelNoData:
		return 2
	case PanelUnavailable:
		return 3
	}
	return 4 // crit: a measured breach outranks a missing measurement
}

// Judge returns the state of one current value against the panel's
// conditions. Conditions that do not parse were refused by validation.
func (p PanelSpec) Judge(v float64) PanelState {
	if math.IsNaN(v) {
		return PanelNoData
	}
	for _, c := range []struct {
		text  string
		state PanelState
	}{{p.Crit, PanelCrit}, {p.Warn, PanelWarn}} {
		if c.text == "" {
			continue
		}
		if cond, err := ParseCondition(c.text); err == nil && cond.Holds(v) {
			return c.state
		}
	}
	return PanelOK
}

// DefaultPanels are the guide's six, used when a pipeline declares none:
// request rate and 5xx ratio per color, p50 and p95 latency, CPU, memory
// and restarts. They narrow to the release's namespace when it is known.
func DefaultPanels(v QueryVars) []PanelSpec {
	sel := func(extra ...string) string {
		var m []string
		if v.Namespace != "" {
			m = append(m, fmt.Sprintf("namespace=%q", v.Namespace))
		}
		return "{" + strings.Join(append(m, extra...), ",") + "}"
	}
	reqs := "rate(http_requests_total" + sel() + "[1m])"
	quantile := func(q, name string) string {
		return fmt.Sprintf(`label_replace(histogram_quantile(%s, sum by (le, color) (rate(http_request_duration_seconds_bucket%s[1m]))), "quantile", %q, "", "")`, q, sel(), name)
	}
	container := sel(`container!=""`, `container!="POD"`)
	return []PanelSpec{
		{Title: "Request rate", Unit: UnitReqPerSec, Query: "sum by (color) (" + reqs + ")"},
		{
			// "or ... * 0" gives a color that never failed a 0, where a plain
			// ratio would have no 5xx series to divide.
			Title: "5xx error ratio", Unit: UnitPercent, Warn: "> 0.01", Crit: "> 0.05",
			Query: "sum by (color) (rate(http_requests_total" + sel(`code=~"5.."`) + "[1m]) or " + reqs + " * 0) / sum by (color) (" + reqs + ")",
		},
		{Title: "Latency p50/p95", Unit: UnitSeconds, Warn: "> 1", Crit: "> 2", Query: quantile("0.5", "p50") + " or " + quantile("0.95", "p95")},
		{Title: "CPU", Unit: UnitCores, Query: "sum(rate(container_cpu_usage_seconds_total" + container + "[1m]))"},
		{Title: "Memory", Unit: UnitBytes, Query: "sum(container_memory_usage_bytes" + container + ")"},
		{Title: "Restarts (15m)", Unit: UnitCount, Warn: "> 0", Crit: "> 3", Query: "sum(increase(kube_pod_container_status_restarts_total" + sel() + "[15m]))"},
	}
}

// ReleaseVars are the query variables known before a run starts: the
// namespace, Service and image of the pipeline's first blueGreen step, or
// failing that of its first deploy step. Color is known only once a
// release has read the Service.
func (p *Pipeline) ReleaseVars() QueryVars {
	if bg := p.BlueGreenSteps(); len(bg) > 0 {
		b := bg[0].BlueGreen
		return QueryVars{Namespace: b.Namespace, Service: b.Service, Release: b.Image}
	}
	for _, s := range p.Stages {
		for _, st := range s.Steps {
			if d := st.Deploy; d != nil {
				return QueryVars{Namespace: d.Namespace, Deployment: d.Deployment, Release: d.Image}
			}
		}
	}
	return QueryVars{}
}

// PanelSpecs returns the panels the pipeline declares, or the default six
// for vars.
func (p *Pipeline) PanelSpecs(vars QueryVars) []PanelSpec {
	if len(p.Panels) > 0 {
		return p.Panels
	}
	return DefaultPanels(vars)
}
