package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	"charm.land/lipgloss/v2"

	"github.com/cutover-sh/cutover/engine"
)

// busy is the console the benchmark asks for: 120×40, 60 pods, 6
// panels of 120 points, 1,000 log lines and 7 stages.
func busy(b *testing.B) Model { return busyAt(b, "running", 30) }

// busyAt is busy in one of the fixture's states, with perColor pods a
// color.
func busyAt(b *testing.B, state string, perColor int) Model {
	m, _ := console(state, 120, 40, Options{})
	r := *m.currentRelease()
	obs := *r.Observed
	obs.Colors = map[spec.Color]*engine.ColorState{}
	for _, c := range []spec.Color{spec.Blue, spec.Green} {
		cs := colorState(&r, c)
		cs.Pods = nil
		for i := range perColor {
			cs.Pods = append(cs.Pods, engine.PodState{Name: fmt.Sprintf("claude-tiu-%s-7d9f8b6c4-%05d", c, i), Phase: "Running", Ready: i%7 != 0, Age: time.Hour})
		}
		obs.Colors[c] = &cs
	}
	r.Observed = &obs
	r.Seq = 10_000
	var msgs []engine.Message
	for i := range 1000 {
		msgs = append(msgs, engine.Message{Event: engine.StepOutput{Meta: engine.Meta{Seq: uint64(20_000 + i), Time: t0}, Stage: "production-deploy", Step: "blue-green", Line: fmt.Sprintf("log line %d of the release, long enough to be realistic", i)}})
	}
	msgs = append(msgs, engine.Message{Event: r})
	m = step(m, eventsMsg(msgs))
	m = step(m, panelsMsg(fixedPanels(120)))
	if n := len(podsOf(m.currentRelease())); n != 2*perColor {
		b.Fatalf("%d pods, want %d", n, 2*perColor)
	}
	return m
}

// BenchmarkView1000Pods is BenchmarkView and BenchmarkViewClockTick with
// 500 pods a color: the pods pane shows a screenful, whatever the count.
func BenchmarkView1000Pods(b *testing.B) {
	b.Run("unchanged", func(b *testing.B) { benchView(b, busyAt(b, "running", 500)) })
	b.Run("clock-tick", func(b *testing.B) { benchClockTick(b, busyAt(b, "running", 500)) })
}

// BenchmarkIdleSecond is one second of a console at 1,000 pods with
// nothing happening, in each phase of a release: what a program gets in
// that second (the clock's tick, which turns the spinner too while a step
// is at work), taken by Update and drawn by View. ns/op is the CPU
// time one wall-clock second costs, and %core says it as a share of a
// core. BenchmarkIdleSecondBaseline draws one plain frame of the same
// size: the least a frame a second costs on this machine.
func BenchmarkIdleSecond(b *testing.B) {
	for _, phase := range []struct{ name, state string }{
		{"rollout", "running"}, {"gate", "awaiting-approval"}, {"post-promotion", "post-promotion"}, {"scale-down-delay", "switched-warm"},
	} {
		b.Run(phase.name, func(b *testing.B) {
			m := busyAt(b, phase.state, 500)
			now := m.o.Now()
			m.o.Now = func() time.Time { return now }
			frames := 0
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				now = now.Add(time.Second)
				m = step(m, tickMsg(now))
				_ = m.View()
				frames++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e7, "%core")
			b.ReportMetric(float64(frames)/float64(b.N), "frames/s")
		})
	}
}

func BenchmarkIdleSecondBaseline(b *testing.B) {
	text := strings.TrimSuffix(strings.Repeat(strings.Repeat("x", 118)+"\n", 38), "\n")
	st := lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).Foreground(lipgloss.Color("#e6edf3"))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_ = st.Render(text)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e7, "%core")
}

// BenchmarkView draws the busy console when nothing changed since the last
// frame, as the spinner redraws it between events. BenchmarkViewBaseline
// draws a frame of the same size through one Lip Gloss style: the least a
// drawn frame costs, to read the figures against on the same machine.
func BenchmarkView(b *testing.B) { benchView(b, busy(b)) }

func benchView(b *testing.B, m Model) {
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_ = m.View()
	}
}

// BenchmarkViewClockTick draws the frame of each second: the clock moves,
// so the stages' times and the pods' ages are drawn again.
func BenchmarkViewClockTick(b *testing.B) { benchClockTick(b, busy(b)) }

func benchClockTick(b *testing.B, m Model) {
	now := m.o.Now()
	m.o.Now = func() time.Time { return now }
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		now = now.Add(time.Second)
		_ = m.View()
	}
}

// BenchmarkViewPodChanged is a pod that changed and the frame after it:
// Update, then View with the stages and blue/green drawn again.
func BenchmarkViewPodChanged(b *testing.B) {
	m := busy(b)
	ev := podChanged(m)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ev.Seq++
		next, _ := m.Update(eventsMsg{{Event: ev}})
		_ = next.(Model).View()
	}
}

func BenchmarkViewBaseline(b *testing.B) {
	line := strings.Repeat("x", 118)
	lines := make([]string, 38)
	for i := range lines {
		lines[i] = line
	}
	text := strings.Join(lines, "\n")
	st := lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).Foreground(lipgloss.Color("#e6edf3"))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_ = st.Render(text)
	}
}

// BenchmarkUpdatePodChanged is the console taking one event in which one
// pod became Ready; BenchmarkApplyPodChanged is the engine's own Apply of
// the same event, its baseline.
func BenchmarkUpdatePodChanged(b *testing.B) {
	m := busy(b)
	ev := podChanged(m)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		next, _ := m.Update(eventsMsg{{Event: ev}})
		_ = next
	}
}

func BenchmarkApplyPodChanged(b *testing.B) {
	m := busy(b)
	ev := podChanged(m)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_ = engine.Apply(m.snap, ev)
	}
}

func podChanged(m Model) engine.ReleaseProgress {
	r := *m.currentRelease()
	obs := *r.Observed
	green := *obs.Colors[spec.Green]
	green.Pods = append([]engine.PodState(nil), green.Pods...)
	green.Pods[0].Ready = true
	obs.Colors = map[spec.Color]*engine.ColorState{spec.Blue: obs.Colors[spec.Blue], spec.Green: &green}
	r.Observed, r.Seq = &obs, r.Seq+1
	return r
}
