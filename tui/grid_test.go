package tui

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
	"charm.land/lipgloss/v2/table"
	"github.com/charmbracelet/x/ansi"
)

// tableGrid is grid as it was drawn through lipgloss/table, before grid
// laid the cells out itself: the layout grid must keep.
func tableGrid(st Styles, cols []column, rows [][]string, w int, header bool) []string {
	widths := columnWidths(cols, w)
	cut := func(s string, c int) string { return cutCell(s, widths[c], cols[c].tail) }
	t := table.New().BorderTop(false).BorderBottom(false).BorderLeft(false).BorderRight(false).
		BorderHeader(false).BorderColumn(false).BorderRow(false).Wrap(false)
	if header {
		titles := make([]string, len(cols))
		for i, c := range cols {
			titles[i] = cut(c.title, i)
		}
		t.Headers(titles...)
	}
	for _, r := range rows {
		cells := make([]string, len(cols))
		for i := range cols {
			if i < len(r) {
				cells[i] = cut(r[i], i)
			}
		}
		t.Row(cells...)
	}
	t.StyleFunc(func(row, col int) lipgloss.Style {
		s := lipgloss.NewStyle().Width(widths[col])
		if col < len(cols)-1 {
			s = s.Width(widths[col] + 1).PaddingRight(1)
		}
		if cols[col].right {
			s = s.Align(lipgloss.Right)
		}
		if row == table.HeaderRow {
			s = s.Inherit(st.Muted)
		}
		return s
	})
	out := t.String()
	if out == "" {
		return nil
	}
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		lines[i] = padRight(ansi.Truncate(l, w, ""), w)
	}
	return lines
}

// TestGridIsTheTableLayout draws random tables both ways: styled cells,
// wide runes, cells too long for their column, short rows, right-aligned
// and tail columns, and widths too narrow for the fixed columns.
func TestGridIsTheTableLayout(t *testing.T) {
	st := NewStyles(true)
	words := []string{"", "a", "web-green-7d9f8b6c4-x2k9p", "Running", "CrashLoopBackOff", "12", "1h05m",
		st.Crit.Render("no"), st.OK.Render("yes"), st.Bold.Render("› "), "日本語のポッド", "✓", "registry.example.com/web:v2.3.1"}
	r := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // a reproducible test input
	for i := range 2000 {
		ncols := 1 + r.IntN(7)
		cols := make([]column, ncols)
		for c := range cols {
			cols[c] = column{title: words[r.IntN(6)], right: r.IntN(4) == 0, tail: r.IntN(4) == 0}
			if r.IntN(3) > 0 {
				cols[c].width = 1 + r.IntN(12)
			} else {
				cols[c].min = r.IntN(8)
			}
		}
		rows := make([][]string, r.IntN(5))
		for j := range rows {
			rows[j] = make([]string, r.IntN(ncols+1))
			for c := range rows[j] {
				rows[j][c] = words[r.IntN(len(words))]
			}
		}
		w := 5 + r.IntN(80)
		header := r.IntN(2) == 0
		got, want := grid(st, cols, rows, w, header), tableGrid(st, cols, rows, w, header)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("case %d (w=%d, header=%v, cols=%+v, rows=%q):\ngrid:  %s\ntable: %s", i, w, header, cols, rows,
				fmt.Sprintf("%q", got), fmt.Sprintf("%q", want))
		}
	}
}

// lipglossFrame is how box drew its frame before paneFrame did: the output
// paneFrame must keep.
func lipglossFrame(style lipgloss.Style, lines []string, w, h int) string {
	iw := w - style.GetHorizontalFrameSize()
	cut := make([]string, len(lines))
	for i, l := range lines {
		cut[i] = ansi.Truncate(l, iw, "…")
	}
	return style.Width(w).Height(h).Render(strings.Join(cut, "\n"))
}

// TestFrameIsLipglossBorder draws random panes both ways, focused and not,
// in both themes: styled and wide text, lines too long, too few. Tabs are
// left out: lipgloss widened them after the line was cut, and wrapped it
// (TestFrameKeepsATabbedLineOnItsLine).
func TestFrameIsLipglossBorder(t *testing.T) {
	words := []string{"", "a", " ", "web-green-7d9f8b6c4-x2k9p Running", "日本語のポッド", "✓", "trailing  "}
	r := rand.New(rand.NewPCG(3, 4)) //nolint:gosec // a reproducible test input
	for _, dark := range []bool{true, false} {
		st := NewStyles(dark)
		words := append(slices.Clone(words), st.Crit.Render("no"), st.OK.Render("yes ")+"tail", st.Bold.Render("› ")+st.Muted.Render("muted"))
		for i := range 1000 {
			style := st.Pane
			if r.IntN(2) == 0 {
				style = st.PaneFocus
			}
			w, h := 5+r.IntN(60), 3+r.IntN(10)
			lines := make([]string, r.IntN(h-1)) // box cuts them to the inner height
			for j := range lines {
				var b strings.Builder
				for range r.IntN(5) {
					b.WriteString(words[r.IntN(len(words))])
				}
				lines[j] = b.String()
			}
			if got, want := paneFrame(style, lines, w, h), lipglossFrame(style, lines, w, h); got != want {
				t.Fatalf("case %d (dark %v, %dx%d, lines %q):\nframe:    %q\nlipgloss: %q", i, dark, w, h, lines, got, want)
			}
		}
	}
}

// TestFrameKeepsATabbedLineOnItsLine: a step's output may hold tabs (the
// sanitizer keeps them); each is four spaces, counted before the line is
// cut, so that the pane keeps its size.
func TestFrameKeepsATabbedLineOnItsLine(t *testing.T) {
	st := NewStyles(true)
	out := paneFrame(st.Pane, []string{"a\tb\tc\td\te\tf", "x"}, 16, 5)
	rows := strings.Split(out, "\n")
	if len(rows) != 5 {
		t.Fatalf("%d rows, want 5:\n%s", len(rows), out)
	}
	for i, r := range rows {
		if w := ansi.StringWidth(r); w != 16 || strings.Contains(r, "\t") {
			t.Errorf("row %d is %d wide (want 16), tab kept %v: %q", i, w, strings.Contains(r, "\t"), r)
		}
	}
	if !strings.Contains(rows[1], "a    b    c…") || !strings.Contains(rows[2], "x") {
		t.Errorf("rows %q, want the tabs as four spaces, cut, and x on the next row", rows[1:3])
	}
}
