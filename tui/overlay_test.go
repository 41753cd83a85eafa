package tui

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
)

// composite is the overlay as lipgloss composes it: both layers on a
// canvas of cells. splice must draw the same cells.
func composite(under, over string, x, y, w, h int) string {
	layers := lipgloss.NewCompositor(lipgloss.NewLayer(under), lipgloss.NewLayer(over).X(x).Y(y).Z(1))
	return lipgloss.NewCanvas(w, h).Compose(layers).Render()
}

// cellDiff draws a and b on screens of w×h cells as a terminal would and
// names the first cell that differs, or "". Where a wide character (of
// under, or of over at ox, oy) was cut by an edge, the cell left over is
// a blank in both; the compositor gives it the cut character's style,
// splice none, and either is a fair drawing of half a character.
func cellDiff(a, b, under, over string, ox, oy, w, h int) string {
	sa, sb, su := uv.NewScreenBuffer(w, h), uv.NewScreenBuffer(w, h), uv.NewScreenBuffer(w, h)
	uv.NewStyledString(a).Draw(sa, sa.Bounds())
	uv.NewStyledString(b).Draw(sb, sb.Bounds())
	uv.NewStyledString(under).Draw(su, su.Bounds())
	ow, oh := lipgloss.Width(over), lipgloss.Height(over)
	so := uv.NewScreenBuffer(ox+ow+2, oy+oh)
	uv.NewStyledString(over).Draw(so, uv.Rect(ox, oy, ow, oh))
	wide := func(x, y int) bool {
		for _, sc := range []uv.ScreenBuffer{su, so} {
			if c := sc.CellAt(x, y); c != nil && c.Width > 1 {
				return true
			}
			if c := sc.CellAt(x-1, y); x > 0 && c != nil && c.Width > 1 {
				return true
			}
		}
		return false
	}
	for y := range h {
		for x := range w {
			ca, cb := sa.CellAt(x, y), sb.CellAt(x, y)
			if ca == nil && cb == nil {
				continue
			}
			if ca != nil && cb != nil && ca.Content == " " && cb.Content == " " && wide(x, y) {
				continue
			}
			if ca == nil || cb == nil || !ca.Equal(cb) {
				return fmt.Sprintf("cell %d,%d: %#v, want %#v", x, y, ca, cb)
			}
		}
	}
	return ""
}

// TestSpliceIsTheCompositor: the gate's card spliced into the screen row
// by row draws the cells lipgloss's compositor draws, over 2,000 random
// screens and cards: styled words, wide characters cut at either edge,
// cards at every offset and partly off the screen.
func TestSpliceIsTheCompositor(t *testing.T) {
	words := []string{"", "a", " ", "web-green-7d9f8b6c4-x2k9p Running", "日本語のポッド", "✓", "trailing  ", "│", "━━━──"}
	r := rand.New(rand.NewPCG(5, 6)) //nolint:gosec // a reproducible test input
	for _, dark := range []bool{true, false} {
		st := NewStyles(dark)
		words := append(slices.Clone(words), st.Crit.Render("no"), st.OK.Render("yes ")+"tail", st.Bold.Render("› ")+st.Muted.Render("muted"), st.Info.Render("日本"), "\x1b[1;31mopen red and bold to the row's end")
		line := func(n int) string {
			var b strings.Builder
			for range r.IntN(n) {
				b.WriteString(words[r.IntN(len(words))])
			}
			return b.String()
		}
		for i := range 1000 {
			w, h := 10+r.IntN(110), 3+r.IntN(30)
			rows := make([]string, h)
			for j := range rows {
				// The body is drawn to the screen's width, and each row
				// closes its styles, as lipgloss draws them; a style may
				// still be open where the card cuts the row.
				rows[j] = fit(line(12), w, 1) + ansi.ResetStyle
			}
			under := strings.Join(rows, "\n")
			body := make([]string, 1+r.IntN(6))
			for j := range body {
				body[j] = line(4)
			}
			// A card's row may start unstyled (a card without a
			// border) where under's style is open at the cut.
			over := st.Modal.Width(4 + r.IntN(w)).Render(strings.Join(body, "\n"))
			if r.IntN(3) == 0 {
				over = lipgloss.NewStyle().Width(1 + r.IntN(w)).Render(strings.Join(body, "\n"))
			}
			x, y := r.IntN(w), r.IntN(h)
			if r.IntN(3) == 0 {
				x = max((w-lipgloss.Width(over))/2, 0)
			}
			got, want := splice(under, over, x, y, w, h), composite(under, over, x, y, w, h)
			if d := cellDiff(got, want, under, over, x, y, w, h); d != "" {
				t.Fatalf("case %d (dark %v, %dx%d, card at %d,%d): %s\nunder: %q\nover:  %q\nsplice:    %q\ncompositor: %q", i, dark, w, h, x, y, d, under, over, got, want)
			}
		}
	}
}
