package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/human"
	"github.com/cutover-sh/cutover/sanitize"
)

// wideFrom is the width from which the panes show their details; below
// it they are compact.
const wideFrom = 110

// headerHeight and footerHeight are the lines around the panes.
const (
	headerHeight = 2
	footerHeight = 1
)

// View draws the console.
func (m Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	// The title is where a hostile name would do the most harm (OSC 52
	// writes the clipboard), so it passes the sanitizer here too.
	v.WindowTitle = sanitize.Line("cutover " + m.snap.Pipeline)
	return v
}

// wideMinHeight is the height from which the panes have room for their
// details; below it, or below wideFrom, they are compact.
const wideMinHeight = 26

// layout gives each pane its size for the terminal and what it shows: a
// resize, new pods or new panels all change what fits. Designed for 80×24
// first: stages and blue/green side by side, every panel on a line of its
// own, and the logs take what is left; a larger terminal adds rows and
// columns to each.
func (m *Model) layout() {
	bh := m.h - headerHeight - footerHeight
	if m.w < MinWidth || m.h < MinHeight {
		return
	}
	if m.fullLogs {
		m.logs.SetSize(m.w, bh)
		return
	}
	pods := 0
	if r := m.currentRelease(); r != nil {
		pods = len(colorState(r, spec.Blue).Pods) + len(colorState(r, spec.Green).Pods)
	}
	wantStages := max(len(m.snap.Stages), 1) + 2
	wantRelease := pods + 6
	topMax := max(bh*2/5, 9)
	if m.wide() {
		wantRelease, topMax = pods+8, bh/2
	}
	wantMetrics := max(len(m.panels)+len(measurements(&m.snap)), 1) + 2
	// With no Prometheus the metrics pane is one line saying so, and its
	// rows go to the logs.
	minMetrics := 4
	if m.o.Panels == nil {
		minMetrics = 3
	}
	// The top row keeps nine rows where it can: the gate's card is drawn
	// over it, and the panels below stay in view.
	const minTop, minLogs = 6, 3
	th := clamp(max(wantStages, wantRelease), 9, topMax)
	if !m.hasBlueGreen() {
		th = clamp(wantStages, 9, topMax)
	}
	mh := clamp(wantMetrics, minMetrics, max(bh/4, 8))
	// On the smallest terminals the stages and blue/green give rows
	// first, then the panels, so the logs keep one line.
	if th+mh+minLogs > bh {
		th = max(bh-mh-minLogs, minTop)
	}
	if th+mh+minLogs > bh {
		mh = max(bh-th-minLogs, minMetrics)
	}
	lw := clamp(m.w*2/5, 36, 60)
	if !m.hasBlueGreen() {
		// The stages take the whole width, and keep the height the
		// gate's card is drawn over.
		lw = m.w
	}
	m.stages.SetSize(lw, th)
	m.release.SetSize(m.w-lw, th)
	m.metrics.SetSize(m.w, mh)
	m.logs.SetSize(m.w, bh-th-mh)
	m.publishPoints()
}

// publishPoints tells the panels' source how many points fit now; two at
// least, the current value and one before it.
func (m *Model) publishPoints() {
	if m.o.PanelPoints != nil {
		m.o.PanelPoints(max(sparkWidth(m.metrics.w-paneFrameW), 2))
	}
}

// wide reports whether the panes sit side by side.
func (m Model) wide() bool { return m.w >= wideFrom && m.h >= wideMinHeight }

// Render draws the whole screen as a string of exactly the terminal's
// size, so that nothing is left over from a larger frame.
func (m Model) Render() string {
	if m.w == 0 || m.h == 0 {
		return ""
	}
	if m.w < MinWidth || m.h < MinHeight {
		msg := fmt.Sprintf("The terminal is %d×%d.\ncutover needs at least %d×%d.\n\nEnlarge it, or press %s to quit.", m.w, m.h, MinWidth, MinHeight, m.keys.Quit.Help().Key)
		return lipgloss.Place(m.w, m.h, lipgloss.Center, lipgloss.Center, m.st.Warn.Render(msg))
	}
	sc := m.scene()
	bh := m.h - headerHeight - footerHeight
	var body string
	switch {
	case m.modal != nil:
		body = m.centered(m.modalView(), bh)
	case m.showHelp:
		m.help.ShowAll = true
		m.help.SetWidth(m.w - 4)
		focused := m.panes()[m.focus]
		body = m.centered(m.st.Pane.Render(m.st.PaneTitle.Render("Keys")+"\n\n"+m.help.View(m.keys)+
			"\n\n"+m.st.PaneTitle.Render(m.focus.String())+"\n"+m.help.View(paneHelp{focused})+
			"\n\n"+m.st.Muted.Render("any key closes")), bh)
	case m.detail != "":
		body = box(m.st, "Detail", m.detail+"\n\n"+m.st.Muted.Render("any key closes"), m.w, bh, true)
	case m.fullLogs:
		body = m.paneView(sc, paneLogs)
	case !m.hasBlueGreen():
		body = stack(m.paneView(sc, paneStages), m.paneView(sc, paneMetrics), m.paneView(sc, paneLogs))
	default:
		top := beside(m.paneView(sc, paneStages), m.paneView(sc, paneRelease))
		body = stack(top, m.paneView(sc, paneMetrics), m.paneView(sc, paneLogs))
	}
	if g, ok := m.card(); ok && m.modal == nil && !m.showHelp && m.detail == "" && !m.fullLogs {
		body = m.overlay(body, m.cardView(g), bh)
	}
	// The body is drawn to the terminal's width already (box, Place and
	// the compositor each fill theirs); measuring every cell of it again
	// cost most of a frame, so only the header and footer are fitted, and
	// the body's height.
	return stack(fit(m.header(), m.w, headerHeight), fitHeight(body, m.w, bh), fit(m.footer(), m.w, footerHeight))
}

// paneView draws pane p, or returns its last drawing when nothing it is
// drawn from has changed (paneCache).
func (m Model) paneView(sc *scene, p pane) string {
	focused := m.focus == p || p == paneLogs && m.fullLogs
	k := paneKey{seq: m.snap.Seq, focused: focused, narrow: sc.narrow, dark: m.st.Dark}
	var c component
	switch p {
	case paneStages:
		c, k.w, k.h = &m.stages, m.stages.w, m.stages.h
		k.second, k.spin, k.part = sc.now.Unix(), sc.spin, [2]int{m.stages.sel, boolInt(m.stages.moved)}
	case paneRelease:
		// Drawn from the release alone: log lines do not redraw it.
		c, k.w, k.h = &m.release, m.release.w, m.release.h
		k.seq, k.second, k.part = 0, sc.now.Unix(), m.release.selPod
		if sc.release != nil {
			k.seq = sc.release.Seq
		}
	case paneMetrics:
		// Drawn from the panels and the analysis measurements.
		c, k.w, k.h = &m.metrics, m.metrics.w, m.metrics.h
		k.seq = 0
		for _, st := range m.snap.Stages {
			for _, step := range st.Steps {
				if n := len(step.Measurements); n > 0 {
					k.seq = max(k.seq, step.Measurements[n-1].Seq)
				}
			}
		}
		// A refresh brings a new slice and a new time; either tells.
		var first *engine.PanelData
		var at int64
		if len(m.panels) > 0 {
			first, at = &m.panels[0], m.panels[0].At.UnixNano()
		}
		k.part = struct {
			first  *engine.PanelData
			at     int64
			n      int
			noProm bool
		}{first, at, len(m.panels), sc.noPrometheus}
	case paneLogs:
		// Drawn from its lines, its scroll and its search.
		c, k.w, k.h, k.seq = &m.logs, m.logs.w, m.logs.h, 0
		k.part = struct {
			appended, off     int
			query             string
			searching, bottom bool
		}{m.logs.appended, m.logs.vp.YOffset(), m.logs.query, m.logs.searching, m.logs.vp.AtBottom()}
	}
	return m.views.get(p, k, func() string { return c.View(sc, focused) })
}

// paneHelp shows a pane's own keys in full.
type paneHelp struct{ c component }

func (p paneHelp) ShortHelp() []key.Binding  { return p.c.ShortHelp() }
func (p paneHelp) FullHelp() [][]key.Binding { return [][]key.Binding{p.c.ShortHelp()} }

func (m Model) centered(s string, h int) string {
	return lipgloss.Place(m.w, h, lipgloss.Center, lipgloss.Center, s)
}

// part is a piece of a header line: its forms from the longest to the
// shortest, and how soon it gives way when the line is too long (0 never
// does; a higher rank goes first).
type part struct {
	forms []string
	rank  int
}

// fitLine joins the parts with two spaces in at most w cells: the part of
// the highest rank takes its next shorter form, or leaves, until the line
// fits. Parts of rank 0 stay, in their shortest form if they must.
func fitLine(w int, parts []part) string {
	form := make([]int, len(parts))
	line := func() string {
		var out []string
		for i, p := range parts {
			if form[i] < len(p.forms) && p.forms[form[i]] != "" {
				out = append(out, p.forms[form[i]])
			}
		}
		return strings.Join(out, "  ")
	}
	for lipgloss.Width(line()) > w {
		worst := -1
		for i, p := range parts {
			gone := form[i] >= len(p.forms) || p.rank == 0 && form[i] == len(p.forms)-1
			if !gone && (worst < 0 || p.rank > parts[worst].rank || p.rank == parts[worst].rank && i > worst) {
				worst = i
			}
		}
		if worst < 0 {
			break
		}
		form[worst]++
	}
	return line()
}

// header is two lines that are never cut where it matters: the pipeline,
// the live color and what it runs, the markers, the run's state and the
// gate stay; the release's image, who watches, the context, the clock and
// the run's id shorten or give way, in that order from the last.
func (m Model) header() string {
	s := m.st
	name := nonEmpty(m.snap.Pipeline, "cutover")
	line1 := []part{{forms: []string{s.Title.Render("cutover ▸ " + name), s.Title.Render("▸ " + name)}}}
	// The image beside LIVE is what the live color runs, read from the
	// cluster; the release's own image is shown apart while it is in
	// flight, so that after a rollback the header says what serves.
	image := m.o.Image
	r := m.currentRelease()
	if r != nil {
		live := r.Live
		if r.Observed != nil {
			live = r.Observed.Service.Live
		}
		label := "LIVE " + s.colorLabel(live)
		liveImg := ""
		if r.Observed != nil {
			liveImg = liveImage(r.Observed.Color(live).Images, m.o.Image)
		}
		forms := []string{label}
		if liveImg != "" {
			forms = []string{label + " " + shortImage(liveImg), label + " " + imageTag(liveImg), label}
		}
		line1 = append(line1, part{forms: forms})
		if !r.Phase.InFlight() || liveImg == m.o.Image {
			image = ""
		}
	}
	var markers []string
	if m.o.Demo {
		markers = append(markers, s.Marker.Render("DEMO"))
	}
	if m.o.ReadOnly {
		markers = append(markers, s.Marker.Render("READ-ONLY"))
	}
	if m.snap.Emergency {
		markers = append(markers, s.Crit.Reverse(true).Padding(0, 1).Render("EMERGENCY"))
	}
	if len(markers) > 0 {
		line1 = append(line1, part{forms: []string{strings.Join(markers, " ")}})
	}
	if w := m.o.Watchers; len(w) > 0 {
		// Who else could act matters more than the image and context.
		if len(w) > 4 {
			w = append(w[:3:3], fmt.Sprintf("%d more", len(w)-3))
		}
		line1 = append(line1, part{forms: []string{s.Muted.Render("watching ") + strings.Join(w, ", "), s.Muted.Render(fmt.Sprintf("%d watching", len(w)))}, rank: 2})
	}
	if image != "" {
		lead := ""
		if r != nil {
			lead = s.Muted.Render("releasing ")
		}
		line1 = append(line1, part{forms: []string{lead + shortImage(image), lead + imageTag(image)}, rank: 3})
	}
	if m.o.KubeContext != "" || m.o.Namespace != "" {
		line1 = append(line1, part{forms: []string{s.Muted.Render("ctx ") + nonEmpty(m.o.KubeContext, "current") + s.Muted.Render(" ns ") + nonEmpty(m.o.Namespace, "-")}, rank: 4})
	}
	return fitLine(m.w, line1) + "\n" + m.statusLine()
}

// statusLine is the run's state, its clock, the gate that waits and why
// the run failed; the reason is cut at the edge, it is whole in the logs.
func (m Model) statusLine() string {
	s := m.st
	now := m.o.Now()
	elapsed := time.Duration(0)
	if !m.snap.Started.IsZero() {
		end := now
		if !m.snap.Finished.IsZero() {
			end = m.snap.Finished
		}
		elapsed = end.Sub(m.snap.Started)
	}
	status := m.snap.Status
	label := nonEmpty(string(status), "starting")
	if status == engine.StatusRunning && !m.active() && len(m.snap.Gates) > 0 {
		// Nothing moves until a person decides: say so, not "running".
		status, label = engine.StatusWaiting, "waiting"
	}
	parts := []part{{forms: []string{s.status(status, m.spinFrame()) + " " + strings.ToUpper(label)}}}
	clock := []string{human.Duration(elapsed)}
	if m.snap.Budget > 0 {
		clock = []string{human.Duration(elapsed) + " / " + human.Duration(m.snap.Budget) + " budget", human.Duration(elapsed) + "/" + human.Duration(m.snap.Budget), human.Duration(elapsed)}
	}
	parts = append(parts, part{forms: clock, rank: 2})
	why := m.failure()
	g, waiting := m.gate(false)
	if m.snap.Run != "" && why == "" && !waiting {
		parts = append(parts, part{forms: []string{s.Muted.Render("run " + m.snap.Run)}, rank: 3})
	}
	if waiting {
		var how []string
		if m.keys.Approve.Enabled() {
			how = append(how, m.keys.Approve.Help().Key+" to approve")
		}
		if g.Gate == m.cardHidden {
			how = append(how, m.keys.Card.Help().Key+" to read it")
		}
		long, short := "⏸ waiting for approval: "+g.Gate, "⏸ approval: "+g.Gate
		if len(how) > 0 {
			long += " (" + strings.Join(how, ", ") + ")"
			short += " (" + strings.Join(how, ", ") + ")"
		}
		parts = append(parts, part{forms: []string{s.Warn.Render(long), s.Warn.Render(short)}, rank: 1})
	}
	if m.snap.RolledBack {
		parts = append(parts, part{forms: []string{s.Crit.Render("ROLLED BACK")}})
	}
	line := fitLine(m.w, parts)
	if why != "" {
		line += "  " + s.Crit.Render(why)
	}
	return line
}

// failure says where and why the run failed: the first failed step and
// its reason, which is what a person needs before anything else.
func (m Model) failure() string {
	if m.snap.Status != engine.StatusFailed {
		return ""
	}
	for _, st := range m.snap.Stages {
		for _, step := range st.Steps {
			if step.Status == engine.StatusFailed {
				return st.Name + "/" + step.Name + ": " + step.Reason
			}
		}
	}
	return ""
}

// footer is the search box while searching, a message after an action,
// and otherwise the short help of the global keys; ? adds the focused
// pane's.
func (m Model) footer() string {
	if m.logs.searching {
		return m.logs.search.View()
	}
	if m.flash != "" {
		return m.st.Flash.Render(m.flash)
	}
	m.help.ShowAll = false
	m.help.SetWidth(m.w)
	keys := m.keys
	if !m.hasBlueGreen() {
		// Nothing to promote or roll back: the footer does not offer it.
		keys.Promote.SetEnabled(false)
		keys.Rollback.SetEnabled(false)
	}
	return m.help.View(keys)
}

func (m Model) modalView() string {
	md := m.modal
	w := min(m.w-4, 72)
	body := lipgloss.NewStyle().Width(w - m.st.Modal.GetHorizontalFrameSize()).Render(md.body)
	return m.st.Modal.Width(w).Render(m.st.ModalTitle.Render(md.title) + "\n\n" + body)
}

// cardView is the waiting gate as a card no one can miss: the whole
// question, where it stands, how long it has waited and what its timeout
// does, who else watches, and the keys.
func (m Model) cardView(g engine.GateWaiting) string {
	s := m.st
	w := min(m.w-4, 80)
	wrap := lipgloss.NewStyle().Width(w - s.Modal.GetHorizontalFrameSize()).Render
	// On a short terminal the card covers the stages and blue/green only,
	// so the panels stay in view while a person decides: no blank rows,
	// and the diff in two lines.
	compact := m.h < 30
	gap := []string{""}
	if compact {
		gap = nil
	}
	lines := []string{s.ModalTitle.Render("⏸ Approval needed") + "  " + s.Muted.Render("stage "+g.Stage+" · step "+g.Step)}
	lines = append(lines, gap...)
	lines = append(lines, wrap(g.Instruction))
	lines = append(lines, gap...)
	now := m.o.Now()
	lines = append(lines, wrap("waiting "+human.Duration(now.Sub(g.Time))+" · "+engine.ExplainTimeout(g, now)))
	if r := m.currentRelease(); r != nil && r.Observed != nil && m.releaseGate(g) {
		// What the engine would do with an approval now: the same plan
		// that refuses it.
		if plan := engine.PlanReleasePromote(*r); plan.Effect == engine.EffectRefused {
			lines = append(lines, s.Crit.Render(wrap("Approval is refused now: "+plan.Reason+".")))
		}
	}
	diffKey := false
	if d := g.Diff; d != nil {
		// A short summary; d shows all of it. At 24 rows the panes
		// need the rest.
		n := 3
		switch {
		case compact:
			n = 2
		case m.h >= 40:
			n = 8
		}
		sum := d.Summary(n)
		if compact {
			sum[0] = s.Muted.Render(fmt.Sprintf("%s → %s: ", d.From, d.To)) + sum[0]
		} else {
			lines = append(lines, s.Muted.Render(fmt.Sprintf("What changes (%s → %s):", d.From, d.To)))
			for i := range sum {
				sum[i] = "  " + sum[i]
			}
		}
		for _, l := range sum {
			lines = append(lines, wrap(l))
		}
		diffKey = true
	}
	if len(m.o.Watchers) > 0 {
		lines = append(lines, wrap(s.Muted.Render("watching: ")+strings.Join(m.o.Watchers, ", ")))
	}
	var keys []string
	cardKeys := []key.Binding{m.keys.Approve, m.keys.Abort, m.keys.Hide}
	if diffKey {
		cardKeys = append(cardKeys, m.keys.Diff)
	}
	for _, k := range cardKeys {
		if k.Enabled() {
			keys = append(keys, k.Help().Key+" "+k.Help().Desc)
		}
	}
	if m.o.ReadOnly {
		keys = append([]string{"read-only: an operator decides"}, keys...)
	}
	lines = append(lines, gap...)
	lines = append(lines, s.Muted.Render(wrap(strings.Join(keys, " · "))))
	// No blank rows inside the border: at 80×24 the panes need them.
	return s.Modal.Padding(0, 2).Width(w).Render(strings.Join(lines, "\n"))
}

// overlay draws over on top of under, centred, near the top: the panes
// stay readable around it.
func (m Model) overlay(under, over string, h int) string {
	x := max((m.w-lipgloss.Width(over))/2, 0)
	y := min(1, max(h-lipgloss.Height(over), 0))
	if m.h < 30 {
		y = 0
	}
	return splice(under, over, x, y, m.w, h)
}

// splice draws over on top of under, its top left corner at x, y, in a
// w×h screen. Only the rows over covers are touched, each cut around it:
// a canvas of cells parsed the whole screen into cells and back, once a
// second while the gate's card waits for a person, and was most of that
// second's cost (TestSpliceIsTheCompositor holds the two to the same
// cells).
func splice(under, over string, x, y, w, h int) string {
	rows := strings.Split(under, "\n")
	if len(rows) > h {
		rows = rows[:h]
	}
	for len(rows) < h {
		rows = append(rows, "")
	}
	for i, ol := range strings.Split(over, "\n") {
		if y+i >= h || x >= w {
			break
		}
		if ansi.StringWidth(ol) > w-x {
			// Cut at the screen's edge; half a wide character is a blank.
			ol = ansi.Truncate(ol, w-x, "")
			ol += strings.Repeat(" ", w-x-ansi.StringWidth(ol))
		}
		rows[y+i] = spliceRow(rows[y+i], ol, x, w)
	}
	return strings.Join(rows, "\n")
}

// spliceRow puts over (at most w-x wide) into row at column x. The cut
// leaves no half of a wide character: its cells become spaces. Styles
// are reset on both sides of over, and what is left of row on its right
// replays row's escape sequences from the start, so it keeps its style.
func spliceRow(row, over string, x, w int) string {
	if ansi.StringWidth(row) > w {
		row = ansi.Truncate(row, w, "")
	}
	left := ansi.Truncate(row, x, "")
	if lw := ansi.StringWidth(left); lw < x {
		left += strings.Repeat(" ", x-lw)
	}
	end := x + ansi.StringWidth(over)
	right := ansi.TruncateLeft(row, end, "")
	if rest := ansi.StringWidth(row) - end; rest >= 0 && ansi.StringWidth(right) > rest {
		// A wide character straddled end: TruncateLeft kept it whole.
		right = " " + ansi.TruncateLeft(row, end+1, "")
	}
	return left + ansi.ResetStyle + over + ansi.ResetStyle + right
}

// shortImage is an image's repository's last part and its tag: the
// registry path is the same from release to release.
func shortImage(image string) string { return image[strings.LastIndexByte(image, '/')+1:] }

// imageTag is what tells two releases of one image apart: its tag, or
// the start of its digest.
func imageTag(image string) string {
	if at := strings.LastIndexByte(image, '@'); at >= 0 {
		d := image[at+1:]
		return d[:min(len(d), len("sha256:")+12)]
	}
	if c := strings.LastIndexByte(image, ':'); c > strings.LastIndexByte(image, '/') {
		return image[c+1:]
	}
	return shortImage(image)
}

// liveImage picks, among a color's container images, the one of the
// release's repository (the container the release sets), else the only
// one; "" when it cannot tell.
func liveImage(images map[string]string, release string) string {
	repo := release
	if i := strings.LastIndexByte(release, ':'); i > strings.LastIndexByte(release, '/') {
		repo = release[:i]
	}
	var only string
	for _, img := range images {
		if strings.HasPrefix(img, repo+":") || strings.HasPrefix(img, repo+"@") {
			return img
		}
		only = img
	}
	if len(images) == 1 {
		return only
	}
	return ""
}
