// Package prom queries Prometheus over its HTTP API for the console's
// panels and the analysis gates. It implements interfaces defined in
// engine.
package prom
