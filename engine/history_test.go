package engine

import (
	"strings"
	"testing"
	"time"
)

func TestBuildHistory(t *testing.T) {
	var recs []Record
	run := func(id, pipeline string, stages map[string]time.Duration, status map[string]Status) {
		recs = append(recs, Record{Run: id, Type: RecRunStarted, Pipeline: pipeline})
		for _, name := range []string{"build", "deploy"} {
			d, ok := stages[name]
			if !ok {
				continue
			}
			st := StatusSucceeded
			if s, ok := status[name]; ok {
				st = s
			}
			recs = append(recs, Record{Run: id, Type: RecStageFinished, Stage: name, Status: st, Duration: d, Budget: map[string]time.Duration{"build": 10 * time.Minute, "deploy": 5 * time.Minute}[name]})
		}
		recs = append(recs, Record{Run: id, Type: RecRunFinished, Status: StatusSucceeded, Duration: time.Minute})
	}
	m := time.Minute
	run("r1", "web", map[string]time.Duration{"build": 8 * m, "deploy": 4 * m}, nil)
	run("r2", "web", map[string]time.Duration{"build": 12 * m, "deploy": 6 * m}, nil)
	run("other", "api", map[string]time.Duration{"build": 99 * m}, nil)
	// Skipped stages did not run and must not count.
	run("r3", "web", map[string]time.Duration{"build": 9 * m, "deploy": 0}, map[string]Status{"deploy": StatusSkipped})
	run("r4", "web", map[string]time.Duration{"build": 11 * m}, nil)

	h := BuildHistory(recs, "web", 3)
	if h.Runs != 4 || len(h.Stages) != 2 {
		t.Fatalf("got %d runs and %d stages, want 4 and 2", h.Runs, len(h.Stages))
	}
	build, deploy := h.Stages[0], h.Stages[1]
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"build last", build.Last, 11 * m},
		{"build last over", build.LastOverBudget, true},
		{"build median of r4 r3 r2", build.Median, 11 * m},
		{"build samples", build.Samples, 3},
		{"deploy last (r3 skipped it)", deploy.Last, 6 * m},
		{"deploy median of r2 r1", deploy.Median, 5 * m},
		{"deploy median over", deploy.MedianOver, false},
		{"total budget", h.TotalBudget, 15 * m},
		{"total last", h.TotalLast, 17 * m},
		{"last run", h.LastRun, "r4"},
		{"latest pipeline", LatestPipeline(recs), "web"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestHistoryFollowsPipelineOrder(t *testing.T) {
	recs := []Record{
		{Run: "r1", Type: RecRunStarted, Pipeline: "p", Stages: []string{"test", "build", "deploy"}},
		// Parallel stages finish in any order; the table does not.
		{Run: "r1", Type: RecStageFinished, Stage: "deploy", Status: StatusSucceeded, Duration: time.Second},
		{Run: "r1", Type: RecStageFinished, Stage: "build", Status: StatusSucceeded, Duration: time.Second},
		{Run: "r1", Type: RecStageFinished, Stage: "old", Status: StatusSucceeded, Duration: time.Second},
		{Run: "r1", Type: RecStageFinished, Stage: "test", Status: StatusSucceeded, Duration: time.Second},
	}
	var got []string
	for _, row := range BuildHistory(recs, "p", 10).Stages {
		got = append(got, row.Stage)
	}
	if want := "test build deploy old"; strings.Join(got, " ") != want {
		t.Errorf("rows: got %v, want %s", got, want)
	}
}
