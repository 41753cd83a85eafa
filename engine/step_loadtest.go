package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/cutover-sh/cutover/engine/spec"

	"github.com/cutover-sh/cutover/engine/edge"
	"github.com/cutover-sh/cutover/human"
)

// LoadSummary is what a load test measured.
type LoadSummary = edge.LoadSummary

// breaches lists the thresholds a summary breaks. It is pure.
func breaches(t spec.LoadThresholds, s LoadSummary) []string {
	var out []string
	if t.P95 > 0 && s.P95 > t.P95.D() {
		out = append(out, fmt.Sprintf("p95 %s > %s", human.Duration(s.P95), t.P95))
	}
	if t.ErrorRate != nil && s.ErrorRate > *t.ErrorRate {
		out = append(out, fmt.Sprintf("errors %s > %s", human.Percent(s.ErrorRate), human.Percent(*t.ErrorRate)))
	}
	if t.MinRate > 0 && s.Throughput < t.MinRate {
		out = append(out, fmt.Sprintf("rate %s/s < %s/s", human.Number(s.Throughput), human.Number(t.MinRate)))
	}
	return out
}

// loadTestRunner runs a loadtest step.
type loadTestRunner struct{ e *Engine }

func (r loadTestRunner) run(ctx context.Context, sc *stepScope) (Status, string) {
	e, s, st, name := r.e, sc.stage, sc.step, sc.name
	loadSpec := *st.LoadTest
	sc.begin(spec.KindLoadTest)
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
