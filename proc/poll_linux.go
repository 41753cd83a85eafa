package proc

import (
	"context"
	"errors"
	"os/exec"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// pollBufs are read buffers reused across steps.
var pollBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// pollWait runs a started command from the calling goroutine alone: it
// polls both output pipes, a pidfd for the leader's exit and an eventfd for
// cancellation. Against a goroutine per pipe this takes most of the runner's
// cost out of a short step (see BenchmarkStepOverhead). It returns polled
// false, having done nothing, where pidfds are missing (Linux before 5.3).
func pollWait(ctx context.Context, c command, cmd *exec.Cmd, outFd, errFd int, out, errs *lineWriter) (polled bool, waitErr error) {
	pgid := cmd.Process.Pid
	pidfd, err := unix.PidfdOpen(pgid, 0)
	if err != nil {
		return false, nil
	}
	defer closeFds(pidfd)
	wake, err := newWaker()
	if err != nil {
		return false, nil
	}
	defer wake.close()
	stop := context.AfterFunc(ctx, func() {
		wake.signal()
		if wake.waitKill(c.kill) {
			wake.signal()
		}
	})
	defer stop()

	bufp := pollBufs.Get().(*[]byte)
	defer pollBufs.Put(bufp)
	buf := *bufp
	fds := []unix.PollFd{pollIn(outFd), pollIn(errFd), pollIn(pidfd), pollIn(wake.fd)}
	writers := [2]*lineWriter{out, errs}
	open := 2
	defer func() {
		for i := range 2 {
			if fds[i].Fd >= 0 {
				closeFds(int(fds[i].Fd))
			}
		}
	}()

	var (
		leaderDone, groupDone bool
		cancelled, killed     bool
		insisted              bool
		stopBy                time.Time // SIGKILL the group if the leader still runs
		reapBy                time.Time // SIGKILL what outlived the leader
		drainBy               time.Time // stop reading pipes an escaped process holds
	)
	for {
		now := time.Now()
		if cancelled && !leaderDone && !killed && !now.Before(stopBy) {
			_ = unix.Kill(-pgid, unix.SIGKILL)
			killed = true
		}
		if leaderDone && !groupDone {
			switch {
			case !groupAlive(pgid):
				stopEscaped(c.marker, c.grace, c.kill)
				groupDone, drainBy = true, time.Now().Add(pipeDrain)
			case !killed && !now.Before(reapBy):
				_ = unix.Kill(-pgid, unix.SIGKILL)
				killed = true
			}
		}
		if groupDone && (open == 0 || !now.Before(drainBy)) {
			return true, waitErr
		}

		timeout := -1
		switch {
		case leaderDone && !groupDone:
			timeout = msUntil(now, minTime(reapBy, now.Add(groupPoll)))
		case groupDone:
			timeout = msUntil(now, drainBy)
		case cancelled && !killed:
			timeout = msUntil(now, stopBy)
		}
		if _, err := unix.Poll(fds, timeout); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			// Polling cannot fail on valid descriptors; if it does, stop
			// the step rather than spin.
			_ = unix.Kill(-pgid, unix.SIGKILL)
			if !leaderDone {
				waitErr = cmd.Wait()
			}
			terminate(pgid, 0, nil)
			return true, waitErr
		}
		for i := range 2 {
			if fds[i].Fd < 0 || fds[i].Revents == 0 {
				continue
			}
			n, err := unix.Read(int(fds[i].Fd), buf)
			if n > 0 {
				_, _ = writers[i].Write(buf[:n])
				continue
			}
			if n == 0 || !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
				closeFds(int(fds[i].Fd))
				fds[i].Fd = -1
				open--
			}
		}
		now = time.Now()
		if fds[3].Revents != 0 {
			wake.drain()
			if !cancelled {
				cancelled = true
				stopBy = now.Add(c.grace)
				reapBy = stopBy
				stopGroup(pgid)
			}
		}
		// Both wake-ups may arrive as one eventfd count, so the insistence
		// is read from its channel, not counted.
		if cancelled && !insisted && closed(c.kill) {
			insisted = true
			stopBy, reapBy = now, now
		}
		if fds[2].Fd >= 0 && fds[2].Revents != 0 {
			fds[2].Fd = -1
			// The leader has exited, so this returns at once; it must run
			// before the group is reaped, which would take its status.
			waitErr = cmd.Wait()
			leaderDone = true
			if !cancelled {
				reapBy = now.Add(c.grace)
			}
			if groupAlive(pgid) {
				stopGroup(pgid)
			}
		}
	}
}

func pollIn(fd int) unix.PollFd {
	return unix.PollFd{Fd: int32(fd), Events: unix.POLLIN} //nolint:gosec // descriptors are small ints
}

// closed reports whether ch is closed, without waiting.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func msUntil(now, t time.Time) int {
	d := t.Sub(now)
	if d <= 0 {
		return 0
	}
	return int((d + time.Millisecond - 1) / time.Millisecond)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// waker is an eventfd that a cancellation writes to, guarded so that no
// write can reach the descriptor number after it was closed and reused.
type waker struct {
	mu     sync.Mutex
	fd     int
	closed bool
	done   chan struct{}
}

func newWaker() (*waker, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, err
	}
	return &waker{fd: fd, done: make(chan struct{})}, nil
}

func (w *waker) signal() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		_, _ = unix.Write(w.fd, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	}
}

// waitKill waits for kill to close, or for the waker to be closed; it
// reports which.
func (w *waker) waitKill(kill <-chan struct{}) bool {
	select {
	case <-kill:
		return true
	case <-w.done:
		return false
	}
}

func (w *waker) drain() {
	var b [8]byte
	_, _ = unix.Read(w.fd, b[:])
}

func (w *waker) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.closed = true
		close(w.done)
		_ = unix.Close(w.fd)
	}
}

// pipeFds makes a close-on-exec pipe.
func pipeFds(p []int) error { return unix.Pipe2(p, unix.O_CLOEXEC) }
