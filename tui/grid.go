package tui

import (
	"strings"

	"charm.land/lipgloss/v2"
	"charm.land/lipgloss/v2/table"
	"github.com/charmbracelet/x/ansi"
)

// column is one column of a grid.
type column struct {
	title string
	// width is the column's width; 0 shares what the fixed columns leave,
	// never less than min.
	width, min int
	// right aligns numbers and durations.
	right bool
	// tail cuts a long cell from the left: a pod's name ends with what
	// tells it from its siblings, an image with its tag.
	tail bool
}

// grid lays rows of styled cells out as a borderless table exactly w
// cells wide, one space between columns, through lipgloss/table. Each
// cell is cut to its column first, so the table never chooses what to
// cut. With header, the first line holds the columns' titles.
func grid(st Styles, cols []column, rows [][]string, w int, header bool) []string {
	widths := columnWidths(cols, w)
	cut := func(s string, c int) string {
		cw := widths[c]
		if ansi.StringWidth(s) <= cw {
			return s
		}
		if cw <= 1 {
			return ansi.Truncate(s, cw, "")
		}
		if cols[c].tail {
			return "…" + ansi.TruncateLeft(s, ansi.StringWidth(s)-cw+1, "")
		}
		return ansi.Truncate(s, cw, "…")
	}
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

// columnWidths gives each fixed column its width and shares the rest of
// w, less one space between columns, among the flexible ones.
func columnWidths(cols []column, w int) []int {
	widths := make([]int, len(cols))
	left, flex := w-max(len(cols)-1, 0), 0
	for i, c := range cols {
		if c.width > 0 {
			widths[i] = c.width
			left -= c.width
		} else {
			flex++
		}
	}
	for i, c := range cols {
		if c.width == 0 {
			widths[i] = max(left/flex, c.min, 1)
			left -= widths[i]
			flex--
		}
	}
	return widths
}
