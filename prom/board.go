package prom

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/cutover-sh/cutover/engine"
)

// Board refreshes a set of panels: every panel's range query is sent at
// once, each with its own timeout, so a slow or broken one delays and
// breaks only itself.
type Board struct {
	c       *Client
	panels  []spec.PanelSpec
	span    time.Duration
	timeout time.Duration
}

// NewBoard returns a board drawing panels over the last span. A query that
// takes longer than timeout makes its panel unavailable for that refresh.
func NewBoard(c *Client, panels []spec.PanelSpec, span, timeout time.Duration) *Board {
	return &Board{c: c, panels: panels, span: span, timeout: timeout}
}

// Step returns the step for a panel width cells wide: the smallest whole
// second at which the span fits in width points, so the board never
// fetches more points than the panel can draw.
func Step(span time.Duration, width int) time.Duration {
	gaps := time.Duration(max(width, 2) - 1)
	per := (span + gaps - 1) / gaps
	step := per.Truncate(time.Second)
	if step < per {
		step += time.Second
	}
	return max(step, time.Second)
}

// Refresh queries every panel for the span ending at at, with width cells
// for each panel's points.
func (b *Board) Refresh(ctx context.Context, vars spec.QueryVars, at time.Time, width int) []engine.PanelData {
	out := make([]engine.PanelData, len(b.panels))
	var wg sync.WaitGroup
	for i, spec := range b.panels {
		wg.Go(func() { out[i] = b.refreshOne(ctx, spec, vars, at, width) })
	}
	wg.Wait()
	return out
}

func (b *Board) refreshOne(ctx context.Context, panelSpec spec.PanelSpec, vars spec.QueryVars, at time.Time, width int) engine.PanelData {
	step := Step(b.span, width)
	// The last point falls exactly on at, so that it is the value an
	// instant query at at would return. Step made (width-1) steps cover
	// the span, so n+1 points fit in the width.
	n := int((b.span + step - 1) / step)
	at = at.Truncate(time.Millisecond)
	d := engine.PanelData{Spec: panelSpec, At: at, Step: step}
	unavailable := func(err error) engine.PanelData {
		d.State, d.Err = spec.PanelUnavailable, err
		return d
	}
	q, err := spec.ParseQuery(panelSpec.Query)
	if err == nil {
		d.Query, err = q.Render(vars)
	}
	if err != nil {
		return unavailable(err)
	}
	qctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	start := time.Now()
	val, _, _, err := b.c.api.QueryRange(qctx, d.Query, v1.Range{Start: at.Add(-time.Duration(n) * step), End: at, Step: step})
	d.Took = time.Since(start)
	if err != nil {
		if qctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("no answer within %s", b.timeout)
		}
		return unavailable(fmt.Errorf("query %s at %s: %w", d.Query, b.c.address, err))
	}
	m, ok := val.(model.Matrix)
	if !ok {
		return unavailable(fmt.Errorf("query %s returned a %s; want a range vector", d.Query, val.Type()))
	}
	d.Series = seriesOf(panelSpec, m, at)
	d.State = worst(d.Series)
	return d
}

// seriesOf converts a matrix into named series, sorted by name.
func seriesOf(panelSpec spec.PanelSpec, m model.Matrix, at time.Time) []engine.Series {
	atMs := at.UnixMilli()
	varying := varyingLabels(m)
	out := make([]engine.Series, 0, len(m))
	for _, ss := range m {
		s := engine.Series{Labels: make(map[string]string, len(ss.Metric)), Points: make([]engine.Point, len(ss.Values)), State: spec.PanelNoData}
		var name []string
		for _, k := range slices.Sorted(maps.Keys(ss.Metric)) {
			s.Labels[string(k)] = string(ss.Metric[k])
			if varying[k] {
				name = append(name, string(k)+"="+string(ss.Metric[k]))
			}
		}
		s.Name = strings.Join(name, " ")
		for i, p := range ss.Values {
			s.Points[i] = engine.Point{T: int64(p.Timestamp), V: float64(p.Value)}
		}
		if k := len(s.Points); k > 0 && s.Points[k-1].T == atMs && !math.IsNaN(s.Points[k-1].V) {
			s.Current, s.HasCurrent = s.Points[k-1].V, true
			s.State = panelSpec.Judge(s.Current)
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// varyingLabels are the labels whose values are not the same on every
// series: the ones worth naming a series by.
func varyingLabels(m model.Matrix) map[model.LabelName]bool {
	out := map[model.LabelName]bool{}
	if len(m) < 2 {
		return out
	}
	for _, ss := range m {
		for k, v := range ss.Metric {
			for _, other := range m {
				if other.Metric[k] != v {
					out[k] = true
					break
				}
			}
		}
	}
	return out
}

// worst is the panel's state: the worst of its series with a current
// value, or no data when none has one.
func worst(series []engine.Series) spec.PanelState {
	state := spec.PanelNoData
	seen := false
	for _, s := range series {
		if !s.HasCurrent {
			continue
		}
		if !seen || s.State.Severity() > state.Severity() {
			state, seen = s.State, true
		}
	}
	return state
}

// Run refreshes the board every interval until ctx ends, and hands each
// refresh to publish. The width and the query variables are asked for on
// each refresh, as a terminal is resized and a release moves on.
func (b *Board) Run(ctx context.Context, every time.Duration, width func() int, vars func() spec.QueryVars, publish func([]engine.PanelData)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		publish(b.Refresh(ctx, vars(), time.Now(), width()))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
