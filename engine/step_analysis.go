package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
)

// MetricTally is what an analysis has seen of one metric so far.
type MetricTally struct {
	Measured, Failed, Inconclusive, Consecutive int
	Last                                        Measurement
}

// analysisOutcome is where an analysis stands after a round.
type analysisOutcome int

const (
	analysisGoOn analysisOutcome = iota
	analysisPassed
	analysisFailed
	analysisPaused
)

// judgeAnalysis decides, from the tallies after a round, whether the
// analysis goes on, passed, failed or must pause for a person. It is pure.
func judgeAnalysis(spec spec.AnalysisSpec, names []string, tallies map[string]MetricTally) (analysisOutcome, string) {
	var paused []string
	allConsecutive := spec.ConsecutiveSuccesses > 0
	allDone := true
	for _, n := range names {
		t := tallies[n]
		if t.Failed > spec.FailureLimit {
			return analysisFailed, fmt.Sprintf("metric %s failed %d of %d measurements (limit %d); last %s: %s",
				n, t.Failed, t.Measured, spec.FailureLimit, t.Last.ValueText(), t.Last.Reason)
		}
		if t.Inconclusive > spec.InconclusiveLimit {
			paused = append(paused, fmt.Sprintf("metric %s was inconclusive %d of %d times (limit %d): %s",
				n, t.Inconclusive, t.Measured, spec.InconclusiveLimit, t.Last.Reason))
		}
		allConsecutive = allConsecutive && t.Consecutive >= spec.ConsecutiveSuccesses
		allDone = allDone && t.Measured >= max(spec.Count, 1)
	}
	if allDone || allConsecutive {
		// Within the limits is not enough: a metric that never passed was
		// never measured at all, and missing data must not promote.
		for _, n := range names {
			if t := tallies[n]; t.Measured-t.Failed-t.Inconclusive == 0 {
				paused = append(paused, fmt.Sprintf("metric %s never passed in %d measurements: %s", n, t.Measured, t.Last.Reason))
			}
		}
	}
	switch {
	case len(paused) > 0:
		return analysisPaused, strings.Join(paused, "; ")
	case allConsecutive:
		return analysisPassed, fmt.Sprintf("every metric passed %d times in a row", spec.ConsecutiveSuccesses)
	case allDone:
		return analysisPassed, ""
	}
	return analysisGoOn, ""
}

// analysisRunner runs an analysis step: Prometheus queries judged against
// conditions, round after round.
type analysisRunner struct{ e *Engine }

func (r analysisRunner) run(ctx context.Context, sc *stepScope) (Status, string) {
	e, s, st, name := r.e, sc.stage, sc.step, sc.name
	sc.begin(spec.KindAnalysis)
	res := r.analyze(ctx, s, name, "", *st.Analysis, e.query.get())
	return sc.finishBy(res.status, res.reason, res.actor)
}

// analysisResult is how an analysis ended: succeeded, failed or cancelled,
// and who decided when it paused.
type analysisResult struct {
	status Status
	reason string
	actor  *Actor
}

// analyze runs an analysis for step name of stage s. prefix names the
// analysis inside a step ("pre-promotion/"), or is empty for an analysis
// step. A pause for a person is a gate of the step.
func (r analysisRunner) analyze(ctx context.Context, s *spec.Stage, name, prefix string, spec spec.AnalysisSpec, vars spec.QueryVars) analysisResult {
	e := r.e
	if e.cfg.Metrics == nil || e.p.Prometheus == nil {
		return analysisResult{status: StatusFailed, reason: "this run has no Prometheus configured (prometheus: in the pipeline file)"}
	}
	m, err := e.cfg.Metrics(*e.p.Prometheus)
	if err != nil {
		return analysisResult{status: StatusFailed, reason: err.Error()}
	}
	metrics, err := analysisMetrics(spec, prefix, vars)
	if err != nil {
		return analysisResult{status: StatusFailed, reason: err.Error()}
	}
	names := make([]string, len(metrics))
	for i, x := range metrics {
		names[i] = x.Name
	}
	timeout := spec.QueryTimeout.D()
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	interval := spec.Interval.D()
	if interval <= 0 {
		interval = time.Minute
	}
	tallies := map[string]MetricTally{}
	for round := 0; ; round++ {
		if round > 0 {
			t := e.clock.NewTimer(interval)
			select {
			case <-ctx.Done():
				t.Stop()
				return analysisResult{status: StatusCancelled, reason: "stopped during the analysis"}
			case <-t.C():
			}
		}
		if !r.measure(ctx, s, name, m, metrics, spec, round, timeout, tallies) {
			return analysisResult{status: StatusCancelled, reason: "stopped during the analysis"}
		}
		switch outcome, reason := judgeAnalysis(spec, names, tallies); outcome {
		case analysisPassed:
			return analysisResult{status: StatusSucceeded, reason: reason}
		case analysisFailed:
			return analysisResult{status: StatusFailed, reason: reason}
		case analysisPaused:
			return r.pause(ctx, s, name, reason)
		}
	}
}

// analysisMetric is a metric of an analysis, ready to measure: its query
// rendered and its conditions parsed.
type analysisMetric struct {
	spec.AnalysisMetric
	success, failure *spec.Condition
}

// analysisMetrics renders and parses an analysis's metrics, named with
// prefix. Validation parsed them already; a Pipeline built in code may not
// have been validated.
func analysisMetrics(analysisSpec spec.AnalysisSpec, prefix string, vars spec.QueryVars) ([]analysisMetric, error) {
	var metrics []analysisMetric
	for _, am := range analysisSpec.Metrics {
		x := analysisMetric{AnalysisMetric: am}
		for _, c := range []struct {
			text string
			into **spec.Condition
		}{{am.SuccessCondition, &x.success}, {am.FailureCondition, &x.failure}} {
			if c.text == "" {
				continue
			}
			cond, err := spec.ParseCondition(c.text)
			if err != nil {
				return nil, fmt.Errorf("metric %s: %w", am.Name, err)
			}
			*c.into = &cond
		}
		q, err := spec.ParseQuery(am.Query)
		if err == nil {
			x.Query, err = q.Render(vars)
		}
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", am.Name, err)
		}
		x.Name = prefix + am.Name
		metrics = append(metrics, x)
	}
	return metrics, nil
}

// measure takes one round of measurements, all at the same instant, and
// journals and publishes each. It reports false if ctx ended meanwhile.
func (r analysisRunner) measure(ctx context.Context, s *spec.Stage, name string, m Metrics, metrics []analysisMetric,
	spec spec.AnalysisSpec, round int, timeout time.Duration, tallies map[string]MetricTally) bool {
	e := r.e
	at := e.clock.Now()
	results := make([]Measurement, len(metrics))
	var wg sync.WaitGroup
	for i, x := range metrics {
		wg.Go(func() { results[i] = Measure(ctx, m, x.Query, at, timeout, x.success, x.failure) })
	}
	wg.Wait()
	if ctx.Err() != nil {
		return false
	}
	for i, x := range metrics {
		res := results[i]
		t := tallies[x.Name]
		t.Measured++
		t.Last = res
		switch res.Verdict {
		case VerdictPass:
			t.Consecutive++
		case VerdictFail:
			t.Failed, t.Consecutive = t.Failed+1, 0
		default:
			t.Inconclusive, t.Consecutive = t.Inconclusive+1, 0
		}
		tallies[x.Name] = t
		_ = e.out.record(Record{
			Type: RecMeasurement, Stage: s.Name, Step: name, Metric: x.Name, Query: res.Query,
			Value: fmtValue(res), Verdict: res.Verdict, Reason: res.Reason,
		})
		e.out.emit(AnalysisMeasured{Stage: s.Name, Step: name, Metric: x.Name, Measurement: res, Condition: x.SuccessCondition, Round: round + 1, Count: max(spec.Count, 1)})
	}
	return true
}

// pause has a person decide an analysis that cannot tell: missing data
// never promotes.
func (r analysisRunner) pause(ctx context.Context, s *spec.Stage, name, reason string) analysisResult {
	d, ok := r.e.gates.awaitPerson(ctx, s, name, "analysis cannot tell: "+reason+". Approve to go on regardless, reject to fail.")
	if !ok {
		return analysisResult{status: StatusCancelled, reason: "stopped while the analysis waited for a person"}
	}
	if d.outcome != spec.GateApprove {
		return analysisResult{status: StatusFailed, reason: "analysis was inconclusive (" + reason + "); " + rejection(d), actor: actorPtr(d.actor)}
	}
	return analysisResult{status: StatusSucceeded, reason: fmt.Sprintf("analysis was inconclusive (%s); %s went on regardless", reason, d.actor), actor: actorPtr(d.actor)}
}

// fmtValue keeps a measured value exact in the journal, and leaves it out
// when nothing was measured.
func fmtValue(m Measurement) string {
	if !m.Measured() {
		return ""
	}
	return strconv.FormatFloat(m.Value, 'g', -1, 64)
}
