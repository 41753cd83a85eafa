package main

import (
	"io"
	"slices"
	"strings"

	"charm.land/lipgloss/v2"
	"charm.land/lipgloss/v2/table"

	"github.com/cutover-sh/cutover/sanitize"
)

// writeTable writes a plain table, kubectl's way: no borders, two spaces
// between columns, the columns listed in right aligned (durations and
// counts). Every cell passes the sanitizer: pod reasons and images come
// from the cluster.
func writeTable(w io.Writer, headers []string, rows [][]string, right ...int) error {
	t := table.New().BorderTop(false).BorderBottom(false).BorderLeft(false).BorderRight(false).
		BorderHeader(false).BorderColumn(false).BorderRow(false).Wrap(false).
		Headers(headers...)
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = sanitize.Line(c)
		}
		t.Row(cells...)
	}
	t.StyleFunc(func(_, col int) lipgloss.Style {
		s := lipgloss.NewStyle()
		if col < len(headers)-1 {
			s = s.PaddingRight(2)
		}
		if slices.Contains(right, col) {
			s = s.Align(lipgloss.Right)
		}
		return s
	})
	// Lip Gloss pads the last cells; a copied line should not carry them.
	var out strings.Builder
	for _, l := range strings.Split(t.String(), "\n") {
		out.WriteString(strings.TrimRight(l, " ") + "\n")
	}
	_, err := io.WriteString(w, out.String())
	return err
}
