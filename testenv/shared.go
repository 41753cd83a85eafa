package testenv

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
)

// shared is one control plane per test binary, for tests that do not
// disturb it: each takes its own namespace.
var shared struct {
	once sync.Once
	c    *Cluster
	err  error
}

// Shared returns the test binary's shared control plane, starting it (with
// two kwok nodes) on first use. Call StopShared from TestMain.
func Shared() (*Cluster, error) {
	shared.once.Do(func() {
		bin, err := BinDir()
		if err != nil {
			shared.err = err
			return
		}
		dir, err := os.MkdirTemp("", "cutover-testenv-")
		if err != nil {
			shared.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if shared.c, shared.err = Start(ctx, bin, dir); shared.err != nil {
			return
		}
		for i := range 2 {
			if shared.err = shared.c.AddNode(ctx, fmt.Sprintf("kwok-%d", i)); shared.err != nil {
				return
			}
		}
	})
	return shared.c, shared.err
}

// StopShared stops the shared control plane, if one was started.
func StopShared() {
	if shared.c != nil {
		shared.c.Stop()
	}
}
