package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

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
	pods := podsOf(r)
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
	w, h := p.w, p.h
	r := sc.release
	if r == nil {
		return box(s, "Blue / Green", s.Muted.Render("no release in this run yet"), w, h, focused)
	}
	var live spec.Color
	var mark engine.ReleaseMark
	var selector map[string]string
	if r.Observed != nil {
		live, mark, selector = r.Observed.Service.Live, r.Observed.Service.Release, r.Observed.Service.Selector
	} else {
		live = r.Live
	}
	lines := []string{fmt.Sprintf("%s  phase %s%s", r.Service, s.Bold.Render(string(r.Phase)), msgSuffix(s, r.Message))}
	for _, c := range []spec.Color{spec.Blue, spec.Green} {
		cs := colorState(r, c)
		role := colorRole(s, r, c, live, cs, sc.now)
		img := ""
		for _, v := range cs.Images {
			img = v
		}
		ready := fmt.Sprintf("%d/%d ready", cs.Ready, cs.Replicas)
		if cs.Replicas > 0 && cs.Ready < cs.Replicas {
			ready = s.Warn.Render(ready)
		}
		// The image's end is its tag, what tells the colors apart.
		imgW := max(w-paneFrameW-len(nonEmpty(cs.Deployment, "-"))-30, 8)
		lines = append(lines, fmt.Sprintf("%s %s  %s  %s  %s", padRight(s.colorLabel(c), 7), padRight(role, 7), ready, nonEmpty(cs.Deployment, "-"), tail(nonEmpty(img, "-"), imgW)))
	}
	if h >= 9 {
		pairs := make([]string, 0, len(selector))
		for _, k := range sortedKeys(selector) {
			pairs = append(pairs, k+"="+selector[k])
		}
		sw := "never switched by cutover"
		if !mark.SwitchedAt.IsZero() {
			sw = fmt.Sprintf("last switch %s by %s", mark.SwitchedAt.Format("15:04:05"), nonEmpty(mark.SwitchedBy, "?"))
		}
		lines = append(lines, s.Muted.Render("selector ")+strings.Join(pairs, ",")+s.Muted.Render("  "+sw), "")
		pods := podsOf(r)
		sel := p.selected(pods)
		nw := 3
		for _, pr := range pods {
			nw = max(nw, len(pr.pod.Name))
		}
		nw = min(nw, max(w-46, 12))
		lines = append(lines, s.Muted.Render(fmt.Sprintf("  %-6s %-*s %-9s %-5s %3s %6s  %s", "COLOR", nw, "POD", "PHASE", "READY", "RST", "AGE", "REASON")))
		// Only the rows that fit are drawn, scrolled to keep the selected
		// pod in view: 60 pods must not cost 60 rows a frame.
		room := max(h-s.Pane.GetVerticalFrameSize()-len(lines), 1)
		first := 0
		if len(pods) > room {
			first = clamp(sel-room/2, 0, len(pods)-room)
		}
		for i := first; i < min(len(pods), first+room); i++ {
			pr := pods[i]
			prefix := "  "
			if focused && i == sel {
				prefix = s.Bold.Render("› ")
			}
			ready := s.OK.Render("yes  ")
			if !pr.pod.Ready {
				ready = s.Crit.Render("no   ")
			}
			row := fmt.Sprintf("%s%-6s %-*s %-9s %s %3d %6s  %s", prefix, string(pr.color), nw, tail(pr.pod.Name, nw), pr.pod.Phase, ready, pr.pod.Restarts, human.Duration(podAge(pr.pod, r.Time, sc.now)), s.Crit.Render(pr.pod.Reason))
			lines = append(lines, row)
		}
		if len(pods) == 0 {
			lines = append(lines, s.Muted.Render("  no pods"))
		}
	}
	return box(s, "Blue / Green", strings.Join(lines, "\n"), w, h, focused)
}

// tail keeps the end of a name that is too long, where a pod's name has
// what tells it from its siblings.
func tail(s string, w int) string {
	if len(s) <= w {
		return s
	}
	return "…" + s[len(s)-w+1:]
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
