package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/testenv"
)

// bastion is a cutover serve process on loopback with four test keys:
// alice and carol are operators, bob a viewer, mallory unknown.
type bastion struct {
	t        testing.TB
	pipeline string
	extra    []string
	dir      string
	addr     string
	state    string
	cmd      *exec.Cmd
	// nofile, if set, is the server's open-files limit, soft and hard.
	nofile int
	mu     sync.Mutex
	log    bytes.Buffer
}

const bastionPipeline = `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: bastion}
stages:
  - name: build
    budget: 5m
    steps: [{name: compile, run: "sleep 1; echo built"}]
  - name: release
    budget: 5m
    needs: [build]
    steps:
      - {name: go, approve: "Ship it?"}
      - {name: ship, run: "echo shipping; sleep 4; echo shipped"}
`

func startBastion(t testing.TB, pipeline string, extra ...string) *bastion {
	t.Helper()
	return startBastionFiles(t, pipeline, 0, extra...)
}

// startBastionFiles is startBastion with the server's open-files limit
// set to nofile, soft and hard, so that the Go runtime cannot raise it.
func startBastionFiles(t testing.TB, pipeline string, nofile int, extra ...string) *bastion {
	t.Helper()
	if testing.Short() {
		t.Skip("runs cutover serve and OpenSSH")
	}
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Fatalf("the OpenSSH client is not installed (testenv/test-all installs it): %v", err)
	}
	b := &bastion{t: t, dir: t.TempDir(), nofile: nofile}
	b.state = filepath.Join(b.dir, "state")
	for _, u := range []string{"alice", "bob", "carol", "mallory"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", u+"@laptop", "-f", filepath.Join(b.dir, u)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	keys := "role=operator " + b.read("alice.pub") + b.read("bob.pub") + "role=operator " + b.read("carol.pub")
	if err := os.WriteFile(filepath.Join(b.dir, "authorized_keys"), []byte(keys), 0o600); err != nil {
		t.Fatal(err)
	}
	b.pipeline, b.extra = writeFile(t, "bastion.yaml", pipeline), extra
	b.start()
	return b
}

func (b *bastion) read(name string) string {
	data, err := os.ReadFile(filepath.Join(b.dir, name))
	if err != nil {
		b.t.Fatal(err)
	}
	return string(data)
}

func (b *bastion) start(more ...string) {
	t := b.t
	pipeline, extra := b.pipeline, append(append([]string(nil), b.extra...), more...)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{exe, "serve", pipeline, "--listen", "127.0.0.1:0",
		"--authorized-keys", filepath.Join(b.dir, "authorized_keys"), "--state-dir", b.state}, extra...)
	if b.nofile > 0 {
		// The shell sets both limits and execs the server in its place.
		args = append([]string{"sh", "-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, b.nofile)}, args...)
	}
	b.cmd = exec.Command(args[0], args[1:]...)
	b.cmd.Env = append(os.Environ(), beMain+"=1")
	stderr, err := b.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd := b.cmd
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			b.mu.Lock()
			b.log.WriteString(sc.Text() + "\n")
			b.mu.Unlock()
			if m := regexp.MustCompile(`over SSH on (\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case b.addr = <-addr:
	case <-time.After(30 * time.Second):
		t.Fatalf("cutover serve did not start:\n%s", b.logText())
	}
}

func (b *bastion) logText() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.log.String()
}

// waitLog waits until the server's log says text.
func (b *bastion) waitLog(text string, within time.Duration) {
	b.t.Helper()
	for deadline := time.Now().Add(within); !strings.Contains(b.logText(), text); {
		if time.Now().After(deadline) {
			b.t.Fatalf("the server's log never said %q in %s:\n%s", text, within, b.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sshArgs are the OpenSSH client's arguments to log in as user with its
// test key, trusting the test server's host key and nothing else.
func (b *bastion) sshArgs(user string) []string {
	host, port, _ := strings.Cut(b.addr, ":")
	return []string{"-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "IdentitiesOnly=yes", "-o", "PreferredAuthentications=publickey", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
		"-p", port, "-i", filepath.Join(b.dir, user), user + "@" + host}
}

// console opens user's console over ssh in a tmux pane, with extra ssh
// options first.
func (b *bastion) console(user string, w, h int, opts ...string) *pane {
	return startPaneShell(b.t, w, h, "ssh -tt "+strings.Join(append(opts, b.sshArgs(user)...), " "))
}

func (b *bastion) fingerprint(user string) string {
	out, err := exec.Command("ssh-keygen", "-l", "-E", "sha256", "-f", filepath.Join(b.dir, user+".pub")).Output()
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.Fields(string(out))[1]
}

// TestServeViewerAndOperator: an operator and a viewer see the same run
// live; the viewer's a is refused as read-only, the operator's approves,
// and both consoles say who approved, by key comment and fingerprint.
func TestServeViewerAndOperator(t *testing.T) {
	b := startBastion(t, bastionPipeline)
	alice := b.console("alice", 120, 40)
	// bob's terminal asks for no color, as the client's environment says.
	bob := b.console("bob", 100, 30, "-o", "SetEnv=NO_COLOR=1")
	for _, p := range []*pane{alice, bob} {
		p.waitFor("waiting for approval: release/go", time.Minute)
		p.waitFor("✓ build", 10*time.Second)
		// Longest connected first: the two connected at once.
		p.waitFor("alice@laptop (operator)", 10*time.Second)
		p.waitFor("bob@laptop (viewer)", 10*time.Second)
	}
	if bob.waitFor("READ-ONLY", time.Second); strings.Contains(alice.screen(), "READ-ONLY") {
		t.Errorf("the operator's console is read-only:\n%s", alice.screen())
	}
	if ra, rb := alice.tmux("capture-pane", "-p", "-e"), bob.tmux("capture-pane", "-p", "-e"); !hasColor(ra) || hasColor(rb) {
		t.Errorf("colors: alice's console %v, bob's (NO_COLOR) %v; want only alice's in color", hasColor(ra), hasColor(rb))
	}
	// Each console has a view of its own: bob's full-screen log leaves
	// alice's panes where they are.
	bob.keys("l")
	for deadline := time.Now().Add(10 * time.Second); strings.Contains(bob.screen(), "Stages"); {
		if time.Now().After(deadline) {
			t.Fatalf("l did not show bob's log full-screen:\n%s", bob.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s := alice.screen(); !strings.Contains(s, "Stages") {
		t.Errorf("bob's l changed alice's console:\n%s", s)
	}
	bob.keys("l")
	bob.waitFor("Stages", 10*time.Second)

	bob.keys("a")
	bob.waitFor("read-only: actions are disabled", 10*time.Second)
	time.Sleep(time.Second)
	if s := alice.screen(); !strings.Contains(s, "waiting for approval: release/go") {
		t.Fatalf("the viewer's a changed the run:\n%s", s)
	}

	alice.keys("a")
	approved := "approved by alice@laptop · " + b.fingerprint("alice")
	for _, p := range []*pane{alice, bob} {
		// The viewer's pane is narrower: the fingerprint's end is cut.
		p.waitFor(approved[:60], 10*time.Second)
	}
	recs, _, err := engine.ReadJournal(b.state)
	if err != nil {
		t.Fatal(err)
	}
	var who []string
	for _, r := range recs {
		if r.Type == engine.RecGateApproved {
			who = append(who, r.Actor.String())
		}
	}
	if len(who) != 1 || who[0] != "alice@laptop · "+b.fingerprint("alice") {
		t.Errorf("approvals journaled: %q; want one, by alice's key", who)
	}
	bob.waitFor("SUCCEEDED", time.Minute)
}

// TestServeRefusesAnUnknownKey: ssh with a key not in the file fails, the
// server offers no other way in, and it logs the key's fingerprint.
func TestServeRefusesAnUnknownKey(t *testing.T) {
	b := startBastion(t, bastionPipeline)
	out, err := exec.Command("ssh", append(b.sshArgs("mallory"), "true")...).CombinedOutput()
	var exit *exec.ExitError
	if err == nil || !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("ssh with an unknown key: %v; want a non-zero exit\n%s", err, out)
	}
	// The methods in parentheses are the ones the server offers: public
	// keys alone, no password and no keyboard-interactive.
	if !strings.Contains(string(out), "Permission denied (publickey).") {
		t.Errorf("ssh said %q; want the server to offer publickey alone", out)
	}
	fp := b.fingerprint("mallory")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.logText(), "rejected key "+fp) {
		if time.Now().After(deadline) {
			t.Fatalf("the server log does not name %s:\n%s", fp, b.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServeSurvivesADroppedSession: the only operator's ssh process is
// killed while the run waits on its gate, and the run keeps waiting: it
// never decides by itself. A new session approves, and is killed in the
// middle of the release; the release goes on to the end, and a viewer who
// connects then sees it finished.
func TestServeSurvivesADroppedSession(t *testing.T) {
	b := startBastion(t, bastionPipeline)
	drop := func(p *pane) {
		t.Helper()
		pid := strings.TrimSpace(p.tmux("display-message", "-p", "#{pane_pid}"))
		// The pane's shell runs ssh: kill ssh itself, as a dropped
		// connection would end it, and leave the shell to print EXIT=.
		if out, err := exec.Command("pkill", "-KILL", "-P", pid, "-x", "ssh").CombinedOutput(); err != nil {
			t.Fatalf("kill the operator's ssh: %v %s", err, out)
		}
		p.waitFor("EXIT=", 10*time.Second)
	}
	left := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); strings.Count(b.logText(), "(operator) left") < n; {
			if time.Now().After(deadline) {
				t.Fatalf("the server did not see the operator leave:\n%s", b.logText())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	first := b.console("alice", 120, 40)
	first.waitFor("waiting for approval: release/go", time.Minute)
	drop(first)
	left(1)
	time.Sleep(2 * time.Second)
	second := b.console("alice", 120, 40)
	second.waitFor("waiting for approval: release/go", 10*time.Second)

	second.keys("a")
	second.waitFor("release/ship │ shipping", 20*time.Second)
	drop(second)
	left(2)
	if err := b.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the server is gone after the session dropped: %v", err)
	}
	later := b.console("bob", 100, 30)
	s := later.waitFor("SUCCEEDED", time.Minute)
	if !strings.Contains(s, "✓ release") {
		t.Errorf("a new session does not show the release stage done:\n%s", s)
	}
}

// TestServeRacingOperators: at a blue-green gate, alice confirms a rollback
// and carol a promote at the same moment. Exactly one is journaled and
// applied; the other console says what happened instead.
func TestServeRacingOperators(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, ns, live := pairOnCluster(ctx, t, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 0})
	b := startBastion(t, webRelease("race", ns, "          approve: Green is Ready. Switch?\n"), "--kubeconfig", c.Kubeconfig)
	alice, carol := b.console("alice", 120, 40), b.console("carol", 120, 40)
	for _, p := range []*pane{alice, carol} {
		p.waitFor("waiting for approval", 2*time.Minute)
	}
	alice.keys("r")
	alice.waitFor("Press y to confirm", 10*time.Second)
	carol.keys("p")
	carol.waitFor("Press y to confirm", 10*time.Second)
	var wg sync.WaitGroup
	for _, p := range []*pane{alice, carol} {
		wg.Go(func() { p.keys("y") })
	}
	wg.Wait()

	refused := ""
	deadline := time.Now().Add(20 * time.Second)
	for refused == "" {
		for name, p := range map[string]*pane{"alice": alice, "carol": carol} {
			if strings.Contains(flat(p.screen()), "not applied: since you looked") {
				refused = name
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("neither console says its action was not applied:\n%s\n%s", alice.screen(), carol.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
	recs, _, err := engine.ReadJournal(b.state)
	if err != nil {
		t.Fatal(err)
	}
	var applied []string
	for _, r := range recs {
		if r.Type == engine.RecGateApproved || r.Type == engine.RecRollbackRequested {
			applied = append(applied, r.Type+" by "+r.Actor.Name)
		}
	}
	if len(applied) != 1 {
		t.Fatalf("journaled %v; want exactly one of the two actions", applied)
	}
	t.Logf("applied: %s; refused: %s's", applied[0], refused)
	switch {
	case refused == "alice" && applied[0] == engine.RecGateApproved+" by carol@laptop":
		carol.waitFor("phase scale-down-delay", time.Minute)
		if got := live(); got != "green" {
			t.Errorf("carol's promote won, and the Service selects %s", got)
		}
	case refused == "carol" && applied[0] == engine.RecRollbackRequested+" by alice@laptop":
		alice.waitFor("phase aborted", time.Minute)
		if got := live(); got != "blue" {
			t.Errorf("alice's rollback won before the switch, and the Service selects %s", got)
		}
	default:
		t.Errorf("%s was refused but %s was applied", refused, applied[0])
	}
}

// TestServeRestartResumes: cutover serve is stopped (SIGTERM, or SIGQUIT
// as Ctrl-\ sends it) in the middle of a stage. It suspends the run and
// exits 0; started again with --resume, it takes the run up with the
// finished stage kept, and a viewer who reconnects follows it to the end.
func TestServeRestartResumes(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) { testServeRestartResumes(t, sig) })
	}
}

func testServeRestartResumes(t *testing.T, sig syscall.Signal) {
	mark := filepath.Join(t.TempDir(), "soaked")
	b := startBastion(t, `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: soak}
stages:
  - name: build
    budget: 5m
    steps: [{name: compile, run: "echo built"}]
  - name: soak
    budget: 5m
    needs: [build]
    steps:
      - name: wait
        run: "echo soaking; while [ ! -f ${MARK} ]; do sleep 0.1; done; echo soaked"
`, "--set", "MARK="+mark)
	bob := b.console("bob", 100, 30)
	bob.waitFor("soak/wait │ soaking", time.Minute)
	if err := b.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	code := waitExit(t, b.cmd)
	if left := processesWithEnv(t, "MARK="+mark); len(left) > 0 {
		t.Errorf("the step's processes %v still run after cutover serve exited on %s", left, sig)
	}
	if code != 0 {
		t.Fatalf("cutover serve exited %d after %s, want 0:\n%s", code, sig, b.logText())
	}
	if !strings.Contains(b.logText(), "suspended; start cutover serve again with --resume") {
		t.Errorf("the server did not say how to resume:\n%s", b.logText())
	}
	bob.waitFor("EXIT=", 10*time.Second)

	hostKey := filepath.Join(b.state, "ssh_host_ed25519_key")
	before, err := os.ReadFile(hostKey)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(hostKey); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the generated host key: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	b.start("--resume")
	if after, err := os.ReadFile(hostKey); err != nil || !bytes.Equal(before, after) {
		t.Errorf("the host key changed across the restart (%v): clients would see a new host", err)
	}
	again := b.console("bob", 100, 30)
	again.waitFor("soak/wait │ soaking", time.Minute)
	if err := os.WriteFile(mark, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	again.waitFor("SUCCEEDED", time.Minute)
	recs, _, err := engine.ReadJournal(b.state)
	if err != nil {
		t.Fatal(err)
	}
	var builds, runs int
	for _, r := range recs {
		switch {
		case r.Type == engine.RecRunStarted:
			runs++
		case r.Type == engine.RecStepFinished && r.Step == "compile":
			builds++
		}
	}
	if runs != 2 || builds != 1 {
		t.Errorf("%d runs started and build ran %d times; want 2 runs, the build once: the resumed run keeps it", runs, builds)
	}
}

// processesWithEnv are the processes whose environment holds kv, such as
// a step's variable: what a stopped server left running. They are killed,
// so that a failing test leaves none behind.
func processesWithEnv(t *testing.T, kv string) []int {
	t.Helper()
	procs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		// Gone, a zombie, or another user's: none is left running here.
		env, err := os.ReadFile(filepath.Join("/proc", p.Name(), "environ"))
		if err != nil || !slices.Contains(strings.Split(string(env), "\x00"), kv) {
			continue
		}
		pids = append(pids, pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return pids
}

// TestServeWillNotStopMidRelease: SIGTERM, or SIGQUIT, while a blue-green
// release is in flight is refused, with the reason in the log, and the
// server stays up; a second one stops it, suspending the run.
func TestServeWillNotStopMidRelease(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) { testServeWillNotStopMidRelease(t, sig) })
	}
}

func testServeWillNotStopMidRelease(t *testing.T, sig syscall.Signal) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, ns, _ := pairOnCluster(ctx, t, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 0})
	b := startBastion(t, webRelease("midflight", ns, ""), "--kubeconfig", c.Kubeconfig)
	bob := b.console("bob", 120, 40)
	bob.waitFor("phase scale-down-delay", 2*time.Minute)
	if err := b.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(b.logText(), "not stopping yet: the release of ["+ns+"/web-service] is in flight"); {
		if time.Now().After(deadline) {
			t.Fatalf("no refusal in the log:\n%s", b.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if err := b.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the server stopped on the first %s mid-release: %v", sig, err)
	}
	bob.waitFor("phase scale-down-delay", time.Second)
	if err := b.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, b.cmd); code != 0 || !strings.Contains(b.logText(), "suspended") {
		t.Fatalf("second %s: exit %d, want 0 and the run suspended:\n%s", sig, code, b.logText())
	}
}

// TestServeStopsOnceTheReleaseIsOver: a SIGTERM refused mid-release is
// carried out when the release ends, as systemd's stop (one SIGTERM, then
// a wait) expects: the release finishes, then the run is suspended.
func TestServeStopsOnceTheReleaseIsOver(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, ns, _ := pairOnCluster(ctx, t, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 0})
	pipeline := strings.Replace(webRelease("deferred", ns, `  - name: after
    budget: 10m
    needs: [production]
    steps:
      - name: wait
        run: sleep 600
`), "scaleDownDelay: 10m", "scaleDownDelay: 5s", 1)
	b := startBastion(t, pipeline, "--kubeconfig", c.Kubeconfig)
	bob := b.console("bob", 120, 40)
	bob.waitFor("phase scale-down-delay", 2*time.Minute)
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, b.cmd); code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, b.logText())
	}
	log := b.logText()
	for _, want := range []string{"not stopping yet", "the release is over: stopping, as asked", "suspended"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
	recs, _, err := engine.ReadJournal(b.state)
	if err != nil {
		t.Fatal(err)
	}
	var finished, suspended bool
	for _, r := range recs {
		finished = finished || r.Type == engine.RecReleaseFinished
		suspended = suspended || (finished && r.Type == engine.RecRunSuspended)
	}
	if !suspended {
		t.Errorf("the journal has no release finished, then the run suspended: %+v", recs)
	}
	if dep, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "web-blue", metav1.GetOptions{}); err != nil || dep.Spec.Replicas == nil || *dep.Spec.Replicas != 0 {
		t.Errorf("blue after the release: %v, %v; want scaled down to 0 by the release that finished", dep.Spec.Replicas, err)
	}
}

// TestServeRoleComesFromTheProvenKey: a client that offers an operator's
// public key without its private key, then logs in with a viewer's key,
// gets the viewer's console: who a session is comes from the key it
// proved, not from the keys it asked about.
func TestServeRoleComesFromTheProvenKey(t *testing.T) {
	b := startBastion(t, bastionPipeline)
	stolen := filepath.Join(t.TempDir(), "stolen")
	if err := os.WriteFile(stolen+".pub", []byte(b.read("alice.pub")), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(b.addr, ":")
	p := startPaneShell(t, 120, 40, strings.Join([]string{"ssh -tt -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
		"-o IdentitiesOnly=yes -o PreferredAuthentications=publickey -o BatchMode=yes -o LogLevel=ERROR",
		"-p", port, "-i", stolen, "-i", filepath.Join(b.dir, "bob"), "mallory@" + host}, " "))
	s := p.waitFor("waiting for approval", time.Minute)
	if !strings.Contains(s, "READ-ONLY") || !strings.Contains(s, "bob@laptop (viewer)") || strings.Contains(s, "alice@laptop") {
		t.Fatalf("the session is not bob's read-only one:\n%s", s)
	}
	p.keys("a")
	p.waitFor("read-only: actions are disabled", 10*time.Second)
}

// serveExit runs cutover serve with args and returns its exit code and
// what it printed, failing the test if it is still serving after 30s.
func serveExit(t *testing.T, args ...string) (int, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), beMain+"=1")
	out, _ := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("cutover serve %s was still serving after 30s:\n%s", strings.Join(args, " "), out)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// TestServeRefusesUnsafeFiles: as sshd's StrictModes, cutover serve will
// not start with an authorized-keys file or a directory of it that others
// may write, nor with a host key others may read, and says how to fix
// each; an authorized-keys file made world-writable while serving admits
// nobody until it is fixed.
func TestServeRefusesUnsafeFiles(t *testing.T) {
	b := startBastion(t, bastionPipeline)
	keys := filepath.Join(b.dir, "authorized_keys")
	copyMode := func(from, to string, mode os.FileMode) {
		t.Helper()
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(to, mode); err != nil {
			t.Fatal(err)
		}
	}
	open := filepath.Join(t.TempDir(), "authorized_keys")
	copyMode(keys, open, 0o666)
	shared := filepath.Join(t.TempDir(), "shared")
	if err := os.Mkdir(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	copyMode(keys, filepath.Join(shared, "authorized_keys"), 0o600)
	if err := os.Chmod(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	hostKey := filepath.Join(t.TempDir(), "host_key")
	copyMode(filepath.Join(b.state, "ssh_host_ed25519_key"), hostKey, 0o640)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"world-writable keys", []string{"--authorized-keys", open},
			fmt.Sprintf("authorized keys %s: writable by group or others (mode 0666); run chmod go-w %s", open, open)},
		{"keys in a world-writable directory", []string{"--authorized-keys", filepath.Join(shared, "authorized_keys")},
			fmt.Sprintf("directory %s is writable by group or others (mode 0777); run chmod go-w %s", shared, shared)},
		{"group-readable host key", []string{"--authorized-keys", keys, "--host-key", hostKey},
			fmt.Sprintf("host key %s: readable by group or others (mode 0640), and it is a private key; run chmod go-rw %s", hostKey, hostKey)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := serveExit(t, append([]string{b.pipeline, "--state-dir", t.TempDir()}, tc.args...)...)
			if code != exitBadInput || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, %q; want %d and %q", code, out, exitBadInput, tc.want)
			}
		})
	}

	if err := os.Chmod(keys, 0o666); err != nil {
		t.Fatal(err)
	}
	if code, out := sshRun(t, nil, append(b.sshArgs("alice"), "true")...); code != 255 || !strings.Contains(out, "Permission denied (publickey)") {
		t.Errorf("alice's login with the keys file world-writable: exit %d, %q; want it refused", code, out)
	}
	b.waitLog("rejected every key: authorized keys "+keys+": writable by group or others (mode 0666); run chmod go-w "+keys, 10*time.Second)
	if err := os.Chmod(keys, 0o600); err != nil {
		t.Fatal(err)
	}
	// Without a terminal the console is refused, after the login.
	if code, out := sshRun(t, nil, append(b.sshArgs("alice"), "true")...); !strings.Contains(out, "Requires an active PTY") {
		t.Errorf("alice's login with the keys file fixed: exit %d, %q; want her in", code, out)
	}
}

// TestServeLogIsSanitized: a key comment with escape sequences and a bidi
// control, and an SSH user name with a line break that would forge a log
// line, reach the server's log made safe by the one sanitizer: one line
// per event, and nothing a terminal showing the log would obey.
func TestServeLogIsSanitized(t *testing.T) {
	b := startBastion(t, bastionPipeline)
	alice, bob := strings.Fields(b.read("alice.pub")), strings.Fields(b.read("bob.pub"))
	evil := "\x1b]0;owned\x07alice\x1b[2J\u202etpircs"
	// bob's key has no comment: his console and the log name him by the
	// user name his client chose.
	keys := "role=operator " + alice[0] + " " + alice[1] + " " + evil + "\n" + bob[0] + " " + bob[1] + "\n"
	if err := os.WriteFile(filepath.Join(b.dir, "authorized_keys"), []byte(keys), 0o600); err != nil {
		t.Fatal(err)
	}
	b.console("alice", 100, 30)
	b.waitLog("alice⟨U+202E⟩tpircs · "+b.fingerprint("alice")+" (operator) connected", 30*time.Second)

	// OpenSSH's client will not send such a name; an attacker's will.
	signer, err := gossh.ParsePrivateKey([]byte(b.read("bob")))
	if err != nil {
		t.Fatal(err)
	}
	client, err := gossh.Dial("tcp", b.addr, &gossh.ClientConfig{
		User: "bob\n2026-01-01T00:00:00.000Z carol@laptop (operator) connected from 10.0.0.1:22",
		Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)}, HostKeyCallback: gossh.InsecureIgnoreHostKey(), //nolint:gosec // the test's own server
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Close() }()
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm", 30, 100, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	sess.Stdout, sess.Stderr = io.Discard, io.Discard
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	b.waitLog("bob␤2026-01-01T00:00:00.000Z carol@laptop (operator) connected from 10.0.0.1:22 · "+b.fingerprint("bob")+" (viewer) connected", 30*time.Second)

	host := strings.Split(b.addr, ":")[0]
	args := b.sshArgs("mallory")
	// OpenSSH refuses control characters in a user name since 9.2p1
	// (Debian's deb12u10): escapes come from an attacker's own client, as
	// bob's did; the real client still sends the bidi override.
	args[len(args)-1] = "\u202eyrollam@" + host
	sshRun(t, nil, append(args, "true")...)
	b.waitLog("rejected key "+b.fingerprint("mallory"), 10*time.Second)
	log := b.logText()
	if strings.ContainsAny(log, "\x1b\x07\u202e") {
		t.Errorf("the log carries raw control characters: %q", log)
	}
	if strings.Contains(log, "\n2026-01-01T00:00:00.000Z carol@laptop") {
		t.Errorf("a user name forged a line of the log:\n%s", log)
	}
}

// TestServeIgnoresSIGHUP: the terminal that started cutover serve closing
// (SIGHUP) neither stops the server nor its run, which goes on to its end,
// served over SSH.
func TestServeIgnoresSIGHUP(t *testing.T) {
	b := startBastion(t, `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: hangup}
stages:
  - name: s
    budget: 5m
    steps: [{name: wait, run: "echo waiting; sleep 2; echo done"}]
`)
	bob := b.console("bob", 100, 30)
	bob.waitFor("s/wait │ waiting", time.Minute)
	if err := b.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(b.logText(), "SUCCEEDED") && !strings.Contains(b.logText(), " succeeded"); {
		if time.Now().After(deadline) {
			t.Fatalf("the run did not finish after SIGHUP:\n%s", b.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(b.logText(), "SIGHUP: ignored") {
		t.Errorf("the log does not say SIGHUP was ignored:\n%s", b.logText())
	}
	if err := b.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("cutover serve exited on SIGHUP: %v", err)
	}
	bob.waitFor("SUCCEEDED", 10*time.Second)
}
