package tui

import (
	"context"
	"fmt"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/sanitize"
)

// Controller is what the console asks of the engine. *engine.Engine
// implements it.
type Controller interface {
	// ApproveSeen approves a gate for someone who read the diff whose
	// hash is seen ("" when the gate has none).
	ApproveSeen(actor engine.Actor, gateID, seen string) error
	Abort(actor engine.Actor, reason string) error
	Rollback(actor engine.Actor, service, reason string) error
	Promote(actor engine.Actor, service, reason string) error
	SkipStage(actor engine.Actor, stage, reason string) error
	Maintenance(ctx context.Context, actor engine.Actor, on bool) (string, error)
}

// Events is where the console reads the run from: an engine subscription.
type Events interface {
	NextBatch(ctx context.Context, max int) ([]engine.Message, error)
}

// Options configure a console.
type Options struct {
	Controller Controller
	Events     Events
	// Panels delivers each refresh of the metrics panels; nil when the
	// pipeline has no Prometheus.
	Panels <-chan []engine.PanelData
	// Actor is who presses the keys, as the journal records it.
	Actor engine.Actor
	// Image, KubeContext and Namespace are shown in the header.
	Image, KubeContext, Namespace string
	ReadOnly, Demo                bool
	// Shared is set when the run lives in a server (cutover serve) that
	// many consoles watch: quitting leaves the run going.
	Shared bool
	// Guard, when set, makes each action conditional on the decisions the
	// console had shown when its user asked for it (engine.Engine.Guard):
	// of two people who confirm conflicting actions at once, one wins and
	// the other is told what happened instead.
	Guard func(decisions uint64) Controller
	// Watchers are who else watches a shared run, as the header lists
	// them; WatchersMsg updates them.
	Watchers []string
	// MaintenancePage is the selector value of the pipeline's maintenance
	// pods, or "" when it names none.
	MaintenancePage string
	Keys            KeyMap
	// PanelPoints is told how many points a panel can draw whenever the
	// layout changes, so the panels fetch no more than that.
	PanelPoints func(int)
	// PodDetail reads a pod's conditions, container states and Warning
	// events when a person opens it; nil shows what the release saw.
	PodDetail func(ctx context.Context, namespace, pod string) (engine.PodDetail, error)
	// Now is the clock; tests fix it.
	Now func() time.Time
}

// The panes, in tab order.
type pane int

const (
	paneStages pane = iota
	paneRelease
	paneMetrics
	paneLogs
	paneCount
)

func (p pane) String() string {
	return [...]string{"Stages", "Blue / Green", "Metrics", "Logs"}[p]
}

// Minimum is the smallest terminal the console draws in.
const (
	MinWidth  = 70
	MinHeight = 20
)

// maintenanceTimeout bounds a maintenance switch from the console.
const maintenanceTimeout = 5 * time.Minute

// Model is the console: the root that owns the run's state, the global
// keys, the layout and the overlays, and hands each pane its size and the
// keys it owns.
type Model struct {
	o    Options
	keys *KeyMap
	// actionKeys are the action bindings as they were before read-only
	// mode disabled them, so that pressing one can be told why.
	actionKeys []key.Binding
	st         Styles
	help       help.Model
	// frame is the spinner's frame: it turns with the clock, once a
	// second, while a step is at work.
	frame int

	snap    engine.Snapshot
	panels  []engine.PanelData
	ended   bool // the event stream is over: the run has finished
	ticking bool // the once-a-second clock is armed

	stages  stagesPane
	release releasePane
	metrics metricsPane
	logs    logsPane

	w, h     int
	focus    pane
	fullLogs bool
	showHelp bool
	modal    *modal
	// cardHidden is the gate whose card someone hid with esc.
	cardHidden string
	detail     string // a stage's or pod's detail, shown over the body
	detailPod  string // the pod whose detail is being read
	detailBase string // what the release saw of it, shown if the read fails
	flash      string
	// views keeps the panes' last drawings.
	views *paneCache
}

// modal is a question that a destructive key asks first.
type modal struct {
	title, body string
	// confirm is what y does.
	confirm tea.Cmd
}

// WatchersMsg tells a shared console who watches the run now.
type WatchersMsg []string

// Messages.
type (
	eventsMsg      []engine.Message
	eventsEndedMsg struct{ err error }
	panelsMsg      []engine.PanelData
	tickMsg        time.Time
	actionMsg      struct {
		what string
		err  error
	}
	podDetailMsg struct {
		pod    string
		detail engine.PodDetail
		err    error
	}
)

// New returns a console for a run.
func New(o Options) Model {
	if o.Now == nil {
		o.Now = time.Now
	}
	// What the console shows that is not an engine event (which the
	// engine made safe) comes from a pipeline file, a key or a flag.
	o.Watchers = sanitize.Deep(o.Watchers)
	o.Image, o.KubeContext = sanitize.Line(o.Image), sanitize.Line(o.KubeContext)
	o.Namespace, o.MaintenancePage = sanitize.Line(o.Namespace), sanitize.Line(o.MaintenancePage)
	keys := o.Keys
	if keys.Quit.Keys() == nil {
		keys = DefaultKeyMap()
	}
	actions := keys.actionBindings()
	if o.ReadOnly {
		keys.SetReadOnly()
	}
	km := &keys
	m := Model{o: o, keys: km, actionKeys: actions, help: help.New(),
		stages: stagesPane{keys: km}, release: releasePane{keys: km, order: &podOrder{}}, metrics: metricsPane{sparks: &sparkCache{}}, logs: newLogsPane(km), views: &paneCache{}}
	m.setStyles(NewStyles(true))
	return m
}

// setStyles switches every style, as when the terminal reports a light
// background.
func (m *Model) setStyles(st Styles) {
	m.st = st
	m.help.Styles = help.DefaultStyles(st.Dark)
	m.logs.setStyles(st)
}

// panes returns the panes in tab order, as components of this copy of
// the model.
func (m *Model) panes() []component {
	return []component{&m.stages, &m.release, &m.metrics, &m.logs}
}

// scene is what the panes draw from now.
func (m *Model) scene() *scene {
	return &scene{snap: &m.snap, release: m.currentRelease(), panels: m.panels, st: m.st,
		now: m.o.Now(), spin: m.spinFrame(), narrow: !m.wide(), noPrometheus: m.o.Panels == nil}
}

// hasBlueGreen reports whether the pipeline has a blueGreen step: without
// one the console has no Blue / Green pane and offers no promote or
// rollback. Until the pipeline is known, the console assumes one.
func (m Model) hasBlueGreen() bool {
	if len(m.snap.Stages) == 0 {
		return true
	}
	for _, st := range m.snap.Stages {
		for _, step := range st.Steps {
			if step.Kind == spec.KindBlueGreen {
				return true
			}
		}
	}
	return false
}

// shown reports whether pane p is on screen.
func (m Model) shown(p pane) bool { return p != paneRelease || m.hasBlueGreen() }

// nextPane is the pane after (or, back, before) the focused one, among
// those shown.
func (m Model) nextPane(back bool) pane {
	step := pane(1)
	if back {
		step = paneCount - 1
	}
	p := (m.focus + step) % paneCount
	for !m.shown(p) {
		p = (p + step) % paneCount
	}
	return p
}

// Init starts reading the run, asks the terminal for its background, and
// starts the clock.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.waitEvents(), m.waitPanels(), tea.RequestBackgroundColor)
}

func (m Model) waitEvents() tea.Cmd {
	if m.o.Events == nil {
		return nil
	}
	ev := m.o.Events
	// The wait ends with an event, or when the subscription is closed:
	// cutover closes it when the console exits.
	return func() tea.Msg {
		batch, err := ev.NextBatch(context.Background(), 512)
		if err != nil {
			return eventsEndedMsg{err}
		}
		return eventsMsg(batch)
	}
}

func (m Model) waitPanels() tea.Cmd {
	if m.o.Panels == nil {
		return nil
	}
	ch := m.o.Panels
	// The wait ends with a refresh, or when the channel is closed: cutover
	// closes it when the panels stop.
	return func() tea.Msg {
		p, ok := <-ch
		if !ok {
			return nil
		}
		return panelsMsg(p)
	}
}

// controller is what an action asked for now goes through: guarded on
// the decisions this console has shown, when it can be.
func (m Model) controller() Controller {
	if m.o.Guard != nil {
		return m.o.Guard(m.snap.Decisions)
	}
	return m.o.Controller
}

// running reports whether the run is still in flight.
func (m Model) running() bool {
	return !m.ended && !m.snap.Status.Final() && m.snap.Run != ""
}

// Update handles one message, then lays the panes out again: a resize,
// new pods or new panels all change what fits.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m, cmd := m.update(msg)
	m.layout()
	return m, cmd
}

func (m Model) update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		return m, nil
	case tea.BackgroundColorMsg:
		m.setStyles(NewStyles(msg.IsDark()))
		return m, nil
	case eventsMsg:
		m.apply(msg)
		// The commands first: they set flags on m, and the operands of a
		// return are not evaluated in a fixed order against calls.
		cmd := tea.Batch(m.waitEvents(), m.startClock())
		return m, cmd
	case eventsEndedMsg:
		m.ended = true
		return m, nil
	case panelsMsg:
		m.panels = sanitize.Deep([]engine.PanelData(msg))
		return m, m.waitPanels()
	case WatchersMsg:
		m.o.Watchers = sanitize.Deep([]string(msg))
		return m, nil
	case tickMsg:
		m.ticking = false
		if m.active() {
			m.frame++
		}
		cmd := m.startClock()
		return m, cmd
	case podDetailMsg:
		if m.detailPod != msg.pod {
			return m, nil // closed, or another pod opened since
		}
		if msg.err != nil {
			// What the release saw still helps; say why there is no more.
			m.detail = m.detailBase + "\n\n" + m.st.Crit.Render("could not read the pod: "+sanitize.Line(msg.err.Error()))
			return m, nil
		}
		m.detail = describe(m.st, sanitize.Deep(msg.detail))
		return m, nil
	case detailMsg:
		m.detail = string(msg)
		return m, nil
	case openPodMsg:
		cmd := m.openPod(msg)
		return m, cmd
	case flashMsg:
		m.flash = string(msg)
		return m, nil
	case actionMsg:
		if msg.err != nil {
			m.flash = msg.what + ": " + sanitize.Line(msg.err.Error())
		} else {
			m.flash = msg.what
		}
		return m, nil
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return m, nil
}

// startClock keeps the elapsed times moving once a second while the run
// is in flight; a console whose run is done does nothing at all.
func (m *Model) startClock() tea.Cmd {
	if m.ticking || !m.running() {
		return nil
	}
	m.ticking = true
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// spinFrame is the spinner's frame now. It turns with the clock's tick
// rather than on a timer of its own: the elapsed time beside it moves then
// anyway, and at 1,000 pods five frames a second of their own were most of
// an idle console's CPU.
func (m Model) spinFrame() string {
	return spinner.MiniDot.Frames[m.frame%len(spinner.MiniDot.Frames)]
}

// active reports whether a step is at work, rather than the run waiting
// for a person or being over.
func (m Model) active() bool {
	if !m.running() {
		return false
	}
	for _, st := range m.snap.Stages {
		for _, step := range st.Steps {
			// A release in its scale-down delay waits for the clock, as a
			// gate waits for a person: its countdown moves once a second,
			// and a spinner turning would say something is at work.
			if step.Status == engine.StatusRunning && (step.Release == nil || step.Release.Action != engine.ActWaitUntil) {
				return true
			}
		}
	}
	return false
}

// apply folds a batch of engine messages into the console's state.
func (m *Model) apply(batch []engine.Message) {
	var lines []string
	for _, msg := range batch {
		if msg.Snapshot != nil {
			m.snap = *msg.Snapshot
			if len(m.logs.lines) == 0 && len(lines) == 0 {
				// A console that joins a run in flight (cutover serve)
				// starts with what each step printed last.
				lines = tailLog(m.snap)
			}
			continue
		}
		m.snap = engine.Apply(m.snap, msg.Event)
		if line, ok := logLine(msg.Event); ok {
			lines = append(lines, line)
		}
	}
	m.logs.append(lines)
}

// key handles a key press: the modal first, then the search box, then
// the overlays, then the global bindings, and the rest goes to the pane
// with the focus.
func (m Model) key(msg tea.KeyPressMsg) (Model, tea.Cmd) {
	m.flash = ""
	if m.modal != nil {
		md := m.modal
		m.modal = nil
		if key.Matches(msg, m.keys.Confirm) {
			return m, md.confirm
		}
		m.flash = "cancelled: " + md.title
		return m, nil
	}
	if isInterrupt(msg) && m.detail == "" && !m.showHelp {
		// ctrl+c is the terminal's own way out: it works from the search
		// box too, and cannot be rebound away.
		return m.quit()
	}
	if m.logs.searching {
		cmd := m.logs.Update(msg, m.scene())
		return m, cmd
	}
	if m.detail != "" || m.showHelp {
		if isInterrupt(msg) {
			return m.quit()
		}
		m.detail, m.detailPod, m.showHelp = "", "", false
		return m, nil
	}
	k := m.keys
	switch {
	case key.Matches(msg, k.Hide):
		if g, ok := m.card(); ok {
			m.cardHidden = g.Gate
		}
	case key.Matches(msg, k.Diff):
		g, ok := m.gate(true)
		if !ok || g.Diff == nil {
			m.flash = "no release waits at its gate with a diff to show"
			return m, nil
		}
		d := g.Diff
		m.detail = "What approving " + g.Gate + " changes (" + string(d.From) + " live → " + string(d.To) + " preview), diff " + d.Hash + "\n\n" + d.Unified()
	case key.Matches(msg, k.Card):
		g, ok := m.gate(false)
		switch {
		case !ok:
			m.flash = "no gate is waiting"
		case m.cardHidden == g.Gate:
			m.cardHidden = ""
		default:
			m.cardHidden = g.Gate
		}
	case key.Matches(msg, k.Quit):
		return m.quit()
	case key.Matches(msg, k.Help):
		m.showHelp = true
	case key.Matches(msg, k.Next):
		m.focus = m.nextPane(false)
	case key.Matches(msg, k.Prev):
		m.focus = m.nextPane(true)
	case key.Matches(msg, k.Logs):
		m.fullLogs = !m.fullLogs
	case key.Matches(msg, k.Search):
		// Search is the logs' own; from anywhere, it takes you there.
		m.focus = paneLogs
		cmd := m.logs.startSearch()
		return m, cmd
	case key.Matches(msg, k.Approve):
		return m.approve(false)
	case key.Matches(msg, k.Promote):
		return m.approve(true)
	case key.Matches(msg, k.Rollback):
		return m.rollback()
	case key.Matches(msg, k.Abort):
		return m.abort()
	case key.Matches(msg, k.Skip):
		return m.skip()
	case key.Matches(msg, k.Maintenance):
		return m.maintenance()
	case m.o.ReadOnly && key.Matches(msg, m.actionKeys...):
		m.flash = "read-only: actions are disabled"
	default:
		focused := m.focus
		if m.fullLogs {
			focused = paneLogs
		}
		cmd := m.panes()[focused].Update(msg, m.scene())
		return m, cmd
	}
	return m, nil
}

// isInterrupt reports ctrl+c.
func isInterrupt(msg tea.KeyPressMsg) bool { return msg.String() == "ctrl+c" }

// confirmText is the last line of every modal, from the Confirm binding.
func (m Model) confirmText() string {
	return "Press " + m.keys.Confirm.Help().Key + " to confirm, any other key to cancel."
}

// gate returns the gate a's and p's act on: for p, only a blue-green
// step's switch gate.
func (m Model) gate(promote bool) (engine.GateWaiting, bool) {
	for _, g := range m.snap.Gates {
		if !promote || m.releaseGate(g) {
			return g, true
		}
	}
	return engine.GateWaiting{}, false
}

// card is the waiting gate the console shows as a card, unless someone
// hid it to look at the panes.
func (m Model) card() (engine.GateWaiting, bool) {
	g, ok := m.gate(false)
	if !ok || g.Gate == m.cardHidden {
		return engine.GateWaiting{}, false
	}
	return g, true
}

// releaseGate reports whether g is a blueGreen step's gate, whose
// approval switches the Service.
func (m Model) releaseGate(g engine.GateWaiting) bool {
	if st, ok := m.snap.Stage(g.Stage); ok {
		for _, step := range st.Steps {
			if step.Name == g.Step && step.Kind == spec.KindBlueGreen {
				return true
			}
		}
	}
	return false
}

func (m Model) approve(promote bool) (Model, tea.Cmd) {
	g, ok := m.gate(promote)
	if !ok {
		if promote {
			return m.promoteEarly()
		}
		m.flash = "no gate is waiting for approval"
		return m, nil
	}
	ctl, actor := m.controller(), m.o.Actor
	// The approval is bound to the diff on screen now, as the person
	// decides: if the preview changes before they confirm, it is refused.
	seen := ""
	if g.Diff != nil {
		seen = g.Diff.Hash
	}
	do := func() tea.Msg {
		return actionMsg{what: "approved " + g.Gate + " as " + actor.Name, err: ctl.ApproveSeen(actor, g.Gate, seen)}
	}
	// Approving a blue-green gate switches production traffic: like every
	// other such key, it states the engine's plan and asks first.
	if !promote && !m.releaseGate(g) {
		return m, do
	}
	r := m.currentRelease()
	body := "Approve " + g.Gate + ": " + g.Instruction
	if r != nil && r.Observed != nil {
		body = g.Instruction + "\n\n" + engine.PlanReleasePromote(*r).String()
	}
	m.modal = &modal{title: "Promote", body: body + "\n\n" + m.confirmText(), confirm: do}
	return m, nil
}

// promoteEarly asks a release that has not reached its gate to switch as
// soon as its preview is Ready, skipping the rest of its pre-promotion
// analysis and its gate.
func (m Model) promoteEarly() (Model, tea.Cmd) {
	r := m.currentRelease()
	if r == nil || !m.running() || !r.Phase.BeforeSwitch() {
		m.flash = "nothing to promote: no release is on its way to a switch"
		return m, nil
	}
	ctl, actor, service := m.controller(), m.o.Actor, r.Service
	do := func() tea.Msg {
		return actionMsg{what: "promote of " + service + " asked by " + actor.Name, err: ctl.Promote(actor, service, "promoted from the console")}
	}
	m.modal = &modal{title: "Promote now", body: engine.ExplainPromoteEarly(*r) + "\n\n" + m.confirmText(), confirm: do}
	return m, nil
}

func (m Model) rollback() (Model, tea.Cmd) {
	r := m.currentRelease()
	if r == nil || !m.running() {
		m.flash = "no release is in flight in this run; outside a run use cutover rollback SERVICE --reason ..."
		return m, nil
	}
	ctl, actor, service := m.controller(), m.o.Actor, r.Service
	reason := "emergency rollback from the console"
	do := func() tea.Msg {
		return actionMsg{what: "rollback of " + service + " asked by " + actor.Name, err: ctl.Rollback(actor, service, reason)}
	}
	m.modal = &modal{title: "Emergency rollback", body: rollbackText(r) + "\n\n" + m.confirmText(), confirm: do}
	return m, nil
}

// rollbackText says exactly what a rollback will do from where the
// release is: the engine's plan, which is what it then does.
func rollbackText(r *engine.ReleaseProgress) string {
	return engine.PlanReleaseRollback(*r).String()
}

// maintenance asks to point the Service at the maintenance page, or back
// when it serves it already.
func (m Model) maintenance() (Model, tea.Cmd) {
	page := m.o.MaintenancePage
	if page == "" {
		m.flash = "no blueGreen step of this pipeline names a maintenance page (maintenance: ...)"
		return m, nil
	}
	if !m.running() {
		m.flash = "the run is over; use cutover maintenance SERVICE on|off --reason ..."
		return m, nil
	}
	r := m.currentRelease()
	if r != nil && r.Phase.InFlight() {
		m.flash = fmt.Sprintf("a release is in flight: roll it back (%s) or abort it (%s) before maintenance", m.keys.Rollback.Help().Key, m.keys.Abort.Help().Key)
		return m, nil
	}
	on, svc, live := true, "the Service", spec.Color("")
	if r != nil {
		svc = r.Service
		live = r.Live
		if r.Observed != nil {
			live = r.Observed.Service.Live
		}
		on = live != spec.Color(page)
	}
	ctl, actor := m.controller(), m.o.Actor
	do := func() tea.Msg {
		// Bounded, as a switch back may first scale a cold color up.
		ctx, cancel := context.WithTimeout(context.Background(), maintenanceTimeout)
		defer cancel()
		msg, err := ctl.Maintenance(ctx, actor, on)
		return actionMsg{what: msg, err: err}
	}
	body := engine.ExplainMaintenance(svc, page, on)
	title := "Maintenance on"
	if !on {
		title = "Maintenance off"
	}
	m.modal = &modal{title: title, body: body + "\n\n" + m.confirmText(), confirm: do}
	return m, nil
}

// skip asks to skip the selected stage, in an emergency run only.
func (m Model) skip() (Model, tea.Cmd) {
	if !m.snap.Emergency {
		m.flash = "skip works only in emergency mode (cutover run --emergency --reason ...)"
		return m, nil
	}
	sc := m.scene()
	i := m.stages.selected(sc)
	if !m.running() || i >= len(m.snap.Stages) {
		m.flash = "the run is not in flight"
		return m, nil
	}
	st := m.snap.Stages[i]
	if st.Status != engine.StatusPending {
		m.flash = "stage " + st.Name + " is " + string(st.Status) + "; only a stage that has not started can be skipped (move with " + m.keys.Up.Help().Key + ", " + m.keys.Down.Help().Key + ")"
		return m, nil
	}
	ctl, actor := m.controller(), m.o.Actor
	do := func() tea.Msg {
		return actionMsg{what: "stage " + st.Name + " skipped by " + actor.Name, err: ctl.SkipStage(actor, st.Name, "from the console")}
	}
	m.modal = &modal{title: "Skip stage " + st.Name, body: engine.ExplainSkip(st.Name, actor) + "\n\n" + m.confirmText(), confirm: do}
	return m, nil
}

func (m Model) abort() (Model, tea.Cmd) {
	if !m.running() {
		m.flash = "the run is not in flight"
		return m, nil
	}
	ctl, actor := m.controller(), m.o.Actor
	do := func() tea.Msg {
		return actionMsg{what: "abort asked by " + actor.Name, err: ctl.Abort(actor, "aborted from the console")}
	}
	m.modal = &modal{title: "Abort the run", body: engine.ExplainAbort(m.snap) + "\n\n" + m.confirmText(), confirm: do}
	return m, nil
}

func (m Model) quit() (Model, tea.Cmd) {
	if !m.running() || m.o.Shared {
		// A shared run goes on in the server without this console.
		return m, tea.Quit
	}
	ctl, actor := m.controller(), m.o.Actor
	m.modal = &modal{title: "Quit", body: "The run is still in flight. Press " + m.keys.Confirm.Help().Key + " to abort it and quit, any other key to stay.\n\n" +
		"To leave a run going without a console, run it under cutover serve.",
		confirm: func() tea.Msg {
			_ = ctl.Abort(actor, "the console quit")
			return tea.Quit()
		}}
	return m, nil
}

// currentRelease returns the release the console follows: the latest
// progress of a blue-green step. A deploy step's progress names no Service
// and no colors: the blue-green pane and its keys have nothing to act on.
func (m *Model) currentRelease() *engine.ReleaseProgress {
	var best *engine.ReleaseProgress
	for _, st := range m.snap.Stages {
		for _, step := range st.Steps {
			if r := step.Release; r != nil && r.Service != "" && (best == nil || r.Seq > best.Seq) {
				best = r
			}
		}
	}
	return best
}

// openPod shows what the release saw of a pod at once, and reads the rest
// (conditions, container states, Warning events) from the cluster.
func (m *Model) openPod(o openPodMsg) tea.Cmd {
	m.detail = podDetail(o.pod)
	if m.o.PodDetail == nil {
		return nil
	}
	m.detailBase = m.detail
	m.detailPod = o.pod.pod.Name
	m.detail += "\n\n" + m.st.Muted.Render("reading conditions, containers and events…")
	get, ns, name := m.o.PodDetail, o.namespace, o.pod.pod.Name
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d, err := get(ctx, ns, name)
		return podDetailMsg{pod: name, detail: d, err: err}
	}
}
