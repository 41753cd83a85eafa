package kube_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/engine/spec"
	"github.com/cutover-sh/cutover/kube"
	"github.com/cutover-sh/cutover/testenv"
)

// TestDecideAGateThroughTheCluster: a run publishes its blue-green gate
// on the release lock's Lease; people bound to deploy/rbac.yaml's approver
// Role decide it from elsewhere as their own Kubernetes identity, someone
// without the Role is refused by RBAC, and of two approvals at once
// exactly one applies.
func TestDecideAGateThroughTheCluster(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 3*time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 0}, true)
	admin, err := kube.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Apply(ctx, ns, "../deploy"); err != nil {
		t.Fatalf("apply deploy/rbac.yaml: %v", err)
	}
	for _, who := range []string{"bob", "carol"} {
		if err := testenv.BindRole(ctx, c.Client, ns, "cutover-approver", who); err != nil {
			t.Fatal(err)
		}
	}
	as := func(user string) *kube.Cluster {
		cfg := rest.CopyConfig(c.Config)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
		cl, err := kube.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	bob, carol, eve := as("bob"), as("carol"), as("eve")

	r := startRun(ctx, t, releasePipeline(ns)+"          approve: Green serves web:v2. Switch traffic?\n", clustersOf(map[string]*testenv.Cluster{"prod": c}))
	r.next("gate.waiting", func(ev engine.Event) bool { _, ok := ev.(engine.GateWaiting); return ok })
	target := spec.Target{Namespace: ns, Service: "web-service"}

	var notice *engine.GateNotice
	for deadline := time.Now().Add(30 * time.Second); notice == nil; time.Sleep(50 * time.Millisecond) {
		notice, _, err = bob.ReadGate(ctx, target)
		if time.Now().After(deadline) {
			t.Fatalf("no gate published on the release lock within 30s: %v", err)
		}
	}
	if notice.Gate != "production/switch" || notice.Question != "Green serves web:v2. Switch traffic?" || notice.Diff == nil || notice.Run != r.eng.RunID() {
		t.Fatalf("published gate: %+v, want production/switch of run %s with its question and diff", notice, r.eng.RunID())
	}
	if who, err := bob.WhoAmI(ctx); err != nil || who.Name != "bob" {
		t.Fatalf("who am I as bob: %+v, %v", who, err)
	}

	// eve has no approver Role: RBAC refuses her, naming what she lacks.
	if _, _, err := eve.ReadGate(ctx, target); !apierrors.IsForbidden(err) {
		t.Errorf("eve reads the gate: got %v, want Forbidden", err)
	}
	err = eve.DecideGate(ctx, target, engine.RemoteDecision{Gate: notice.Gate, Outcome: spec.GateApprove, Actor: engine.Actor{Name: "eve"}, Seen: notice.Diff.Hash})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `"eve"`) {
		t.Errorf("eve approves: got %v, want the RBAC error naming her", err)
	}

	// bob and carol approve at once: one applies, the other is told.
	var wg sync.WaitGroup
	errs := map[string]error{}
	var mu sync.Mutex
	for name, cl := range map[string]*kube.Cluster{"bob": bob, "carol": carol} {
		wg.Go(func() {
			who, err := cl.WhoAmI(ctx)
			if err == nil {
				dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				err = cl.DecideGate(dctx, target, engine.RemoteDecision{Gate: notice.Gate, Outcome: spec.GateApprove, Actor: who, Seen: notice.Diff.Hash})
			}
			mu.Lock()
			errs[name] = err
			mu.Unlock()
		})
	}
	wg.Wait()
	winner := ""
	for name, err := range errs {
		if err == nil {
			if winner != "" {
				t.Fatalf("both approvals applied: %v", errs)
			}
			winner = name
		}
	}
	if winner == "" {
		t.Fatalf("no approval applied: %v", errs)
	}
	loser := map[string]string{"bob": "carol", "carol": "bob"}[winner]
	t.Logf("%s applied; %s: %v", winner, loser, errs[loser])
	told := func(err error) bool {
		return err != nil && (strings.Contains(err.Error(), "already decided") || errors.Is(err, kube.ErrNoGate) || strings.Contains(err.Error(), "gate closed"))
	}
	if err := errs[loser]; !told(err) {
		t.Errorf("%s's approval after %s's: %v, want it told the gate was decided", loser, winner, err)
	}
	if final := r.wait(); final.Status != engine.StatusSucceeded {
		t.Fatalf("run %s after %s's approval, want succeeded", final.Status, winner)
	}
	if live, _, _ := selects(ctx, t, c.Client, ns); live != "green" {
		t.Errorf("service selects %s, want green", live)
	}
	recs, _, err := engine.ReadJournal(r.state)
	if err != nil {
		t.Fatal(err)
	}
	var approvals []engine.Record
	for _, rec := range recs {
		if rec.Type == engine.RecGateApproved {
			approvals = append(approvals, rec)
		}
	}
	if len(approvals) != 1 || approvals[0].Actor == nil || approvals[0].Actor.Name != winner ||
		!strings.Contains(approvals[0].Actor.ID, "kubernetes user") || approvals[0].Seen != notice.Diff.Hash {
		t.Errorf("journal approvals: %+v, want one by %s, a kubernetes user, bound to diff %s", approvals, winner, notice.Diff.Hash)
	}
	if _, _, err := bob.ReadGate(ctx, target); !errors.Is(err, kube.ErrNoGate) {
		t.Errorf("after the run the lock still publishes a gate: %v", err)
	}
}
