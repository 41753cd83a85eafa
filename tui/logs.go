package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/cutover-sh/cutover/engine"
)

// maxLogLines bounds the log pane's memory; the journal has everything.
const maxLogLines = 5000

// logsPane is a scrollable view of step output and of the events a person
// acts on. It follows new lines unless scrolled up, and searches with /.
type logsPane struct {
	w, h   int
	keys   *KeyMap
	lines  []string
	vp     viewport.Model
	search textinput.Model
	// searching is set while the search box has the keys.
	searching bool
	query     string
	// lastMatch is the line the last search stopped at; the next search
	// starts after it.
	lastMatch int
	marker    func(string) string
	// appended counts the lines ever added: the pane's drawing changes
	// with it even when the oldest lines make room.
	appended int
}

func newLogsPane(keys *KeyMap) logsPane {
	p := logsPane{keys: keys, vp: viewport.New(), search: textinput.New(), lastMatch: -1}
	p.search.Prompt = "/"
	return p
}

// setStyles follows the console's styles.
func (p *logsPane) setStyles(st Styles) {
	s := textinput.DefaultStyles(st.Dark)
	s.Cursor.Blink = false
	p.search.SetStyles(s)
	p.marker = func(q string) string { return st.Match.Render(q) }
	p.vp.SetContentLines(p.highlighted())
}

func (p *logsPane) SetSize(w, h int) {
	p.w, p.h = w, h
	follow := p.vp.AtBottom()
	p.vp.SetWidth(max(w-paneFrameW, 1))
	p.vp.SetHeight(max(h-paneFrameH, 1))
	if follow {
		p.vp.GotoBottom()
	}
}

func (p *logsPane) ShortHelp() []key.Binding {
	return []key.Binding{p.keys.Up, p.keys.Down, p.keys.Search, p.keys.Logs}
}

func (p *logsPane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

// append adds lines, following them when the view was at the end.
func (p *logsPane) append(lines []string) {
	if len(lines) == 0 {
		return
	}
	follow := p.vp.AtBottom()
	p.appended += len(lines)
	p.lines = append(p.lines, lines...)
	dropped := 0
	if len(p.lines) > maxLogLines {
		dropped = len(p.lines) - maxLogLines
		p.lines = append(p.lines[:0], p.lines[dropped:]...)
		p.lastMatch = max(p.lastMatch-dropped, -1)
	}
	off := p.vp.YOffset()
	p.vp.SetContentLines(p.highlighted())
	if follow {
		p.vp.GotoBottom()
	} else if dropped > 0 {
		// Scrolled up, the view stays on the lines it showed.
		p.vp.SetYOffset(max(off-dropped, 0))
	}
}

// startSearch gives the search box the keys.
func (p *logsPane) startSearch() tea.Cmd {
	p.searching = true
	p.search.SetValue(p.query)
	p.search.CursorEnd()
	return p.search.Focus()
}

func (p *logsPane) Update(msg tea.KeyPressMsg, _ *scene) tea.Cmd {
	if p.searching {
		// The search box takes every key; only enter and esc end it, as in
		// every text field.
		switch msg.String() {
		case "enter":
			p.searching = false
			if q := p.search.Value(); q != p.query {
				p.query, p.lastMatch = q, -1
			}
			p.vp.SetContentLines(p.highlighted())
			if !p.jumpToMatch() {
				return emit(flashMsg("not found: " + p.query))
			}
			return nil
		case "esc":
			// Esc drops the search: its query and its highlights.
			p.searching, p.query, p.lastMatch = false, "", -1
			p.search.SetValue("")
			p.vp.SetContentLines(p.lines)
			return nil
		}
		var cmd tea.Cmd
		p.search, cmd = p.search.Update(msg)
		return cmd
	}
	switch {
	case key.Matches(msg, p.keys.Up):
		p.vp.ScrollUp(1)
	case key.Matches(msg, p.keys.Down):
		p.vp.ScrollDown(1)
	default:
		var cmd tea.Cmd
		p.vp, cmd = p.vp.Update(msg)
		return cmd
	}
	return nil
}

// highlighted returns the lines with the search matches marked.
func (p *logsPane) highlighted() []string {
	if p.query == "" || p.marker == nil {
		return p.lines
	}
	out := make([]string, len(p.lines))
	for i, l := range p.lines {
		out[i] = strings.ReplaceAll(l, p.query, p.marker(p.query))
	}
	return out
}

// jumpToMatch scrolls to the next line holding the query, after the one
// the last search found: the view's offset cannot say, as it stops short
// of a match on the last page.
func (p *logsPane) jumpToMatch() bool {
	if p.query == "" || len(p.lines) == 0 {
		return true
	}
	for i := range p.lines {
		j := (p.lastMatch + 1 + i) % len(p.lines)
		if strings.Contains(p.lines[j], p.query) {
			p.lastMatch = j
			p.vp.SetYOffset(j)
			return true
		}
	}
	return false
}

func (p *logsPane) View(sc *scene, focused bool) string {
	s := sc.st
	title := "Logs"
	if p.query != "" {
		title += " /" + p.query
	}
	if len(p.lines) == 0 {
		return box(s, title, s.Muted.Render("no output yet"), p.w, p.h, focused)
	}
	if !p.vp.AtBottom() {
		title += " (scrolled; end follows again)"
	}
	return box(s, title, p.vp.View(), p.w, p.h, focused)
}

// logLine is what the log pane shows of an event: step output, and the
// events a person acts on.
func logLine(ev engine.Event) (string, bool) {
	t := ev.Header().Time.Format("15:04:05")
	switch e := ev.(type) {
	case engine.StepOutput:
		return outputLine(e.Time, e.Stage, e.Step, e.Line), true
	case engine.Warning:
		return fmt.Sprintf("%s warning: %s", t, e.Message), true
	case engine.GateWaiting:
		return fmt.Sprintf("%s %s/%s waits for approval: %s", t, e.Stage, e.Step, e.Instruction), true
	case engine.GateDecided:
		// The whole actor: over SSH it carries the key's fingerprint, which
		// tells two people with the same name apart.
		verb := "approved"
		if e.Outcome != spec.GateApprove {
			verb = "rejected"
		}
		return fmt.Sprintf("%s %s %s by %s", t, e.Gate, verb, e.Actor), true
	case engine.ReleaseRequested:
		return fmt.Sprintf("%s %s of %s asked by %s: %s", t, e.Action, e.Service, e.Actor, e.Reason), true
	case engine.RunAborted:
		return fmt.Sprintf("%s run aborted by %s: %s", t, e.Actor, e.Reason), true
	case engine.StageSkipped:
		return fmt.Sprintf("%s stage %s skipped by %s", t, e.Stage, e.Actor), true
	case engine.StepFinished:
		if e.Status == engine.StatusFailed {
			return fmt.Sprintf("%s %s/%s failed: %s", t, e.Stage, e.Step, e.Reason), true
		}
	case engine.AnalysisMeasured:
		return fmt.Sprintf("%s %s/%s %s = %s: %s", t, e.Stage, e.Step, e.Metric, e.Measurement.ValueText(), e.Measurement.Verdict), true
	case engine.RunFinished:
		return fmt.Sprintf("%s run %s", t, e.Status), true
	}
	return "", false
}

// tailLog is the output lines a snapshot keeps (each step's last ones), in
// the order they were printed, as the log shows them.
func tailLog(s engine.Snapshot) []string {
	type line struct {
		at   time.Time
		text string
	}
	var all []line
	for _, st := range s.Stages {
		for _, step := range st.Steps {
			for _, l := range step.Tail {
				all = append(all, line{l.Time, outputLine(l.Time, st.Name, step.Name, l.Line)})
			}
		}
	}
	slices.SortStableFunc(all, func(a, b line) int { return a.at.Compare(b.at) })
	out := make([]string, len(all))
	for i, l := range all {
		out[i] = l.text
	}
	return out
}

func outputLine(at time.Time, stage, step, text string) string {
	// A tab measures as no cell and draws as several: the pane would wrap
	// the line and lose its last one.
	return fmt.Sprintf("%s %s/%s │ %s", at.Format("15:04:05"), stage, step, strings.ReplaceAll(text, "\t", "    "))
}
