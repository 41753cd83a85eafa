package tui

import (
	"context"
	"errors"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/cutover-sh/cutover/engine"
)

// do presses keys in order, running each command as the program would
// (commands that wait on a channel are not run), and returns the console
// and the last message a command produced.
func do(m Model, keys ...string) (Model, tea.Msg) {
	var last tea.Msg
	for _, k := range keys {
		next, cmd := m.Update(press(k))
		m = next.(Model)
		// The console's own messages come back to it, as in a program,
		// with whatever they start in turn.
		for cmd != nil {
			msg := cmd()
			last, cmd = msg, nil
			switch msg.(type) {
			case actionMsg, podDetailMsg, detailMsg, openPodMsg, flashMsg:
				next, cmd = m.Update(msg)
				m = next.(Model)
			}
		}
	}
	return m, last
}

// TestKeys: every action key, in a state where it acts and in one where
// it must not, with the engine call it makes and the actor it passes.
func TestKeys(t *testing.T) {
	tests := []struct {
		name      string
		state     string
		o         Options
		keys      []string
		calls     string // what the engine was asked, joined by "; "
		screen    string // text the frame must show afterwards
		notScreen string // text it must not show
		quit      bool
	}{
		{name: "a at a blue-green gate states the switch and asks", state: "awaiting-approval", keys: []string{"a"},
			screen: "Switch production/claude-tiu-service from blue (ghcr.io/claude-tiu/claude-tiu:v2.3.9, 3/3 Ready) to green (ghcr.io/claude-tiu/claude-tiu:v2.4.0, 3/3 Ready). Blue stays warm for 10m after the switch."},
		{name: "a at a blue-green gate shows the question", state: "awaiting-approval", keys: []string{"a"}, screen: "Green is Ready. Switch production traffic?"},
		{name: "a, y approves the waiting gate, bound to the diff on screen", state: "awaiting-approval", keys: []string{"a", "y"},
			calls: "approve production-deploy/blue-green (diff " + gateDiff().Hash + ") by oncall", screen: "approved production-deploy/blue-green as oncall"},
		{name: "d at a blue-green gate shows the whole diff", state: "awaiting-approval", keys: []string{"d"},
			screen: "+ container/app/env/DB_PASSWORD: secretKeyRef db/password"},
		{name: "d with no gate waiting", state: "running", keys: []string{"d"}, screen: "no release waits at its gate with a diff to show"},
		{name: "a, n leaves the gate waiting", state: "awaiting-approval", keys: []string{"a", "n"}, screen: "cancelled: Promote"},
		{name: "a waiting gate shows its card", state: "awaiting-approval", screen: "Approval needed stage production-deploy · step blue-green"},
		{name: "the card names who else watches", state: "awaiting-approval", o: Options{Shared: true, Watchers: []string{"alice@laptop (operator)"}},
			screen: "watching: alice@laptop (operator)"},
		{name: "esc hides the card, the header says how to bring it back", state: "awaiting-approval", keys: []string{"esc"},
			screen: "(a to approve, g to read it)", notScreen: "Approval needed"},
		{name: "g brings the card back", state: "awaiting-approval", keys: []string{"esc", "g"}, screen: "Approval needed"},
		{name: "the card says an approval is refused while the preview is not fully Ready", state: "gate-preview-unready",
			screen: "Approval is refused now: deployment claude-tiu-green has 2/3 Ready pods"},
		{name: "read-only: the card says who decides", state: "awaiting-approval", o: Options{ReadOnly: true}, screen: "read-only: an operator decides"},
		{name: "a with no gate waiting", state: "running", keys: []string{"a"}, screen: "no gate is waiting for approval"},
		{name: "p asks, y promotes", state: "awaiting-approval", keys: []string{"p", "y"},
			calls: "approve production-deploy/blue-green (diff " + gateDiff().Hash + ") by oncall"},
		{name: "p asks first", state: "awaiting-approval", keys: []string{"p"},
			screen: "Switch production/claude-tiu-service from blue (ghcr.io/claude-tiu/claude-tiu:v2.3.9, 3/3 Ready) to green (ghcr.io/claude-tiu/claude-tiu:v2.4.0, 3/3 Ready)."},
		{name: "p before the gate asks to switch as soon as Ready", state: "running", keys: []string{"p"},
			screen: "Switch production/claude-tiu-service from blue to green as soon as green is Ready (1/3 now), skipping what is left of the"},
		{name: "p before the gate, y", state: "running", keys: []string{"p", "y"},
			calls: "promote production/claude-tiu-service by oncall: promoted from the console", screen: "promote of production/claude-tiu-service asked by oncall"},
		{name: "p after the switch", state: "post-promotion", keys: []string{"p"}, screen: "nothing to promote: no release is on its way to a switch"},
		{name: "read-only: p does nothing", state: "running", o: Options{ReadOnly: true}, keys: []string{"p"}, screen: "read-only: actions are disabled"},
		{name: "r asks, y rolls back", state: "post-promotion", keys: []string{"r", "y"},
			calls: "rollback production/claude-tiu-service by oncall: emergency rollback from the console"},
		{name: "r says what will happen", state: "post-promotion", keys: []string{"r"},
			screen: "Switch production/claude-tiu-service from green back to blue (blue: 3/3 Ready, warm)."},
		{name: "r, any other key cancels", state: "post-promotion", keys: []string{"r", "n"}, screen: "cancelled: Emergency rollback"},
		{name: "r before the switch stops the release", state: "running", keys: []string{"r"}, screen: "the Service stays on blue"},
		{name: "r after the run", state: "failed", keys: []string{"r"}, screen: "no release is in flight"},
		{name: "x asks, y aborts", state: "running", keys: []string{"x", "y"}, calls: "abort by oncall: aborted from the console"},
		{name: "x, esc cancels", state: "running", keys: []string{"x", "esc"}, screen: "cancelled: Abort the run"},
		{name: "x after the run", state: "failed", keys: []string{"x"}, screen: "the run is not in flight"},
		{name: "s outside emergency mode", state: "running", keys: []string{"s"}, screen: "skip works only in emergency mode"},
		{name: "s in an emergency asks, y skips the selected stage", state: "emergency", keys: []string{"down", "s", "y"},
			calls: "skip monitoring by oncall: from the console", screen: "stage monitoring skipped by oncall"},
		{name: "s in an emergency says what a skip does", state: "emergency", keys: []string{"down", "s"}, screen: "stages that need it run as if it had succeeded"},
		{name: "s on a stage that has started", state: "emergency", keys: []string{"s"}, screen: "stage production-deploy is running; only a stage that has not started can be skipped"},
		{name: "read-only: s does nothing", state: "emergency", o: Options{ReadOnly: true}, keys: []string{"down", "s"}, screen: "read-only: actions are disabled"},
		{name: "m without a maintenance page", state: "running", keys: []string{"m"}, screen: "names a maintenance page"},
		{name: "m during a release", state: "running", o: Options{MaintenancePage: "maintenance"}, keys: []string{"m"}, screen: "a release is in flight"},
		{name: "m after the release asks, y turns it on", state: "released", o: Options{MaintenancePage: "maintenance"}, keys: []string{"m", "y"},
			calls: "maintenance on=true by oncall", screen: "maintenance switched"},
		{name: "m says what it will do", state: "released", o: Options{MaintenancePage: "maintenance"}, keys: []string{"m"},
			screen: `Point production/claude-tiu-service at the maintenance page (the "maintenance" pods)`},
		{name: "m in maintenance turns it off", state: "in-maintenance", o: Options{MaintenancePage: "maintenance"}, keys: []string{"m", "y"},
			calls: "maintenance on=false by oncall"},
		{name: "read-only: m does nothing", state: "released", o: Options{MaintenancePage: "maintenance", ReadOnly: true}, keys: []string{"m"}, screen: "read-only: actions are disabled"},
		{name: "read-only: a does nothing", state: "awaiting-approval", o: Options{ReadOnly: true}, keys: []string{"a"}, screen: "read-only: actions are disabled"},
		{name: "read-only: r does nothing", state: "post-promotion", o: Options{ReadOnly: true}, keys: []string{"r"}, screen: "read-only: actions are disabled"},
		{name: "read-only: r then y does nothing", state: "post-promotion", o: Options{ReadOnly: true}, keys: []string{"r", "y"}},
		{name: "read-only: x does nothing", state: "running", o: Options{ReadOnly: true}, keys: []string{"x"}, screen: "read-only: actions are disabled"},
		{name: "read-only: p at the gate does nothing", state: "awaiting-approval", o: Options{ReadOnly: true}, keys: []string{"p", "y"}},
		{name: "read-only hides the approve hint", state: "awaiting-approval", o: Options{ReadOnly: true}, keys: []string{"tab"}, notScreen: "(a to approve)"},
		{name: "a after the run", state: "failed", keys: []string{"a"}, screen: "no gate is waiting for approval"},
		{name: "j and k move like the arrows", state: "failed", keys: []string{"k", "k", "j", "enter"}, screen: "Stage performance-test"},
		{name: "keys in a modal are its answer", state: "post-promotion", keys: []string{"r", "x"}, screen: "cancelled: Emergency rollback"},
		{name: "ctrl+c from the search box asks to quit", state: "running", keys: []string{"/", "t", "ctrl+c"}, screen: "Press y to abort it and quit"},
		{name: "q while running asks", state: "running", keys: []string{"q"}, screen: "Press y to abort it and quit"},
		{name: "q, y aborts and quits", state: "running", keys: []string{"q", "y"}, calls: "abort by oncall: the console quit", quit: true},
		{name: "ctrl+c while running asks too", state: "running", keys: []string{"ctrl+c"}, screen: "To leave a run going without a console, run it under cutover serve."},
		{name: "shared: q leaves the run going", state: "running", o: Options{Shared: true}, keys: []string{"q"}, quit: true},
		{name: "shared: ctrl+c leaves the run going", state: "awaiting-approval", o: Options{Shared: true}, keys: []string{"ctrl+c"}, quit: true},
		{name: "shared: x still asks before aborting", state: "running", o: Options{Shared: true}, keys: []string{"x"}, screen: "Press y to confirm"},
		{name: "shared: the header lists who watches", state: "running", o: Options{Shared: true, Watchers: []string{"alice@laptop (operator)", "bob (viewer)"}},
			screen: "watching alice@laptop (operator), bob (viewer)"},
		{name: "q after the run quits", state: "failed", keys: []string{"q"}, quit: true},
		{name: "? shows every key", state: "running", keys: []string{"?"}, screen: "maintenance"},
		{name: "l shows the logs full-screen", state: "running", keys: []string{"l"}, screen: "03:00:01 code-quality/lint", notScreen: "Stages"},
		{name: "l again brings the panes back", state: "running", keys: []string{"l", "l"}, screen: "Stages"},
		{name: "/ searches the logs", state: "running", keys: []string{"/", "t", "r", "i", "v", "y", "enter"}, screen: "Logs /trivy"},
		{name: "enter opens the current stage", state: "failed", keys: []string{"enter"}, screen: "Stage production-deploy  failed"},
		{name: "tab, enter opens a pod, failing first", state: "failed", keys: []string{"tab", "enter"}, screen: "reason    ImagePullBackOff"},
		{name: "up, enter opens the stage above", state: "failed", keys: []string{"up", "enter"}, screen: "Stage performance-test"},
		{name: "shift+tab goes back to the stages", state: "failed", keys: []string{"tab", "shift+tab", "enter"}, screen: "Stage production-deploy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, c := console(tc.state, 120, 40, tc.o)
			m, last := do(m, tc.keys...)
			if got := strings.Join(c.log, "; "); got != tc.calls {
				t.Errorf("engine calls %q, want %q", got, tc.calls)
			}
			if _, quit := last.(tea.QuitMsg); quit != tc.quit {
				t.Errorf("quit %v, want %v", quit, tc.quit)
			}
			// Modal text wraps inside its border: read it as one line.
			screen := strings.NewReplacer("\n", " ", "║", " ", "│", " ").Replace(frame(m, colorprofile.NoTTY))
			screen = strings.Join(strings.Fields(screen), " ")
			want := strings.Join(strings.Fields(tc.screen), " ")
			// Long words (an image reference) wrap at their hyphens: a
			// want matches too if it does with the spaces gone.
			unspaced := strings.NewReplacer(" ", "").Replace
			if !strings.Contains(screen, want) && !strings.Contains(unspaced(screen), unspaced(want)) {
				t.Errorf("screen lacks %q:\n%s", want, frame(m, colorprofile.NoTTY))
			}
			if tc.notScreen != "" && strings.Contains(screen, tc.notScreen) {
				t.Errorf("screen shows %q:\n%s", tc.notScreen, frame(m, colorprofile.NoTTY))
			}
		})
	}
}

// TestRollbackToAColdColor: the modal says the old color is scaled up
// first when it has no Ready pods.
func TestRollbackToAColdColor(t *testing.T) {
	m, _ := console("post-promotion", 120, 40, Options{})
	r := m.currentRelease()
	blue := r.Observed.Colors["blue"]
	blue.Ready, blue.Replicas, blue.Pods = 0, 0, nil
	r.RolloutTook = 0
	got := rollbackText(r)
	if !strings.Contains(got, "blue is cold (0/0 Ready): it is scaled up to 3 first") {
		t.Errorf("got %q", got)
	}
	// The engine timed green's rollout, and the modal says how long the
	// cold color will take.
	r.RolloutTook = 50 * time.Second
	if got := rollbackText(r); !strings.Contains(got, "Ready, about 50s, as long as green's rollout took") {
		t.Errorf("got %q", got)
	}
}

func TestRebinding(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	km, err := LoadKeyMap(write("keys:\n  rollback: [R]\n  abort: [X]\n"))
	if err != nil || strings.Join(km.Rollback.Keys(), ",") != "R" || strings.Join(km.Abort.Keys(), ",") != "X" {
		t.Fatalf("rebinding: %v, rollback %v, abort %v", err, km.Rollback.Keys(), km.Abort.Keys())
	}
	// The rebound key acts; the old one no longer does.
	m, c := console("post-promotion", 120, 40, Options{Keys: km})
	if _, _ = do(m, "r", "y"); len(c.log) != 0 {
		t.Errorf("r still rolls back after rebinding: %v", c.log)
	}
	if _, _ = do(m, "R", "y"); len(c.log) != 1 {
		t.Errorf("R does not roll back: %v", c.log)
	}
	for body, want := range map[string]string{
		"keys:\n  rollback: [a]\n":   `key "a" is bound to both approve and rollback`,
		"keys:\n  rollback: [tab]\n": `key "tab" is bound to both next pane and rollback`,
		"keys:\n  rolback: [R]\n":    "keys.rolback: no such action",
		"keys:\n  rollback: []\n":    "keys.rollback: give at least one key",
		"kees: {}\n":                 "field kees not found",
	} {
		if _, err := LoadKeyMap(write(body)); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "config.yaml") {
			t.Errorf("%q: got %v, want an error naming the file and %q", body, err, want)
		}
	}
	if _, err := LoadKeyMap(filepath.Join(dir, "missing.yaml")); err != nil {
		t.Errorf("a missing config file: %v, want the defaults", err)
	}
}

// TestLightBackground: when the terminal reports a light background the
// console changes its colors, not its text.
func TestLightBackground(t *testing.T) {
	m, _ := console("awaiting-approval", 120, 40, Options{})
	dark := frame(m, colorprofile.TrueColor)
	m = step(m, tea.BackgroundColorMsg{Color: color.White})
	light := frame(m, colorprofile.TrueColor)
	if dark == light {
		t.Error("a light background drew the same colors as a dark one")
	}
	if ansi.Strip(dark) != ansi.Strip(light) {
		t.Error("a light background changed the text")
	}
}

// TestPodDetail: enter on a pod reads its detail once, through the
// function the command gives, and shows conditions, containers and
// Warning events; a read that fails says so over what the release saw.
func TestPodDetail(t *testing.T) {
	var asked []string
	get := func(_ context.Context, ns, pod string) (engine.PodDetail, error) {
		asked = append(asked, ns+"/"+pod)
		if strings.HasSuffix(pod, "bkxqz") {
			return engine.PodDetail{}, errors.New("pods \"x\" is forbidden")
		}
		return engine.PodDetail{Namespace: ns, Name: pod, Node: "node-1", Phase: "Pending",
			Conditions: []engine.PodCondition{{Type: "Ready", Status: "False", Reason: "ContainersNotReady"}},
			Containers: []engine.ContainerDetail{{Name: "app", Image: "ghcr.io/claude-tiu/claude-tiu:v2.4.0", State: "waiting", Reason: "ImagePullBackOff", Message: "manifest unknown"}},
			Events:     []engine.PodEvent{{Reason: "Failed", Message: "Failed to pull image", Count: 4, Last: t0}},
		}, nil
	}
	m, _ := console("failed", 120, 40, Options{PodDetail: get})
	m, _ = do(m, "tab", "enter")
	screen := flatScreen(m)
	for _, want := range []string{"Conditions", "Ready False ContainersNotReady", "waiting ImagePullBackOff manifest unknown", "Failed ×4 Failed to pull image"} {
		if !strings.Contains(screen, want) {
			t.Errorf("pod detail lacks %q:\n%s", want, frame(m, colorprofile.NoTTY))
		}
	}
	m, _ = do(m, "esc", "down", "enter")
	if screen := flatScreen(m); !strings.Contains(screen, "is forbidden") || !strings.Contains(screen, "reason ImagePullBackOff") {
		t.Errorf("a failed read: %s", frame(m, colorprofile.NoTTY))
	}
	if want := "production/claude-tiu-green-7d9f8b6c4-akxqz production/claude-tiu-green-7d9f8b6c4-bkxqz"; strings.Join(asked, " ") != want {
		t.Errorf("read %v, want %s", asked, want)
	}
}

func flatScreen(m Model) string {
	return strings.Join(strings.Fields(strings.NewReplacer("║", " ", "│", " ").Replace(frame(m, colorprofile.NoTTY))), " ")
}

// TestWatchersUpdate: a shared console's header follows who joins and
// leaves.
func TestWatchersUpdate(t *testing.T) {
	m, _ := console("running", 120, 40, Options{Shared: true, Watchers: []string{"alice (operator)"}})
	m = step(m, WatchersMsg{"alice (operator)", "carol (viewer)"})
	if s := flatScreen(m); !strings.Contains(s, "watching alice (operator), carol (viewer)") {
		t.Errorf("header after carol joined:\n%s", s)
	}
	m = step(m, WatchersMsg{"carol (viewer)"})
	if s := flatScreen(m); strings.Contains(s, "alice") || !strings.Contains(s, "watching carol (viewer)") {
		t.Errorf("header after alice left:\n%s", s)
	}
}

// TestDecisionsNameTheWholeActor: over SSH an actor is a key's comment and
// fingerprint, and the log shows both, in the past tense.
func TestDecisionsNameTheWholeActor(t *testing.T) {
	line, ok := logLine(engine.GateDecided{Meta: engine.Meta{Time: time.Date(2026, 11, 26, 3, 12, 4, 0, time.UTC)}, Gate: "production/blue-green",
		Outcome: spec.GateApprove, Actor: engine.Actor{Name: "alice@laptop", ID: "SHA256:abc"}})
	if want := "03:12:04 production/blue-green approved by alice@laptop · SHA256:abc"; !ok || line != want {
		t.Errorf("log line %q, want %q", line, want)
	}
	line, _ = logLine(engine.GateDecided{Gate: "production/blue-green", Outcome: spec.GateReject, Actor: engine.Actor{Name: "bob"}})
	if !strings.HasSuffix(line, "production/blue-green rejected by bob") {
		t.Errorf("log line %q: want the rejection and who", line)
	}
}

// TestActionsAreGuardedOnWhatWasShown: with a guard, a confirmed action is
// conditional on the decisions the console showed when its modal opened,
// not when y was pressed; a refusal is shown as it came.
func TestActionsAreGuardedOnWhatWasShown(t *testing.T) {
	var guardedAt []uint64
	var o Options
	o.Guard = func(n uint64) Controller {
		guardedAt = append(guardedAt, n)
		return refusing{}
	}
	m, c := console("post-promotion", 120, 40, o)
	m, _ = do(m, "r")
	// Someone else decided while the modal was open.
	m = step(m, eventsMsg{{Event: engine.GateDecided{Meta: engine.Meta{Seq: 999, Decisions: 7}, Gate: "x/y", Outcome: spec.GateApprove, Actor: engine.Actor{Name: "carol"}}}})
	m, _ = do(m, "y")
	if len(guardedAt) != 1 || guardedAt[0] != 0 || len(c.log) != 0 {
		t.Fatalf("guarded at %v with engine calls %v; want one action guarded on the 0 decisions shown when r was pressed", guardedAt, c.log)
	}
	if s := flatScreen(m); !strings.Contains(s, "not applied: since you looked, carol approved x/y") {
		t.Errorf("the refusal is not shown:\n%s", s)
	}
}

// refusing refuses every action as the engine's guard does.
type refusing struct{}

func (refusing) ApproveSeen(engine.Actor, string, string) error { return stale }
func (refusing) Abort(engine.Actor, string) error               { return stale }
func (refusing) Rollback(engine.Actor, string, string) error {
	return stale
}
func (refusing) Promote(engine.Actor, string, string) error   { return stale }
func (refusing) SkipStage(engine.Actor, string, string) error { return stale }
func (refusing) Maintenance(context.Context, engine.Actor, bool) (string, error) {
	return "", stale
}

var stale = &engine.StaleError{Last: "carol approved x/y"}

// TestLateJoinerSeesRecentOutput: a console that starts from a snapshot of
// a run in flight (a late SSH viewer) shows each step's last lines, in the
// order they were printed.
func TestLateJoinerSeesRecentOutput(t *testing.T) {
	at := func(s int) time.Time { return time.Date(2026, 11, 26, 3, 0, s, 0, time.UTC) }
	snap := engine.NewSnapshot(guidePipeline())
	snap.Run, snap.Status = "r1", engine.StatusRunning
	snap.Stages[0].Steps[0] = &engine.StepState{Name: "format", Tail: []engine.OutputLine{{Line: "black: ok", Time: at(1)}, {Line: "isort: ok", Time: at(3)}}}
	snap.Stages[1].Steps[0] = &engine.StepState{Name: "unit", Tail: []engine.OutputLine{{Line: "412 passed", Time: at(2)}}}
	m := New(Options{Controller: &calls{}, Now: func() time.Time { return at(10) }})
	m = step(m, tea.WindowSizeMsg{Width: 120, Height: 40})
	m = step(m, eventsMsg{{Snapshot: &snap}})
	got := strings.Join(m.logs.lines, "\n")
	want := "03:00:01 code-quality/format │ black: ok\n03:00:02 testing/unit │ 412 passed\n03:00:03 code-quality/format │ isort: ok"
	if got != want {
		t.Errorf("log after joining:\n%s\nwant:\n%s", got, want)
	}
}

// TestOtherPeoplesActionsAreLogged: what someone else asked for shows in
// every console's log, with their whole identity.
func TestOtherPeoplesActionsAreLogged(t *testing.T) {
	alice := engine.Actor{Name: "alice@laptop", ID: "SHA256:abc"}
	for _, tc := range []struct {
		ev   engine.Event
		want string
	}{
		{engine.ReleaseRequested{Action: "rollback", Service: "production/web", Actor: alice, Reason: "5xx"}, "rollback of production/web asked by alice@laptop · SHA256:abc: 5xx"},
		{engine.RunAborted{Actor: alice, Reason: "wrong tag"}, "run aborted by alice@laptop · SHA256:abc: wrong tag"},
		{engine.StageSkipped{Stage: "testing", Actor: alice}, "stage testing skipped by alice@laptop · SHA256:abc"},
	} {
		if line, ok := logLine(tc.ev); !ok || !strings.HasSuffix(line, tc.want) {
			t.Errorf("log line %q, want it to end %q", line, tc.want)
		}
	}
}

// TestPodAgeTicks: a pod's AGE moves with the clock, between events: the
// console's once-a-second tick redraws it from when the pod was observed.
func TestPodAgeTicks(t *testing.T) {
	m, _ := console("switching", 120, 40, Options{})
	before := flatScreen(m)
	if !strings.Contains(before, "blue-7d9f8b6c4-akxqz Running yes 0 40m01s") {
		t.Fatalf("the first blue pod's age is not 40m01s before the tick:\n%s", before)
	}
	later := m.o.Now().Add(10 * time.Second)
	m.o.Now = func() time.Time { return later }
	m = step(m, tickMsg(later))
	if after := flatScreen(m); !strings.Contains(after, "blue-7d9f8b6c4-akxqz Running yes 0 40m11s") {
		t.Errorf("10s later, with no event, the first blue pod's age is not 40m11s:\n%s", after)
	}
}

// TestColorRolesComeFromTheEngine: a color scaled to zero is cold even
// while its terminating pods are still Ready, and the old color kept warm
// after a switch shows how long it stays so.
func TestColorRolesComeFromTheEngine(t *testing.T) {
	now := time.Date(2026, 11, 26, 3, 30, 0, 0, time.UTC)
	r := &engine.ReleaseProgress{Phase: engine.PhaseScaleDownDelay, From: spec.Blue, To: spec.Green, ScaleDownAt: now.Add(9*time.Minute + 41*time.Second)}
	warm := engine.ColorState{Exists: true, Replicas: 3, Ready: 3}
	draining := engine.ColorState{Exists: true, Replicas: 0, Ready: 3}
	st := NewStyles(true)
	for _, tc := range []struct {
		name string
		c    spec.Color
		cs   engine.ColorState
		r    *engine.ReleaseProgress
		want string
	}{
		{"live", spec.Green, warm, r, "LIVE"},
		{"kept warm, with its countdown", spec.Blue, warm, r, "warm, scaled down in 9m41s"},
		{"scaled to zero, pods still Ready", spec.Blue, draining, &engine.ReleaseProgress{Phase: engine.PhaseDone, From: spec.Blue, To: spec.Green}, "cold"},
		{"the preview before the switch", spec.Green, warm, &engine.ReleaseProgress{Phase: engine.PhaseAwaitingApproval, From: spec.Blue, To: spec.Green}, "preview"},
	} {
		live := spec.Green
		if tc.r.Phase == engine.PhaseAwaitingApproval {
			live = spec.Blue
		}
		if got := ansi.Strip(colorRole(st, tc.r, tc.c, live, tc.cs, now)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestPanesFollowThePipeline: a pipeline with no blueGreen step gets no
// Blue / Green pane, and its footer offers no promote or rollback; with no
// Prometheus the metrics pane says so in one line; tab skips what is not
// shown.
func TestPanesFollowThePipeline(t *testing.T) {
	p := &spec.Pipeline{Metadata: spec.Metadata{Name: "build-only"}, Stages: []spec.Stage{
		{Name: "test", Budget: spec.Duration(10 * time.Minute), Steps: []spec.Step{{Name: "unit", Run: "true"}}},
	}}
	snap := engine.NewSnapshot(p)
	for _, sz := range [][2]int{{80, 24}, {120, 40}} {
		m := New(Options{Controller: &calls{}, Actor: engine.Actor{Name: "oncall"}, Now: func() time.Time { return t0 }})
		m = step(m, tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		m = step(m, eventsMsg([]engine.Message{{Snapshot: &snap}}))
		s := flatScreen(m)
		for _, absent := range []string{"Blue / Green", "p promote", "r rollback"} {
			if strings.Contains(s, absent) {
				t.Errorf("%dx%d: the screen shows %q with no blueGreen step:\n%s", sz[0], sz[1], absent, s)
			}
		}
		for _, want := range []string{"no panels: this pipeline names no Prometheus", "a approve", "x abort"} {
			if !strings.Contains(s, want) {
				t.Errorf("%dx%d: the screen lacks %q:\n%s", sz[0], sz[1], want, s)
			}
		}
		if m, _ = do(m, "tab"); m.focus != paneMetrics {
			t.Errorf("%dx%d: tab from the stages focused pane %d, want the metrics (%d): the Blue / Green pane is not shown", sz[0], sz[1], m.focus, paneMetrics)
		}
	}
}

// TestSearchKeepsColumnsAndEscClears: a search highlight adds no cells,
// so a matched line reads as before; esc in the search box drops the query
// and its highlights.
func TestSearchKeepsColumnsAndEscClears(t *testing.T) {
	m, _ := console("running", 120, 40, Options{})
	line := func(m Model) string {
		for _, l := range strings.Split(ansi.Strip(m.Render()), "\n") {
			if strings.Contains(l, "trivy: 0 critical") {
				return l
			}
		}
		return ""
	}
	before := line(m)
	if before == "" {
		t.Fatalf("no log line with trivy on screen:\n%s", ansi.Strip(m.Render()))
	}
	m, _ = do(m, "/", "t", "r", "i", "v", "y", "enter")
	if got := line(m); got != before || !strings.Contains(m.Render(), "trivy") {
		t.Errorf("the matched line moved:\nbefore %q\nafter  %q", before, got)
	}
	m, _ = do(m, "/", "esc")
	if s := ansi.Strip(m.Render()); strings.Contains(s, "Logs /trivy") || m.logs.query != "" {
		t.Errorf("after esc the search stays (query %q):\n%s", m.logs.query, s)
	}
	if hl := m.logs.highlighted(); strings.Join(hl, "\n") != strings.Join(m.logs.lines, "\n") {
		t.Errorf("after esc the logs keep highlights")
	}
}

// TestTheHeaderKeepsTheGateAt80x24: on a narrow terminal the clock gives
// way, and the gate's name and key are never cut.
func TestTheHeaderKeepsTheGateAt80x24(t *testing.T) {
	m, _ := console("awaiting-approval", 80, 24, Options{})
	lines := strings.Split(ansi.Strip(m.Render()), "\n")
	if !strings.Contains(lines[1], "⏸ WAITING") || !strings.Contains(lines[1], "production-deploy/blue-green (a to approve)") {
		t.Errorf("the header's second line at 80 columns: %q; want the state and the whole gate", lines[1])
	}
	m, _ = console("awaiting-approval", 120, 40, Options{})
	if line := strings.Split(ansi.Strip(m.Render()), "\n")[1]; !strings.Contains(line, "29m10s / 2h35m budget") {
		t.Errorf("at 120 columns the clock is gone: %q", line)
	}
}

// TestNoSpinnerInTheScaleDownDelay: a release waiting out its scale-down
// delay waits for the clock, as a gate waits for a person: the spinner
// stays still (the countdown still moves once a second), and turns, with
// the clock, for a step at work.
func TestNoSpinnerInTheScaleDownDelay(t *testing.T) {
	for _, tc := range []struct {
		act  engine.ActionKind
		want bool
	}{{engine.ActWaitRollout, true}, {engine.ActWaitUntil, false}} {
		s := upToProduction()
		s.release(1730, engine.PhaseScaleDownDelay, spec.Green, tc.act, green(3, ""), "")
		m := consoleOf(guidePipeline(), s, t0.Add(1740*time.Second), 120, 40)
		before := m.spinFrame()
		m = step(m, tickMsg(t0.Add(1741*time.Second)))
		if got := m.spinFrame() != before; got != tc.want {
			t.Errorf("a release whose next action is %s: the spinner turned at the clock's tick: %v, want %v", tc.act, got, tc.want)
		}
	}
}

// TestPodOrderFollowsTheRelease: the pods are sorted once per release
// and kept between frames; a release that reports a pod failing must put
// it first on the next frame, not show the order sorted before.
func TestPodOrderFollowsTheRelease(t *testing.T) {
	m, _ := console("switching", 120, 40, Options{})
	firstPod := func(m Model) string {
		for _, line := range strings.Split(flatScreen(m), "\n") {
			if f := strings.Fields(line); len(f) > 2 && strings.Contains(line, "-7d9f8b6c4-") {
				for _, w := range f {
					if strings.Contains(w, "-7d9f8b6c4-") {
						return w
					}
				}
			}
		}
		return ""
	}
	r := *m.currentRelease()
	obs := *r.Observed
	blue := *obs.Colors[spec.Blue]
	blue.Pods = slices.Clone(blue.Pods)
	blue.Pods[2].Ready, blue.Pods[2].Reason = false, "CrashLoopBackOff"
	if before := firstPod(m); before == "" || strings.HasSuffix(blue.Pods[2].Name, strings.TrimPrefix(before, "…")) {
		t.Fatalf("the first pod row before the change is %q: want a row, and not %s\n%s", before, blue.Pods[2].Name, flatScreen(m))
	}
	obs.Colors = map[spec.Color]*engine.ColorState{spec.Blue: &blue, spec.Green: obs.Colors[spec.Green]}
	r.Observed, r.Seq = &obs, r.Seq+1
	m = step(m, eventsMsg([]engine.Message{{Event: r}}))
	// The name column may cut a name's head off: "…e-7d9f8b6c4-ckxqz".
	if got, want := firstPod(m), blue.Pods[2].Name; got == "" || !strings.HasSuffix(want, strings.TrimPrefix(got, "…")) {
		t.Errorf("after the release reported %s failing, the first pod row is %q, want it\n%s", want, got, flatScreen(m))
	}
}
