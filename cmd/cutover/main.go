// Command cutover is a release console for the terminal: it runs a release
// pipeline, shows it live, and keeps an audit journal of who did what.
//
// Installed as kubectl-cutover, the same binary is a kubectl plugin.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cutover-sh/cutover/proc"
	"github.com/cutover-sh/cutover/sanitize"
)

// Exit codes. They are part of cutover's interface: scripts depend on them,
// so they never change meaning.
const (
	exitOK         = 0
	exitFailed     = 1
	exitBadInput   = 2
	exitRolledBack = 3
	exitAborted    = 130
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// badInput marks err as the user's input being wrong (exit 2).
func badInput(err error) error { return &exitError{code: exitBadInput, err: err} }

// streams are the process's standard files, injected so tests can run the
// command in-process.
type streams struct {
	in       io.Reader
	out, err io.Writer
	// outTTY and inTTY report whether out and in are terminals.
	outTTY, inTTY bool
	// getenv and lookupEnv read the environment.
	lookupEnv func(string) (string, bool)
}

func main() {
	// Orphans of killed steps are re-parented to cutover, which reaps them
	// at once; see proc.EnableReaping.
	if err := proc.EnableReaping(); err != nil {
		_, _ = fmt.Fprintln(os.Stderr, "cutover: warning: cannot reap step processes:", err)
	}
	if prefix := os.Getenv("CUTOVER_CPUPROFILE"); prefix != "" {
		go profileOnSignals(prefix)
	}
	s := streams{
		in: os.Stdin, out: os.Stdout, err: os.Stderr,
		outTTY: isTerminal(os.Stdout), inTTY: isTerminal(os.Stdin), lookupEnv: os.LookupEnv,
	}
	os.Exit(execute(context.Background(), os.Args, s))
}

// execute runs the command line args and returns the exit code.
func execute(ctx context.Context, args []string, s streams) int {
	// Whatever a command prints passes the sanitizer on its way out: names,
	// reasons, errors and what a cluster says cannot drive the terminal.
	// The console draws on the terminal itself, not through these.
	s.out, s.err = sanitize.NewWriter(s.out), sanitize.NewWriter(s.err)
	root := newRootCmd(s, displayName(args[0]))
	root.SetArgs(args[1:])
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			_, _ = fmt.Fprintln(s.err, "error:", ee.err)
		}
		return ee.code
	}
	_, _ = fmt.Fprintln(s.err, "error:", err)
	// Cobra's own refusals (an unknown command) are bad input; anything
	// else that went wrong is a failure, never mistaken for a typo.
	if strings.HasPrefix(err.Error(), "unknown command") {
		return exitBadInput
	}
	return exitFailed
}

// args wraps a cobra argument check so that its refusal is bad input.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return badInput(err)
		}
		return nil
	}
}

// displayName is how the binary refers to itself: "kubectl cutover" when it
// runs as a kubectl plugin.
func displayName(arg0 string) string {
	if strings.HasPrefix(filepath.Base(arg0), "kubectl-") {
		return "kubectl cutover"
	}
	return "cutover"
}
