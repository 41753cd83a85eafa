// Package demo is the world `cutover demo` releases into, in one process
// and on loopback only: a simulated cluster, an in-process Prometheus, the
// sample apps that play the released service, its users' traffic, a
// recorder that stands in for Slack's webhook, and the guide's tools.
//
// kube and prom drive this world exactly as they drive a real cluster and
// a real Prometheus, so the demo shows the code that ships. That is why
// the simulation lives here and not beside them: this is the one package
// that may import client-go's typed fakes and testing package and
// Prometheus's query engine and chunk storage (github.com/prometheus/prometheus),
// and only cmd/cutover and tests may import it. It may import engine,
// kube and prom, never tui. It keeps out, for the binary's size,
// client-go's fake.Clientset (see simClientset) and Prometheus's tsdb and
// config packages, which link remote write's Azure, Google and AWS SDKs
// (see head). .golangci.yml's depguard rules hold all this.
package demo
