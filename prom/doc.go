// Package prom queries Prometheus over its HTTP API for the console's
// panels and the analysis gates. It implements interfaces defined in
// engine.
//
// It imports engine and Prometheus's HTTP API client; never tui, kube,
// Kubernetes, or Prometheus's own server code (the demo's in-process
// Prometheus is in demo).
package prom
