package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"runtime/trace"
	"syscall"
)

// profileOnSignals lets a harness price a window of a running cutover,
// such as 20 idle seconds at a gate: with CUTOVER_CPUPROFILE=PREFIX set,
// SIGUSR1 starts a CPU profile in PREFIX.N and an execution trace in
// PREFIX.N.trace (which goroutines wake, how often, and why: an idle
// console's cost is mostly its wakeups), and SIGUSR2 writes them. Nothing
// is profiled, nor any signal taken, without the variable.
func profileOnSignals(prefix string) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1, syscall.SIGUSR2)
	var f, tf *os.File
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
				continue
			}
			if tf, err = os.Create(fmt.Sprintf("%s.%d.trace", prefix, n)); err == nil {
				if err := trace.Start(tf); err != nil {
					_ = tf.Close()
					tf = nil
				}
			}
		case sig == syscall.SIGUSR2 && f != nil:
			pprof.StopCPUProfile()
			_ = f.Close()
			f = nil
			if tf != nil {
				trace.Stop()
				_ = tf.Close()
				tf = nil
			}
		}
	}
}
