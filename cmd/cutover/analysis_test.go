package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine"
)

// TestRunPrintsEachMeasurement runs an analysis step from the command line
// against a real Prometheus scraping the metrics app: every measurement is
// printed with its value, a healthy service passes, and one at 20% errors
// fails the run.
func TestRunPrintsEachMeasurement(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	app, p := scrapedApp(ctx, t, 0)
	pipeline := writeFile(t, "analysis.yaml", `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: slo}
prometheus: {address: `+p.URL+`}
stages:
  - name: monitoring
    budget: 5m
    steps:
      - name: slo
        analysis:
          interval: 1s
          count: 3
          failureLimit: 0
          inconclusiveLimit: 2
          metrics:
            - name: error-rate
              query: (sum(rate(http_requests_total{service="web",code=~"5.."}[5s])) or vector(0)) / sum(rate(http_requests_total{service="web"}[5s]))
              successCondition: "< 0.05"
            - name: request-rate
              query: sum(rate(http_requests_total{service="web"}[5s]))
              successCondition: ">= 10"
`)
	state := t.TempDir()
	code, out, _ := cli(t, "", nil, "run", "--plain", pipeline, "--state-dir", state)
	if code != 0 {
		t.Errorf("healthy service: exit %d, want 0\n%s", code, out)
	}
	for _, want := range []string{"monitoring/slo measurement 1/3 error-rate = 0: pass (want < 0.05)", "measurement 3/3 request-rate = "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	app.Set(0.2, 50*time.Millisecond)
	time.Sleep(6 * time.Second) // a whole 5 s window of the new error ratio
	code, out, _ = cli(t, "", nil, "run", "--plain", pipeline, "--state-dir", state)
	// About 0.2: the 5 s rate windows do not line up exactly with the
	// generator's ticks.
	if code != exitFailed || !regexp.MustCompile(`error-rate = 0\.(1[5-9]|2)\d*: fail \(want < 0\.05\)`).MatchString(out) ||
		!strings.Contains(out, "metric error-rate failed 1 of 1 measurements (limit 0)") {
		t.Errorf("20%% errors: exit %d; want 1 with the failing value\n%s", code, out)
	}
	recs, _, err := engine.ReadJournal(state)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r.Type == engine.RecMeasurement && r.Metric == "error-rate" && strings.Contains(r.Query, "http_requests_total") {
			n++
		}
	}
	if n < 4 {
		t.Errorf("%d error-rate measurements journaled, want at least 4 (3 passing, 1 failing)", n)
	}
}
