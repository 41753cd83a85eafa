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
	sel := p.selected(sc)
	// Only the rows that fit are laid out, scrolled to keep the selected
	// stage in view when the pane is shorter than the pipeline.
	first, last := 0, len(sc.snap.Stages)
	if last > ih && ih > 0 {
		first = clamp(sel-ih/2, 0, last-ih)
		last = first + ih
	}
	type row struct {
		lead, name, times, note string
		frac                    float64
	}
	rows := make([]row, 0, last-first)
	nameW, timeW, noteW := 0, 0, 0
	for i := first; i < last; i++ {
		st := sc.snap.Stages[i]
		el := st.Elapsed(sc.now)
		r := row{name: st.Name, times: human.Duration(el) + "/" + human.Duration(st.Budget)}
		if st.Budget > 0 {
			r.frac = float64(el) / float64(st.Budget)
		}
		switch st.Status {
		case engine.StatusSkipped:
			r.note = s.Muted.Render("skipped")
		case engine.StatusCancelled:
			r.note = s.Muted.Render("cancelled")
		case engine.StatusFailed:
			r.note = s.Crit.Render("failed")
		}
		status := st.Status
		if status == engine.StatusRunning && slices.ContainsFunc(st.Steps, func(x *engine.StepState) bool { return x.Status == engine.StatusWaiting }) {
			status = engine.StatusWaiting
		}
		r.lead = " " + s.status(status, sc.spin)
		if focused && i == sel {
			r.lead = s.Bold.Render("›") + s.status(status, sc.spin)
		}
		nameW, timeW, noteW = max(nameW, ansi.StringWidth(st.Name)), max(timeW, len(r.times)), max(noteW, ansi.StringWidth(r.note))
		rows = append(rows, r)
	}
	// The bar goes first when room runs out, then the name shortens; the
	// times and the note stay whole.
	cols := []column{{width: 2}, {min: 4}, {width: timeW, right: true}}
	fixed := 2 + timeW + 2
	if noteW > 0 {
		fixed += noteW + 1
	}
	barW := iw - fixed - nameW - 1
	if barW < 3 && noteW > 0 && fixed+nameW > iw {
		// The icon says it too: the name needs the room more.
		fixed, noteW = fixed-noteW-1, 0
		barW = iw - fixed - nameW - 1
	}
	if barW >= 3 {
		cols[1].width = nameW
		cols = append(cols, column{width: barW})
	}
	if noteW > 0 {
		cols = append(cols, column{width: noteW})
	}
	cells := make([][]string, len(rows))
	for i, r := range rows {
		cells[i] = []string{r.lead, r.name, r.times}
		if barW >= 3 {
			cells[i] = append(cells[i], p.bar(s, r.frac, barW))
		}
		if noteW > 0 {
			cells[i] = append(cells[i], r.note)
		}
	}
	return box(s, "Stages", strings.Join(grid(s, cols, cells, iw, false), "\n"), p.w, p.h, focused)
}

// bar is a stage's time against its budget, in the color of how close it
// runs to the budget.
func (p *stagesPane) bar(s Styles, frac float64, w int) string {
	c := s.OK.GetForeground()
	switch {
	case frac >= 1:
		c = s.Crit.GetForeground()
	case frac >= 0.75:
		c = s.Warn.GetForeground()
	}
	b := progress.New(progress.WithWidth(w), progress.WithoutPercentage(), progress.WithColors(c),
		progress.WithFillCharacters('━', '─'))
	b.EmptyColor = s.BarEmpty
	return b.ViewAs(min(frac, 1))
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
