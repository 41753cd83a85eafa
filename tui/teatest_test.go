package tui

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/cutover-sh/cutover/engine"
)

// feed is an event source that hands out a scripted run once, then waits
// until the test ends, like a subscription to a run that went quiet.
type feed struct {
	mu   sync.Mutex
	msgs []engine.Message
	end  chan struct{}
}

func (f *feed) NextBatch(ctx context.Context, _ int) ([]engine.Message, error) {
	f.mu.Lock()
	msgs := f.msgs
	f.msgs = nil
	f.mu.Unlock()
	if msgs != nil {
		return msgs, nil
	}
	select {
	case <-f.end:
		return nil, engine.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// program runs a console in state under a real Bubble Tea program, its
// events arriving through the re-arming command as they would from the
// engine.
func program(t *testing.T, state string) (*teatest.TestModel, *calls) {
	t.Helper()
	s, now := states[state]()
	snap := engine.NewSnapshot(guidePipeline())
	f := &feed{msgs: []engine.Message{{Snapshot: &snap}}, end: make(chan struct{})}
	for _, ev := range s.events {
		f.msgs = append(f.msgs, engine.Message{Event: ev})
	}
	t.Cleanup(func() { close(f.end) })
	c := &calls{}
	m := New(Options{Controller: c, Events: f, Actor: engine.Actor{Name: "oncall"}, Now: func() time.Time { return now }})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.NoTTY), tea.WithEnvironment([]string{"TERM=xterm-256color"})))
	return tm, c
}

func waitScreen(t *testing.T, tm *teatest.TestModel, text string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(text)) },
		teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
}

// TestFlowApproveThenQuit presses a and y at the blue-green gate, then q
// and y with the run in flight:
// the gate is approved and the run aborted, both as the person at the
// keys, and the program ends.
func TestFlowApproveThenQuit(t *testing.T) {
	tm, c := program(t, "awaiting-approval")
	waitScreen(t, tm, "waiting for approval")
	tm.Type("a")
	waitScreen(t, tm, "Blue stays warm for 10m")
	tm.Type("y")
	waitScreen(t, tm, "approved production-deploy/blue-green as oncall")
	tm.Type("q")
	waitScreen(t, tm, "Press y to abort it and quit")
	tm.Type("y")
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	if got, want := strings.Join(c.log, "; "), "approve production-deploy/blue-green (diff "+gateDiff().Hash+") by oncall; abort by oncall: the console quit"; got != want {
		t.Errorf("engine calls %q, want %q", got, want)
	}
}

// TestFlowRollback presses r, reads the modal, and confirms.
func TestFlowRollback(t *testing.T) {
	tm, c := program(t, "post-promotion")
	waitScreen(t, tm, "post-promotion-analysis")
	tm.Type("r")
	waitScreen(t, tm, "Emergency rollback")
	tm.Type("y")
	waitScreen(t, tm, "rollback of production/claude-tiu-service asked by oncall")
	if got, want := strings.Join(c.log, "; "), "rollback production/claude-tiu-service by oncall: emergency rollback from the console"; got != want {
		t.Errorf("engine calls %q, want %q", got, want)
	}
	tm.Type("q")
	tm.Type("y")
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}
