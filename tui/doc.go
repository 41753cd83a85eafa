// Package tui is cutover's terminal console: one screen that shows where a
// release is, whether the new color is healthy, and how to stop it. It
// draws the engine's events and snapshots and the metrics panels, and acts
// through the engine; it imports no cluster or Prometheus client.
//
// It imports engine, sanitize and Charm's Bubble Tea, Bubbles and Lip
// Gloss; never client-go, kube or prom.
package tui
