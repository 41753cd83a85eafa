package tui

import "sync"

// paneCache keeps each pane's last drawing and the inputs it was drawn
// from. The spinner redraws the screen ten times a second and the clock
// once; between events most panes have not changed, and drawing one (its
// table, its border, the width of every cell) is most of a frame's cost.
// Shared by every copy of the model: a cache, not state.
type paneCache struct {
	mu      sync.Mutex
	entries map[pane]cached
}

type cached struct {
	key  paneKey
	view string
}

// paneKey is everything a pane's drawing depends on besides the pane's
// own fields, which are in its part. Two equal keys draw the same text.
type paneKey struct {
	seq     uint64 // the snapshot: stages, the release, the log lines
	second  int64  // the clock: elapsed times and ages tick once a second
	spin    string // the spinner's frame, in the stages' running icon
	w, h    int
	focused bool
	narrow  bool
	dark    bool
	// part is the pane's own state: its selection, scroll or search.
	part any
}

// get returns the drawing of p for key, drawing it only when the key
// changed.
func (c *paneCache) get(p pane, key paneKey, draw func() string) string {
	c.mu.Lock()
	if e, ok := c.entries[p]; ok && e.key == key {
		c.mu.Unlock()
		return e.view
	}
	c.mu.Unlock()
	v := draw()
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[pane]cached{}
	}
	c.entries[p] = cached{key: key, view: v}
	c.mu.Unlock()
	return v
}
