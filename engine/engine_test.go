package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cutover-sh/cutover/engine/spec"

	"github.com/cutover-sh/cutover/loadtest"
	"github.com/cutover-sh/cutover/proc"
	"github.com/cutover-sh/cutover/webhook"
)

// mustLoad builds a pipeline from YAML text.
func mustLoad(t *testing.T, doc string) *spec.Pipeline {
	t.Helper()
	p, err := spec.Load("test.yaml", []byte(doc), nil)
	if err != nil {
		t.Fatalf("load test pipeline: %v", err)
	}
	return p
}

// harness runs one engine with a real journal in a temp dir and records
// every event it publishes.
type harness struct {
	t       *testing.T
	eng     *Engine
	dir     string
	mu      sync.Mutex
	events  []Event
	waiters []waiter
	done    chan struct{}
}

type waiter struct {
	match func(Event) bool
	ch    chan Event
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), done: make(chan struct{})}
	j, err := OpenJournal(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	cfg.Journal = j
	if cfg.Actor.Name == "" {
		cfg.Actor = Actor{Name: "tester"}
	}
	if cfg.KillGrace == 0 {
		cfg.KillGrace = 300 * time.Millisecond
	}
	if cfg.Processes == nil {
		cfg.Processes = &proc.Runner{} // as cmd/cutover wires it
	}
	if cfg.LoadTester == nil {
		cfg.LoadTester = loadtest.Vegeta{}
	}
	if cfg.Webhooks == nil {
		cfg.Webhooks = webhook.Poster{}
	}
	h.eng, err = New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	sub := h.eng.Subscribe(1 << 20)
	go func() {
		defer close(h.done)
		for {
			m, err := sub.Next(context.Background())
			if err != nil {
				return
			}
			if m.Event != nil {
				h.add(m.Event)
			}
		}
	}()
	return h
}

func (h *harness) add(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev)
	kept := h.waiters[:0]
	for _, w := range h.waiters {
		if w.match(ev) {
			w.ch <- ev
		} else {
			kept = append(kept, w)
		}
	}
	h.waiters = kept
}

// await returns a channel that receives the first event (past or future)
// that matches.
func (h *harness) await(match func(Event) bool) <-chan Event {
	ch := make(chan Event, 1)
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ev := range h.events {
		if match(ev) {
			ch <- ev
			return ch
		}
	}
	h.waiters = append(h.waiters, waiter{match, ch})
	return ch
}

func (h *harness) wait(what string, match func(Event) bool) Event {
	h.t.Helper()
	select {
	case ev := <-h.await(match):
		return ev
	case <-time.After(30 * time.Second):
		h.t.Fatalf("no %s event within 30s", what)
		return nil
	}
}

// run runs the engine to the end and waits for every event to arrive.
func (h *harness) run() Snapshot {
	h.t.Helper()
	final, err := h.eng.Run(context.Background())
	if err != nil {
		h.t.Fatalf("Run: %v", err)
	}
	<-h.done
	return final
}

func (h *harness) start() <-chan Snapshot {
	ch := make(chan Snapshot, 1)
	go func() {
		final, err := h.eng.Run(context.Background())
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
		<-h.done
		ch <- final
	}()
	return ch
}

func (h *harness) records() []Record {
	h.t.Helper()
	recs, skipped, err := ReadJournal(h.dir)
	if err != nil || len(skipped) > 0 {
		h.t.Fatalf("read journal: %v, skipped %v", err, skipped)
	}
	return recs
}

func (h *harness) output(stage, step string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var lines []string
	for _, ev := range h.events {
		if o, ok := ev.(StepOutput); ok && o.Stage == stage && o.Step == step {
			lines = append(lines, o.Line)
		}
	}
	return lines
}

func stageStatus(t *testing.T, s Snapshot, name string) StageState {
	t.Helper()
	st, ok := s.Stage(name)
	if !ok {
		t.Fatalf("no stage %q in snapshot", name)
	}
	return st
}

func TestParallelStagesOverlap(t *testing.T) {
	// Each stage waits for the other's marker file: they can only both
	// succeed if they run at the same time.
	mark := t.TempDir()
	doc := `
apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: overlap}
stages:
  - name: a
    budget: 1m
    steps:
      - run: touch "$MARK/a"; for i in $(seq 1200); do [ -e "$MARK/b" ] && exit 0; sleep 0.05; done; exit 1
  - name: b
    budget: 1m
    steps:
      - run: touch "$MARK/b"; for i in $(seq 1200); do [ -e "$MARK/a" ] && exit 0; sleep 0.05; done; exit 1
  - name: after
    budget: 1m
    needs: [a, b]
    steps:
      - run: "true"
`
	h := newHarness(t, Config{Pipeline: mustLoad(t, doc), Parallel: 2, Env: append(os.Environ(), "MARK="+mark)})
	final := h.run()
	if final.Status != StatusSucceeded {
		t.Fatalf("run status: got %s, want succeeded", final.Status)
	}
	a, b := stageStatus(t, final, "a"), stageStatus(t, final, "b")
	if !a.Started.Before(b.Finished) || !b.Started.Before(a.Finished) {
		t.Errorf("stages did not overlap: a %v-%v, b %v-%v", a.Started, a.Finished, b.Started, b.Finished)
	}
	if after := stageStatus(t, final, "after"); after.Started.Before(a.Finished) || after.Started.Before(b.Finished) {
		t.Errorf("after started before its needs finished")
	}
}

// TestJournalSeqIsContiguous: a run numbers its records 1, 2, 3... with
// no gap and no repeat, even when parallel stages write at once, so that a
// record lost from the middle of a run can be told.
func TestJournalSeqIsContiguous(t *testing.T) {
	doc := `
apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: seq}
stages:
  - name: a
    budget: 1m
    steps: [{run: "true"}, {run: "true"}, {run: "true"}]
  - name: b
    budget: 1m
    steps: [{run: "true"}, {run: "true"}, {run: "true"}]
`
	h := newHarness(t, Config{Pipeline: mustLoad(t, doc), Parallel: 2})
	if final := h.run(); final.Status != StatusSucceeded {
		t.Fatalf("run status: got %s, want succeeded", final.Status)
	}
	recs, _, err := ReadJournal(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, r := range recs {
		seqs = append(seqs, r.Seq)
	}
	slices.Sort(seqs)
	if len(seqs) < 10 {
		t.Fatalf("the run wrote %d records; want at least 10 (run, two stages, six steps)", len(seqs))
	}
	for i, n := range seqs {
		if n != uint64(i+1) {
			t.Fatalf("sequence numbers %v; want 1 to %d with no gap or repeat", seqs, len(seqs))
		}
	}
}

func TestParallelLimit(t *testing.T) {
	doc := `
apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: serial}
stages:
  - {name: a, budget: 1m, steps: [{run: sleep 0.1}]}
  - {name: b, budget: 1m, steps: [{run: sleep 0.1}]}
  - {name: c, budget: 1m, steps: [{run: sleep 0.1}]}
`
	h := newHarness(t, Config{Pipeline: mustLoad(t, doc), Parallel: 1})
	final := h.run()
	if final.Status != StatusSucceeded {
		t.Fatalf("run status: got %s, want succeeded", final.Status)
	}
	for i := 1; i < len(final.Stages); i++ {
		prev, cur := final.Stages[i-1], final.Stages[i]
		if cur.Started.Before(prev.Finished) {
			t.Errorf("with --parallel 1, %s started before %s finished", cur.Name, prev.Name)
		}
	}
}

// processGone reports whether pid has exited (a zombie counts as gone: it
// runs no code and holds no pipe).
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running after the step ended", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTimeoutKillsGrandchildren(t *testing.T) {
	// The first grandchild dies on SIGTERM; the second ignores it and
	// must be killed by the SIGKILL that follows the grace period.
	doc := `
apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: timeout}
stages:
  - name: s
    budget: 1m
    steps:
      - name: hang
        timeout: 500ms
        run: |
          sleep 300 &
          echo "child $!"
          (trap '' TERM; exec sleep 301) &
          echo "stubborn $!"
          wait
`
	h := newHarness(t, Config{Pipeline: mustLoad(t, doc)})
	final := h.run()
	step := stageStatus(t, final, "s").Steps[0]
	if step.Status != StatusFailed || !strings.Contains(step.Reason, "timed out after 500ms") {
		t.Fatalf("step: got %s %q, want failed with a timeout", step.Status, step.Reason)
	}
	out := h.output("s", "hang")
	if len(out) != 2 {
		t.Fatalf("output: got %q, want two pid lines", out)
	}
	for _, line := range out {
		_, pidText, _ := strings.Cut(line, " ")
		pid, err := strconv.Atoi(pidText)
		if err != nil {
			t.Fatalf("bad pid line %q", line)
		}
		waitGone(t, pid)
	}
}

func TestAbortMidStep(t *testing.T) {
	doc := `
apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: abort}
stages:
  - name: first
    budget: 1m
    steps:
      - name: long
        run: echo started; sleep 300
      - name: never
        run: "true"
  - name: second
    budget: 1m
    needs: [first]
    steps:
      - run: "true"
`
	h := newHarness(t, Config{Pipeline: mustLoad(t, doc)})
	result := h.start()
	h.wait("output", func(ev Event) bool { o, ok := ev.(StepOutput); return ok && o.Line == "started" })
	if err := h.eng.Abort(Actor{Name: "oncall"}, "wrong image"); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	final := <-result
	if final.Status != StatusAborted {
		t.Fatalf("run: got %s, want aborted", final.Status)
	}
	first := stageStatus(t, final, "first")
	if first.Status != StatusCancelled || first.Steps[0].Status != StatusCancelled || first.Steps[1].Status != StatusCancelled {
		t.Errorf("first: got %s (steps %s, %s), want all cancelled", first.Status, first.Steps[0].Status, first.Steps[1].Status)
	}
	if got := stageStatus(t, final, "second").Status; got != StatusCancelled {
		t.Errorf("second: got %s, want cancelled", got)
	}
	var aborted *Record
	for _, r := range h.records() {
		if r.Type == RecRunAborted {
			aborted = &r
		}
	}
	if aborted == nil || aborted.Actor == nil || aborted.Actor.Name != "oncall" || aborted.Reason != "wrong image" {
		t.Errorf("journal abort record: got %+v, want actor oncall, reason 'wrong image'", aborted)
	}
	if err := h.eng.Abort(Actor{Name: "x"}, "late"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Abort after the run: got %v, want ErrNotRunning", err)
	}
}

func TestSecondAbortSkipsTheGrace(t *testing.T) {
	doc := `
apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: stubborn}
stages:
  - name: s
    budget: 1m
    steps:
      - name: ignore-term
        run: trap '' TERM; echo started; sleep 300
`
	// A grace of an hour: only the second Abort can end this test in
	// time; without it the test runs into go test's timeout.
	h := newHarness(t, Config{Pipeline: mustLoad(t, doc), KillGrace: time.Hour})
	result := h.start()
	h.wait("output", func(ev Event) bool { o, ok := ev.(StepOutput); return ok && o.Line == "started" })
	if err := h.eng.Abort(Actor{Name: "oncall"}, "stop"); err != nil {
		t.Fatal(err)
	}
	if err := h.eng.Abort(Actor{Name: "oncall"}, "stop now"); err != nil {
		t.Fatal(err)
	}
	final := <-result
	step := stageStatus(t, final, "s").Steps[0]
	if final.Status != StatusAborted || step.ExitCode != 128+9 {
		t.Errorf("got run %s, step exit %d; want aborted, killed by SIGKILL (137)", final.Status, step.ExitCode)
	}
}

func TestSecretsAreMaskedEverywhere(t *testing.T) {
	const secret = "hunter2-XYZ-7781"
	doc := `
apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: secrets}
secretEnv: [TOKEN]
stages:
  - name: s
    budget: 1m
    steps:
      - name: gate
        approve: "use token ${TOKEN} to log in"
      - name: leak
        run: echo "Authorization=Bearer${TOKEN}!"; echo "$TOKEN" >&2; exit 3
`
	p, err := spec.Load("test.yaml", []byte(doc), spec.Vars(map[string]string{"TOKEN": secret}, nil))
	if err != nil {
		t.Fatal(err)
	}
	vars, secrets := p.Exports(map[string]string{"TOKEN": secret}, spec.Vars(nil, nil))
	h := newHarness(t, Config{Pipeline: p, Vars: vars, Secrets: secrets, AutoApprove: true})
	// The secret reaches the step through its environment, never its
	// command line, which every user of the host can read.
	if strings.Contains(p.Stages[0].Steps[1].Run, secret) {
		t.Errorf("the secret is in the step's command line: %q", p.Stages[0].Steps[1].Run)
	}
	final := h.run()
	if final.Status != StatusFailed {
		t.Fatalf("run: got %s, want failed (the step exits 3)", final.Status)
	}
	// stdout and stderr are read concurrently, so their order is not fixed.
	got := strings.Join(slices.Sorted(slices.Values(h.output("s", "leak"))), "\n")
	if want := "***\nAuthorization=Bearer***!"; got != want {
		t.Errorf("output: got %q, want %q", got, want)
	}
	h.mu.Lock()
	for _, ev := range h.events {
		if s := fmtEvent(ev); strings.Contains(s, secret) {
			t.Errorf("event %s carries the secret: %s", ev.Type(), s)
		}
	}
	h.mu.Unlock()
	raw, err := os.ReadFile(filepath.Join(h.dir, JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), secret) {
		t.Errorf("journal carries the secret:\n%s", raw)
	}
	if !strings.Contains(string(raw), "Bearer***") {
		t.Errorf("journal lacks the masked output of the failed step:\n%s", raw)
	}
}

func TestLongLinesAndBinaryOutput(t *testing.T) {
	doc := `
apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: output}
stages:
  - name: s
    budget: 1m
    steps:
      - name: big
        run: head -c 1048576 /dev/zero | tr '\0' x; echo; echo after
      - name: garbage
        run: for i in $(seq 256); do printf '\377\376\000\001\002\033\015\007garbage\200\n'; done; printf '\033[31mred\033[0m\n'
`
	h := newHarness(t, Config{Pipeline: mustLoad(t, doc)})
	final := h.run()
	if final.Status != StatusSucceeded {
		t.Fatalf("run: got %s, want succeeded", final.Status)
	}
	var total, pieces int
	var last string
	h.mu.Lock()
	for _, ev := range h.events {
		o, ok := ev.(StepOutput)
		if !ok {
			continue
		}
		if !utf8.ValidString(o.Line) {
			t.Errorf("%s: line is not valid UTF-8", o.Step)
		}
		if strings.ContainsAny(o.Line, "\x1b\x00") {
			t.Errorf("%s: line carries control characters: %q", o.Step, o.Line[:min(40, len(o.Line))])
		}
		if o.Step == "big" {
			if len(o.Line) > maxEventLine {
				t.Errorf("event line of %d bytes, want at most %d", len(o.Line), maxEventLine)
			}
			if o.Line != "after" {
				total += len(o.Line)
				pieces++
			}
		}
		if o.Step == "garbage" {
			last = o.Line
		}
	}
	h.mu.Unlock()
	if total != 1<<20 || pieces != (1<<20)/maxEventLine {
		t.Errorf("the 1 MiB line arrived as %d bytes in %d pieces, want %d bytes in %d", total, pieces, 1<<20, (1<<20)/maxEventLine)
	}
	if out := h.output("s", "big"); out[len(out)-1] != "after" {
		t.Errorf("last line of big: got %q, want %q", out[len(out)-1], "after")
	}
	if !strings.HasSuffix(last, "red") {
		t.Errorf("garbage step's last line: got %q, want it to end in the text without escapes", last)
	}
}

func TestOverBudget(t *testing.T) {
	doc := func(policy string) string {
		return `
apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: budget}
stages:
  - name: slow
    budget: 1m
    onOverBudget: ` + policy + `
    steps:
      - name: wait
        approve: take your time
`
	}
	for _, tc := range []struct {
		policy string
		want   Status
	}{
		{"warn", StatusSucceeded},
		{"fail", StatusFailed},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			clock := newFakeClock()
			h := newHarness(t, Config{Pipeline: mustLoad(t, doc(tc.policy)), Clock: clock})
			result := h.start()
			h.wait("gate", func(ev Event) bool { _, ok := ev.(GateWaiting); return ok })
			clock.waitTimers(t, 1) // the budget timer
			clock.advance(61 * time.Second)
			w := h.wait("warning", func(ev Event) bool { w, ok := ev.(Warning); return ok && w.Code == WarnOverBudget }).(Warning)
			if !strings.Contains(w.Message, "over its budget of 1m") {
				t.Errorf("warning: got %q", w.Message)
			}
			if tc.policy == "warn" {
				if err := h.eng.Approve(Actor{Name: "alice"}, ""); err != nil {
					t.Fatalf("Approve: %v", err)
				}
			}
			final := <-result
			st := stageStatus(t, final, "slow")
			if st.Status != tc.want || !st.OverBudget {
				t.Errorf("stage: got %s overBudget=%v, want %s overBudget=true", st.Status, st.OverBudget, tc.want)
			}
			if got := st.Finished.Sub(st.Started); got != 61*time.Second {
				t.Errorf("elapsed on the injected clock: got %s, want 1m1s", got)
			}
		})
	}
}

func TestGateTimeoutOutcome(t *testing.T) {
	for _, outcome := range []spec.GateOutcome{spec.GateApprove, spec.GateReject} {
		t.Run(string(outcome), func(t *testing.T) {
			clock := newFakeClock()
			doc := `
apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: gate}
stages:
  - name: s
    budget: 1h
    steps:
      - name: g
        approve: ok?
        timeout: 10m
        onTimeout: ` + string(outcome) + "\n"
			h := newHarness(t, Config{Pipeline: mustLoad(t, doc), Clock: clock})
			result := h.start()
			h.wait("gate", func(ev Event) bool { _, ok := ev.(GateWaiting); return ok })
			clock.waitTimers(t, 2) // budget and gate timeout
			clock.advance(10 * time.Minute)
			final := <-result
			want := StatusSucceeded
			if outcome == spec.GateReject {
				want = StatusFailed
			}
			if final.Status != want {
				t.Fatalf("run: got %s, want %s", final.Status, want)
			}
			d := h.wait("decision", func(ev Event) bool { _, ok := ev.(GateDecided); return ok }).(GateDecided)
			if d.Actor.Name != "timeout" || d.Outcome != outcome {
				t.Errorf("decision: got %s by %s, want %s by timeout", d.Outcome, d.Actor, outcome)
			}
		})
	}
}

func TestConflictingDecisionsApplyOnce(t *testing.T) {
	doc := `
apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: race}
stages:
  - name: s
    budget: 1h
    steps:
      - name: g
        approve: ok?
`
	for i := range 20 {
		h := newHarness(t, Config{Pipeline: mustLoad(t, doc)})
		result := h.start()
		h.wait("gate", func(ev Event) bool { _, ok := ev.(GateWaiting); return ok })
		var wg sync.WaitGroup
		var approveErr, rejectErr error
		wg.Go(func() { approveErr = h.eng.Approve(Actor{Name: "alice"}, "s/g") })
		wg.Go(func() { rejectErr = h.eng.Reject(Actor{Name: "bob"}, "s/g", "no") })
		wg.Wait()
		final := <-result
		if (approveErr == nil) == (rejectErr == nil) {
			t.Fatalf("round %d: approve err %v, reject err %v; want exactly one to apply", i, approveErr, rejectErr)
		}
		want := StatusSucceeded
		if approveErr != nil {
			want = StatusFailed
			if !errors.Is(approveErr, ErrGateDecided) {
				t.Errorf("losing approve: got %v, want ErrGateDecided", approveErr)
			}
		}
		if final.Status != want {
			t.Errorf("round %d: run %s, want %s", i, final.Status, want)
		}
		decisions := 0
		for _, r := range h.records() {
			if r.Type == RecGateApproved || r.Type == RecGateRejected {
				decisions++
			}
		}
		if decisions != 1 {
			t.Errorf("round %d: journal has %d decisions, want 1", i, decisions)
		}
	}
}

func TestRetriesThenSucceeds(t *testing.T) {
	dir := t.TempDir()
	doc := `
apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: retry}
stages:
  - name: s
    budget: 1m
    steps:
      - name: flaky
        retries: 2
        run: if [ -e "$D/once" ]; then echo second; else touch "$D/once"; echo first; exit 1; fi
`
	h := newHarness(t, Config{Pipeline: mustLoad(t, doc), Env: append(os.Environ(), "D="+dir)})
	final := h.run()
	step := stageStatus(t, final, "s").Steps[0]
	if final.Status != StatusSucceeded || step.Attempt != 2 {
		t.Fatalf("got run %s, attempt %d; want succeeded on attempt 2", final.Status, step.Attempt)
	}
	var attempts []int
	for _, r := range h.records() {
		if r.Type == RecStepFinished {
			attempts = append(attempts, r.Attempt)
		}
	}
	if len(attempts) != 2 || attempts[0] != 1 || attempts[1] != 2 {
		t.Errorf("journal attempts: got %v, want [1 2]", attempts)
	}
}

func TestFailureCancelsDependentsOnly(t *testing.T) {
	doc := `
apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: fail}
stages:
  - name: build
    budget: 1m
    steps: [{run: "exit 4"}]
  - name: deploy
    budget: 1m
    needs: [build]
    steps: [{run: "true"}]
  - name: verify
    budget: 1m
    needs: [deploy]
    steps: [{run: "true"}]
  - name: docs
    budget: 1m
    steps: [{run: "true"}]
`
	h := newHarness(t, Config{Pipeline: mustLoad(t, doc)})
	final := h.run()
	want := map[string]Status{"build": StatusFailed, "deploy": StatusCancelled, "verify": StatusCancelled, "docs": StatusSucceeded}
	for name, status := range want {
		if got := stageStatus(t, final, name).Status; got != status {
			t.Errorf("stage %s: got %s, want %s", name, got, status)
		}
	}
	if final.Status != StatusFailed {
		t.Errorf("run: got %s, want failed", final.Status)
	}
	if got := stageStatus(t, final, "build").Steps[0].ExitCode; got != 4 {
		t.Errorf("exit code: got %d, want 4", got)
	}
	if r := stageStatus(t, final, "deploy").Reason; !strings.Contains(r, "needs build") {
		t.Errorf("deploy reason: got %q, want it to name build", r)
	}
}

func TestSkipsAndEmergency(t *testing.T) {
	doc := `
apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: skip}
stages:
  - name: tests
    budget: 1m
    skippableInEmergency: true
    steps: [{run: "exit 1"}]
  - name: lint
    budget: 1m
    steps: [{run: "exit 1"}]
  - name: deploy
    budget: 1m
    needs: [tests, lint]
    steps: [{run: "true"}]
`
	p := mustLoad(t, doc)
	if _, err := New(Config{Pipeline: p, Emergency: true}); !errors.Is(err, ErrBadSkip) {
		t.Errorf("emergency without reason: got %v, want ErrBadSkip", err)
	}
	if _, err := New(Config{Pipeline: p, SkipStages: []string{"lnt"}}); !errors.Is(err, ErrBadSkip) || !strings.Contains(err.Error(), `did you mean "lint"`) {
		t.Errorf("unknown skip: got %v, want ErrBadSkip with a suggestion", err)
	}
	h := newHarness(t, Config{Pipeline: p, Emergency: true, Reason: "INC-42 login outage", SkipStages: []string{"lint"}})
	final := h.run()
	if final.Status != StatusSucceeded {
		t.Fatalf("run: got %s, want succeeded with failing stages skipped", final.Status)
	}
	for _, name := range []string{"tests", "lint"} {
		if got := stageStatus(t, final, name).Status; got != StatusSkipped {
			t.Errorf("stage %s: got %s, want skipped", name, got)
		}
	}
	skips := map[string]string{}
	for _, r := range h.records() {
		if r.Type == RecStageSkipped {
			if r.Actor == nil || r.Actor.Name != "tester" {
				t.Errorf("skip of %s recorded without its actor: %+v", r.Stage, r.Actor)
			}
			skips[r.Stage] = r.Reason
		}
		if r.Type == RecRunStarted && (!r.Emergency || r.Reason != "INC-42 login outage") {
			t.Errorf("run.started: emergency=%v reason=%q", r.Emergency, r.Reason)
		}
	}
	if skips["tests"] != "emergency: INC-42 login outage" || !strings.HasPrefix(skips["lint"], "skipped with --skip-stage") {
		t.Errorf("skip reasons: got %q", skips)
	}
}

func TestAutoApproveRecordsActor(t *testing.T) {
	doc := `
apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: auto}
stages:
  - name: s
    budget: 1m
    steps: [{name: g, approve: "go?"}]
`
	h := newHarness(t, Config{Pipeline: mustLoad(t, doc), AutoApprove: true})
	if final := h.run(); final.Status != StatusSucceeded {
		t.Fatalf("run: got %s, want succeeded", final.Status)
	}
	var approvers []string
	for _, r := range h.records() {
		if r.Type == RecGateApproved {
			approvers = append(approvers, r.Actor.Name)
		}
	}
	if len(approvers) != 1 || approvers[0] != "auto-approve" {
		t.Errorf("approvers: got %v, want [auto-approve]", approvers)
	}
}

func TestApproveErrors(t *testing.T) {
	doc := `
apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: two}
stages:
  - name: a
    budget: 1m
    steps: [{name: g, approve: "a?"}]
  - name: b
    budget: 1m
    steps: [{name: g, approve: "b?"}]
`
	h := newHarness(t, Config{Pipeline: mustLoad(t, doc)})
	if err := h.eng.Approve(Actor{Name: "x"}, ""); !errors.Is(err, ErrNoGate) {
		t.Errorf("approve before any gate: got %v, want ErrNoGate", err)
	}
	result := h.start()
	for _, id := range []string{"a/g", "b/g"} {
		h.wait("gate "+id, func(ev Event) bool { g, ok := ev.(GateWaiting); return ok && g.Gate == id })
	}
	if err := h.eng.Approve(Actor{Name: "x"}, ""); err == nil || !strings.Contains(err.Error(), "a/g, b/g") {
		t.Errorf("ambiguous approve: got %v, want an error listing both gates", err)
	}
	for _, id := range []string{"a/g", "b/g"} {
		if err := h.eng.Approve(Actor{Name: "x"}, id); err != nil {
			t.Errorf("approve %s: %v", id, err)
		}
	}
	if final := <-result; final.Status != StatusSucceeded {
		t.Errorf("run: got %s, want succeeded", final.Status)
	}
}

// fmtEvent renders every field of an event for leak checks.
func fmtEvent(ev Event) string { return fmt.Sprintf("%+v", ev) }

// TestMultiLineSecretIsMaskedLineByLine prints a PEM key the way steps
// do: whole, line by line, and a line written in two chunks with a pause
// between them (two reads of the pipe).
func TestMultiLineSecretIsMaskedLineByLine(t *testing.T) {
	doc := `
apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: secrets}
secretEnv: [KEY]
stages:
  - name: s
    budget: 1m
    steps:
      - name: leak
        run: |
          printf '%s\n' "$KEY"
          printf 'MIIEvQIBADAN'; sleep 0.2; printf 'BgkqhkiG9w0BAQEFAASC\n'
          printf '%s' "$KEY" | tr '\n' ' ' >&2; exit 3
`
	set := map[string]string{"KEY": pemKey}
	p, err := spec.Load("test.yaml", []byte(doc), spec.Vars(set, nil))
	if err != nil {
		t.Fatal(err)
	}
	vars, secrets := p.Exports(set, spec.Vars(nil, nil))
	h := newHarness(t, Config{Pipeline: p, Vars: vars, Secrets: secrets})
	if final := h.run(); final.Status != StatusFailed {
		t.Fatalf("run: got %s, want failed (the step exits 3)", final.Status)
	}
	lines := strings.Split(pemKey, "\n")
	out := strings.Join(h.output("s", "leak"), "\n")
	raw, err := os.ReadFile(filepath.Join(h.dir, JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, secretLine := range lines[1:3] {
		if strings.Contains(out, secretLine[:12]) {
			t.Errorf("output shows a line of the key %q:\n%s", secretLine, out)
		}
		if strings.Contains(string(raw), secretLine[:12]) {
			t.Errorf("journal shows a line of the key %q:\n%s", secretLine, raw)
		}
	}
	if n := strings.Count(out, "***"); n < 5 {
		t.Errorf("output: got %d masks, want at least 5 (two lines, the chunked line, the whole key):\n%s", n, out)
	}
}

func TestShortSecretIsRefused(t *testing.T) {
	doc := `
apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: secrets}
secretEnv: [PIN]
stages:
  - name: s
    budget: 1m
    steps: [{run: "true"}]
`
	_, err := spec.Load("short.yaml", []byte(doc), spec.Vars(map[string]string{"PIN": "123"}, nil))
	if err == nil || !strings.Contains(err.Error(), "short.yaml:5:13: secretEnv[0]: the value of PIN is 3 characters long") {
		t.Errorf("got %v, want the file, line and PIN named", err)
	}
	if _, err := spec.Load("short.yaml", []byte(doc), spec.Vars(map[string]string{"PIN": "1234"}, nil)); err != nil {
		t.Errorf("a 4-character secret: %v", err)
	}
}
