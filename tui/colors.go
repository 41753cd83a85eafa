package tui

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/human"
)

// releasePane shows blue and green side by side: each color's role,
// readiness, Deployment and image, the Service, and the pods of both.
type releasePane struct {
	w, h int
	keys *KeyMap
	// selPod names the selected pod: the list re-sorts as pods change
	// health, and enter must open the pod the person chose.
	selPod string
	order  *podOrder
}

// selected is the index of the selected pod in pods, or 0.
func (p *releasePane) selected(pods []podRow) int {
	for i, pr := range pods {
		if pr.pod.Name == p.selPod {
			return i
		}
	}
	return 0
}

func (p *releasePane) SetSize(w, h int) { p.w, p.h = w, h }

func (p *releasePane) ShortHelp() []key.Binding {
	return []key.Binding{p.keys.Up, p.keys.Down, p.keys.Enter}
}

func (p *releasePane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }

func (p *releasePane) Update(msg tea.KeyPressMsg, sc *scene) tea.Cmd {
	r := sc.release
	if r == nil {
		return nil
	}
	pods := p.order.of(r)
	if len(pods) == 0 {
		return nil
	}
	i := p.selected(pods)
	switch {
	case key.Matches(msg, p.keys.Up):
		p.selPod = pods[clamp(i-1, 0, len(pods)-1)].pod.Name
	case key.Matches(msg, p.keys.Down):
		p.selPod = pods[clamp(i+1, 0, len(pods)-1)].pod.Name
	case key.Matches(msg, p.keys.Enter):
		ns, _, _ := strings.Cut(r.Service, "/")
		return emit(openPodMsg{namespace: ns, pod: pods[i]})
	}
	return nil
}

// podsOf returns the pods of both colors, failing ones first.
func podsOf(r *engine.ReleaseProgress) []podRow {
	var out []podRow
	for _, c := range []spec.Color{spec.Blue, spec.Green} {
		for _, p := range colorState(r, c).Pods {
			out = append(out, podRow{color: c, pod: p})
		}
	}
	slices.SortStableFunc(out, func(a, b podRow) int { return boolInt(a.healthy()) - boolInt(b.healthy()) })
	return out
}

// podOrder keeps the pods of the release last drawn, sorted: the pane is
// redrawn every second for its ages, and sorting 1,000 pods each time was
// most of that. A release's Seq changes with anything it shows. Shared by
// every copy of the model: a cache, not state. A nil podOrder sorts every
// time.
type podOrder struct {
	mu   sync.Mutex
	rel  *engine.ReleaseProgress
	seq  uint64
	pods []podRow
}

// of returns r's pods, failing ones first. The slice is shared: callers
// read it and never change it.
func (o *podOrder) of(r *engine.ReleaseProgress) []podRow {
	if o == nil {
		return podsOf(r)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.rel != r || o.seq != r.Seq {
		o.rel, o.seq, o.pods = r, r.Seq, podsOf(r)
	}
	return o.pods
}

type podRow struct {
	color spec.Color
	pod   engine.PodState
}

// podAge is a pod's age now: its age when observed, plus the time since.
// The console redraws once a second, so AGE ticks between events.
func podAge(p engine.PodState, observed, now time.Time) time.Duration {
	if observed.IsZero() || now.Before(observed) {
		return p.Age
	}
	return p.Age + now.Sub(observed)
}

func (p podRow) healthy() bool { return p.pod.Ready && p.pod.Reason == "" }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (p *releasePane) View(sc *scene, focused bool) string {
	s := sc.st
	iw, ih := inner(s, p.w, p.h)
	r := sc.release
	if r == nil {
		return box(s, "Blue / Green", s.Muted.Render("no release in this run yet"), p.w, p.h, focused)
	}
	var live spec.Color
	var mark engine.ReleaseMark
	var selector map[string]string
	if r.Observed != nil {
		live, mark, selector = r.Observed.Service.Live, r.Observed.Service.Release, r.Observed.Service.Selector
	} else {
		live = r.Live
	}
	title := "Blue / Green"
	lines := []string{fmt.Sprintf("%s  phase %s%s", r.Service, s.Bold.Render(string(r.Phase)), msgSuffix(s, r.Message))}
	if sc.narrow {
		// The Service's name goes into the title: the rows are for the
		// colors and the worst pods.
		_, svc, _ := strings.Cut(r.Service, "/")
		title += " · " + svc
		lines = []string{s.Bold.Render(string(r.Phase)) + msgSuffix(s, r.Message)}
	}
	lines = append(lines, p.colorRows(sc, r, live, iw)...)
	if !sc.narrow && ih >= 7 {
		pairs := make([]string, 0, len(selector))
		for _, k := range sortedKeys(selector) {
			pairs = append(pairs, k+"="+selector[k])
		}
		sw := "never switched by cutover"
		if !mark.SwitchedAt.IsZero() {
			sw = fmt.Sprintf("last switch %s by %s", mark.SwitchedAt.Format("15:04:05"), nonEmpty(mark.SwitchedBy, "?"))
		}
		lines = append(lines, s.Muted.Render("selector ")+strings.Join(pairs, ",")+s.Muted.Render("  "+sw), "")
	}
	if room := ih - len(lines) - 1; room > 0 {
		lines = append(lines, p.podRows(sc, r, focused, iw, room)...)
	}
	return box(s, title, strings.Join(lines, "\n"), p.w, p.h, focused)
}

// colorRows are the two colors: each one's role, readiness, Deployment
// (when there is room) and image, the tag when space is short.
func (p *releasePane) colorRows(sc *scene, r *engine.ReleaseProgress, live spec.Color, iw int) []string {
	s := sc.st
	roleW := 0
	rows := make([][]string, 0, 2)
	for _, c := range []spec.Color{spec.Blue, spec.Green} {
		cs := colorState(r, c)
		role := colorRole(s, r, c, live, cs, sc.now)
		roleW = max(roleW, lipgloss.Width(role))
		img := ""
		for _, v := range cs.Images {
			img = v
		}
		ready := fmt.Sprintf("%d/%d", cs.Ready, cs.Replicas)
		if !sc.narrow {
			ready += " ready"
		}
		if cs.Replicas > 0 && cs.Ready < cs.Replicas {
			ready = s.Warn.Render(ready)
		}
		if sc.narrow {
			rows = append(rows, []string{s.colorLabel(c), role, ready, nonEmpty(imageTag(img), "-")})
		} else {
			rows = append(rows, []string{s.colorLabel(c), role, ready, nonEmpty(cs.Deployment, "-"), nonEmpty(img, "-")})
		}
	}
	cols := []column{{width: 7}, {width: min(roleW, max(iw-7-9-8-3, 4))}, {width: 9}, {tail: true}}
	if !sc.narrow {
		depW := 0
		for _, r := range rows {
			depW = max(depW, len(r[3]))
		}
		cols = []column{{width: 7}, {width: min(roleW, max(iw/3, 7))}, {width: 9}, {width: min(depW, max(iw/4, 8))}, {tail: true}}
	} else {
		cols[2].width = max(lipgloss.Width(rows[0][2]), lipgloss.Width(rows[1][2]))
	}
	return grid(s, cols, rows, iw, false)
}

// podRows is the pods of both colors, the failing ones first, as a table
// of room rows with its header, scrolled to keep the selected pod in view:
// 60 pods must not cost 60 rows a frame.
func (p *releasePane) podRows(sc *scene, r *engine.ReleaseProgress, focused bool, iw, room int) []string {
	s := sc.st
	pods := p.order.of(r)
	if len(pods) == 0 {
		return []string{s.Muted.Render("  no pods")}
	}
	sel := p.selected(pods)
	first := 0
	if len(pods) > room {
		first = clamp(sel-room/2, 0, len(pods)-room)
	}
	nameW := 3
	for _, pr := range pods[first:min(len(pods), first+room)] {
		nameW = max(nameW, len(pr.pod.Name))
	}
	var cols []column
	if sc.narrow {
		// The color is the icon: the name, phase and reason need the room.
		cols = []column{{width: 3}, {title: "POD", tail: true}, {title: "PHASE", width: 7}, {title: "RST", width: 3, right: true}, {title: "AGE", width: 6, right: true}, {title: "REASON", min: 6}}
	} else {
		cols = []column{{width: 2}, {title: "COLOR", width: 6}, {title: "POD", tail: true}, {title: "PHASE", width: 9}, {title: "READY", width: 5}, {title: "RST", width: 3, right: true}, {title: "AGE", width: 6, right: true}, {title: "REASON", min: 6}}
	}
	fixed := len(cols) - 1
	for _, c := range cols {
		fixed += c.width
	}
	pod := 2
	if sc.narrow {
		pod = 1
	}
	// The name has the room the reasons leave: whole when it can be.
	reasonW := 0
	for _, pr := range pods[first:min(len(pods), first+room)] {
		reasonW = max(reasonW, len(pr.pod.Reason))
	}
	keep := 12
	if sc.narrow {
		keep = 8
	}
	cols[pod].width = clamp(nameW, 8, max(iw-fixed-min(reasonW, keep), 8))
	var rows [][]string
	for i := first; i < min(len(pods), first+room); i++ {
		pr := pods[i]
		lead := "  "
		if focused && i == sel {
			lead = s.Bold.Render("› ")
		}
		age := human.Duration(podAge(pr.pod, r.Time, sc.now))
		reason := s.Crit.Render(pr.pod.Reason)
		if sc.narrow {
			rows = append(rows, []string{lead + s.colorIcon(pr.color), pr.pod.Name, pr.pod.Phase, fmt.Sprint(pr.pod.Restarts), age, reason})
			continue
		}
		ready := s.OK.Render("yes")
		if !pr.pod.Ready {
			ready = s.Crit.Render("no")
		}
		rows = append(rows, []string{lead, string(pr.color), pr.pod.Name, pr.pod.Phase, ready, fmt.Sprint(pr.pod.Restarts), age, reason})
	}
	return grid(s, cols, rows, iw, true)
}

func msgSuffix(s Styles, msg string) string {
	if msg == "" {
		return ""
	}
	return s.Muted.Render(" · " + msg)
}

// colorState returns what the release last saw of color c.
func colorState(r *engine.ReleaseProgress, c spec.Color) engine.ColorState {
	if r.Observed != nil {
		if cs := r.Observed.Color(c); cs.Exists || cs.Deployment != "" {
			return cs
		}
	}
	if r.Color == c {
		return r.State
	}
	return engine.ColorState{}
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
		"age       " + human.Duration(p.pod.Age),
		"node      " + nonEmpty(p.pod.Node, "-"),
		"reason    " + nonEmpty(p.pod.Reason, "-"),
	}, "\n")
}

// colorRole is what a color is to the release: LIVE, the preview on its
// way to a switch, or else warm, cold, starting or missing as the engine
// judges it (engine.ColorWarmth), with the scale-down countdown while the
// old color is kept warm.
func colorRole(s Styles, r *engine.ReleaseProgress, c, live spec.Color, cs engine.ColorState, now time.Time) string {
	switch {
	case c == live:
		return s.OK.Render("LIVE")
	case c == r.To && (r.Phase.BeforeSwitch() || r.Phase == engine.PhaseSwitching):
		return s.Info.Render("preview")
	}
	switch w := engine.ColorWarmth(cs); w {
	case engine.WarmthWarm:
		if !r.ScaleDownAt.IsZero() && r.ScaleDownAt.After(now) {
			return s.Info.Render("warm, scaled down in " + human.Duration(r.ScaleDownAt.Sub(now)))
		}
		return s.Info.Render("warm")
	case engine.WarmthMissing:
		return s.Crit.Render(string(w))
	default:
		return s.Muted.Render(string(w))
	}
}
