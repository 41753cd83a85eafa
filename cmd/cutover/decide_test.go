package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine"
)

const gatedPipeline = `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: gated}
stages:
  - name: release
    budget: 5m
    steps:
      - {name: go, approve: "Ship v2 to production?", timeout: 30m}
      - {name: ship, run: "echo shipped"}
`

// gatedRun starts a plain run of gatedPipeline with its standard input
// closed, as a CI job or "</dev/null" would, and waits for it to say that
// nobody can answer the gate there. It returns the run, its ID from that
// message, and the message.
func gatedRun(t *testing.T, bin, state string, extra ...string) (*exec.Cmd, string, string) {
	t.Helper()
	pipeline := writeFile(t, "gated.yaml", gatedPipeline)
	cmd := exec.Command(bin, append([]string{"run", pipeline, "--state-dir", state}, extra...)...)
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	said := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "standard input is closed") {
				said <- sc.Text()
			}
		}
		close(said)
	}()
	var msg string
	select {
	case msg = <-said:
	case <-time.After(30 * time.Second):
		t.Fatal("the run never said that nobody can answer its gate")
	}
	// Reported, not asserted: this machine is shared and noisy.
	t.Logf("unattended message %s after the run started: %s", time.Since(start).Round(time.Millisecond), msg)
	m := regexp.MustCompile(`cutover approve --run (\S+)`).FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("the message names no run to approve: %s", msg)
	}
	return cmd, m[1], msg
}

// TestApproveFromAnotherProcess: a plain run whose standard input is
// closed says how its gate can still be decided, and what happens at its
// timeout; cutover approve from a second process decides it, journaled
// under the user the kernel names, and the run finishes with exit 0.
func TestApproveFromAnotherProcess(t *testing.T) {
	bin := buildCutover(t)
	state := t.TempDir()
	run, id, msg := gatedRun(t, bin, state)
	for _, want := range []string{"gate release/go", "--state-dir " + state, "cutover reject --run " + id, "rejected at its timeout, in 30m"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message lacks %q: %s", want, msg)
		}
	}

	// No --run: the only run listening is found.
	out, err := exec.Command(bin, "approve", "--state-dir", state, "--yes").CombinedOutput()
	if err != nil {
		t.Fatalf("cutover approve: %v\n%s", err, out)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Ship v2 to production?", "approved release/go as " + me.Username} {
		if !strings.Contains(string(out), want) {
			t.Errorf("cutover approve printed no %q:\n%s", want, out)
		}
	}
	if code := waitExit(t, run); code != 0 {
		t.Fatalf("the run exited %d after the approval, want 0", code)
	}
	recs, _, err := engine.ReadJournal(state)
	if err != nil {
		t.Fatal(err)
	}
	var decided []engine.Record
	for _, r := range recs {
		if r.Type == engine.RecGateApproved {
			decided = append(decided, r)
		}
	}
	if len(decided) != 1 || decided[0].Actor == nil || decided[0].Actor.Name != me.Username || !strings.Contains(decided[0].Actor.ID, "local socket") {
		t.Fatalf("journal: %+v, want one approval by %s through the local socket", decided, me.Username)
	}
	if _, err := os.Stat(filepath.Join(state, "runs", id+".sock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the run's socket outlived it: %v", err)
	}
}

// TestUnattendedIsAnEvent: with -o json the same message is a warning
// event, for whatever reads the stream.
func TestUnattendedIsAnEvent(t *testing.T) {
	bin := buildCutover(t)
	state := t.TempDir()
	pipeline := writeFile(t, "gated.yaml", gatedPipeline)
	cmd, stdout := startUntil(t, `"code":"unattended"`, bin, "run", pipeline, "--state-dir", state, "-o", "json")
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	defer func() { _ = stdout.Close() }()
	if out, err := exec.Command(bin, "reject", "--state-dir", state, "--yes", "--reason", "not today").CombinedOutput(); err != nil {
		t.Fatalf("cutover reject: %v\n%s", err, out)
	}
	if code := waitExit(t, cmd); code != exitFailed {
		t.Fatalf("a rejected run exited %d, want %d", code, exitFailed)
	}
}

// TestRacingApprovalsApplyOnce: two cutover approve at once; exactly one
// applies, and the other says why it did not.
func TestRacingApprovalsApplyOnce(t *testing.T) {
	bin := buildCutover(t)
	state := t.TempDir()
	run, id, _ := gatedRun(t, bin, state)
	var wg sync.WaitGroup
	codes := make([]int, 2)
	outs := make([]string, 2)
	for i := range codes {
		wg.Go(func() {
			out, err := exec.Command(bin, "approve", "--state-dir", state, "--run", id, "--yes").CombinedOutput()
			outs[i] = string(out)
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				codes[i] = exitErr.ExitCode()
			} else if err != nil {
				codes[i] = -1
			}
		})
	}
	wg.Wait()
	if codes[0]+codes[1] != exitFailed || codes[0]*codes[1] != 0 {
		t.Fatalf("exit codes %v, want one 0 and one %d:\n%s\n---\n%s", codes, exitFailed, outs[0], outs[1])
	}
	if code := waitExit(t, run); code != 0 {
		t.Fatalf("the run exited %d, want 0", code)
	}
	recs, _, err := engine.ReadJournal(state)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r.Type == engine.RecGateApproved || r.Type == engine.RecGateRejected {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d decisions journaled, want exactly one", n)
	}
}

// TestApproveSocketRefusesOtherUsers: another user of the host (nobody)
// cannot reach the run's socket, even with the binary and the state dir
// open to it; the gate still waits, and its owner can approve it.
func TestApproveSocketRefusesOtherUsers(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("runs a process as nobody, which needs root")
	}
	bin := buildCutover(t)
	// Everything but the run's own socket directory is open to nobody:
	// what keeps it out is that directory's mode.
	open := t.TempDir()
	for d := open; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	shared := filepath.Join(open, "cutover")
	if err := os.WriteFile(shared, mustRead(t, bin), 0o755); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(open, "state")
	if err := os.Mkdir(state, 0o755); err != nil {
		t.Fatal(err)
	}
	run, id, _ := gatedRun(t, shared, state)

	nobody := exec.Command(shared, "approve", "--state-dir", state, "--run", id, "--yes")
	nobody.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := nobody.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "permission denied") {
		t.Fatalf("cutover approve as nobody: %v, want permission denied:\n%s", err, out)
	}
	if out, err := exec.Command(shared, "approve", "--state-dir", state, "--run", id, "--yes").CombinedOutput(); err != nil {
		t.Fatalf("cutover approve as the run's owner after nobody tried: %v\n%s", err, out)
	}
	if code := waitExit(t, run); code != 0 {
		t.Fatalf("the run exited %d, want 0", code)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestApproveWithADeepStateDir: a state dir too deep for a socket address
// still gets a socket, reached through its directory's descriptor.
func TestApproveWithADeepStateDir(t *testing.T) {
	bin := buildCutover(t)
	state := filepath.Join(t.TempDir(), strings.Repeat("deep", 20))
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	run, id, _ := gatedRun(t, bin, state)
	if sock := filepath.Join(state, "runs", id+".sock"); len(sock) <= maxSocketPath {
		t.Fatalf("socket path %s (%d bytes) fits an address; the test needs a deeper one", sock, len(sock))
	}
	if out, err := exec.Command(bin, "approve", "--state-dir", state, "--yes").CombinedOutput(); err != nil {
		t.Fatalf("cutover approve: %v\n%s", err, out)
	}
	if code := waitExit(t, run); code != 0 {
		t.Fatalf("the run exited %d, want 0", code)
	}
}
