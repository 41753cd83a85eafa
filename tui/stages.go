package tui

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/progress"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/human"
)

// stagesPane lists the stages against their budgets.
type stagesPane struct {
	w, h int
	keys *KeyMap
	sel  int
	// moved is set once the person moves the selection; until then it
	// follows the stage the run is at.
	moved bool
}

func (p *stagesPane) SetSize(w, h int) { p.w, p.h = w, h }

func (p *stagesPane) ShortHelp() []key.Binding {
	return []key.Binding{p.keys.Up, p.keys.Down, p.keys.Enter}
}

func (p *stagesPane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

func (p *stagesPane) Update(msg tea.KeyPressMsg, sc *scene) tea.Cmd {
	n := len(sc.snap.Stages)
	switch {
	case key.Matches(msg, p.keys.Up):
		p.sel, p.moved = clamp(p.selected(sc)-1, 0, n-1), true
	case key.Matches(msg, p.keys.Down):
		p.sel, p.moved = clamp(p.selected(sc)+1, 0, n-1), true
	case key.Matches(msg, p.keys.Enter):
		if i := p.selected(sc); i < n {
			return emit(detailMsg(stageDetail(sc, sc.snap.Stages[i])))
		}
	}
	return nil
}

// selected is the stage enter opens and s skips: the one the person moved
// to, or the one the run is at.
func (p *stagesPane) selected(sc *scene) int {
	if p.moved {
		return p.sel
	}
	return currentStage(sc.snap)
}

// currentStage is the stage a person wants to see: the first that waits or
// runs, else the first that failed, else the last that ended.
func currentStage(snap *engine.Snapshot) int {
	last := 0
	for i, st := range snap.Stages {
		switch st.Status {
		case engine.StatusRunning, engine.StatusWaiting, engine.StatusFailed:
			return i
		case engine.StatusPending:
		default:
			last = i
		}
	}
	return last
}

func (p *stagesPane) View(sc *scene, focused bool) string {
	s := sc.st
	iw, ih := inner(s, p.w, p.h)
	if len(sc.snap.Stages) == 0 {
		return box(s, "Stages", s.Muted.Render("no stages yet"), p.w, p.h, focused)
	}
	nameW := 0
	for _, st := range sc.snap.Stages {
		nameW = max(nameW, ansi.StringWidth(st.Name))
	}
	nameW = min(nameW, max(iw-24, 8))
	sel := p.selected(sc)
	rows := make([]string, 0, len(sc.snap.Stages))
	for i, st := range sc.snap.Stages {
		el := st.Elapsed(sc.now)
		frac := 0.0
		if st.Budget > 0 {
			frac = float64(el) / float64(st.Budget)
		}
		barColor := s.OK.GetForeground()
		switch {
		case frac >= 1:
			barColor = s.Crit.GetForeground()
		case frac >= 0.75:
			barColor = s.Warn.GetForeground()
		}
		note := ""
		switch st.Status {
		case engine.StatusSkipped:
			note = s.Muted.Render(" skipped")
		case engine.StatusCancelled:
			note = s.Muted.Render(" cancelled")
		case engine.StatusFailed:
			note = s.Crit.Render(" failed")
		}
		// The row is the selection mark, the icon, the name, the times, the
		// bar and the note; the bar goes first when room runs out, then
		// the name shortens, so the note is always whole.
		rowNameW := nameW
		bar := ""
		barW := iw - nameW - 19 - ansi.StringWidth(note)
		if barW < 3 {
			rowNameW = max(min(nameW, iw-18-ansi.StringWidth(note)), 4)
		}
		if barW >= 3 {
			b := progress.New(progress.WithWidth(barW), progress.WithoutPercentage(), progress.WithColors(barColor),
				progress.WithFillCharacters('━', '─'))
			b.EmptyColor = s.BarEmpty
			bar = b.ViewAs(min(frac, 1))
		}
		status := st.Status
		if status == engine.StatusRunning && slices.ContainsFunc(st.Steps, func(x *engine.StepState) bool { return x.Status == engine.StatusWaiting }) {
			status = engine.StatusWaiting
		}
		name := ansi.Truncate(st.Name, rowNameW, "…")
		row := fmt.Sprintf("%s %-*s %6s/%-6s %s%s", s.status(status, sc.spin), rowNameW, name, human.Duration(el), human.Duration(st.Budget), bar, note)
		if focused && i == sel {
			row = s.Bold.Render("›") + row
		} else {
			row = " " + row
		}
		rows = append(rows, row)
	}
	// Keep the selected stage in view when the pane is shorter than the
	// pipeline.
	if len(rows) > ih && ih > 0 {
		first := clamp(sel-ih/2, 0, len(rows)-ih)
		rows = rows[first : first+ih]
	}
	return box(s, "Stages", strings.Join(rows, "\n"), p.w, p.h, focused)
}

// stageDetail is what enter shows of a stage: its steps, their reasons and
// last lines of output.
func stageDetail(sc *scene, st engine.StageState) string {
	s := sc.st
	lines := []string{s.Bold.Render("Stage "+st.Name) + "  " + string(st.Status) + "  " + human.Duration(st.Elapsed(sc.now)) + " of " + human.Duration(st.Budget)}
	if st.Reason != "" {
		lines = append(lines, st.Reason)
	}
	for _, step := range st.Steps {
		lines = append(lines, "", fmt.Sprintf("%s %s (%s) %s", s.status(step.Status, "●"), step.Name, step.Kind, step.Reason))
		for _, l := range step.Tail {
			lines = append(lines, "    "+l.Line)
		}
	}
	return strings.Join(lines, "\n")
}
