// Package proc runs a run step's command: directly when it is a plain
// command, else through /bin/sh; in a process group of its own, its
// output read line by line; stopped with its whole group, and with what it
// started outside the group, when it ends or is stopped. It is the
// engine's process runner (engine.Processes), behind values from
// engine/edge.
//
// It imports os/exec and golang.org/x/sys/unix, which the engine may not,
// and nothing of cutover's but engine/edge.
package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cutover-sh/cutover/engine/edge"
)

const (
	// maskWindow is the longest stretch of one output line that is masked
	// as a whole; a secret is only missed if it straddles two windows.
	maskWindow = 1 << 20
	// pipeDrain bounds how long output is read after every process in the
	// step's group was killed, for a process that escaped the group but
	// still holds the pipe.
	pipeDrain = 2 * time.Second
)

// shellMeta are the characters that make a command need a shell. Commands
// without them are executed directly, as make does, which saves a shell
// start per step.
const shellMeta = "|&;<>()$`\\\"'*?[]#~=%{}!\n\t"

// shellWord reports builtins and keywords that only a shell can run.
func shellWord(w string) bool {
	switch w {
	case ".", ":", "alias", "break", "case", "cd", "continue", "eval", "exec", "exit", "export",
		"for", "if", "read", "readonly", "return", "set", "shift", "source", "trap", "ulimit",
		"umask", "unset", "until", "wait", "while":
		return true
	}
	return false
}

// argv returns how to execute a run step's command: directly when it is a
// plain command found on PATH, else through the shell.
func argv(script string) []string {
	if !strings.ContainsAny(script, shellMeta) {
		words := strings.Fields(script)
		if len(words) > 0 && !shellWord(words[0]) {
			if path, err := exec.LookPath(words[0]); err == nil {
				return append([]string{path}, words[1:]...)
			}
		}
	}
	return shell(script)
}

func shell(script string) []string { return []string{"/bin/sh", "-c", script} }

// Runner runs steps' commands. Its zero value is ready to use; it caches
// how each command line is executed, so that PATH is searched once per
// command rather than once per attempt.
type Runner struct {
	mu   sync.Mutex
	argv map[string][]string
}

// Run runs one attempt of a step in a process group of its own and
// returns its exit code. When ctx ends, the whole group (grandchildren
// included) gets SIGTERM and, after c.Grace, SIGKILL; whatever the step
// leaves behind in its group, or started outside it, is stopped the same
// way when it exits, so no step outlives itself.
func (r *Runner) Run(ctx context.Context, c edge.Command) (int, error) {
	return runCommand(ctx, command{
		args: r.argvFor(c.Script, c.Shell), env: c.Env, dir: c.Dir, grace: c.Grace, kill: c.Kill,
		line: c.Line, cut: c.Cut, marker: c.Marker, stdin: c.Stdin,
	})
}

// argvFor returns how to execute a command line. One that must go
// through the shell (its step sets PATH or a working directory) always
// does; otherwise the direct form is looked up once per command.
func (r *Runner) argvFor(script string, forceShell bool) []string {
	if forceShell {
		return shell(script)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.argv == nil {
		r.argv = map[string][]string{}
	}
	args, ok := r.argv[script]
	if !ok {
		args = argv(script)
		r.argv[script] = args
	}
	return args
}

// command is one attempt of a run step.
type command struct {
	args []string // from argv
	env  []string
	dir  string
	// grace is how long processes get between SIGTERM and SIGKILL.
	grace time.Duration
	// kill closes when the user insists: skip what is left of grace.
	kill <-chan struct{}
	// line receives each output line (or piece of a very long one).
	line func(stderr bool, text string, partial bool)
	// cut says where a line too long to mask whole may be cut.
	cut func(b []byte, n int) int
	// marker are environment entries only this step's processes carry:
	// those that left its process group are found by them.
	marker []string
	// stdin is the step's standard input: /dev/null, opened once per run
	// rather than once per step. Nil means os/exec opens it.
	stdin *os.File
	// portable forces the goroutine path, which runs where pidfds are
	// missing; tests use it to cover that path on Linux too.
	portable bool
}

// runCommand runs c in its own process group and returns its exit code.
// When ctx ends, the whole group (grandchildren included) gets SIGTERM and,
// after the grace period, SIGKILL. Whatever the leader leaves behind in its
// group is terminated the same way when it exits, so no step outlives itself.
func runCommand(ctx context.Context, c command) (int, error) {
	args := c.args
	// Not CommandContext: cancellation must reach the whole process group,
	// with a grace period, which the wait functions below do themselves.
	cmd := exec.Command(args[0], args[1:]...) //nolint:gosec,noctx // running the pipeline's commands is the point
	cmd.Env, cmd.Dir = c.env, c.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var fds [4]int // stdout read, stdout write, stderr read, stderr write
	if err := pipeFds(fds[0:2]); err != nil {
		return -1, fmt.Errorf("create stdout pipe: %w", err)
	}
	if err := pipeFds(fds[2:4]); err != nil {
		closeFds(fds[0], fds[1])
		return -1, fmt.Errorf("create stderr pipe: %w", err)
	}
	outW, errW := os.NewFile(uintptr(fds[1]), "|1"), os.NewFile(uintptr(fds[3]), "|2")
	cmd.Stdout, cmd.Stderr = outW, errW
	if c.stdin != nil {
		cmd.Stdin = c.stdin
	}
	err := cmd.Start()
	_ = outW.Close()
	_ = errW.Close()
	if err != nil {
		closeFds(fds[0], fds[2])
		if derr := checkDir(c.dir); derr != nil {
			// The kernel says the program is missing when the directory
			// it was to start in is.
			return -1, derr
		}
		return -1, fmt.Errorf("start %q: %w", args[0], err)
	}
	out, errs := &lineWriter{emit: c.line, cut: c.cut}, &lineWriter{stderr: true, emit: c.line, cut: c.cut}
	var polled bool
	var waitErr error
	if !c.portable {
		polled, waitErr = pollWait(ctx, c, cmd, fds[0], fds[2], out, errs)
	}
	if !polled {
		waitErr = goroutineWait(ctx, c, cmd, fds[0], fds[2], out, errs)
	}
	out.flush()
	errs.flush()
	if waitErr == nil {
		return 0, nil
	}
	var exitErr *exec.ExitError
	if errors.As(waitErr, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return exitErr.ExitCode(), nil
	}
	return -1, fmt.Errorf("wait for %q: %w", args[0], waitErr)
}

// checkDir says what is wrong with a step's working directory, if anything.
func checkDir(dir string) error {
	if dir == "" {
		return nil
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("dir %s: no such directory", dir)
	case err != nil:
		return fmt.Errorf("dir %s: %w", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("dir %s: not a directory", dir)
	}
	return nil
}

// goroutineWait is the portable way to run a started command: a goroutine
// per output stream, and the caller waits for the leader.
func goroutineWait(ctx context.Context, c command, cmd *exec.Cmd, outFd, errFd int, out, errs *lineWriter) error {
	pgid := cmd.Process.Pid
	var readers sync.WaitGroup
	var files []*os.File
	for _, p := range []struct {
		fd int
		w  *lineWriter
	}{{outFd, out}, {errFd, errs}} {
		// Non-blocking, so Go's poller serves the read and a deadline can
		// end it.
		_ = unix.SetNonblock(p.fd, true)
		f := os.NewFile(uintptr(p.fd), "|r")
		files = append(files, f)
		readers.Go(func() { _, _ = io.Copy(p.w, f) })
	}
	exited := make(chan struct{})
	var deadline time.Time // when a stop was asked for, plus grace
	armed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		deadline = time.Now().Add(c.grace)
		close(armed)
		stopGroup(pgid)
		grace := time.NewTimer(c.grace)
		defer grace.Stop()
		select {
		case <-exited:
		case <-grace.C:
			_ = unix.Kill(-pgid, unix.SIGKILL)
		case <-c.kill:
			_ = unix.Kill(-pgid, unix.SIGKILL)
		}
	})
	waitErr := cmd.Wait()
	close(exited)
	// The leader is waited for before terminate looks at the rest of the
	// group, so reaping never takes the exit status os/exec awaits.
	grace := c.grace
	if !stop() {
		<-armed
		grace = time.Until(deadline)
	}
	terminate(pgid, grace, c.kill)
	stopEscaped(c.marker, c.grace, c.kill)
	// Everything in the group is gone, so the pipes are at EOF, unless a
	// process escaped the group (setsid) and still holds one: the deadline
	// ends the readers then, and what it writes afterwards is lost.
	for _, f := range files {
		_ = f.SetReadDeadline(time.Now().Add(pipeDrain))
	}
	readers.Wait()
	for _, f := range files {
		_ = f.Close()
	}
	return waitErr
}

// terminate sends SIGTERM to the process group, waits until the group is
// empty (or the grace period passes, or kill closes), then sends SIGKILL to
// whatever is left. The group's leader must have been waited for.
func terminate(pgid int, grace time.Duration, kill <-chan struct{}) {
	defer reapGroup(pgid)
	if !groupAlive(pgid) {
		return
	}
	if grace > 0 {
		stopGroup(pgid)
		deadline := time.NewTimer(grace)
		defer deadline.Stop()
		poll := time.NewTicker(groupPoll)
		defer poll.Stop()
	wait:
		for groupAlive(pgid) {
			select {
			case <-deadline.C:
				break wait
			case <-kill:
				break wait
			case <-poll.C:
			}
		}
	}
	_ = unix.Kill(-pgid, unix.SIGKILL)
}

// stopGroup asks every process in the group to stop. SIGCONT follows
// SIGTERM so that a stopped process (one that read the terminal in the
// background, say) gets it now rather than after the grace period.
func stopGroup(pgid int) {
	_ = unix.Kill(-pgid, unix.SIGTERM)
	_ = unix.Kill(-pgid, unix.SIGCONT)
}

// groupPoll is how often a step's process group is checked for members
// that outlived its leader.
const groupPoll = 20 * time.Millisecond

// groupAlive reports whether any process is left in the process group,
// after collecting the members that already exited.
func groupAlive(pgid int) bool {
	reapGroup(pgid)
	return unix.Kill(-pgid, 0) == nil
}

func closeFds(fds ...int) {
	for _, fd := range fds {
		_ = unix.Close(fd)
	}
}

// lineWriter splits a stream of output into lines for emit. A line longer
// than maskWindow is cut into windows, so a step that prints megabytes
// without a newline, or binary garbage, costs bounded memory.
type lineWriter struct {
	stderr bool
	emit   func(stderr bool, text string, partial bool)
	cut    func(b []byte, n int) int
	buf    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.buf = append(w.buf, p...)
			w.cutWindows()
			return n, nil
		}
		w.buf = append(w.buf, p[:i]...)
		p = p[i+1:]
		w.cutWindows()
		w.emit(w.stderr, string(w.buf), false)
		w.buf = w.buf[:0]
	}
	return n, nil
}

// cutWindows emits full windows of an overlong line as partial lines. Only
// a window that is strictly full is cut, so a line of exactly maskWindow
// bytes still ends as one line, and never through a secret, which the
// next window then holds whole.
func (w *lineWriter) cutWindows() {
	for len(w.buf) > maskWindow {
		cut := maskWindow
		if w.cut != nil {
			cut = w.cut(w.buf, maskWindow)
		}
		w.emit(w.stderr, string(w.buf[:cut]), true)
		w.buf = append(w.buf[:0], w.buf[cut:]...)
	}
}

// flush emits a last line that had no newline.
func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.emit(w.stderr, string(w.buf), false)
		w.buf = nil
	}
}
