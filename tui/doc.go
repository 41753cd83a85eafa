// Package tui is the terminal UI: Bubble Tea models and views that render
// engine snapshots and send commands back as engine method calls. It never
// talks to a cluster.
package tui
