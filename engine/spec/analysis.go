package spec

import (
	"time"
)

// PrometheusSpec says where analysis queries go. Credentials are written
// as variables (bearerToken: ${PROM_TOKEN}) named in secretEnv, so that
// they are masked everywhere.
type PrometheusSpec struct {
	Address     string `json:"address"`
	BearerToken string `json:"bearerToken,omitempty"`
	Username    string `json:"username,omitempty"`
	Password    string `json:"password,omitempty"`
	CAFile      string `json:"caFile,omitempty"`
	// Refresh is how often panels are queried again (default 5s).
	Refresh Duration `json:"refresh,omitempty"`
	// Range is the span of time a panel shows (default 15m).
	Range Duration `json:"range,omitempty"`
}

// RefreshEvery returns the panel refresh interval, defaulted.
func (p PrometheusSpec) RefreshEvery() time.Duration {
	if p.Refresh > 0 {
		return p.Refresh.D()
	}
	return 5 * time.Second
}

// Span returns the time a panel shows, defaulted.
func (p PrometheusSpec) Span() time.Duration {
	if p.Range > 0 {
		return p.Range.D()
	}
	return 15 * time.Minute
}

// AnalysisSpec is an analysis step: every metric is measured count times,
// interval apart. A metric that fails more than failureLimit times fails
// the step; one inconclusive more than inconclusiveLimit times pauses it
// for a person. consecutiveSuccesses, when set, passes the step early once
// every metric passed that many times in a row.
type AnalysisSpec struct {
	Interval             Duration         `json:"interval,omitempty"`
	Count                int              `json:"count,omitempty" jsonschema:"minimum=1"`
	FailureLimit         int              `json:"failureLimit,omitempty" jsonschema:"minimum=0"`
	InconclusiveLimit    int              `json:"inconclusiveLimit,omitempty" jsonschema:"minimum=0"`
	ConsecutiveSuccesses int              `json:"consecutiveSuccesses,omitempty" jsonschema:"minimum=0"`
	QueryTimeout         Duration         `json:"queryTimeout,omitempty"`
	Metrics              []AnalysisMetric `json:"metrics" jsonschema:"minItems=1"`
}

// AnalysisMetric is one query and what its value must be.
type AnalysisMetric struct {
	Name             string `json:"name"`
	Query            string `json:"query"`
	SuccessCondition string `json:"successCondition,omitempty"`
	FailureCondition string `json:"failureCondition,omitempty"`
}
