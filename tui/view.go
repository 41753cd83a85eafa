package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/human"
	"github.com/cutover-sh/cutover/sanitize"
)

// wideFrom is the width from which stages and the release sit side by
// side; below it the panes stack.
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

// wideMinHeight is the height from which the side-by-side layout has
// room for every pane; below it the panes stack.
const wideMinHeight = 26

// The least each stacked pane gets: a title and border around one line
// (two for the stages, three for blue and green). The focused pane gets
// the rest it can use, so every pane is usable at 80×24 in turn.
var minStacked = [paneCount]int{paneStages: 4, paneRelease: 5, paneMetrics: 3, paneLogs: 3}

// layout gives each pane its size for the terminal and what it shows: a
// resize, new pods or new panels all change what fits.
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
	want := [paneCount]int{
		paneStages:  max(len(m.snap.Stages), 1) + 2,
		paneRelease: pods + 8,
		paneMetrics: max(len(m.panels)+len(measurements(&m.snap)), 1) + 2,
		paneLogs:    bh,
	}
	// With no Prometheus the metrics pane is one line saying so, and its
	// rows go to the logs.
	minMetrics := 4
	if m.o.Panels == nil {
		minMetrics = 3
	}
	if m.w >= wideFrom && m.h >= wideMinHeight {
		lw := min(60, m.w*2/5)
		th := clamp(max(want[paneStages], want[paneRelease]), 9, bh/2)
		if !m.hasBlueGreen() {
			// The stages take the whole width, and keep the height the
			// gate's card is drawn over.
			lw = m.w
		}
		mh := clamp(want[paneMetrics], minMetrics, max(bh/4, 8))
		m.stages.SetSize(lw, th)
		m.release.SetSize(m.w-lw, th)
		m.metrics.SetSize(m.w, mh)
		m.logs.SetSize(m.w, bh-th-mh)
		m.publishPoints()
		return
	}
	hs := minStacked
	if !m.hasBlueGreen() {
		hs[paneRelease] = 0
	}
	spare := bh
	for _, h := range hs {
		spare -= h
	}
	grow := func(p pane) {
		add := clamp(want[p]-hs[p], 0, spare)
		hs[p] += add
		spare -= add
	}
	grow(m.focus)
	grow(paneStages)
	if m.hasBlueGreen() {
		grow(paneRelease)
	}
	hs[paneLogs] += spare
	m.stages.SetSize(m.w, hs[paneStages])
	m.release.SetSize(m.w, hs[paneRelease])
	m.metrics.SetSize(m.w, hs[paneMetrics])
	m.logs.SetSize(m.w, hs[paneLogs])
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
		body = m.logs.View(sc, true)
	case !m.hasBlueGreen():
		body = lipgloss.JoinVertical(lipgloss.Left, m.stages.View(sc, m.focus == paneStages),
			m.metrics.View(sc, m.focus == paneMetrics), m.logs.View(sc, m.focus == paneLogs))
	case m.wide():
		top := lipgloss.JoinHorizontal(lipgloss.Top, m.stages.View(sc, m.focus == paneStages), m.release.View(sc, m.focus == paneRelease))
		body = lipgloss.JoinVertical(lipgloss.Left, top, m.metrics.View(sc, m.focus == paneMetrics), m.logs.View(sc, m.focus == paneLogs))
	default:
		body = lipgloss.JoinVertical(lipgloss.Left, m.stages.View(sc, m.focus == paneStages), m.release.View(sc, m.focus == paneRelease),
			m.metrics.View(sc, m.focus == paneMetrics), m.logs.View(sc, m.focus == paneLogs))
	}
	if g, ok := m.card(); ok && m.modal == nil && !m.showHelp && m.detail == "" && !m.fullLogs {
		body = m.overlay(body, m.cardView(g), bh)
	}
	screen := lipgloss.JoinVertical(lipgloss.Left, m.header(), body, m.footer())
	return fit(screen, m.w, m.h)
}

// paneHelp shows a pane's own keys in full.
type paneHelp struct{ c component }

func (p paneHelp) ShortHelp() []key.Binding  { return p.c.ShortHelp() }
func (p paneHelp) FullHelp() [][]key.Binding { return [][]key.Binding{p.c.ShortHelp()} }

func (m Model) centered(s string, h int) string {
	return lipgloss.Place(m.w, h, lipgloss.Center, lipgloss.Center, s)
}

func (m Model) header() string {
	s := m.st
	name := nonEmpty(m.snap.Pipeline, "cutover")
	// What matters most comes first: on a narrow terminal the line is cut
	// from the right.
	parts := []string{s.Title.Render("cutover ▸ " + name)}
	// The image beside LIVE is what the live color runs, read from the
	// cluster; the release's own image is shown apart while it is in
	// flight, so that after a rollback the header says what serves.
	image := shortImage(m.o.Image)
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
		if liveImg != "" {
			label += " " + shortImage(liveImg)
		}
		parts = append(parts, label)
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
		parts = append(parts, strings.Join(markers, " "))
	}
	if w := m.o.Watchers; len(w) > 0 {
		// Who else could act matters more than the image and context.
		if len(w) > 4 {
			w = append(w[:3:3], fmt.Sprintf("%d more", len(w)-3))
		}
		parts = append(parts, s.Muted.Render("watching ")+strings.Join(w, ", "))
	}
	if image != "" {
		if r != nil {
			image = s.Muted.Render("releasing ") + image
		}
		parts = append(parts, image)
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
	lead := fmt.Sprintf("%s %s", s.status(status, m.spin.View()), strings.ToUpper(label))
	// The clock gives way to the gate and the failure on a narrow
	// terminal: first the word budget, then the whole clock.
	clocks := []string{human.Duration(elapsed), human.Duration(elapsed), ""}
	if m.snap.Budget > 0 {
		clocks = []string{human.Duration(elapsed) + " / " + human.Duration(m.snap.Budget) + " budget", human.Duration(elapsed) + "/" + human.Duration(m.snap.Budget), ""}
	}
	line2 := ""
	why := m.failure()
	if _, waiting := m.gate(false); m.snap.Run != "" && why == "" && !waiting {
		// The run's id matters least: it gives way to a gate or a failure.
		line2 += s.Muted.Render("  run " + m.snap.Run)
	}
	if g, ok := m.gate(false); ok {
		wait := "⏸ waiting for approval: " + g.Gate
		var how []string
		if m.keys.Approve.Enabled() {
			how = append(how, m.keys.Approve.Help().Key+" to approve")
		}
		if g.Gate == m.cardHidden {
			how = append(how, m.keys.Card.Help().Key+" to read it")
		}
		if len(how) > 0 {
			wait += " (" + strings.Join(how, ", ") + ")"
		}
		line2 += "  " + s.Warn.Render(wait)
	}
	if m.snap.RolledBack {
		line2 += "  " + s.Crit.Render("ROLLED BACK")
	}
	// The failure's reason is long and is cut; it is in the logs whole.
	tail := ""
	if why != "" {
		tail = "  " + s.Crit.Render(why)
	}
	for _, clock := range clocks {
		l := lead
		if clock != "" {
			l += "  " + clock
		}
		if l += line2; lipgloss.Width(l) <= m.w || clock == "" {
			return line1 + "\n" + l + tail
		}
	}
	return line1 + "\n" + lead + line2 + tail
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
	lines := []string{
		s.ModalTitle.Render("⏸ Approval needed") + "  " + s.Muted.Render("stage "+g.Stage+" · step "+g.Step),
		"",
		wrap(g.Instruction),
		"",
	}
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
		if m.h >= 40 {
			n = 8
		}
		lines = append(lines, s.Muted.Render(fmt.Sprintf("What changes (%s → %s):", d.From, d.To)))
		for _, l := range d.Summary(n) {
			lines = append(lines, wrap("  "+l))
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
	lines = append(lines, "", s.Muted.Render(wrap(strings.Join(keys, " · "))))
	// No blank rows inside the border: at 80×24 the panes need them.
	return s.Modal.Padding(0, 2).Width(w).Render(strings.Join(lines, "\n"))
}

// overlay draws over on top of under, centred, near the top: the panes
// stay readable around it.
func (m Model) overlay(under, over string, h int) string {
	x := max((m.w-lipgloss.Width(over))/2, 0)
	y := min(1, max(h-lipgloss.Height(over), 0))
	layers := lipgloss.NewCompositor(lipgloss.NewLayer(under), lipgloss.NewLayer(over).X(x).Y(y).Z(1))
	return lipgloss.NewCanvas(m.w, h).Compose(layers).Render()
}

// shortImage is an image's repository's last part and its tag: the
// registry path is the same from release to release.
func shortImage(image string) string { return image[strings.LastIndexByte(image, '/')+1:] }

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
