package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/cutover-sh/cutover/engine/spec"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/NimbleMarkets/ntcharts/v2/sparkline"
	"github.com/charmbracelet/x/ansi"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/sanitize"
)

// metricsPane draws the panels and the analysis measurements.
type metricsPane struct {
	w, h int
	// sparks is shared by every copy of the pane: a cache, not state.
	sparks *sparkCache
}

func (p *metricsPane) SetSize(w, h int) { p.w, p.h = w, h }

// The metrics pane takes no keys of its own.
func (p *metricsPane) ShortHelp() []key.Binding  { return nil }
func (p *metricsPane) FullHelp() [][]key.Binding { return nil }

func (p *metricsPane) Update(tea.KeyPressMsg, *scene) tea.Cmd { return nil }

func (p *metricsPane) View(sc *scene, focused bool) string {
	s := sc.st
	iw, _ := inner(s, p.w, p.h)
	var lines []string
	switch {
	case len(sc.panels) > 0:
	case sc.noPrometheus:
		lines = append(lines, s.Muted.Render("no panels: this pipeline names no Prometheus"))
	default:
		lines = append(lines, s.Muted.Render("no panels yet: the first refresh is on its way"))
	}
	titleW := 16
	sparkW := sparkWidth(iw)
	panels := sc.panels
	if _, ih := inner(s, p.w, p.h); len(panels) > ih {
		// When not every panel fits, the worst get the lines.
		panels = slices.Clone(panels)
		slices.SortStableFunc(panels, func(a, b engine.PanelData) int { return b.State.Severity() - a.State.Severity() })
	}
	for _, d := range panels {
		lines = append(lines, p.panelLine(s, d, titleW, sparkW))
	}
	for _, ms := range measurements(sc.snap) {
		verdict := s.state(verdictState(ms.Measurement.Verdict), string(ms.Measurement.Verdict))
		lines = append(lines, fmt.Sprintf("%s %s = %s %s %s", s.Muted.Render(fmt.Sprintf("%d/%d", ms.Round, ms.Count)),
			ms.Metric, ms.Measurement.ValueText(), verdict, s.Muted.Render("(want "+ms.Condition+")")))
	}
	return box(s, "Metrics", strings.Join(lines, "\n"), p.w, p.h, focused)
}

func verdictState(v engine.Verdict) spec.PanelState {
	switch v {
	case engine.VerdictPass:
		return spec.PanelOK
	case engine.VerdictFail:
		return spec.PanelCrit
	}
	return spec.PanelWarn
}

// panelLine is one panel: its title, a sparkline of its worst series, the
// current value of each series, and its thresholds, in its state's color.
func (p *metricsPane) panelLine(s Styles, d engine.PanelData, titleW, sparkW int) string {
	title := fmt.Sprintf("%-*s", titleW, ansi.Truncate(d.Spec.Title, titleW, "…"))
	switch d.State {
	case spec.PanelUnavailable:
		return title + " " + s.Crit.Render("unavailable") + s.Muted.Render(": "+errText(d.Err))
	case spec.PanelNoData:
		if len(d.Series) == 0 {
			return title + " " + s.Muted.Render("no data")
		}
	}
	spark := ""
	if sparkW > 0 && len(d.Series) > 0 {
		se := worstSeries(d.Series)
		spark = p.sparks.get(d, sparkW, s.Dark, func() string {
			sl := sparkline.New(sparkW, 1, sparkline.WithStyle(stateStyle(s, d.State)))
			pts := se.Points
			if len(pts) > sparkW {
				pts = pts[len(pts)-sparkW:]
			}
			for _, p := range pts {
				sl.Push(p.V)
			}
			sl.Draw()
			return sl.View() + " "
		})
	}
	var vals []string
	for _, se := range d.Series {
		v := "—"
		if se.HasCurrent {
			v = d.Spec.Unit.Format(se.Current)
		}
		if se.Name != "" {
			v = shortName(se.Name) + " " + v
		}
		vals = append(vals, v)
	}
	// The state in a word as well as a color: NO_COLOR, a screen reader
	// and a pasted capture keep it.
	word := map[spec.PanelState]string{spec.PanelOK: "ok", spec.PanelWarn: "WARN", spec.PanelCrit: "CRIT"}[d.State]
	line := title + " " + spark + s.state(d.State, strings.Join(vals, " "))
	if word != "" {
		line += " " + s.state(d.State, word)
	}
	for _, t := range []struct{ name, cond string }{{"warn", d.Spec.Warn}, {"crit", d.Spec.Crit}} {
		if c, err := spec.ParseCondition(t.cond); t.cond != "" && err == nil {
			line += s.Muted.Render(" " + t.name + " " + c.Op + " " + d.Spec.Unit.Format(c.Threshold))
		}
	}
	return line
}

// sparkWidth is how wide a panel's sparkline is in a pane iw cells wide
// inside: what is left after the title and the values, at least 6 (every
// panel has its trend, at 70 columns too) and at most 40.
func sparkWidth(iw int) int { return clamp(iw-16-50, 6, 40) }

// worstSeries is the series a panel's one sparkline draws: the one in the
// worst state, which is what colors the panel; the first when all agree.
func worstSeries(ss []engine.Series) engine.Series {
	worst := ss[0]
	for _, se := range ss[1:] {
		if se.State.Severity() > worst.State.Severity() {
			worst = se
		}
	}
	return worst
}

// sparkCache keeps each panel's drawn sparkline until the next refresh or
// a resize: the data changes every few seconds, the frame up to 60 times a
// second, and drawing a sparkline cell by cell is the costliest part of it.
type sparkCache struct {
	mu    sync.Mutex
	lines map[sparkKey]string
}

type sparkKey struct {
	at    int64
	title string
	width int
	state spec.PanelState
	dark  bool
}

func (c *sparkCache) get(d engine.PanelData, width int, dark bool, draw func() string) string {
	k := sparkKey{at: d.At.UnixNano(), title: d.Spec.Title, width: width, state: d.State, dark: dark}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.lines[k]; ok {
		return s
	}
	if c.lines == nil || len(c.lines) > 64 {
		c.lines = map[sparkKey]string{}
	}
	s := draw()
	c.lines[k] = s
	return s
}

// shortName drops label names that the values make obvious.
func shortName(n string) string {
	for _, p := range []string{"color=", "quantile="} {
		n = strings.ReplaceAll(n, p, "")
	}
	return n
}

func stateStyle(s Styles, st spec.PanelState) lipgloss.Style {
	switch st {
	case spec.PanelWarn:
		return s.Warn
	case spec.PanelCrit:
		return s.Crit
	case spec.PanelOK:
		return s.OK
	}
	return s.Muted
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return sanitize.Line(err.Error())
}

// measurements are the latest analysis measurements of the run, the most
// recent step's first.
func measurements(snap *engine.Snapshot) []engine.AnalysisMeasured {
	var out []engine.AnalysisMeasured
	for _, st := range snap.Stages {
		for _, step := range st.Steps {
			out = append(out, step.Measurements...)
		}
	}
	slices.SortStableFunc(out, func(a, b engine.AnalysisMeasured) int { return cmp.Compare(b.Seq, a.Seq) })
	return out
}
