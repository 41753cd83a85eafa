//go:build !linux

package proc

import (
	"context"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// pollWait needs pidfds; elsewhere the portable goroutineWait runs steps.
func pollWait(context.Context, command, *exec.Cmd, int, int, *lineWriter, *lineWriter) (bool, error) {
	return false, nil
}

// pipeFds makes a close-on-exec pipe. The fork lock keeps a concurrent
// fork from inheriting it before close-on-exec is set.
func pipeFds(p []int) error {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	if err := unix.Pipe(p); err != nil {
		return err
	}
	unix.CloseOnExec(p[0])
	unix.CloseOnExec(p[1])
	return nil
}
