package engine

import (
	"context"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
)

// GateNotice is a blue-green release's waiting gate as published on its
// release lock, where `cutover approve SERVICE -n NS` on any machine reads
// it and writes a decision back.
type GateNotice struct {
	Run       string           `json:"run"`
	Gate      string           `json:"gate"`
	Question  string           `json:"question"`
	Diff      *TemplateDiff    `json:"diff,omitempty"`
	Deadline  time.Time        `json:"deadline,omitzero"`
	OnTimeout spec.GateOutcome `json:"onTimeout,omitempty"`
}

// RemoteDecision is a decision written where a gate was published. The
// actor is the writer's Kubernetes identity, from a SelfSubjectReview:
// who may write one is RBAC's to decide (deploy/rbac.yaml's approver Role).
type RemoteDecision struct {
	// ID matches the answer to the decision.
	ID      string           `json:"id"`
	Gate    string           `json:"gate"`
	Outcome spec.GateOutcome `json:"outcome"`
	Actor   Actor            `json:"actor"`
	Reason  string           `json:"reason,omitempty"`
	// Seen is the hash of the diff the writer was shown.
	Seen string `json:"seen,omitempty"`
}

// GateAnswer is what became of a RemoteDecision: Error is empty when it
// was applied.
type GateAnswer struct {
	ID    string `json:"id"`
	Error string `json:"error,omitempty"`
}

// GatePublisher is a ReleaseLock that can publish the release's gate and
// carry decisions back. kube's Lease-backed lock is one.
type GatePublisher interface {
	// PublishGate publishes n, replacing what was published; nil
	// withdraws it.
	PublishGate(ctx context.Context, n *GateNotice) error
	// Decisions delivers each decision written for the published gate
	// once.
	Decisions() <-chan RemoteDecision
	// Answer tells the writer of decision id what became of it.
	Answer(ctx context.Context, a GateAnswer) error
}

// publishGate publishes the release's gate while it waits, keeps its diff
// current, and applies the decisions written back. stop withdraws it.
func (rl *release) publishGate(ctx context.Context) (stop func()) {
	pub := rl.pub
	if pub == nil {
		return func() {}
	}
	id := gateID(rl.sc.stage.Name, rl.sc.name)
	notice := func() *GateNotice {
		return &GateNotice{Run: rl.e.runID, Gate: id, Question: rl.e.mask.String(rl.spec.Approve), Diff: rl.currentDiff()}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var published *string // the diff hash published, nil before
		var from *seenRelease // the observation it was computed from
		var retryT Timer
		stopRetry := func() {
			if retryT != nil {
				retryT.Stop()
				retryT = nil
			}
		}
		defer stopRetry()
		for {
			stopRetry()
			// The diff is computed again only from a new observation: a
			// gate can wait an hour, and an idle console costs nothing.
			// A failed write is tried again after gateWatch; the local
			// console and socket decide the gate meanwhile.
			var retry <-chan time.Time
			if seen := rl.seen.Load(); published == nil || seen != from {
				n := notice()
				if h := diffHash(n.Diff); published == nil || *published != h {
					if err := pub.PublishGate(ctx, n); err == nil {
						published, from = &h, seen
					} else {
						retryT = rl.e.clock.NewTimer(gateWatch)
						retry = retryT.C()
					}
				} else {
					from = seen
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-rl.seenChanged:
			case <-retry:
			case d := <-pub.Decisions():
				err := rl.e.gates.decideSeen(id, d.Outcome, d.Actor, d.Reason, d.Seen)
				a := GateAnswer{ID: d.ID}
				if err != nil {
					a.Error = err.Error()
				}
				// The answer outlives the gate it decided: the writer
				// waits for it.
				actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				_ = pub.Answer(actx, a)
				acancel()
			}
		}
	}()
	return func() {
		cancel()
		<-done
		wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer wcancel()
		_ = pub.PublishGate(wctx, nil)
	}
}
