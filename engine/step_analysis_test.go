package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
)

func TestJudgeAnalysis(t *testing.T) {
	analysisSpec := spec.AnalysisSpec{Count: 3, FailureLimit: 1, InconclusiveLimit: 1}
	names := []string{"errors", "p95"}
	tally := func(measured, failed, inconclusive, consecutive int) MetricTally {
		return MetricTally{Measured: measured, Failed: failed, Inconclusive: inconclusive, Consecutive: consecutive}
	}
	tests := []struct {
		name    string
		spec    spec.AnalysisSpec
		tallies map[string]MetricTally
		want    analysisOutcome
	}{
		{"first round passing goes on", analysisSpec, map[string]MetricTally{"errors": tally(1, 0, 0, 1), "p95": tally(1, 0, 0, 1)}, analysisGoOn},
		{"one failure is within the limit", analysisSpec, map[string]MetricTally{"errors": tally(2, 1, 0, 0), "p95": tally(2, 0, 0, 2)}, analysisGoOn},
		{"two failures fail", analysisSpec, map[string]MetricTally{"errors": tally(2, 2, 0, 0), "p95": tally(2, 0, 0, 2)}, analysisFailed},
		{"too many inconclusive pauses", analysisSpec, map[string]MetricTally{"errors": tally(2, 0, 2, 0), "p95": tally(2, 0, 0, 2)}, analysisPaused},
		{"failure wins over a pause", analysisSpec, map[string]MetricTally{"errors": tally(2, 0, 2, 0), "p95": tally(2, 2, 0, 0)}, analysisFailed},
		{"every measurement inconclusive, within the limit, still pauses", spec.AnalysisSpec{Count: 2, InconclusiveLimit: 5},
			map[string]MetricTally{"errors": tally(2, 0, 2, 0), "p95": tally(2, 0, 0, 2)}, analysisPaused},
		{"all counted passes", analysisSpec, map[string]MetricTally{"errors": tally(3, 1, 1, 1), "p95": tally(3, 0, 0, 3)}, analysisPassed},
		{"consecutive successes pass early", spec.AnalysisSpec{Count: 10, ConsecutiveSuccesses: 2},
			map[string]MetricTally{"errors": tally(2, 0, 0, 2), "p95": tally(2, 0, 0, 2)}, analysisPassed},
		{"consecutive needs every metric", spec.AnalysisSpec{Count: 10, ConsecutiveSuccesses: 2, FailureLimit: 1},
			map[string]MetricTally{"errors": tally(2, 0, 0, 2), "p95": tally(2, 1, 0, 1)}, analysisGoOn},
	}
	for _, tc := range tests {
		if got, reason := judgeAnalysis(tc.spec, names, tc.tallies); got != tc.want {
			t.Errorf("%s: got %d (%s), want %d", tc.name, got, reason, tc.want)
		}
	}
}

// scriptedMetrics answers each query with the next of its scripted values;
// an error in the script is returned as the query's error.
type scriptedMetrics struct {
	mu     sync.Mutex
	script map[string][]any
}

func (m *scriptedMetrics) Scalar(_ context.Context, query string, _ time.Time) (float64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	vals := m.script[query]
	if len(vals) == 0 {
		return 0, fmt.Errorf("query %s: %w", query, ErrNoData)
	}
	v := vals[0]
	m.script[query] = vals[1:]
	if err, ok := v.(error); ok {
		return 0, err
	}
	return v.(float64), nil
}

func (m *scriptedMetrics) Firing(context.Context, map[string]string) ([]FiringAlert, error) {
	return nil, errors.New("not scripted")
}

func analysisPipeline(count, failureLimit, inconclusiveLimit int) *spec.Pipeline {
	return &spec.Pipeline{
		Metadata:   spec.Metadata{Name: "analysis"},
		Prometheus: &spec.PrometheusSpec{Address: "http://127.0.0.1:1"},
		Stages: []spec.Stage{{Name: "monitoring", Budget: spec.Duration(time.Hour), Steps: []spec.Step{{Name: "slo", Analysis: &spec.AnalysisSpec{
			Interval: spec.Duration(time.Millisecond), Count: count, FailureLimit: failureLimit, InconclusiveLimit: inconclusiveLimit,
			Metrics: []spec.AnalysisMetric{
				{Name: "errors", Query: "errors", SuccessCondition: "< 0.05"},
				{Name: "p95", Query: "p95", SuccessCondition: "<= 2"},
			},
		}}}}},
	}
}

func TestAnalysisStep(t *testing.T) {
	down := errors.New("dial tcp 127.0.0.1:9090: connect: connection refused")
	tests := []struct {
		name       string
		script     map[string][]any
		decide     string // approve or reject when the step pauses
		want       Status
		reasonHas  string
		measured   int
		gateOpened bool
	}{
		{"healthy", map[string][]any{"errors": {0.01, 0.02, 0.0}, "p95": {0.3, 0.4, 0.5}}, "", StatusSucceeded, "", 6, false},
		{"errors over the limit", map[string][]any{"errors": {0.01, 0.2, 0.3}, "p95": {0.3, 0.4, 0.5}}, "", StatusFailed, "metric errors failed 2 of 3", 6, false},
		{"Prometheus down pauses, and a rejection fails", map[string][]any{"errors": {down, down}, "p95": {0.3, 0.4}}, "reject", StatusFailed, "analysis was inconclusive", 4, true},
		{"Prometheus down pauses, and an approval goes on", map[string][]any{"errors": {down, down}, "p95": {0.3, 0.4}}, "approve", StatusSucceeded, "went on regardless", 4, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &scriptedMetrics{script: tc.script}
			h := newHarness(t, Config{Pipeline: analysisPipeline(3, 1, 1), Metrics: func(spec.PrometheusSpec) (Metrics, error) { return m, nil }})
			if tc.decide != "" {
				go func() {
					<-h.await(func(ev Event) bool { _, ok := ev.(GateWaiting); return ok })
					if tc.decide == "approve" {
						_ = h.eng.Approve(Actor{Name: "carol"}, "")
					} else {
						_ = h.eng.Reject(Actor{Name: "carol"}, "", "no data, no release")
					}
				}()
			}
			final := h.run()
			st, _ := final.Stage("monitoring")
			step := st.Steps[0]
			if step.Status != tc.want || !strings.Contains(step.Reason, tc.reasonHas) {
				t.Errorf("step %s (%s), want %s containing %q", step.Status, step.Reason, tc.want, tc.reasonHas)
			}
			measured, gate := 0, false
			h.mu.Lock()
			events := append([]Event(nil), h.events...)
			h.mu.Unlock()
			for _, ev := range events {
				switch ev.(type) {
				case AnalysisMeasured:
					measured++
				case GateWaiting:
					gate = true
				}
			}
			if measured != tc.measured || gate != tc.gateOpened {
				t.Errorf("%d measurements, gate %v; want %d, %v", measured, gate, tc.measured, tc.gateOpened)
			}
			recs := h.records()
			n := 0
			for _, r := range recs {
				// A value exactly when something was measured: no
				// data is never written as a number.
				if r.Type == RecMeasurement && r.Query != "" && r.Verdict != "" && (r.Value != "") == (r.Verdict != VerdictInconclusive) {
					n++
				}
			}
			if n != tc.measured {
				t.Errorf("%d measurement records with query, verdict and a value exactly when measured; want %d", n, tc.measured)
			}
		})
	}
}

// TestAutoApproveLeavesMissingDataToAPerson: --auto-approve passes the
// gates a person planned, not an analysis that could not measure (here,
// Prometheus down): that gate waits for a person, and is asked for.
func TestAutoApproveLeavesMissingDataToAPerson(t *testing.T) {
	down := errors.New("dial tcp 127.0.0.1:9090: connect: connection refused")
	m := &scriptedMetrics{script: map[string][]any{"errors": {down, down}, "p95": {0.3, 0.4}}}
	h := newHarness(t, Config{Pipeline: analysisPipeline(3, 1, 1), AutoApprove: true, Metrics: func(spec.PrometheusSpec) (Metrics, error) { return m, nil }})
	go func() {
		<-h.await(func(ev Event) bool { _, ok := ev.(GateWaiting); return ok })
		// A person, not --auto-approve, decides: had the gate been
		// passed already, this rejection would find none waiting.
		time.Sleep(50 * time.Millisecond)
		_ = h.eng.Reject(Actor{Name: "carol"}, "", "no data, no release")
	}()
	final := h.run()
	st, _ := final.Stage("monitoring")
	if step := st.Steps[0]; step.Status != StatusFailed || !strings.Contains(step.Reason, "analysis was inconclusive") || !strings.Contains(step.Reason, "carol") {
		t.Errorf("step %s (%s); want failed, rejected by carol", step.Status, step.Reason)
	}
	for _, r := range h.records() {
		if r.Type == RecGateApproved {
			t.Errorf("the gate was approved by %v: --auto-approve must leave missing data to a person", r.Actor)
		}
	}
}

func TestCheckAlerts(t *testing.T) {
	firing := []FiringAlert{
		{Name: "HighErrorRate", Labels: map[string]string{"alertname": "HighErrorRate", "alertstate": "firing", "service": "web"}},
		{Name: "DiskFull", Labels: map[string]string{"alertname": "DiskFull", "alertstate": "firing", "node": "n1"}},
	}
	tests := []struct {
		spec spec.AlertsSpec
		want string
	}{
		{spec.AlertsSpec{}, "DiskFull{node=n1} HighErrorRate{service=web}"},
		{spec.AlertsSpec{Alerts: []string{"HighErrorRate", "PodCrashLooping"}}, "HighErrorRate{service=web}"},
		{spec.AlertsSpec{Alerts: []string{"PodCrashLooping"}}, ""},
	}
	for _, tc := range tests {
		if got := strings.Join(checkAlerts(tc.spec, firing), " "); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.spec, got, tc.want)
		}
	}
}
