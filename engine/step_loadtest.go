package engine

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
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
type LoadSummary struct {
	Requests uint64  `json:"requests"`
	Rate     float64 `json:"rate"`
	// Throughput is successful requests a second.
	Throughput  float64        `json:"throughput"`
	P50         time.Duration  `json:"p50Ns"`
	P95         time.Duration  `json:"p95Ns"`
	P99         time.Duration  `json:"p99Ns"`
	ErrorRate   float64        `json:"errorRate"`
	StatusCodes map[string]int `json:"statusCodes,omitempty"`
	// Errors are the distinct transport errors, at most five.
	Errors []string `json:"errors,omitempty"`
}

// String is the summary as one line.
func (s LoadSummary) String() string {
	codes := make([]string, 0, len(s.StatusCodes))
	for _, c := range slices.Sorted(maps.Keys(s.StatusCodes)) {
		codes = append(codes, fmt.Sprintf("%s×%d", c, s.StatusCodes[c]))
	}
	return fmt.Sprintf("%d requests at %.1f/s (%.1f/s succeeded), p50 %s p95 %s p99 %s, errors %.2f%%, status %s",
		s.Requests, s.Rate, s.Throughput, roundDur(s.P50), roundDur(s.P95), roundDur(s.P99), 100*s.ErrorRate, strings.Join(codes, " "))
}

func roundDur(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// breaches lists the thresholds a summary breaks. It is pure.
func (t LoadThresholds) breaches(s LoadSummary) []string {
	var out []string
	if t.P95 > 0 && s.P95 > t.P95.D() {
		out = append(out, fmt.Sprintf("p95 %s > %s", roundDur(s.P95), t.P95))
	}
	if t.ErrorRate != nil && s.ErrorRate > *t.ErrorRate {
		out = append(out, fmt.Sprintf("errors %.2f%% > %.2f%%", 100*s.ErrorRate, 100**t.ErrorRate))
	}
	if t.MinRate > 0 && s.Throughput < t.MinRate {
		out = append(out, fmt.Sprintf("rate %.1f/s < %g/s", s.Throughput, t.MinRate))
	}
	return out
}

// loadTest runs the attack and summarises it. It stops early when ctx
// ends, and summarises what it sent.
func loadTest(ctx context.Context, spec LoadTestSpec) LoadSummary {
	method := spec.Method
	if method == "" {
		method = http.MethodGet
	}
	timeout := spec.RequestTimeout.D()
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	header := http.Header{}
	for k, v := range spec.Headers {
		header.Set(k, v)
	}
	// No redirects: a load test measures the target, not where it points.
	// Validation keeps the rate between 1 and 10,000; enough workers for
	// a slow target, but bounded.
	workers := uint64(min(max(spec.Rate, 1)*4, 1000)) //nolint:gosec // bounded just above
	atk := vegeta.NewAttacker(vegeta.Timeout(timeout), vegeta.Redirects(vegeta.NoFollow), vegeta.MaxWorkers(workers))
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: method, URL: spec.Target, Header: header})
	res := atk.Attack(tr, vegeta.ConstantPacer{Freq: spec.Rate, Per: time.Second}, spec.Duration.D(), "cutover")
	var m vegeta.Metrics
	for {
		select {
		case r, ok := <-res:
			if !ok {
				m.Close()
				return summarise(&m)
			}
			m.Add(r)
		case <-ctx.Done():
			atk.Stop()
		}
	}
}

func summarise(m *vegeta.Metrics) LoadSummary {
	s := LoadSummary{
		Requests: m.Requests, Rate: m.Rate, Throughput: m.Throughput,
		P50: m.Latencies.P50, P95: m.Latencies.P95, P99: m.Latencies.P99,
		StatusCodes: m.StatusCodes,
	}
	if m.Requests > 0 {
		s.ErrorRate = 1 - m.Success
	}
	s.Errors = m.Errors[:min(len(m.Errors), 5)]
	return s
}

// loadTestRunner runs a loadtest step.
type loadTestRunner struct{ e *Engine }

func (r loadTestRunner) run(ctx context.Context, sc *stepScope) (Status, string) {
	e, s, st, name := r.e, sc.stage, sc.step, sc.name
	spec := *st.LoadTest
	sc.begin(KindLoadTest)
	finish := sc.finish
	out := func(line string) {
		e.out.emit(StepOutput{Stage: s.Name, Step: name, Stream: Stdout, Line: e.mask.String(line)})
	}
	out(fmt.Sprintf("%s %s at %d/s for %s", nonEmptyStr(spec.Method, http.MethodGet), e.mask.String(spec.Target), spec.Rate, spec.Duration))
	sum := loadTest(ctx, spec)
	if ctx.Err() != nil {
		return finish(StatusCancelled, "stopped during the load test after "+sum.String())
	}
	out(sum.String())
	for _, err := range sum.Errors {
		out("error: " + err)
	}
	_ = e.out.record(Record{Type: RecLoadTest, Stage: s.Name, Step: name, Load: &sum, Reason: e.mask.String(sum.String())})
	if b := spec.Thresholds.breaches(sum); len(b) > 0 {
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
