package prom_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/prom"
	"github.com/cutover-sh/cutover/testenv"
)

// The guide's SLO queries, as a pipeline would write them. A service that
// never failed has no 5xx series at all, so the error ratio's numerator
// needs "or vector(0)": without it the whole ratio is empty, which a gate
// rightly counts as inconclusive.
const (
	errorRate = `(sum(rate(http_requests_total{service="web",code=~"5.."}[5s])) or vector(0)) / sum(rate(http_requests_total{service="web"}[5s]))`
	p95       = `histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket{service="web"}[5s])) by (le))`
	reqRate   = `sum(rate(http_requests_total{service="web"}[5s]))`
)

// env is a real Prometheus scraping a metrics app every second.
type env struct {
	app  *testenv.App
	prom *testenv.Prometheus
	c    *prom.Client
}

func start(ctx context.Context, t *testing.T) *env {
	t.Helper()
	app, err := testenv.StartApp(ctx, testenv.AppOptions{Service: "web", Color: "green", Namespace: "prod", Pod: "web-green-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Stop)
	p, err := testenv.StartPrometheus(ctx, t.TempDir(), []string{app.Addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	c, err := prom.New(prom.Config{Address: p.URL})
	if err != nil {
		t.Fatal(err)
	}
	return &env{app: app, prom: p, c: c}
}

// settle waits until query's value satisfies ok, as the 5 s rate windows
// fill after a change.
func (e *env) settle(ctx context.Context, t *testing.T, query string, ok func(float64) bool) float64 {
	t.Helper()
	var v float64
	var err error
	for {
		if v, err = e.c.Scalar(ctx, query, time.Now()); err == nil && ok(v) {
			return v
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never settled: last %v, %v", query, v, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func cond(t *testing.T, s string) *spec.Condition {
	t.Helper()
	c, err := spec.ParseCondition(s)
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

// TestGatesAgainstARealPrometheus: the guide's SLOs as gates, judged on
// what a real Prometheus scraped from a service that is made healthy, then
// sick, then slow.
func TestGatesAgainstARealPrometheus(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := start(ctx, t)
	measure := func(query, success string) engine.Measurement {
		return engine.Measure(ctx, e.c, query, time.Now(), 5*time.Second, cond(t, success), nil)
	}

	e.settle(ctx, t, reqRate, func(v float64) bool { return v > 40 })
	for _, g := range []struct{ query, success string }{{errorRate, "< 0.05"}, {p95, "<= 2"}, {reqRate, ">= 10"}} {
		if m := measure(g.query, g.success); m.Verdict != engine.VerdictPass {
			t.Errorf("healthy service, %s %s: got %s (%g, %s), want pass", g.query, g.success, m.Verdict, m.Value, m.Reason)
		}
	}

	e.app.Set(0.2, 50*time.Millisecond)
	// Wait for a whole 5 s window of the new ratio.
	time.Sleep(6 * time.Second)
	e.settle(ctx, t, errorRate, func(v float64) bool { return v > 0.15 })
	if m := measure(errorRate, "< 0.05"); m.Verdict != engine.VerdictFail || m.Value < 0.15 || m.Value > 0.25 {
		t.Errorf("20%% errors: got %s with %g, want fail near 0.2", m.Verdict, m.Value)
	}

	e.app.Set(0, 3*time.Second)
	e.settle(ctx, t, p95, func(v float64) bool { return v > 2.5 })
	if m := measure(p95, "<= 2"); m.Verdict != engine.VerdictFail {
		t.Errorf("3 s latency: got %s with %g, want fail", m.Verdict, m.Value)
	}

	if m := measure(`sum(rate(nobody_exports_this_total[5s]))`, "< 1"); m.Verdict != engine.VerdictInconclusive || !strings.Contains(m.Reason, "no data") {
		t.Errorf("a metric nobody exports: got %s (%s), want inconclusive", m.Verdict, m.Reason)
	}

	// Prometheus goes away mid-analysis: inconclusive, never a pass.
	e.prom.Stop()
	if m := measure(errorRate, "< 0.05"); m.Verdict != engine.VerdictInconclusive || !strings.Contains(m.Reason, "could not measure") {
		t.Errorf("Prometheus stopped: got %s (%s), want inconclusive", m.Verdict, m.Reason)
	}
}

// TestScalarWantsOneSeries: a query that returns several series is an error
// naming the count, not a silent pick of one.
func TestScalarWantsOneSeries(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e := start(ctx, t)
	e.settle(ctx, t, reqRate, func(v float64) bool { return v > 0 })
	e.app.Set(0.5, 50*time.Millisecond)
	e.settle(ctx, t, errorRate, func(v float64) bool { return v > 0.3 })
	_, err := e.c.Scalar(ctx, `rate(http_requests_total{service="web"}[5s])`, time.Now())
	if err == nil || !strings.Contains(err.Error(), "returned 2 series") {
		t.Errorf("got %v, want an error naming 2 series", err)
	}
	_, err = e.c.Scalar(ctx, `nobody_exports_this`, time.Now())
	if !errors.Is(err, engine.ErrNoData) {
		t.Errorf("got %v, want ErrNoData", err)
	}
}
