// Package engine owns cutover's domain: the run of a pipeline's stages
// and steps, the blue-green release and its decisions, the events every
// view reads, and the audit journal. What a pipeline file may say, and
// how it is loaded, is its sub-package spec.
//
// A run is an Engine, a thin composition of parts that each own their
// state and their lock:
//
//   - the publisher (publish.go) journals each record and publishes each
//     event, in order, holding events back for the journal's group fsync;
//   - the gate book (gates.go) holds the approve gates and their decisions;
//   - the release book (releases.go) holds the releases in flight and the
//     rollbacks and promotes people send them;
//   - notifications (notifications.go) tell Slack and Teams about the run,
//     through the webhook adapter;
//   - the scheduler (schedule.go) runs the stages as their needs allow;
//   - one runner per step kind (step_*.go), behind stepRunner, shares a
//     stepScope that begins and ends the step.
//
// Decisions are pure functions of a spec, an observation and the time,
// tested as tables: NextBlueGreen and NextRollback (bluegreen_next.go),
// RolloutStatus (cluster.go), the plans views render (plan.go), plan
// (schedule.go). Views never decide: they read Snapshot and Apply
// (snapshot.go), through a Subscription (broadcast.go).
//
// engine imports no UI, no Kubernetes or Prometheus client, and no other
// cutover package but spec, edge and sanitize: it defines the interfaces
// it consumes (Cluster, Clusters, Metrics, Recorder, Clock, Processes,
// LoadTester, WebhookPoster), kube, prom, proc, loadtest and webhook
// implement them, and edge holds the values that cross. .golangci.yml's
// depguard rules hold this.
package engine
