package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// fakeConn is an accepted connection from remote, for admission alone.
type fakeConn struct {
	net.Conn
	remote net.Addr
}

func (c fakeConn) RemoteAddr() net.Addr { return c.remote }
func (c fakeConn) Close() error         { return nil }

// TestServePerSourceCounting: unauthenticated connections are counted by
// source address block as they are admitted, authenticate and close, and
// one past --per-source-max-startups is refused at accept. Each event is
// "open ADDR" (+ admitted, - refused), "auth N" or "close N", N the
// connection's place among those opened.
func TestServePerSourceCounting(t *testing.T) {
	const perSource = "refused connections past --per-source-max-startups "
	for _, tc := range []struct {
		name      string
		perSource int
		full      int // --max-startups N: all refused from N on
		events    []string
		log       string // the first refusal's line
	}{
		{"one address's 4th is refused, another's is not", 3, 100,
			[]string{"+ 127.0.0.2:1", "+ 127.0.0.2:2", "+ 127.0.0.2:3", "- 127.0.0.2:4", "+ 127.0.0.3:1"},
			perSource + "3 from one address block: 127.0.0.2:4, with 3 not authenticated from 127.0.0.2/32"},
		{"one that authenticates no longer counts", 3, 100,
			[]string{"+ 127.0.0.2:1", "+ 127.0.0.2:2", "+ 127.0.0.2:3", "auth 0", "+ 127.0.0.2:4", "- 127.0.0.2:5"},
			perSource + "3 from one address block: 127.0.0.2:5, with 3 not authenticated from 127.0.0.2/32"},
		{"one that closes unauthenticated no longer counts", 3, 100,
			[]string{"+ 127.0.0.2:1", "+ 127.0.0.2:2", "+ 127.0.0.2:3", "close 1", "+ 127.0.0.2:4", "- 127.0.0.2:5"},
			perSource + "3 from one address block: 127.0.0.2:5, with 3 not authenticated from 127.0.0.2/32"},
		{"one closed after it authenticated is not counted out twice", 2, 100,
			[]string{"+ 127.0.0.2:1", "+ 127.0.0.2:2", "auth 0", "close 0", "+ 127.0.0.2:3", "- 127.0.0.2:4"},
			perSource + "2 from one address block: 127.0.0.2:4, with 2 not authenticated from 127.0.0.2/32"},
		{"a refused connection is not counted", 1, 100,
			[]string{"+ 127.0.0.2:1", "- 127.0.0.2:2", "- 127.0.0.2:3", "close 0", "+ 127.0.0.2:4"},
			perSource + "1 from one address block: 127.0.0.2:2, with 1 not authenticated from 127.0.0.2/32"},
		{"IPv6: one /64 shares the cap, the next /64 does not", 3, 100,
			[]string{"+ [2001:db8::1]:1", "+ [2001:db8::ffff:2]:1", "+ [2001:db8::8000:0:0:3]:1", "- [2001:db8::4]:1", "+ [2001:db8:0:1::1]:1"},
			perSource + "3 from one address block: [2001:db8::4]:1, with 3 not authenticated from 2001:db8::/64"},
		{"IPv4 on a dual-stack listener counts as the IPv4 address", 2, 100,
			[]string{"+ [::ffff:127.0.0.2]:1", "+ 127.0.0.2:2", "- [::ffff:127.0.0.2]:3", "+ [::ffff:127.0.0.3]:1"},
			perSource + "2 from one address block: 127.0.0.2:3, with 2 not authenticated from 127.0.0.2/32"},
		{"0: no cap per source, only MaxStartups", 0, 4,
			[]string{"+ 127.0.0.2:1", "+ 127.0.0.2:2", "+ 127.0.0.2:3", "+ 127.0.0.2:4", "- 127.0.0.2:5"},
			"refused connections past --max-startups 4:100:4: 127.0.0.2:5, with 4 not authenticated"},
		{"MaxStartups still holds many sources under their caps", 3, 3,
			[]string{"+ 127.0.0.2:1", "+ 127.0.0.3:1", "+ 127.0.0.4:1", "- 127.0.0.5:1", "close 0", "+ 127.0.0.5:2"},
			"refused connections past --max-startups 3:100:3: 127.0.0.5:1, with 3 not authenticated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logMu sync.Mutex
			var logged []string
			lim := limits{loginGrace: time.Hour, startups: maxStartups{tc.full, 100, tc.full}, perSource: tc.perSource, conns: 1000}
			a := newAdmission(lim, func(f string, v ...any) {
				logMu.Lock()
				defer logMu.Unlock()
				logged = append(logged, fmt.Sprintf(f, v...))
			})
			var opened []*peer
			for _, e := range tc.events {
				verb, arg, _ := strings.Cut(e, " ")
				switch verb {
				case "+", "-":
					p := a.admit(fakeConn{remote: net.TCPAddrFromAddrPort(netip.MustParseAddrPort(arg))})
					if got := p != nil; got != (verb == "+") {
						t.Fatalf("%s: admitted %v, want %v; %d unauthenticated, by block %v", e, got, verb == "+", a.startups, a.perSource)
					}
					if p != nil {
						opened = append(opened, p)
					}
				case "auth":
					i, _ := strconv.Atoi(arg)
					if !opened[i].authenticated("SHA256:key") {
						t.Fatalf("%s: the connection is closing", e)
					}
				case "close":
					i, _ := strconv.Atoi(arg)
					_ = opened[i].Close()
				}
			}
			logMu.Lock()
			if len(logged) == 0 || logged[0] != tc.log {
				t.Errorf("logged %q; want first %q", logged, tc.log)
			}
			logMu.Unlock()
			for _, p := range opened {
				_ = p.Close()
			}
			if a.startups != 0 || len(a.perSource) != 0 || a.conns != 0 {
				t.Errorf("all closed: got %d unauthenticated, by block %v, %d open; want none", a.startups, a.perSource, a.conns)
			}
		})
	}
}

// dialServer opens a TCP connection to the server that sends nothing, and
// reads the server's version line, as sshd's and Go's SSH servers send it
// first. ok is false if the server closed the connection instead.
func dialServer(t *testing.T, addr string) (c net.Conn, version string, ok bool) {
	t.Helper()
	return dialServerFrom(t, "", addr)
}

// dialServerFrom is dialServer from the loopback address from, such as
// 127.0.0.2: all of 127.0.0.0/8 is this host's.
func dialServerFrom(t *testing.T, from, addr string) (c net.Conn, version string, ok bool) {
	t.Helper()
	var d net.Dialer
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	var timeout net.Error
	if errors.As(err, &timeout) && timeout.Timeout() {
		t.Fatalf("the server neither sent its version nor closed the connection in 30s")
	}
	return c, line, err == nil && strings.HasPrefix(line, "SSH-2.0-")
}

// TestServeLoginGraceTime: a connection that never authenticates (here it
// sends nothing after the server's version line) is closed when the login
// grace time is up, and the log says why.
func TestServeLoginGraceTime(t *testing.T) {
	b := startBastion(t, bastionPipeline, "--login-grace-time", "1s")
	c, _, ok := dialServer(t, b.addr)
	if !ok {
		t.Fatal("the server closed a new connection at once")
	}
	if err := c.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("a connection that never authenticated: %v; want it closed by the server (EOF)", err)
	}
	b.waitLog("closed connections not authenticated within 1s (--login-grace-time)", 10*time.Second)
}

// TestServeMaxStartups: with --max-startups 3, three unauthenticated
// connections are served and the fourth is closed at accept, before the
// server says a word; when one of the three goes, a new one is served.
func TestServeMaxStartups(t *testing.T) {
	b := startBastion(t, bastionPipeline, "--max-startups", "3", "--login-grace-time", "1m")
	var held []net.Conn
	for i := range 3 {
		c, _, ok := dialServer(t, b.addr)
		if !ok {
			t.Fatalf("connection %d of 3 was refused", i+1)
		}
		held = append(held, c)
	}
	if _, v, ok := dialServer(t, b.addr); ok || v != "" {
		t.Fatalf("a fourth unauthenticated connection got %q; want it closed before the version line", v)
	}
	b.waitLog("refused connections past --max-startups 3:100:3", 10*time.Second)

	_ = held[0].Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if _, _, ok := dialServer(t, b.addr); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a connection closed by its client still counts against --max-startups")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServePerSourceMaxStartups: one address, 127.0.0.2, opens eight
// connections and holds them unauthenticated; three, its
// --per-source-max-startups, are served and the others closed at accept.
// Meanwhile an operator from 127.0.0.1 logs in with OpenSSH: with
// --max-startups 4, the one address would otherwise have taken every
// unauthenticated slot, and the operator's connection would be closed.
func TestServePerSourceMaxStartups(t *testing.T) {
	b := startBastion(t, bastionPipeline, "--per-source-max-startups", "3", "--max-startups", "4", "--login-grace-time", "5m")
	served := 0
	for range 8 {
		if _, _, ok := dialServerFrom(t, "127.0.0.2", b.addr); ok {
			served++
		}
	}
	if served != 3 {
		t.Errorf("127.0.0.2 had %d of its 8 connections served; want 3, its --per-source-max-startups", served)
	} else {
		b.waitLog("refused connections past --per-source-max-startups 3 from one address block: 127.0.0.2:", 10*time.Second)
	}

	alice := b.console("alice", 100, 30, "-o", "BindAddress=127.0.0.1")
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		s := alice.screen()
		if strings.Contains(s, "waiting for approval") {
			break
		}
		if strings.Contains(s, "EXIT=") || time.Now().After(deadline) {
			t.Fatalf("alice, from 127.0.0.1, got no console while 127.0.0.2 held its connections:\n%s\n%s", s, b.logText())
		}
	}
	b.waitLog("alice@laptop · "+b.fingerprint("alice")+" (operator) connected from 127.0.0.1:", 10*time.Second)
}

// sshRun runs the OpenSSH client with args and returns its exit code and
// what it printed, failing the test if it does not end in 30s.
func sshRun(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("ssh %s did not end in 30s:\n%s", strings.Join(args, " "), out)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// TestServeSessionCaps: with one session per key and two in all, alice's
// second session is refused with the reason, bob's first is served, and
// carol's, the third in all, is refused; each refusal is logged.
func TestServeSessionCaps(t *testing.T) {
	b := startBastion(t, bastionPipeline, "--max-sessions-per-key", "1", "--max-sessions", "2")
	alice := b.console("alice", 100, 30)
	alice.waitFor("waiting for approval", time.Minute)

	code, out := sshRun(t, nil, append([]string{"-o", "LogLevel=INFO"}, append(b.sshArgs("alice"), "true")...)...)
	if code == 0 || !strings.Contains(out, "resource shortage: cutover serve: too many sessions: 1 open with this key, the most one key may have (--max-sessions-per-key)") {
		t.Errorf("alice's second session: exit %d, %q; want it refused with the reason", code, out)
	}
	b.waitLog("refused a session for key "+b.fingerprint("alice"), 10*time.Second)

	bob := b.console("bob", 100, 30)
	bob.waitFor("waiting for approval", time.Minute)
	code, out = sshRun(t, nil, append([]string{"-o", "LogLevel=INFO"}, append(b.sshArgs("carol"), "true")...)...)
	if code == 0 || !strings.Contains(out, "too many sessions: 2 open, the most this server serves (--max-sessions)") {
		t.Errorf("carol's session, the third: exit %d, %q; want it refused with the reason", code, out)
	}
	b.waitLog("refused a session for key "+b.fingerprint("carol"), 10*time.Second)
	if s := alice.screen(); !strings.Contains(s, "waiting for approval") {
		t.Errorf("alice's console is gone after the refusals:\n%s", s)
	}
}

// TestServeDropsDeadAndUnusedConnections: a client that stops answering
// (its ssh process stopped, its TCP connection still up) is dropped after
// its keepalives go unanswered, which ends its session; a connection that
// opens no session (ssh -N) is closed after --unused-connection-timeout.
func TestServeDropsDeadAndUnusedConnections(t *testing.T) {
	b := startBastion(t, bastionPipeline, "--client-alive-interval", "1s", "--client-alive-count-max", "2",
		"--unused-connection-timeout", "2s")

	cmd := exec.Command("ssh", append([]string{"-tt"}, b.sshArgs("alice")...)...)
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = ptmx.Close()
	})
	go func() { _, _ = io.Copy(io.Discard, ptmx) }()
	b.waitLog("alice@laptop · "+b.fingerprint("alice")+" (operator) connected", 30*time.Second)
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	b.waitLog("it answered none of 2 keepalives 1s apart (--client-alive-interval, --client-alive-count-max)", 30*time.Second)
	b.waitLog("alice@laptop · "+b.fingerprint("alice")+" (operator) left", 10*time.Second)

	idle := exec.Command("ssh", append([]string{"-N"}, b.sshArgs("bob")...)...)
	if err := idle.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idle.Process.Kill() })
	exited := make(chan error, 1)
	go func() { exited <- idle.Wait() }()
	select {
	case err := <-exited:
		t.Logf("ssh -N ended: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatalf("ssh -N, which opens no session, is still connected after 30s:\n%s", b.logText())
	}
	b.waitLog("no session for 2s (--unused-connection-timeout)", 10*time.Second)
}

// TestServeRefusesForwarding: the real OpenSSH client asks for agent
// forwarding (-A) and X11 forwarding (-Y) in its session, a local port
// forwarding (-L) and a remote one (-R): each is refused, none reaches the
// target, and each refusal is in the server's log.
func TestServeRefusesForwarding(t *testing.T) {
	b := startBastion(t, bastionPipeline)
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = target.Close() }()
	reached := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := target.Accept()
			if err != nil {
				return
			}
			reached <- c
		}
	}()

	// Agent and X11, in one session: the client asks before its command.
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agent.Process.Kill(); _ = agent.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("ssh-agent did not start: %v", err)
		}
	}
	_, out := sshRun(t, []string{"SSH_AUTH_SOCK=" + sock, "DISPLAY=127.0.0.1:0"},
		append([]string{"-vvv", "-A", "-Y", "-o", "ForwardAgent=yes", "-o", "ForwardX11Trusted=yes"}, append(b.sshArgs("alice"), "true")...)...)
	for _, asked := range []string{"Requesting authentication agent forwarding", "Requesting X11 forwarding"} {
		if !strings.Contains(out, asked) {
			t.Errorf("the client did not ask (%q):\n%s", asked, out)
		}
	}
	if !strings.Contains(out, "X11 forwarding request failed") {
		t.Errorf("the client was not told that X11 forwarding failed:\n%s", out)
	}
	b.waitLog("refused agent forwarding (auth-agent-req@openssh.com) for key "+b.fingerprint("alice"), 10*time.Second)
	b.waitLog("refused X11 forwarding (x11-req) for key "+b.fingerprint("alice"), 10*time.Second)

	// -R: the client asks the server to listen, and gives up when it is
	// refused.
	port := freePort(t)
	code, out := sshRun(t, nil, append([]string{"-N", "-o", "ExitOnForwardFailure=yes", "-o", "LogLevel=INFO",
		"-R", fmt.Sprintf("127.0.0.1:%d:%s", port, target.Addr())}, b.sshArgs("alice")...)...)
	if code == 0 || !strings.Contains(out, fmt.Sprintf("remote port forwarding failed for listen port %d", port)) {
		t.Errorf("ssh -R: exit %d, %q; want the forwarding refused", code, out)
	}
	b.waitLog(`refused tcpip-forward (ssh -R) for user "alice"`, 10*time.Second)

	// -L: the client listens itself, and asks the server to connect to the
	// target when something connects to it.
	local := freePort(t)
	fwd := exec.Command("ssh", append([]string{"-N", "-vvv", "-o", "ExitOnForwardFailure=yes",
		"-L", fmt.Sprintf("127.0.0.1:%d:%s", local, target.Addr())}, b.sshArgs("alice")...)...)
	var stderr syncBuffer
	fwd.Stderr = &stderr
	if err := fwd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fwd.Process.Kill(); _ = fwd.Wait() })
	var c net.Conn
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", local)); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("ssh -L never listened: %v\n%s", err, stderr.String())
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil || n > 0 {
		t.Errorf("a connection through ssh -L read %d bytes, %v; want it closed", n, err)
	}
	_ = c.Close()
	b.waitLog(fmt.Sprintf("refused a direct-tcpip channel to %s for user %q", target.Addr(), "alice"), 10*time.Second)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), "open failed: administratively prohibited: cutover serve: forwarding is off"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("ssh -L was not told why:\n%s", stderr.String())
		}
	}
	select {
	case c := <-reached:
		_ = c.Close()
		t.Errorf("a forwarding reached the target")
	default:
	}
}

// freePort is a loopback port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// floodPipeline holds its first step until the test says the flood is on,
// then runs short steps, each of which the server forks with pipes of its
// own.
const floodPipeline = `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: flood}
stages:
  - name: hold
    budget: 5m
    steps: [{name: wait, run: "while [ ! -f ${MARK} ]; do sleep 0.05; done; echo flooded"}]
  - name: steps
    budget: 5m
    needs: [hold]
    steps:
%s`

func floodSteps(n int, run string) string {
	var s strings.Builder
	for i := range n {
		fmt.Fprintf(&s, "      - {name: s%d, run: %q}\n", i, run)
	}
	return s.String()
}

// TestServeFloodCannotFailAStep: with an open-files limit of 128, a flood
// of 300 connections that never authenticate (and --max-startups set
// higher than that) cannot take the descriptors the release's steps need:
// the server lowers its caps to fit, says so, and the release succeeds.
// The flood comes from one address, so the per-source cap is off: it would
// otherwise keep the flood far below the caps this test is about.
func TestServeFloodCannotFailAStep(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "flooded")
	b := startBastionFiles(t, fmt.Sprintf(floodPipeline, floodSteps(10, "sleep 0.1; echo ok")), 128,
		"--max-startups", "1000", "--per-source-max-startups", "0", "--login-grace-time", "5m", "--set", "MARK="+mark)
	b.waitLog("the open-files limit is 128: lowered --max-startups from 1000:100:1000", 10*time.Second)
	var flood []net.Conn
	defer func() {
		for _, c := range flood {
			_ = c.Close()
		}
	}()
	for range 300 {
		c, err := net.Dial("tcp", b.addr)
		if err != nil {
			t.Fatal(err)
		}
		flood = append(flood, c)
	}
	if err := os.WriteFile(mark, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := b.runEnded(2 * time.Minute); got != "succeeded" {
		t.Fatalf("the run %s under the flood, want succeeded:\n%s", got, b.logText())
	}
}

var runEnd = regexp.MustCompile(`(?m) run \S+ (\w+)$`)

// runEnded waits for the server's run to end and returns how it ended.
func (b *bastion) runEnded(within time.Duration) string {
	b.t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(100 * time.Millisecond) {
		if m := runEnd.FindStringSubmatch(b.logText()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("the run did not end in %s:\n%s", within, b.logText())
		}
	}
}

// syncBuffer is a bytes.Buffer a process writes while a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
