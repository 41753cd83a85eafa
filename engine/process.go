package engine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

const (
	// maskWindow is the longest stretch of one output line that is masked
	// as a whole; a secret is only missed if it straddles two windows.
	maskWindow = 1 << 20
	// maxEventLine is the longest line one output event carries; longer
	// lines are split into partial events.
	maxEventLine = 64 << 10
	// pipeDrain bounds how long output is read after every process in the
	// step's group was killed, for a process that escaped the group but
	// still holds the pipe.
	pipeDrain = 2 * time.Second
)

// shellMeta are the characters that make a command need a shell. Commands
// without them are executed directly, as make does, which saves a shell
// start per step.
const shellMeta = "|&;<>()$`\\\"'*?[]#~=%{}!\n\t"

// shellWords are builtins and keywords that only a shell can run.
var shellWords = map[string]bool{
	".": true, ":": true, "alias": true, "break": true, "case": true, "cd": true, "continue": true,
	"eval": true, "exec": true, "exit": true, "export": true, "for": true, "if": true, "read": true,
	"readonly": true, "return": true, "set": true, "shift": true, "source": true, "trap": true,
	"ulimit": true, "umask": true, "unset": true, "until": true, "wait": true, "while": true,
}

// argv returns how to execute a run step's command.
func argv(script string) []string {
	if !strings.ContainsAny(script, shellMeta) {
		words := strings.Fields(script)
		if len(words) > 0 && !shellWords[words[0]] {
			if path, err := exec.LookPath(words[0]); err == nil {
				return append([]string{path}, words[1:]...)
			}
		}
	}
	return []string{"/bin/sh", "-c", script}
}

// command is one attempt of a run step.
type command struct {
	script string
	env    []string
	dir    string
	// grace is how long processes get between SIGTERM and SIGKILL.
	grace time.Duration
	// kill closes when the user insists: skip what is left of grace.
	kill <-chan struct{}
	// line receives each output line (or piece of a very long one).
	line func(stream Stream, text string, partial bool)
}

// runCommand runs c in its own process group and returns its exit code.
// When ctx ends, the whole group (grandchildren included) gets SIGTERM and,
// after the grace period, SIGKILL. Whatever the leader leaves behind in its
// group is terminated the same way when it exits, so no step outlives itself.
func runCommand(ctx context.Context, c command) (int, error) {
	args := argv(c.script)
	cmd := exec.Command(args[0], args[1:]...) //nolint:gosec // running the pipeline's commands is the point
	cmd.Env, cmd.Dir = c.env, c.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	outR, outW, err := os.Pipe()
	if err != nil {
		return -1, fmt.Errorf("create stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll(outR, outW)
		return -1, fmt.Errorf("create stderr pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	if err := cmd.Start(); err != nil {
		closeAll(outR, outW, errR, errW)
		return -1, fmt.Errorf("start %q: %w", args[0], err)
	}
	closeAll(outW, errW)
	var readers sync.WaitGroup
	readers.Go(func() { readLines(outR, Stdout, c.line) })
	readers.Go(func() { readLines(errR, Stderr, c.line) })
	readDone := make(chan struct{})
	go func() { readers.Wait(); close(readDone) }()

	pgid := cmd.Process.Pid
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var waitErr error
	select {
	case waitErr = <-waited:
		terminate(pgid, c.grace, c.kill, readDone)
	case <-ctx.Done():
		terminate(pgid, c.grace, c.kill, waited)
		waitErr = <-waited
		terminate[struct{}](pgid, 0, nil, nil)
	}
	select {
	case <-readDone:
	case <-time.After(pipeDrain):
		// Closing the read ends unblocks the readers; what the escaped
		// process writes after this is lost, which is the price of it
		// leaving its group.
		closeAll(outR, errR)
		<-readDone
	}
	closeAll(outR, errR)
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

// terminate sends SIGTERM to the process group, waits for done (or the
// grace period, or kill), then sends SIGKILL to whatever is left.
func terminate[T any](pgid int, grace time.Duration, kill <-chan struct{}, done <-chan T) {
	if unix.Kill(-pgid, 0) != nil {
		return // the group is already empty
	}
	if grace > 0 && done != nil {
		_ = unix.Kill(-pgid, unix.SIGTERM)
		t := time.NewTimer(grace)
		select {
		case <-done:
		case <-t.C:
		case <-kill:
		}
		t.Stop()
	}
	_ = unix.Kill(-pgid, unix.SIGKILL)
}

func closeAll(files ...*os.File) {
	for _, f := range files {
		_ = f.Close()
	}
}

// readLines splits r into lines for emit. A line longer than maskWindow is
// cut into windows, so a step that prints megabytes without a newline, or
// binary garbage, costs bounded memory.
func readLines(r io.Reader, stream Stream, emit func(Stream, string, bool)) {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(buf) >= maskWindow {
				emit(stream, string(buf), true)
				buf = buf[:0]
			}
			continue
		}
		if len(buf) > 0 {
			emit(stream, strings.TrimSuffix(string(buf), "\n"), false)
			buf = buf[:0]
		}
		if err != nil {
			return
		}
	}
}

// splitLine cuts s into pieces of at most n bytes without splitting a UTF-8
// sequence.
func splitLine(s string, n int) []string {
	if len(s) <= n {
		return []string{s}
	}
	var parts []string
	for len(s) > n {
		cut := n
		for back := 0; back < utf8.UTFMax && cut > 0 && !utf8.RuneStart(s[cut]); back++ {
			cut--
		}
		if cut == 0 {
			cut = n
		}
		parts = append(parts, s[:cut])
		s = s[cut:]
	}
	return append(parts, s)
}
