package prom_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	"github.com/prometheus/common/model"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/prom"
	"github.com/cutover-sh/cutover/testenv"
)

// TestStepFitsTheWidth: a panel never asks for more points than it has
// cells, and asks for as many as fit.
func TestStepFitsTheWidth(t *testing.T) {
	for _, span := range []time.Duration{time.Minute, 15 * time.Minute, time.Hour, 90 * time.Second} {
		for _, width := range []int{1, 2, 10, 37, 80, 200, 1000} {
			step := prom.Step(span, width)
			points := int((span+step-1)/step) + 1
			if points > max(width, 2) {
				t.Errorf("span %s, width %d: step %s gives %d points", span, width, step, points)
			}
			if step%time.Second != 0 {
				t.Errorf("span %s, width %d: step %s is not whole seconds", span, width, step)
			}
			if finer := step - time.Second; finer > 0 && time.Duration(max(width, 2)-1)*finer >= span {
				t.Errorf("span %s, width %d: step %s, but %s also covers the span", span, width, step, finer)
			}
		}
	}
}

// board is a real Prometheus scraping a blue and a green app, the green one
// failing 20% of its requests.
func board(ctx context.Context, t testing.TB) (*testenv.Prometheus, *prom.Client) {
	t.Helper()
	var targets []string
	for _, color := range []string{"blue", "green"} {
		app, err := testenv.StartApp(ctx, testenv.AppOptions{Service: "web", Color: color, Namespace: "prod", Pod: "web-" + color + "-1"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(app.Stop)
		if color == "green" {
			app.Set(0.2, 50*time.Millisecond)
		}
		targets = append(targets, app.Addr)
	}
	p, err := testenv.StartPrometheus(ctx, t.TempDir(), targets)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	if err := p.WaitForRequests(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	c, err := prom.New(prom.Config{Address: p.URL})
	if err != nil {
		t.Fatal(err)
	}
	return p, c
}

// TestPanelsShowWhatPrometheusAnswers: every default panel's current
// values are exactly what the same PromQL returns from the HTTP API at the
// same evaluation time, series for series.
func TestPanelsShowWhatPrometheusAnswers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, c := board(ctx, t)
	const width = 40
	// The default panels' values hardly move under a steady load; a raw
	// counter moves with every scrape, so an off-by-one point shows.
	panels := append(spec.DefaultPanels(spec.QueryVars{Namespace: "prod"}),
		spec.PanelSpec{Title: "requests so far", Query: `sum by (color) (http_requests_total{namespace="{{.Namespace}}"})`, Unit: spec.UnitCount})
	b := prom.NewBoard(c, panels, 2*time.Minute, 5*time.Second)
	// Two seconds back, so that no scrape lands between the board's query
	// and the API's; and once both colors have a few points of history, so
	// that the current value is not also the only one.
	var at time.Time
	var got []engine.PanelData
	for {
		at = time.Now().Add(-2 * time.Second)
		got = b.Refresh(ctx, spec.QueryVars{Namespace: "prod"}, at, width)
		if rate := got[0]; len(rate.Series) == 2 && rate.Series[0].HasCurrent && rate.Series[1].HasCurrent &&
			len(rate.Series[0].Points) >= 3 && len(rate.Series[1].Points) >= 3 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no request rate for both colors: %+v", got[0])
		case <-time.After(500 * time.Millisecond):
		}
	}
	state := map[string]spec.PanelState{}
	for _, d := range got {
		state[d.Spec.Title] = d.State
		if d.Err != nil || len(d.Series) == 0 {
			t.Errorf("panel %s: %s, %d series (%v) for %s", d.Spec.Title, d.State, len(d.Series), d.Err, d.Query)
			continue
		}
		want := instant(ctx, t, p.URL, d.Query, d.At)
		current := 0
		for _, s := range d.Series {
			if len(s.Points) > width {
				t.Errorf("panel %s, series %q: %d points for %d cells", d.Spec.Title, s.Name, len(s.Points), width)
			}
			if !s.HasCurrent {
				continue
			}
			current++
			v, ok := want[model.LabelSet(labelSet(s.Labels)).String()]
			if !ok || v != s.Current && !(math.IsNaN(v) && math.IsNaN(s.Current)) {
				t.Errorf("panel %s, series %q: current %v; the API says %v (found %v) at %s", d.Spec.Title, s.Name, s.Current, v, ok, d.At.Format(time.RFC3339Nano))
			}
		}
		if current != len(want) {
			t.Errorf("panel %s: %d series with a current value; the API returned %d", d.Spec.Title, current, len(want))
		}
	}
	if state["5xx error ratio"] != spec.PanelCrit {
		t.Errorf("green at 20%% errors: error panel %s, want crit", state["5xx error ratio"])
	}
	if state["Latency p50/p95"] != spec.PanelOK {
		t.Errorf("50 ms latency: latency panel %s, want ok", state["Latency p50/p95"])
	}
}

func labelSet(m map[string]string) model.LabelSet {
	ls := model.LabelSet{}
	for k, v := range m {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls
}

// instant asks the HTTP API for query at at, through a client of its own,
// and returns each series' value by its label set.
func instant(ctx context.Context, t *testing.T, url, query string, at time.Time) map[string]float64 {
	t.Helper()
	val, err := prom.InstantForTest(ctx, url, query, at)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, s := range val.(model.Vector) {
		out[model.LabelSet(s.Metric).String()] = float64(s.Value)
	}
	return out
}

// TestPanelStatesWhenDataIsMissing: a query nobody answers is "no data",
// a broken one and a stopped Prometheus are "unavailable" with the error;
// neither is drawn as a zero.
func TestPanelStatesWhenDataIsMissing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, c := board(ctx, t)
	panels := []spec.PanelSpec{
		{Title: "nobody", Query: `sum(rate(nobody_exports_this_total[1m]))`},
		{Title: "broken", Query: `sum(rate(http_requests_total[1m])`},
		{Title: "needs a color", Query: `up{color="{{.Color}}"}`},
		{Title: "up", Query: `sum(up)`, Crit: "< 2"},
	}
	b := prom.NewBoard(c, panels, time.Minute, 5*time.Second)
	got := b.Refresh(ctx, spec.QueryVars{}, time.Now(), 20)
	want := []spec.PanelState{spec.PanelNoData, spec.PanelUnavailable, spec.PanelUnavailable, spec.PanelOK}
	for i, d := range got {
		if d.State != want[i] {
			t.Errorf("panel %s: %s (%v), want %s", d.Spec.Title, d.State, d.Err, want[i])
		}
		if d.State == spec.PanelUnavailable && d.Err == nil {
			t.Errorf("panel %s is unavailable without saying why", d.Spec.Title)
		}
	}
	if !strings.Contains(errText(got[2].Err), "{{.Color}}") {
		t.Errorf("a template without its variable: %v, want it named", got[2].Err)
	}

	p.Stop()
	for _, d := range b.Refresh(ctx, spec.QueryVars{}, time.Now(), 20) {
		if d.State != spec.PanelUnavailable || d.Err == nil || len(d.Series) > 0 {
			t.Errorf("Prometheus stopped: panel %s %s with %d series (%v), want unavailable", d.Spec.Title, d.State, len(d.Series), d.Err)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
