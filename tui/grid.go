package tui

import (
	"strings"

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
// cells wide, one space between columns. Each cell is cut to its column
// first, so the table never chooses what to cut. With header, the first
// line holds the columns' titles.
//
// It lays the cells out itself rather than through lipgloss/table: the
// table measured and styled every cell several times, and the pods'
// table is redrawn every second for its ages. TestGridIsTheTableLayout
// holds it to lipgloss/table's output.
func grid(st Styles, cols []column, rows [][]string, w int, header bool) []string {
	widths := columnWidths(cols, w)
	total := len(widths) - 1
	for _, cw := range widths {
		total += cw
	}
	lines := make([]string, 0, len(rows)+1)
	var b strings.Builder
	line := func(cells []string, style func(string) string) {
		b.Reset()
		for i, cw := range widths {
			s := ""
			if i < len(cells) {
				s = cells[i]
			}
			s = cutCell(s, cw, cols[i].tail)
			pad := max(cw-cellWidth(s), 0)
			if style != nil {
				s = style(s)
			}
			if cols[i].right {
				b.WriteString(strings.Repeat(" ", pad))
				b.WriteString(s)
			} else {
				b.WriteString(s)
				b.WriteString(strings.Repeat(" ", pad))
			}
			if i < len(widths)-1 {
				b.WriteByte(' ')
			}
		}
		l := b.String()
		if total > w {
			l = padRight(ansi.Truncate(l, w, ""), w)
		} else if total < w {
			l += strings.Repeat(" ", w-total)
		}
		lines = append(lines, l)
	}
	if header {
		titles := make([]string, len(cols))
		for i, c := range cols {
			titles[i] = c.title
		}
		line(titles, func(s string) string { return st.Muted.Render(s) })
	}
	for _, r := range rows {
		line(r, nil)
	}
	return lines
}

// cutCell cuts s to w cells: a tail column from the left, as a pod's
// name or an image's tag is told by its end.
func cutCell(s string, w int, tail bool) string {
	sw := cellWidth(s)
	if sw <= w {
		return s
	}
	if w <= 1 {
		return ansi.Truncate(s, w, "")
	}
	if tail {
		s = "…" + ansi.TruncateLeft(s, sw-w+1, "")
		if cellWidth(s) <= w {
			return s
		}
		// A wide rune straddled the cut: its end goes too.
	}
	return ansi.Truncate(s, w, "…")
}

// cellWidth is ansi.StringWidth with a shortcut for plain ASCII, which
// most cells are (names, phases, counts): walking graphemes was most of
// a frame's cost.
func cellWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return ansi.StringWidth(s)
		}
	}
	return len(s)
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
