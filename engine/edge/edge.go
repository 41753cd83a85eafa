// Package edge holds the values that cross the engine's edge to the
// adapters that do its I/O: a command for the process runner (proc). The
// engine defines the interfaces; an adapter implements them with these
// values, so that neither imports the other, and the engine's own tests
// can use the real adapters.
//
// It imports only the standard library, and no package that does I/O.
package edge

import (
	"os"
	"time"
)

// Command is one attempt of a run step.
type Command struct {
	// Script is the step's command line. Variables in it are the shell's
	// to expand, from Env.
	Script string
	// Shell runs Script through /bin/sh even when it looks like a plain
	// command: the step sets its own PATH or working directory, where the
	// shell must resolve it.
	Shell bool
	Env   []string
	Dir   string
	// Grace is how long processes get between SIGTERM and SIGKILL.
	Grace time.Duration
	// Kill closes when the user insists: skip what is left of Grace.
	Kill <-chan struct{}
	// Stdin is the step's standard input; nil is /dev/null.
	Stdin *os.File
	// Line receives each output line, or piece of a very long one.
	Line func(stderr bool, text string, partial bool)
	// Cut says where a line too long to mask whole may be cut, at n or
	// before it, so that no secret is cut in two; nil cuts at n.
	Cut func(b []byte, n int) int
	// Marker are environment entries only this step's processes carry:
	// those that left its process group are found by them.
	Marker []string
}
