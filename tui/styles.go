package tui

import (
	"image/color"

	"github.com/cutover-sh/cutover/engine/spec"

	"charm.land/lipgloss/v2"

	"github.com/cutover-sh/cutover/engine"
)

// Styles is every style the console draws with, built once for the
// terminal's background. The renderer downsamples the colors to what the
// terminal supports (truecolor, 256, 16, none), so nothing here checks.
type Styles struct {
	Dark bool

	App        lipgloss.Style
	Title      lipgloss.Style
	Muted      lipgloss.Style
	Bold       lipgloss.Style
	Pane       lipgloss.Style
	PaneFocus  lipgloss.Style
	PaneTitle  lipgloss.Style
	Modal      lipgloss.Style
	ModalTitle lipgloss.Style
	Flash      lipgloss.Style
	Marker     lipgloss.Style // DEMO, READ-ONLY, EMERGENCY
	// Match marks a search match; it adds no cells, so columns stay put.
	Match lipgloss.Style

	OK, Warn, Crit, Info lipgloss.Style

	// Blue and Green color the two sides; every use pairs them with a
	// label and an icon, so they are told apart without color too.
	Blue, Green lipgloss.Style

	BarFull, BarEmpty color.Color
}

// NewStyles returns the styles for a dark or a light background.
func NewStyles(dark bool) Styles {
	ld := lipgloss.LightDark(dark)
	fg := ld(lipgloss.Color("#1f2328"), lipgloss.Color("#e6edf3"))
	muted := ld(lipgloss.Color("#57606a"), lipgloss.Color("#8b949e"))
	border := ld(lipgloss.Color("#afb8c1"), lipgloss.Color("#484f58"))
	accent := ld(lipgloss.Color("#0969da"), lipgloss.Color("#58a6ff"))
	ok := ld(lipgloss.Color("#1a7f37"), lipgloss.Color("#3fb950"))
	warn := ld(lipgloss.Color("#9a6700"), lipgloss.Color("#d29922"))
	crit := ld(lipgloss.Color("#cf222e"), lipgloss.Color("#f85149"))
	blue := ld(lipgloss.Color("#0550ae"), lipgloss.Color("#79c0ff"))
	green := ld(lipgloss.Color("#116329"), lipgloss.Color("#56d364"))
	pane := lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(border).Padding(0, 1)
	return Styles{
		Dark:       dark,
		App:        lipgloss.NewStyle().Foreground(fg),
		Title:      lipgloss.NewStyle().Bold(true).Foreground(accent),
		Muted:      lipgloss.NewStyle().Foreground(muted),
		Bold:       lipgloss.NewStyle().Bold(true),
		Pane:       pane,
		PaneFocus:  pane.BorderForeground(accent),
		PaneTitle:  lipgloss.NewStyle().Bold(true),
		Modal:      lipgloss.NewStyle().Border(lipgloss.DoubleBorder()).BorderForeground(crit).Padding(1, 2),
		ModalTitle: lipgloss.NewStyle().Bold(true).Foreground(crit),
		Flash:      lipgloss.NewStyle().Foreground(warn),
		Marker:     lipgloss.NewStyle().Bold(true).Reverse(true).Padding(0, 1),
		Match:      lipgloss.NewStyle().Bold(true).Reverse(true),
		OK:         lipgloss.NewStyle().Foreground(ok),
		Warn:       lipgloss.NewStyle().Foreground(warn),
		Crit:       lipgloss.NewStyle().Foreground(crit).Bold(true),
		Info:       lipgloss.NewStyle().Foreground(accent),
		Blue:       lipgloss.NewStyle().Foreground(blue).Bold(true),
		Green:      lipgloss.NewStyle().Foreground(green).Bold(true),
		BarFull:    accent,
		BarEmpty:   border,
	}
}

// colorLabel names a color with an icon and a word, in its color: the
// icon and word alone must tell blue from green.
func (s Styles) colorLabel(c spec.Color) string {
	switch c {
	case spec.Blue:
		return s.Blue.Render("■ BLUE")
	case spec.Green:
		return s.Green.Render("▲ GREEN")
	case "":
		return s.Muted.Render("?")
	}
	return s.Warn.Render("◇ " + string(c))
}

// colorIcon is a color's icon alone, in its color, where a row has no
// room for the word.
func (s Styles) colorIcon(c spec.Color) string {
	switch c {
	case spec.Blue:
		return s.Blue.Render("■")
	case spec.Green:
		return s.Green.Render("▲")
	}
	return s.Warn.Render("◇")
}

// status styles a run, stage or step status with its icon.
func (s Styles) status(st engine.Status, spin string) string {
	switch st {
	case engine.StatusRunning:
		return s.Info.Render(spin)
	case engine.StatusWaiting:
		return s.Warn.Render("⏸")
	case engine.StatusSucceeded:
		return s.OK.Render("✓")
	case engine.StatusFailed:
		return s.Crit.Render("✗")
	case engine.StatusSkipped:
		return s.Muted.Render("↷")
	case engine.StatusCancelled, engine.StatusAborted:
		return s.Muted.Render("⊘")
	}
	return s.Muted.Render("·")
}

// state styles a panel or verdict state.
func (s Styles) state(st spec.PanelState, text string) string {
	switch st {
	case spec.PanelOK:
		return s.OK.Render(text)
	case spec.PanelWarn:
		return s.Warn.Render(text)
	case spec.PanelCrit:
		return s.Crit.Render(text)
	}
	return s.Muted.Render(text)
}
