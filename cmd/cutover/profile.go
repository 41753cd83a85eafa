package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// profileOnSignals lets a harness price a window of a running cutover,
// such as 20 idle seconds at a gate: with CUTOVER_CPUPROFILE=PREFIX set,
// SIGUSR1 starts a CPU profile in PREFIX.N and SIGUSR2 writes it. Nothing
// is profiled, nor any signal taken, without the variable.
func profileOnSignals(prefix string) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1, syscall.SIGUSR2)
	var f *os.File
	n := 0
	for sig := range ch {
		switch {
		case sig == syscall.SIGUSR1 && f == nil:
			n++
			var err error
			if f, err = os.Create(fmt.Sprintf("%s.%d", prefix, n)); err != nil {
				_, _ = fmt.Fprintln(os.Stderr, "cutover: CUTOVER_CPUPROFILE:", err)
				continue
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				_, _ = fmt.Fprintln(os.Stderr, "cutover: CUTOVER_CPUPROFILE:", err)
				_ = f.Close()
				f = nil
			}
		case sig == syscall.SIGUSR2 && f != nil:
			pprof.StopCPUProfile()
			_ = f.Close()
			f = nil
		}
	}
}
