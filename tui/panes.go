package tui

import (
	"strings"
	"time"

	"charm.land/lipgloss/v2"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/cutover-sh/cutover/engine"
)

// component is the contract every pane keeps, soft-serve's: it is told its
// size, says which keys it takes (its help), handles the keys the root
// passes it while it has the focus, and draws itself from the scene. The
// root handles the global keys and the window size.
type component interface {
	help.KeyMap
	SetSize(w, h int)
	Update(msg tea.KeyPressMsg, sc *scene) tea.Cmd
	View(sc *scene, focused bool) string
}

// scene is what the panes draw from: the run as the console last saw it.
// The root builds it once per frame or key.
type scene struct {
	snap    *engine.Snapshot
	release *engine.ReleaseProgress
	panels  []engine.PanelData
	st      Styles
	now     time.Time
	spin    string
	// narrow is the compact layout, for short or narrow terminals.
	narrow bool
	// noPrometheus is a pipeline with no Prometheus: no panels to wait for.
	noPrometheus bool
}

// Intents a pane sends the root, which owns the overlays.
type (
	// detailMsg opens a stage's detail over the body.
	detailMsg string
	// openPodMsg opens a pod's detail and reads the rest from the cluster.
	openPodMsg struct {
		namespace string
		pod       podRow
	}
	// flashMsg says something in the footer.
	flashMsg string
)

// emit wraps a message as a command.
func emit(msg tea.Msg) tea.Cmd { return func() tea.Msg { return msg } }

// box draws a pane of exactly w×h with its title in the top border.
func box(st Styles, title, content string, w, h int, focused bool) string {
	style := st.Pane
	if focused {
		style = st.PaneFocus
	}
	iw, ih := w-style.GetHorizontalFrameSize(), h-style.GetVerticalFrameSize()
	if iw < 1 || ih < 1 {
		return ""
	}
	lines := strings.Split(content, "\n")
	if len(lines) > ih {
		lines = lines[:ih]
	}
	out := paneFrame(style, lines, w, h)
	// The title goes into the top border, k9s-style, to save a line.
	rows := strings.SplitN(out, "\n", 2)
	if len(rows) == 2 && title != "" {
		// A long title is cut rather than dropped: the pane keeps its name.
		t := " " + ansi.Truncate(title, max(ansi.StringWidth(rows[0])-6, 1), "…") + " "
		if focused {
			t = st.Title.Render(t)
		} else {
			t = st.PaneTitle.Render(t)
		}
		if ansi.StringWidth(rows[0]) > ansi.StringWidth(t)+3 {
			rows[0] = ansi.Truncate(rows[0], 2, "") + t + ansi.TruncateLeft(rows[0], 2+ansi.StringWidth(t), "")
		}
		out = rows[0] + "\n" + rows[1]
	}
	return out
}

// paneFrame draws lines inside style's border and padding, w×h in all, as
// style.Width(w).Height(h).Render would: each line cut to the inner width
// (a tab is four spaces), padded with spaces, blank lines below. It draws
// the border itself because lipgloss measured every line several times
// over, and a pane is redrawn every second for its clock.
// TestFrameIsLipglossBorder holds it to lipgloss's output.
func paneFrame(style lipgloss.Style, lines []string, w, h int) string {
	bd := style.GetBorderStyle()
	edge := lipgloss.NewStyle().Foreground(style.GetBorderTopForeground())
	padL, padR := style.GetPaddingLeft(), style.GetPaddingRight()
	iw, ih := w-2-padL-padR, h-2
	left := edge.Render(bd.Left) + strings.Repeat(" ", padL)
	right := strings.Repeat(" ", padR) + edge.Render(bd.Right)
	var b strings.Builder
	b.WriteString(edge.Render(bd.TopLeft + strings.Repeat(bd.Top, w-2) + bd.TopRight))
	for i := range ih {
		b.WriteByte('\n')
		b.WriteString(left)
		l := ""
		if i < len(lines) {
			l = strings.ReplaceAll(lines[i], "\t", "    ")
		}
		lw := cellWidth(l)
		if lw > iw {
			l = ansi.Truncate(l, iw, "…")
			lw = ansi.StringWidth(l)
		}
		b.WriteString(l)
		b.WriteString(strings.Repeat(" ", max(iw-lw, 0)))
		b.WriteString(right)
	}
	b.WriteByte('\n')
	b.WriteString(edge.Render(bd.BottomLeft + strings.Repeat(bd.Bottom, w-2) + bd.BottomRight))
	return b.String()
}

// paneFrameW and paneFrameH are what a pane's border and padding take,
// the same in every style.
var paneFrameW, paneFrameH = NewStyles(true).Pane.GetFrameSize()

// inner is the content size of a pane of w×h.
func inner(st Styles, w, h int) (int, int) {
	return w - st.Pane.GetHorizontalFrameSize(), h - st.Pane.GetVerticalFrameSize()
}

// padRight pads a styled string to w cells.
func padRight(s string, w int) string {
	if n := ansi.StringWidth(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

func clamp(v, lo, hi int) int {
	return max(lo, min(v, hi))
}

func nonEmpty(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
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

// stack joins blocks top to bottom.
func stack(blocks ...string) string { return strings.Join(blocks, "\n") }

// beside joins two blocks left to right, line by line. Both are panes
// drawn to their exact size, so no line is measured; a block with fewer
// lines gets blank ones of its first line's width.
func beside(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	wa := 0
	if len(la) > 0 {
		wa = ansi.StringWidth(la[0])
	}
	var out strings.Builder
	for i := range max(len(la), len(lb)) {
		if i > 0 {
			out.WriteByte('\n')
		}
		if i < len(la) {
			out.WriteString(la[i])
		} else {
			out.WriteString(strings.Repeat(" ", wa))
		}
		if i < len(lb) {
			out.WriteString(lb[i])
		}
	}
	return out.String()
}

// fitHeight cuts or pads a block whose lines are w wide to h lines.
func fitHeight(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, strings.Repeat(" ", w))
	}
	return strings.Join(lines, "\n")
}
