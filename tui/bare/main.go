// Command bare is the scale harness's baseline: the least a Bubble Tea
// console of cutover's size costs on this machine. It draws one 120×40
// frame in a rounded border, as the tui benchmarks' baseline does, moves
// a clock in it once a second, and runs the renderer at cutover's 30
// frames a second, in the alternate screen. It reads no cluster and no
// Prometheus: what cutover costs above it is cutover's own work.
//
// The harness runs it in a tmux pane of its own beside cutover and
// measures both over the same idle windows, so that a busy machine
// weighs on both figures alike.
package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
)

type tick time.Time

type model struct {
	now  time.Time
	body string
	st   lipgloss.Style
}

func (m model) Init() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tick(t) })
}

func (m model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tick:
		m.now = time.Time(msg)
		return m, m.Init()
	case tea.KeyPressMsg:
		if msg.String() == "q" {
			return m, tea.Quit
		}
	}
	return m, nil
}

func (m model) View() tea.View {
	v := tea.NewView(m.st.Render(m.now.Format("15:04:05") + strings.Repeat(" ", 110) + "\n" + m.body))
	v.AltScreen = true
	return v
}

func main() {
	body := strings.TrimSuffix(strings.Repeat(strings.Repeat("x", 118)+"\n", 37), "\n")
	st := lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).Foreground(lipgloss.Color("#e6edf3"))
	if _, err := tea.NewProgram(model{now: time.Now(), body: body, st: st}, tea.WithFPS(30), tea.WithoutSignalHandler()).Run(); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}
