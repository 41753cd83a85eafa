//go:build !linux

package proc

import "time"

// EnableReaping is a no-op where there is no child subreaper; orphaned step
// processes are reaped by init.
func EnableReaping() error { return nil }

func reapGroup(int) {}

// stopEscaped needs /proc and a child subreaper; elsewhere a step's
// processes outside its group are left alone.
func stopEscaped([]string, time.Duration, <-chan struct{}) {}
