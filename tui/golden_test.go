package tui

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
)

// frame renders a console the way a terminal of the given profile gets
// it: Lip Gloss writes truecolor, and the writer downsamples it.
func frame(m Model, p colorprofile.Profile) string {
	var b bytes.Buffer
	w := &colorprofile.Writer{Forward: &b, Profile: p}
	_, _ = w.WriteString(m.Render())
	return b.String()
}

// goldenFrame compares a frame with testdata/TEST/NAME.golden through
// x/exp/golden (go test ./tui -update rewrites them). With -update it also
// writes the frame without escapes beside it, NAME.txt, to review by eye.
func goldenFrame(t *testing.T, got string) {
	t.Helper()
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		path := filepath.Join("testdata", t.Name()+".txt")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(ansi.Strip(got)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden.RequireEqual(t, got)
}

// scenes are what the golden frames show: the moments of a release a
// person must read at a glance.
var scenes = map[string]func(w, h int) Model{
	"running":       func(w, h int) Model { m, _ := console("running", w, h, Options{}); return m },
	"gate":          func(w, h int) Model { m, _ := console("awaiting-approval", w, h, Options{}); return m },
	"switched-warm": func(w, h int) Model { m, _ := console("switched-warm", w, h, Options{}); return m },
	"rolled-back":   func(w, h int) Model { m, _ := console("rolled-back", w, h, Options{}); return m },
	"failed":        func(w, h int) Model { m, _ := console("failed", w, h, Options{}); return m },
	"no-data": func(w, h int) Model {
		m, _ := console("running", w, h, Options{})
		return step(m, panelsMsg(noDataPanels()))
	},
	"no-bluegreen": func(w, h int) Model { p, s, now := noBlueGreen(); return consoleOf(p, s, now, w, h) },
}

// TestGoldenFrames draws each scene at the four sizes with a fixed
// 16-color profile; each has its plain .txt to review.
func TestGoldenFrames(t *testing.T) {
	sizes := [][2]int{{80, 24}, {100, 30}, {120, 40}, {200, 60}}
	for name, scene := range scenes {
		for _, sz := range sizes {
			t.Run(fmt.Sprintf("%s-%dx%d", name, sz[0], sz[1]), func(t *testing.T) {
				goldenFrame(t, frame(scene(sz[0], sz[1]), colorprofile.ANSI))
			})
		}
	}
	for _, sz := range [][2]int{{80, 24}, {120, 40}} {
		for _, state := range []string{"switching", "post-promotion"} {
			t.Run(fmt.Sprintf("%s-%dx%d", state, sz[0], sz[1]), func(t *testing.T) {
				m, _ := console(state, sz[0], sz[1], Options{})
				goldenFrame(t, frame(m, colorprofile.ANSI))
			})
		}
		t.Run(fmt.Sprintf("rollback-modal-%dx%d", sz[0], sz[1]), func(t *testing.T) {
			m, _ := console("post-promotion", sz[0], sz[1], Options{})
			goldenFrame(t, frame(step(m, press("r")), colorprofile.ANSI))
		})
	}
	// The markers a person must not miss: a demo, a read-only console, an
	// emergency run that skipped stages.
	t.Run("markers-120x40", func(t *testing.T) {
		m, _ := console("emergency", 120, 40, Options{ReadOnly: true, Demo: true})
		goldenFrame(t, frame(m, colorprofile.ANSI))
	})
	// The same frame in 256 colors and in truecolor: the palette degrades
	// with the terminal, the text does not.
	for name, p := range map[string]colorprofile.Profile{"256": colorprofile.ANSI256, "truecolor": colorprofile.TrueColor} {
		t.Run("gate-120x40-"+name, func(t *testing.T) {
			goldenFrame(t, frame(scenes["gate"](120, 40), p))
		})
	}
	t.Run("too-small-60x18", func(t *testing.T) {
		m, _ := console("running", 60, 18, Options{})
		goldenFrame(t, frame(m, colorprofile.ANSI))
	})
	// NO_COLOR: the renderer's profile drops to Ascii; blue and green are
	// still told apart by icon and word.
	t.Run("no-color-120x40", func(t *testing.T) {
		goldenFrame(t, frame(scenes["gate"](120, 40), colorprofile.Ascii))
	})
}

// TestFramesFitTheTerminal: every frame, at every size, is exactly the
// terminal's size, so a resize leaves nothing of the previous frame.
func TestFramesFitTheTerminal(t *testing.T) {
	for state := range states {
		for _, sz := range [][2]int{{80, 24}, {100, 30}, {120, 40}, {200, 60}, {70, 20}, {69, 20}, {300, 90}, {110, 21}, {120, 20}, {120, 26}} {
			m, _ := console(state, sz[0], sz[1], Options{})
			_, gate := m.card()
			usable := sz[0] >= MinWidth && sz[1] >= MinHeight
			if gate && usable {
				// The gate's card, whole, over the panes.
				text := frame(m, colorprofile.NoTTY)
				for _, want := range []string{"Approval needed", "Green is Ready. Switch production traffic?", "a approve · x abort · esc hide the card"} {
					if !strings.Contains(text, want) {
						t.Errorf("%s %dx%d: the card lacks %q:\n%s", state, sz[0], sz[1], want, text)
					}
				}
			}
			for _, k := range []string{"", "esc", "r", "l", "?"} {
				mm := m
				if k != "" {
					mm = step(mm, press(k))
				}
				text := frame(mm, colorprofile.NoTTY)
				lines := strings.Split(text, "\n")
				if k == "" && !gate || k == "esc" && gate {
					// Every pane and the footer, at every usable size, once
					// nothing is drawn over them.
					for _, want := range []string{"─ Stages ", "─ Blue / Green ", "─ Metrics ", "─ Logs", "approve"} {
						if usable && !strings.Contains(text, want) {
							t.Errorf("%s %dx%d after %q: no %q on screen:\n%s", state, sz[0], sz[1], k, want, text)
						}
					}
				}
				if len(lines) != sz[1] {
					t.Errorf("%s %dx%d after %q: %d lines", state, sz[0], sz[1], k, len(lines))
				}
				for i, l := range lines {
					if w := ansi.StringWidth(l); w != sz[0] {
						t.Errorf("%s %dx%d after %q: line %d is %d wide: %q", state, sz[0], sz[1], k, i, w, l)
						break
					}
				}
			}
		}
	}
}

// press is a key press as Bubble Tea decodes it from a terminal.
func press(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	}
	r := []rune(s)[0]
	return tea.KeyPressMsg{Code: r, Text: s}
}
