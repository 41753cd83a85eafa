package engine

import (
	"sync"

	"github.com/cutover-sh/cutover/engine/spec"
)

// latestQuery is the release a step of this run works on now, so that
// the analysis and alert steps after it, and the panels, measure the same
// thing.
type latestQuery struct {
	mu sync.Mutex
	v  spec.QueryVars
}

func (l *latestQuery) set(v spec.QueryVars) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.v = v
}

func (l *latestQuery) get() spec.QueryVars {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.v
}

// QueryVars returns the query template values of the release this run
// touched last, so that panels follow the color being released.
func (e *Engine) QueryVars() spec.QueryVars { return e.query.get() }
