package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// SampleApp is one color of cutover's sample app (`cutover demo app`) run
// as a process on loopback, as the lab runs blue and green behind its
// router.
type SampleApp struct {
	// Addr is host:port.
	Addr string
	proc *proc
}

// StartSampleApp runs bin with args (which start with "demo", "app") and
// env added to the environment, and waits for the address it prints.
func StartSampleApp(ctx context.Context, bin string, env []string, args ...string) (*SampleApp, error) {
	// Not CommandContext: the app outlives ctx, and Stop ends it.
	cmd := exec.Command(bin, args...) //nolint:gosec,noctx // the test's own binary
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start sample app %v: %w", args, err)
	}
	a := &SampleApp{proc: &proc{name: "sample app", cmd: cmd, done: make(chan struct{})}}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				addr <- v
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() {
		a.proc.err = cmd.Wait()
		close(a.proc.done)
	}()
	select {
	case a.Addr = <-addr:
		return a, nil
	case <-a.proc.done:
		return nil, fmt.Errorf("sample app %v exited before listening: %w", args, a.proc.err)
	case <-ctx.Done():
		a.Stop()
		return nil, fmt.Errorf("sample app %v: %w", args, ctx.Err())
	case <-time.After(30 * time.Second):
		a.Stop()
		return nil, errors.New("sample app did not say where it listens within 30s")
	}
}

// Stop ends the app and waits for it.
func (a *SampleApp) Stop() {
	_ = a.proc.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.proc.done:
	case <-time.After(5 * time.Second):
		_ = a.proc.cmd.Process.Kill()
		<-a.proc.done
	}
}
