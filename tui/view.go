package tui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/progress"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/NimbleMarkets/ntcharts/v2/sparkline"
	"github.com/charmbracelet/x/ansi"

	"github.com/cutover-sh/cutover/engine"
)

// View draws the console.
func (m Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	v.WindowTitle = "cutover " + m.snap.Pipeline
	return v
}

// Render draws the whole screen as a string of exactly the terminal's
// size, so that nothing is left over from a larger frame.
func (m Model) Render() string {
	if m.w == 0 || m.h == 0 {
		return ""
	}
	if m.w < MinWidth || m.h < MinHeight {
		msg := fmt.Sprintf("The terminal is %d×%d.\ncutover needs at least %d×%d.\n\nEnlarge it, or press q to quit.", m.w, m.h, MinWidth, MinHeight)
		return lipgloss.Place(m.w, m.h, lipgloss.Center, lipgloss.Center, m.st.Warn.Render(msg))
	}
	header := m.header()
	footer := m.footer()
	bh := m.h - lipgloss.Height(header) - 1
	var body string
	switch {
	case m.modal != nil:
		body = m.centered(m.modalView(), bh)
	case m.showHelp:
		m.help.ShowAll = true
		m.help.SetWidth(m.w - 4)
		body = m.centered(m.st.Pane.Render(m.st.PaneTitle.Render("Keys")+"\n\n"+m.help.View(m.keys)+"\n\n"+m.st.Muted.Render("any key closes")), bh)
	case m.detail != "":
		body = m.box("Detail", m.detail+"\n\n"+m.st.Muted.Render("any key closes"), m.w, bh, true)
	case m.fullLogs:
		body = m.logPane(m.w, bh)
	case m.w >= 110:
		body = m.wide(bh)
	default:
		body = m.narrow(bh)
	}
	screen := lipgloss.JoinVertical(lipgloss.Left, header, body, footer)
	return fit(screen, m.w, m.h)
}

// fit cuts or pads s to exactly w×h cells.
func fit(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	for i, l := range lines {
		lw := ansi.StringWidth(l)
		switch {
		case lw > w:
			lines[i] = ansi.Truncate(l, w, "")
		case lw < w:
			lines[i] = l + strings.Repeat(" ", w-lw)
		}
	}
	return strings.Join(lines, "\n")
}

func (m Model) centered(s string, h int) string {
	return lipgloss.Place(m.w, h, lipgloss.Center, lipgloss.Center, s)
}

// wide is the layout from 110 columns: stages beside the release, then
// the metrics and the logs across the whole width.
func (m Model) wide(h int) string {
	lw := min(60, m.w*2/5)
	pods := 0
	if r := m.release(); r != nil {
		pods = len(podsOf(r))
	}
	th := max(len(m.snap.Stages)+2, pods+8)
	th = clamp(th, 9, h/2)
	mh := clamp(len(m.panels)+len(m.measurements())+2, 4, max(h/4, 8))
	top := lipgloss.JoinHorizontal(lipgloss.Top, m.stagePane(lw, th), m.releasePane(m.w-lw, th))
	return lipgloss.JoinVertical(lipgloss.Left, top, m.metricsPane(m.w, mh), m.logPane(m.w, h-th-mh))
}

// narrow stacks the panes, each cut to what matters, for 80×24.
func (m Model) narrow(h int) string {
	sh := min(len(m.snap.Stages)+2, max(h/3, 5))
	rh := 5
	mh := 4
	lh := h - sh - rh - mh
	if lh < 3 {
		mh, lh = 3, h-sh-rh-3
	}
	return lipgloss.JoinVertical(lipgloss.Left,
		m.stagePane(m.w, sh), m.releasePane(m.w, rh), m.metricsPane(m.w, mh), m.logPane(m.w, lh))
}

// box draws a pane of exactly w×h with a title in its top border.
func (m Model) box(title, content string, w, h int, focused bool) string {
	style := m.st.Pane
	if focused {
		style = m.st.PaneFocus
	}
	iw, ih := w-style.GetHorizontalFrameSize(), h-style.GetVerticalFrameSize()
	if iw < 1 || ih < 1 {
		return ""
	}
	lines := strings.Split(content, "\n")
	if len(lines) > ih {
		lines = lines[:ih]
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, iw, "…")
	}
	out := style.Width(w).Height(h).Render(strings.Join(lines, "\n"))
	// The title goes into the top border, k9s-style, to save a line.
	rows := strings.SplitN(out, "\n", 2)
	if len(rows) == 2 && title != "" {
		t := " " + title + " "
		if focused {
			t = m.st.Title.Render(t)
		} else {
			t = m.st.PaneTitle.Render(t)
		}
		if ansi.StringWidth(rows[0]) > ansi.StringWidth(t)+3 {
			rows[0] = ansi.Truncate(rows[0], 2, "") + t + ansi.TruncateLeft(rows[0], 2+ansi.StringWidth(t), "")
		}
		out = rows[0] + "\n" + rows[1]
	}
	return out
}

func (m Model) header() string {
	s := m.st
	name := nonEmpty(m.snap.Pipeline, "cutover")
	// What matters most comes first: on a narrow terminal the line is cut
	// from the right.
	parts := []string{s.Title.Render("cutover ▸ " + name)}
	if r := m.release(); r != nil {
		live := r.Live
		if r.Observed != nil {
			live = r.Observed.Service.Live
		}
		parts = append(parts, "LIVE "+s.colorLabel(live))
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
		parts = append(parts, strings.Join(markers, " "))
	}
	if m.o.Image != "" {
		parts = append(parts, m.o.Image)
	}
	if m.o.KubeContext != "" || m.o.Namespace != "" {
		parts = append(parts, s.Muted.Render("ctx ")+nonEmpty(m.o.KubeContext, "current")+s.Muted.Render(" ns ")+nonEmpty(m.o.Namespace, "-"))
	}
	line1 := strings.Join(parts, "  ")
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
	line2 := fmt.Sprintf("%s %s  %s / %s budget", s.status(status, m.spin.View()), strings.ToUpper(label),
		dur(elapsed), dur(m.snap.Budget))
	if m.snap.Run != "" {
		line2 += s.Muted.Render("  run " + m.snap.Run)
	}
	if g, ok := m.gate(false); ok {
		line2 += "  " + s.Warn.Render("⏸ waiting for approval: "+g.Gate+" (a to approve)")
	}
	if m.snap.RolledBack {
		line2 += "  " + s.Crit.Render("ROLLED BACK")
	}
	if why := m.failure(); why != "" {
		line2 += "  " + s.Crit.Render(why)
	}
	return line1 + "\n" + line2
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

func (m Model) footer() string {
	if m.searching {
		return m.search.View()
	}
	if m.flash != "" {
		return m.st.Flash.Render(m.flash)
	}
	m.help.ShowAll = false
	m.help.SetWidth(m.w)
	return m.help.View(m.keys)
}

func (m Model) modalView() string {
	md := m.modal
	w := min(m.w-4, 72)
	body := lipgloss.NewStyle().Width(w - m.st.Modal.GetHorizontalFrameSize()).Render(md.body)
	return m.st.Modal.Width(w).Render(m.st.ModalTitle.Render(md.title) + "\n\n" + body)
}

// dur writes a duration the way the budget table does: 4m05s, 1h10m.
func dur(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}

func (m Model) stagePane(w, h int) string {
	s := m.st
	now := m.o.Now()
	iw := w - s.Pane.GetHorizontalFrameSize()
	nameW := 0
	for _, st := range m.snap.Stages {
		nameW = max(nameW, ansi.StringWidth(st.Name))
	}
	nameW = min(nameW, max(iw-24, 8))
	rows := make([]string, 0, len(m.snap.Stages))
	for i, st := range m.snap.Stages {
		el := st.Elapsed(now)
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
		bar := ""
		if barW := iw - nameW - 19 - ansi.StringWidth(note); barW >= 3 {
			b := progress.New(progress.WithWidth(barW), progress.WithoutPercentage(), progress.WithColors(barColor),
				progress.WithFillCharacters('━', '─'))
			b.EmptyColor = s.BarEmpty
			bar = b.ViewAs(min(frac, 1))
		}
		status := st.Status
		if status == engine.StatusRunning && slices.ContainsFunc(st.Steps, func(x *engine.StepState) bool { return x.Status == engine.StatusWaiting }) {
			status = engine.StatusWaiting
		}
		name := ansi.Truncate(st.Name, nameW, "…")
		row := fmt.Sprintf("%s %-*s %6s/%-6s %s%s", s.status(status, m.spin.View()), nameW, name, dur(el), dur(st.Budget), bar, note)
		if m.focus == paneStages && i == m.selectedStage() {
			row = s.Bold.Render("›") + row
		} else {
			row = " " + row
		}
		rows = append(rows, row)
	}
	// Keep the selected, or else the running, stage in view when the pane
	// is shorter than the pipeline.
	ih := h - s.Pane.GetVerticalFrameSize()
	if len(rows) > ih && ih > 0 {
		at := m.stageSel
		if !m.stageMoved {
			at = m.currentStage()
		}
		first := clamp(at-ih/2, 0, len(rows)-ih)
		rows = rows[first : first+ih]
	}
	return m.box("Stages", strings.Join(rows, "\n"), w, h, m.focus == paneStages)
}

// podsOf returns the pods of both colors, failing ones first.
func podsOf(r *engine.ReleaseProgress) []podRow {
	var out []podRow
	for _, c := range []engine.Color{engine.Blue, engine.Green} {
		for _, p := range colorState(r, c).Pods {
			out = append(out, podRow{color: c, pod: p})
		}
	}
	slices.SortStableFunc(out, func(a, b podRow) int { return boolInt(a.healthy()) - boolInt(b.healthy()) })
	return out
}

type podRow struct {
	color engine.Color
	pod   engine.PodState
}

func (p podRow) healthy() bool { return p.pod.Ready && p.pod.Reason == "" }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (m Model) releasePane(w, h int) string {
	s := m.st
	r := m.release()
	if r == nil {
		return m.box("Blue / Green", s.Muted.Render("no release in this run yet"), w, h, m.focus == paneRelease)
	}
	var live engine.Color
	var mark engine.ReleaseMark
	var selector map[string]string
	if r.Observed != nil {
		live, mark, selector = r.Observed.Service.Live, r.Observed.Service.Release, r.Observed.Service.Selector
	} else {
		live = r.Live
	}
	lines := []string{fmt.Sprintf("%s  phase %s%s", r.Service, s.Bold.Render(string(r.Phase)), msgSuffix(s, r.Message))}
	for _, c := range []engine.Color{engine.Blue, engine.Green} {
		cs := colorState(r, c)
		role := s.Muted.Render("cold")
		switch {
		case c == live:
			role = s.OK.Render("LIVE")
		case c == r.To:
			role = s.Info.Render("preview")
		case cs.Ready > 0:
			// Kept scaled up after a switch: a rollback to it is one patch.
			role = s.Info.Render("warm")
		}
		img := ""
		for _, v := range cs.Images {
			img = v
		}
		ready := fmt.Sprintf("%d/%d ready", cs.Ready, cs.Replicas)
		if cs.Replicas > 0 && cs.Ready < cs.Replicas {
			ready = s.Warn.Render(ready)
		}
		lines = append(lines, fmt.Sprintf("%s %s  %s  %s  %s", padRight(s.colorLabel(c), 7), padRight(role, 7), ready, nonEmpty(cs.Deployment, "-"), nonEmpty(img, "-")))
	}
	if h >= 9 {
		sel := make([]string, 0, len(selector))
		for _, k := range sortedKeys(selector) {
			sel = append(sel, k+"="+selector[k])
		}
		sw := "never switched by cutover"
		if !mark.SwitchedAt.IsZero() {
			sw = fmt.Sprintf("last switch %s by %s", mark.SwitchedAt.Format("15:04:05"), nonEmpty(mark.SwitchedBy, "?"))
		}
		lines = append(lines, s.Muted.Render("selector ")+strings.Join(sel, ",")+s.Muted.Render("  "+sw), "")
		pods := podsOf(r)
		nw := 3
		for _, p := range pods {
			nw = max(nw, len(p.pod.Name))
		}
		nw = min(nw, max(w-46, 12))
		lines = append(lines, s.Muted.Render(fmt.Sprintf("  %-6s %-*s %-9s %-5s %3s %6s  %s", "COLOR", nw, "POD", "PHASE", "READY", "RST", "AGE", "REASON")))
		// Only the rows that fit are drawn, scrolled to keep the selected
		// pod in view: 60 pods must not cost 60 rows a frame.
		room := max(h-m.st.Pane.GetVerticalFrameSize()-len(lines), 1)
		first := 0
		if len(pods) > room {
			first = clamp(m.podSel-room/2, 0, len(pods)-room)
		}
		for i := first; i < min(len(pods), first+room); i++ {
			p := pods[i]
			prefix := "  "
			if m.focus == paneRelease && i == m.podSel {
				prefix = s.Bold.Render("› ")
			}
			ready := s.OK.Render("yes  ")
			if !p.pod.Ready {
				ready = s.Crit.Render("no   ")
			}
			row := fmt.Sprintf("%s%-6s %-*s %-9s %s %3d %6s  %s", prefix, string(p.color), nw, tail(p.pod.Name, nw), p.pod.Phase, ready, p.pod.Restarts, dur(p.pod.Age), s.Crit.Render(p.pod.Reason))
			lines = append(lines, row)
		}
		if len(pods) == 0 {
			lines = append(lines, s.Muted.Render("  no pods"))
		}
	}
	return m.box("Blue / Green", strings.Join(lines, "\n"), w, h, m.focus == paneRelease)
}

// tail keeps the end of a name that is too long, where a pod's name has
// what tells it from its siblings.
func tail(s string, w int) string {
	if len(s) <= w {
		return s
	}
	return "…" + s[len(s)-w+1:]
}

// padRight pads a styled string to w cells.
func padRight(s string, w int) string {
	if n := ansi.StringWidth(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

func msgSuffix(s Styles, msg string) string {
	if msg == "" {
		return ""
	}
	return s.Muted.Render(" · " + msg)
}

func (m Model) metricsPane(w, h int) string {
	s := m.st
	iw := w - s.Pane.GetHorizontalFrameSize()
	var lines []string
	if len(m.panels) == 0 {
		lines = append(lines, s.Muted.Render("no panels: the pipeline names no Prometheus, or the first refresh is on its way"))
	}
	titleW := 16
	sparkW := max(min(iw-titleW-50, 40), 0)
	panels := m.panels
	if m.w < 110 {
		// Two lines fit at 80×24: the worst panels get them.
		panels = slices.Clone(panels)
		slices.SortStableFunc(panels, func(a, b engine.PanelData) int { return b.State.Severity() - a.State.Severity() })
	}
	for _, d := range panels {
		lines = append(lines, m.panelLine(d, titleW, sparkW))
	}
	for _, ms := range m.measurements() {
		verdict := s.state(verdictState(ms.Measurement.Verdict), string(ms.Measurement.Verdict))
		lines = append(lines, fmt.Sprintf("%s %s = %.4g %s %s", s.Muted.Render(fmt.Sprintf("%d/%d", ms.Round, ms.Count)),
			ms.Metric, ms.Measurement.Value, verdict, s.Muted.Render("(want "+ms.Condition+")")))
	}
	return m.box("Metrics", strings.Join(lines, "\n"), w, h, m.focus == paneMetrics)
}

func verdictState(v engine.Verdict) engine.PanelState {
	switch v {
	case engine.VerdictPass:
		return engine.PanelOK
	case engine.VerdictFail:
		return engine.PanelCrit
	}
	return engine.PanelWarn
}

// panelLine is one panel: its title, a sparkline of its first series, the
// current value of each series, and its threshold, in its state's color.
func (m Model) panelLine(d engine.PanelData, titleW, sparkW int) string {
	s := m.st
	title := fmt.Sprintf("%-*s", titleW, ansi.Truncate(d.Spec.Title, titleW, "…"))
	switch d.State {
	case engine.PanelUnavailable:
		return title + " " + s.Crit.Render("unavailable") + s.Muted.Render(": "+errText(d.Err))
	case engine.PanelNoData:
		if len(d.Series) == 0 {
			return title + " " + s.Muted.Render("no data")
		}
	}
	spark := ""
	if sparkW > 0 && len(d.Series) > 0 {
		spark = m.sparks.get(d, sparkW, func() string {
			sl := sparkline.New(sparkW, 1, sparkline.WithStyle(stateStyle(s, d.State)))
			pts := d.Series[0].Points
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
	line := title + " " + spark + s.state(d.State, strings.Join(vals, " "))
	if d.Spec.Crit != "" {
		if c, err := engine.ParseCondition(d.Spec.Crit); err == nil {
			line += s.Muted.Render(" crit " + c.Op + " " + d.Spec.Unit.Format(c.Threshold))
		}
	}
	return line
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
	state engine.PanelState
}

func (c *sparkCache) get(d engine.PanelData, width int, draw func() string) string {
	k := sparkKey{at: d.At.UnixNano(), title: d.Spec.Title, width: width, state: d.State}
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

func stateStyle(s Styles, st engine.PanelState) lipgloss.Style {
	switch st {
	case engine.PanelWarn:
		return s.Warn
	case engine.PanelCrit:
		return s.Crit
	case engine.PanelOK:
		return s.OK
	}
	return s.Muted
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// measurements are the latest analysis measurements of the run, the most
// recent step's first.
func (m Model) measurements() []engine.AnalysisMeasured {
	var out []engine.AnalysisMeasured
	for _, st := range m.snap.Stages {
		for _, step := range st.Steps {
			out = append(out, step.Measurements...)
		}
	}
	slices.SortStableFunc(out, func(a, b engine.AnalysisMeasured) int { return cmp.Compare(b.Seq, a.Seq) })
	return out
}

func (m Model) logPane(w, h int) string {
	s := m.st
	iw, ih := w-s.Pane.GetHorizontalFrameSize(), h-s.Pane.GetVerticalFrameSize()
	title := "Logs"
	if m.query != "" {
		title += " /" + m.query
	}
	if len(m.lines) == 0 {
		return m.box(title, s.Muted.Render("no output yet"), w, h, m.focus == paneLogs)
	}
	vp := m.logs
	vp.SetWidth(iw)
	vp.SetHeight(ih)
	if vp.AtBottom() || vp.PastBottom() {
		vp.GotoBottom()
	}
	if !vp.AtBottom() {
		title += " (scrolled; end follows again)"
	}
	return m.box(title, vp.View(), w, h, m.focus == paneLogs)
}

func (m Model) stageDetail(st engine.StageState) string {
	s := m.st
	lines := []string{s.Bold.Render("Stage "+st.Name) + "  " + string(st.Status) + "  " + dur(st.Elapsed(m.o.Now())) + " of " + dur(st.Budget)}
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

// describe is a pod as kubectl describe would tell it, cut to what a
// release decision needs.
func describe(s Styles, d engine.PodDetail) string {
	lines := []string{s.Bold.Render("Pod "+d.Namespace+"/"+d.Name) + "  " + d.Phase + s.Muted.Render("  on "+nonEmpty(d.Node, "no node"))}
	if len(d.Conditions) > 0 {
		lines = append(lines, "", s.Bold.Render("Conditions"))
		for _, c := range d.Conditions {
			st := s.OK.Render(c.Status)
			if c.Status != "True" {
				st = s.Warn.Render(c.Status)
			}
			lines = append(lines, fmt.Sprintf("  %-26s %s  %s %s", c.Type, st, c.Reason, s.Muted.Render(c.Message)))
		}
	}
	if len(d.Containers) > 0 {
		lines = append(lines, "", s.Bold.Render("Containers"))
		for _, c := range d.Containers {
			lines = append(lines, fmt.Sprintf("  %s  %s  ready %v  restarts %d  %s %s %s", c.Name, c.Image, c.Ready, c.Restarts, c.State, c.Reason, s.Muted.Render(c.Message)))
			if c.LastState != "" {
				lines = append(lines, s.Muted.Render("    last: "+c.LastState))
			}
		}
	}
	lines = append(lines, "", s.Bold.Render("Warning events"))
	if len(d.Events) == 0 {
		lines = append(lines, s.Muted.Render("  none"))
	}
	for _, e := range d.Events {
		lines = append(lines, fmt.Sprintf("  %s  %s ×%d  %s", e.Last.Format("15:04:05"), s.Warn.Render(e.Reason), e.Count, e.Message))
	}
	return strings.Join(lines, "\n")
}

func podDetail(p podRow) string {
	return strings.Join([]string{
		"Pod " + p.pod.Name + " (" + string(p.color) + ")",
		"phase     " + p.pod.Phase,
		fmt.Sprintf("ready     %v", p.pod.Ready),
		fmt.Sprintf("restarts  %d", p.pod.Restarts),
		"age       " + dur(p.pod.Age),
		"node      " + nonEmpty(p.pod.Node, "-"),
		"reason    " + nonEmpty(p.pod.Reason, "-"),
	}, "\n")
}
