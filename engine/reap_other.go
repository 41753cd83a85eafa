//go:build !linux

package engine

// EnableReaping is a no-op where there is no child subreaper; orphaned step
// processes are reaped by init.
func EnableReaping() error { return nil }

func reapGroup(int) {}
