package prom_test

import (
	"context"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	"github.com/cutover-sh/cutover/prom"
)

// BenchmarkPanelRefresh times one refresh of the six default panels
// against a real Prometheus, and in the same run each panel's query alone:
// with the queries in parallel, the slowest of them is the floor.
func BenchmarkPanelRefresh(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, c := board(ctx, b)
	vars := spec.QueryVars{Namespace: "prod"}
	panels := spec.DefaultPanels(vars)
	all := prom.NewBoard(c, panels, 15*time.Minute, 10*time.Second)
	var singles []*prom.Board
	for _, p := range panels {
		singles = append(singles, prom.NewBoard(c, []spec.PanelSpec{p}, 15*time.Minute, 10*time.Second))
	}
	var refresh, slowest time.Duration
	b.ResetTimer()
	for range b.N {
		at := time.Now()
		start := time.Now()
		for _, d := range all.Refresh(ctx, vars, at, 200) {
			if d.Err != nil {
				b.Fatal(d.Err)
			}
		}
		refresh += time.Since(start)
		var worst time.Duration
		for _, s := range singles {
			start := time.Now()
			s.Refresh(ctx, vars, at, 200)
			worst = max(worst, time.Since(start))
		}
		slowest += worst
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(refresh.Microseconds())/n, "refresh-µs")
	b.ReportMetric(float64(slowest.Microseconds())/n, "slowest-query-µs")
	b.ReportMetric(float64(refresh)/float64(slowest), "refresh/slowest")
}
