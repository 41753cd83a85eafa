package engine

import (
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
)

// Point is one sample of a panel's series. Unix milliseconds rather than a
// time.Time keep a point at 16 bytes, a third of the size.
type Point struct {
	T int64
	V float64
}

// Series is one line of a panel.
type Series struct {
	// Name is what tells this series apart from the panel's others: the
	// labels that differ between them ("color=green"), or "" when the
	// panel has one series.
	Name   string
	Labels map[string]string
	Points []Point
	// Current is the value at the panel's evaluation time, which is what
	// an instant query at that time returns. HasCurrent is false when the
	// series has no sample there (it went stale).
	Current    float64
	HasCurrent bool
	State      spec.PanelState
}

// PanelData is one panel after a refresh, as the metrics source (the
// prom package) hands it to views.
type PanelData struct {
	Spec spec.PanelSpec
	// Query is the query as sent, its template filled in.
	Query string
	// At is the evaluation time of the last point; Step the time between
	// points.
	At     time.Time
	Step   time.Duration
	Series []Series
	State  spec.PanelState
	// Err says why the panel is unavailable.
	Err error
	// Took is how long the query took.
	Took time.Duration
}
