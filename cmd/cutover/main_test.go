package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	"github.com/cutover-sh/cutover/engine"
)

// cli runs cutover in-process and returns its exit code and outputs. stdin
// is typed only once a gate waits, as a person would.
func cli(t *testing.T, stdin string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	out := &promptWriter{trigger: "waiting for approval", fired: make(chan struct{})}
	var errOut bytes.Buffer
	s := streams{
		in: &afterReader{wait: out.fired, r: strings.NewReader(stdin)}, out: out, err: &errOut,
		lookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	}
	code := execute(context.Background(), append([]string{"cutover"}, args...), s)
	return code, out.String(), errOut.String()
}

// promptWriter collects output and closes fired once trigger appears.
type promptWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	trigger string
	fired   chan struct{}
	once    sync.Once
}

func (w *promptWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.trigger) {
		w.once.Do(func() { close(w.fired) })
	}
	return n, err
}

func (w *promptWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// afterReader blocks reads until wait closes.
type afterReader struct {
	wait <-chan struct{}
	r    io.Reader
}

func (a *afterReader) Read(p []byte) (int, error) {
	<-a.wait
	return a.r.Read(p)
}

func writeFile(t testing.TB, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const localExample = "../../examples/local/pipeline.yaml"

func TestValidateLocalExample(t *testing.T) {
	code, out, errOut := cli(t, "", nil, "validate", localExample)
	if code != exitOK || !strings.Contains(out, "pipeline local is valid: 7 stages") {
		t.Fatalf("validate: exit %d, out %q, err %q; want 0 and a summary", code, out, errOut)
	}
}

func TestRunLocalExampleAutoApprove(t *testing.T) {
	state := t.TempDir()
	code, out, errOut := cli(t, "", nil, "run", "--plain", "--auto-approve", "--state-dir", state, localExample)
	if code != exitOK {
		t.Fatalf("run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	line := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z `)
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !line.MatchString(l) {
			t.Errorf("plain line without a timestamp: %q", l)
		}
	}
	if strings.Contains(out, "not-a-real-token-4f9a") || !strings.Contains(out, "(token ***)") {
		t.Errorf("the example's secret is not masked in plain output")
	}
	recs, skipped, err := engine.ReadJournal(state)
	if err != nil || len(skipped) > 0 {
		t.Fatalf("journal: %v %v", err, skipped)
	}
	approvers := 0
	for _, r := range recs {
		if r.Type == engine.RecGateApproved {
			approvers++
			if r.Actor == nil || r.Actor.Name != "auto-approve" {
				t.Errorf("gate approved by %+v, want auto-approve", r.Actor)
			}
		}
	}
	if approvers != 1 {
		t.Errorf("journal has %d approvals, want 1", approvers)
	}
	// The history table reads what the run wrote.
	code, out, _ = cli(t, "", nil, "history", "--state-dir", state)
	if code != exitOK || !strings.Contains(out, "production-deploy") || !strings.Contains(out, "TOTAL") || !strings.Contains(out, "2h35m") {
		t.Errorf("history: exit %d, out:\n%s", code, out)
	}
}

func TestRunJSONLines(t *testing.T) {
	pipeline := writeFile(t, "p.yaml", `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: json}
secretEnv: [API_KEY]
stages:
  - name: s
    budget: 1m
    steps:
      - run: echo "key=$API_KEY"
`)
	code, out, errOut := cli(t, "", map[string]string{"API_KEY": "k-123456"}, "run", "-o", "json", "--state-dir", t.TempDir(), "--set", "API_KEY=k-123456", pipeline)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var types []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("not a JSON line: %q: %v", sc.Text(), err)
		}
		types = append(types, ev["type"].(string))
		if ev["type"] == "step.output" && ev["line"] != "key=***" {
			t.Errorf("step output: got %v, want key=***", ev["line"])
		}
		if _, ok := ev["seq"]; !ok {
			t.Errorf("event without seq: %s", sc.Text())
		}
	}
	want := "run.started stage.started step.started step.output step.finished stage.finished run.finished"
	if got := strings.Join(types, " "); got != want {
		t.Errorf("event types:\n got %s\nwant %s", got, want)
	}
	if strings.Contains(out, "k-123456") {
		t.Error("the secret leaked into the JSON stream")
	}
}

func TestExitCodes(t *testing.T) {
	gate := writeFile(t, "gate.yaml", `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: gate}
stages:
  - name: s
    budget: 1m
    steps:
      - name: g
        approve: ship it?
      - run: "true"
`)
	failing := writeFile(t, "fail.yaml", `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: fail}
stages:
  - name: s
    budget: 1m
    steps: [{run: "exit 7"}]
`)
	malformed := writeFile(t, "bad.yaml", "apiVersion: cutover.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: bad}\nstages:\n  - name: s\n    budget: soon\n    steps: [{run: x}]\n")
	for _, c := range []struct {
		name    string
		stdin   string
		args    []string
		want    int
		wantErr string
	}{
		{"approved on stdin", "approve\n", []string{"run", gate}, exitOK, ""},
		{"rejected on stdin", "reject too risky\n", []string{"run", gate}, exitFailed, ""},
		{"aborted on stdin", "abort\n", []string{"run", gate}, exitAborted, ""},
		{"failing step", "", []string{"run", failing}, exitFailed, ""},
		{"malformed file", "", []string{"run", malformed}, exitBadInput, `bad.yaml:6:13: stages[0].budget: "soon" is not a duration`},
		{"validate malformed", "", []string{"validate", malformed}, exitBadInput, "bad.yaml:6:13"},
		{"missing file", "", []string{"validate", "/nonexistent.yaml"}, exitBadInput, "no such file"},
		{"unknown flag", "", []string{"run", "--nope", gate}, exitBadInput, "unknown flag"},
		{"bad --set", "", []string{"run", "--set", "1X=2", gate}, exitBadInput, "not a variable name"},
		{"emergency without reason", "", []string{"run", "--emergency", gate}, exitBadInput, "--emergency needs --reason"},
		{"unknown skip", "", []string{"run", "--skip-stage", "x", gate}, exitBadInput, "names no stage"},
		{"bad output format", "", []string{"run", "-o", "yaml", gate}, exitBadInput, "the only format is json"},
		{"approve with no run waiting", "", []string{"approve", "--state-dir", "/nonexistent-cutover-state"}, exitFailed, "no run of /nonexistent-cutover-state is waiting on this host"},
		{"rollback without a reason", "", []string{"rollback", "web-service"}, exitBadInput, "--reason is required"},
		{"unknown command", "", []string{"rollout"}, exitBadInput, "unknown command"},
		{"no parallel slot", "", []string{"run", "--parallel", "0", gate}, exitBadInput, "--parallel 0"},
		{"missing argument", "", []string{"run"}, exitBadInput, "accepts 1 arg"},
		{"history of nothing", "", []string{"history"}, exitFailed, "no runs recorded"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{c.args[0], "--state-dir", t.TempDir()}, c.args[1:]...)
			if c.args[0] == "rollback" || c.args[0] == "rollout" {
				args = c.args
			}
			code, _, errOut := cli(t, c.stdin, nil, args...)
			if code != c.want || !strings.Contains(errOut, c.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut, c.want, c.wantErr)
			}
		})
	}
}

// TestAutoApproveStillTakesAnAbort: --auto-approve decides gates, not
// emergencies. A person watching the run can still stop it, or roll a
// release back, on stdin.
func TestAutoApproveStillTakesAnAbort(t *testing.T) {
	slow := writeFile(t, "slow.yaml", `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: slow}
stages:
  - name: s
    budget: 1m
    steps: [{run: "sleep 30"}]
`)
	out := &promptWriter{trigger: "step s/run-1 started", fired: make(chan struct{})}
	var errOut bytes.Buffer
	s := streams{in: &afterReader{wait: out.fired, r: strings.NewReader("abort\n")}, out: out, err: &errOut,
		lookupEnv: func(string) (string, bool) { return "", false }}
	code := execute(context.Background(), []string{"cutover", "run", "--auto-approve", "--state-dir", t.TempDir(), slow}, s)
	if code != exitAborted || !strings.Contains(out.String(), "run aborted by") {
		t.Errorf("exit %d, output %q, stderr %q; want exit %d and the run aborted", code, out.String(), errOut.String(), exitAborted)
	}
}

func TestSchemaMatchesShippedFile(t *testing.T) {
	code, out, _ := cli(t, "", nil, "schema")
	if code != exitOK {
		t.Fatalf("schema: exit %d", code)
	}
	shipped, err := os.ReadFile("../../schema/pipeline.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if out != string(shipped) {
		t.Error("cutover schema does not print schema/pipeline.schema.json (TestSchemaFileIsCurrent in engine/spec keeps that current)")
	}
	var doc map[string]any
	if err := json.Unmarshal(shipped, &doc); err != nil || doc["$id"] != spec.SchemaID {
		t.Errorf("shipped schema: %v, $id %v", err, doc["$id"])
	}
}

func TestKubectlPluginName(t *testing.T) {
	for arg0, want := range map[string]string{"/usr/local/bin/kubectl-cutover": "kubectl cutover", "./cutover": "cutover"} {
		var out bytes.Buffer
		code := execute(context.Background(), []string{arg0, "--help"}, streams{in: strings.NewReader(""), out: &out, err: io.Discard, lookupEnv: os.LookupEnv})
		if code != exitOK || !strings.Contains(out.String(), "Usage:\n  "+want+" [command]") || !strings.Contains(out.String(), "  "+want+" validate pipeline.yaml") {
			t.Errorf("%s --help: exit %d, want usage naming %q:\n%s", arg0, code, want, out.String())
		}
	}
}

// buildCutover builds the binary once per test that needs a real process.
func buildCutover(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "cutover")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

const slowPipeline = `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: slow}
stages:
  - name: s
    budget: 1m
    steps: [{name: wait, run: "echo waiting; sleep 300"}]
`

func abortReason(t *testing.T, state string) string {
	t.Helper()
	recs, _, err := engine.ReadJournal(state)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Type == engine.RecRunAborted {
			return r.Reason
		}
	}
	return ""
}

// startUntil starts a command and reads its stdout until a line contains
// marker; the caller owns the rest of stdout.
func startUntil(t *testing.T, marker, name string, args ...string) (*exec.Cmd, io.ReadCloser) {
	t.Helper()
	cmd := exec.Command(name, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && !strings.Contains(sc.Text(), marker) {
	}
	return cmd, stdout
}

// waitExit waits for cmd and returns its exit code, failing the test if it
// does not stop: a release that ignores a stop is the bug looked for here.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exitErr *exec.ExitError
		if err != nil && !errors.As(err, &exitErr) {
			t.Fatalf("wait: %v", err)
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("cutover did not stop within 30s")
	}
	return cmd.ProcessState.ExitCode()
}

// TestSignalsAbortTheRun sends real signals to a built cutover process:
// Ctrl-C, the hang-up an SSH session sends when it drops, a stop, and
// Ctrl-\ (SIGQUIT), which must not leave steps running behind a goroutine
// dump.
func TestSignalsAbortTheRun(t *testing.T) {
	bin := buildCutover(t)
	pipeline := writeFile(t, "slow.yaml", slowPipeline)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) {
			state := t.TempDir()
			cmd, stdout := startUntil(t, "| waiting", bin, "run", "--plain", "--state-dir", state, pipeline)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			if got := waitExit(t, cmd); got != exitAborted {
				t.Errorf("exit code: got %d, want %d", got, exitAborted)
			}
			if r := abortReason(t, state); !strings.Contains(r, "interrupted") {
				t.Errorf("journal abort reason: got %q, want it to name the signal", r)
			}
			recs, _, err := engine.ReadJournal(state)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(recs, func(r engine.Record) bool { return r.Type == engine.RecRunFinished }) {
				t.Errorf("the journal has no %s record", engine.RecRunFinished)
			}
		})
	}
}

// TestClosedOutputAbortsTheRun closes the reading end of cutover's stdout,
// as `cutover run -o json | head -1` does, while a step keeps printing.
func TestClosedOutputAbortsTheRun(t *testing.T) {
	bin := buildCutover(t)
	pipeline := writeFile(t, "chatty.yaml", `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: chatty}
stages:
  - name: s
    budget: 1m
    steps: [{name: tick, run: "while true; do echo tick; sleep 0.1; done"}]
`)
	state := t.TempDir()
	cmd, stdout := startUntil(t, `"line":"tick"`, bin, "run", "-o", "json", "--state-dir", state, pipeline)
	_ = stdout.Close()
	if got := waitExit(t, cmd); got != exitAborted {
		t.Errorf("exit code: got %d, want %d", got, exitAborted)
	}
	if r := abortReason(t, state); !strings.Contains(r, "output closed") {
		t.Errorf("journal abort reason: got %q, want output closed", r)
	}
}

// TestRejectNamesAGate types "reject GATE REASON" while two gates wait in
// parallel stages.
func TestRejectNamesAGate(t *testing.T) {
	p, err := spec.Load("two.yaml", []byte(`apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: two}
stages:
  - {name: a, budget: 1m, steps: [{name: g, approve: "a?"}]}
  - {name: b, budget: 1m, steps: [{name: g, approve: "b?"}]}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Config{Pipeline: p, Actor: engine.Actor{Name: "alice"}})
	if err != nil {
		t.Fatal(err)
	}
	sub := eng.Subscribe(64)
	result := make(chan engine.Snapshot, 1)
	go func() { final, _ := eng.Run(context.Background()); result <- final }()
	for waiting := 0; waiting < 2; {
		m, err := sub.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m.Event.(engine.GateWaiting); ok {
			waiting++
		}
	}
	var errOut bytes.Buffer
	readDecisions(strings.NewReader("reject b/g too risky\napprove a/g\n"), &errOut, eng, engine.Actor{Name: "alice"}, "", nil)
	final := <-result
	b, _ := final.Stage("b")
	a, _ := final.Stage("a")
	if errOut.Len() > 0 || a.Status != engine.StatusSucceeded || b.Status != engine.StatusFailed || b.Reason != "rejected by alice: too risky" {
		t.Errorf("got a %s, b %s (%q), stderr %q; want a succeeded, b rejected by alice: too risky", a.Status, b.Status, b.Reason, errOut.String())
	}
}
