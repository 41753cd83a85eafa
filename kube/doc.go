// Package kube is everything the engine asks of a Kubernetes cluster,
// through client-go: finding the live color from the Service selector,
// deploying the other color, judging readiness the way kubectl does, and
// switching the selector. It implements interfaces defined in engine.
//
// It imports engine and client-go; never tui, prom or any UI, and none of
// client-go's fakes (the demo's simulated cluster is in demo).
package kube
