package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/cutover-sh/cutover/engine/edge"
)

// LoadTestSpec is a loadtest step: the guide's stage 5. It sends Rate
// requests a second to Target for Duration and fails when the results
// break a threshold.
type LoadTestSpec struct {
	Target string `json:"target"`
	// Method defaults to GET.
	Method   string   `json:"method,omitempty" jsonschema:"enum=GET,enum=HEAD,enum=POST,enum=PUT,enum=PATCH,enum=DELETE"`
	Rate     int      `json:"rate" jsonschema:"minimum=1,maximum=10000"`
	Duration Duration `json:"duration"`
	// RequestTimeout bounds each request (default 10s).
	RequestTimeout Duration          `json:"requestTimeout,omitempty"`
	Thresholds     LoadThresholds    `json:"thresholds,omitzero"`
	Headers        map[string]string `json:"headers,omitempty"`
}

// LoadThresholds are what a load test must meet; the guide's are p95 under
// 2s, errors under 5% and at least 10 requests a second.
type LoadThresholds struct {
	// P95 is the longest the 95th percentile may be.
	P95 Duration `json:"p95,omitempty"`
	// ErrorRate is the largest share of failed requests (0.05 is 5%).
	ErrorRate *float64 `json:"errorRate,omitempty" jsonschema:"minimum=0,maximum=1"`
	// MinRate is the fewest successful requests a second.
	MinRate float64 `json:"minRate,omitempty" jsonschema:"minimum=0"`
}

// LoadSummary is what a load test measured.
type LoadSummary = edge.LoadSummary

// breaches lists the thresholds a summary breaks. It is pure.
func breaches(t LoadThresholds, s LoadSummary) []string {
	var out []string
	if t.P95 > 0 && s.P95 > t.P95.D() {
		out = append(out, fmt.Sprintf("p95 %s > %s", edge.RoundDuration(s.P95), t.P95))
	}
	if t.ErrorRate != nil && s.ErrorRate > *t.ErrorRate {
		out = append(out, fmt.Sprintf("errors %.2f%% > %.2f%%", 100*s.ErrorRate, 100**t.ErrorRate))
	}
	if t.MinRate > 0 && s.Throughput < t.MinRate {
		out = append(out, fmt.Sprintf("rate %.1f/s < %g/s", s.Throughput, t.MinRate))
	}
	return out
}

// loadTestRunner runs a loadtest step.
type loadTestRunner struct{ e *Engine }

func (r loadTestRunner) run(ctx context.Context, sc *stepScope) (Status, string) {
	e, s, st, name := r.e, sc.stage, sc.step, sc.name
	loadSpec := *st.LoadTest
	sc.begin(KindLoadTest)
	finish := sc.finish
	out := func(line string) {
		e.out.emit(StepOutput{Stage: s.Name, Step: name, Stream: Stdout, Line: e.mask.String(line)})
	}
	out(fmt.Sprintf("%s %s at %d/s for %s", nonEmptyStr(loadSpec.Method, "GET"), e.mask.String(loadSpec.Target), loadSpec.Rate, loadSpec.Duration))
	if e.cfg.LoadTester == nil {
		// cmd/cutover gives every run one; a run built without is told why.
		return finish(StatusFailed, "this run has no load tester (engine.Config.LoadTester)")
	}
	sum := e.cfg.LoadTester.Attack(ctx, edge.LoadAttack{
		Target: loadSpec.Target, Method: nonEmptyStr(loadSpec.Method, "GET"), Rate: loadSpec.Rate, Duration: loadSpec.Duration.D(),
		RequestTimeout: loadSpec.RequestTimeout.D(), Headers: loadSpec.Headers,
	})
	if ctx.Err() != nil {
		return finish(StatusCancelled, "stopped during the load test after "+sum.String())
	}
	out(sum.String())
	for _, err := range sum.Errors {
		out("error: " + err)
	}
	_ = e.out.record(Record{Type: RecLoadTest, Stage: s.Name, Step: name, Load: &sum, Reason: e.mask.String(sum.String())})
	if b := breaches(loadSpec.Thresholds, sum); len(b) > 0 {
		return finish(StatusFailed, "load test broke its thresholds: "+strings.Join(b, ", "))
	}
	return finish(StatusSucceeded, sum.String())
}

func nonEmptyStr(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
