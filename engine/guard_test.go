package engine

import (
	"errors"
	"sync"
	"testing"
)

// gates is a one-stage pipeline; its steps follow.
const gates = `
apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: race}
stages:
  - name: s
    budget: 1h
`

// TestGuardedActionsApplyOnce: two operators saw the same gate and confirm
// at the same moment, one to approve and one to abort. Exactly one action
// is applied and journaled; the other is refused, naming what happened.
func TestGuardedActionsApplyOnce(t *testing.T) {
	for range 20 {
		h := newHarness(t, Config{Pipeline: mustLoad(t, gates+`    steps: [{name: g, approve: "ok?"}]
`)})
		result := h.start()
		seen := h.wait("gate", func(ev Event) bool { _, ok := ev.(GateWaiting); return ok }).Header().Decisions
		alice, bob := Actor{Name: "alice", ID: "SHA256:a"}, Actor{Name: "bob", ID: "SHA256:b"}
		var wg sync.WaitGroup
		var approveErr, abortErr error
		start := make(chan struct{})
		wg.Go(func() { <-start; approveErr = h.eng.Guard(seen).Approve(alice, "") })
		wg.Go(func() { <-start; abortErr = h.eng.Guard(seen).Abort(bob, "wrong build") })
		close(start)
		wg.Wait()
		final := <-result

		var stale *StaleError
		switch {
		case approveErr == nil && errors.As(abortErr, &stale):
			if final.Status != StatusSucceeded || stale.Last != "alice · SHA256:a approved s/g" {
				t.Fatalf("approve won: run %s, abort refused with %q", final.Status, stale.Last)
			}
		case abortErr == nil && errors.As(approveErr, &stale):
			if final.Status != StatusAborted || stale.Last != "bob · SHA256:b aborted the run" {
				t.Fatalf("abort won: run %s, approve refused with %q", final.Status, stale.Last)
			}
		default:
			t.Fatalf("approve: %v; abort: %v; want exactly one applied and the other refused as stale", approveErr, abortErr)
		}
		recs, _, err := ReadJournal(h.dir)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range recs {
			if r.Type == RecGateApproved || r.Type == RecRunAborted {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d decisions journaled, want 1", n)
		}
	}
}

// TestGuardOnTheCurrentCountApplies: the CLI and plain mode act without
// a guard and are counted; an action guarded on the current count applies,
// one guarded on an older count does not.
func TestGuardOnTheCurrentCountApplies(t *testing.T) {
	h := newHarness(t, Config{Pipeline: mustLoad(t, gates+`    steps: [{name: g, approve: "ok?"}, {name: h, approve: "sure?"}]
`)})
	result := h.start()
	h.wait("gate g", func(ev Event) bool { w, ok := ev.(GateWaiting); return ok && w.Step == "g" })
	if err := h.eng.Approve(Actor{Name: "cli"}, ""); err != nil {
		t.Fatal(err)
	}
	h.wait("gate h", func(ev Event) bool { w, ok := ev.(GateWaiting); return ok && w.Step == "h" })
	if got := h.eng.Decisions(); got != 1 {
		t.Fatalf("decisions %d after one approval, want 1", got)
	}
	if err := h.eng.Guard(0).Approve(Actor{Name: "late"}, ""); err == nil {
		t.Fatal("an approval guarded on 0 decisions applied after one was taken")
	}
	if err := h.eng.Guard(1).Approve(Actor{Name: "current"}, ""); err != nil {
		t.Fatalf("an approval guarded on the current count: %v", err)
	}
	if final := <-result; final.Status != StatusSucceeded {
		t.Fatalf("run %s", final.Status)
	}
}
