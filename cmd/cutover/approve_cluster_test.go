package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/engine/spec"
	"github.com/cutover-sh/cutover/kube"
	"github.com/cutover-sh/cutover/testenv"
)

// TestApproveThroughTheCluster: a plain run whose input is closed waits at
// its blue-green gate; `cutover approve SERVICE -n NS` from other processes,
// as users bound to deploy/rbac.yaml's approver Role, shows the question and
// the diff; of two run at once exactly one decides it, journaled under that
// user's name; a user without the Role is refused with the RBAC error.
func TestApproveThroughTheCluster(t *testing.T) {
	bin := buildCutover(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := sharedCluster(t)
	ns, err := testenv.Namespace(ctx, c.Client)
	if err != nil {
		t.Fatal(err)
	}
	if err := testenv.CreatePair(ctx, c.Client, ns, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 0}); err != nil {
		t.Fatal(err)
	}
	admin, err := kube.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Apply(ctx, ns, "../../deploy"); err != nil {
		t.Fatalf("apply deploy/rbac.yaml: %v", err)
	}
	for _, who := range []string{"bob", "carol"} {
		if err := testenv.BindRole(ctx, c.Client, ns, "cutover-approver", who); err != nil {
			t.Fatal(err)
		}
	}
	eve := kubeconfigAs(t, c.Kubeconfig, "eve")
	approvers := map[string]string{"bob": kubeconfigAs(t, c.Kubeconfig, "bob"), "carol": kubeconfigAs(t, c.Kubeconfig, "carol")}

	pipeline := writeFile(t, "gate.yaml", `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: web}
stages:
  - name: production
    budget: 5m
    steps:
      - name: switch
        blueGreen:
          namespace: `+ns+`
          service: web-service
          container: app
          image: web:v2
          replicas: 2
          scaleDownDelay: 1s
          approve: Switch traffic to web:v2?
`)
	state := t.TempDir()
	run, stdout := startUntil(t, "waiting for approval", bin, "run", "--plain", pipeline, "--kubeconfig", c.Kubeconfig, "--state-dir", state)
	t.Cleanup(func() { _ = run.Process.Kill(); _ = run.Wait() })
	defer func() { _ = stdout.Close() }()

	approve := func(kubeconfig string) (string, error) {
		out, err := exec.Command(bin, "approve", "web-service", "-n", ns, "--kubeconfig", kubeconfig, "--yes").CombinedOutput()
		return string(out), err
	}
	// The gate is published on the lock within a poll of opening.
	target := spec.Target{Namespace: ns, Service: "web-service"}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, _, err := admin.ReadGate(ctx, target); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("no gate published within 30s: %v", err)
		}
	}
	if out, err := approve(eve); err == nil || !strings.Contains(out, "forbidden") || !strings.Contains(out, `"eve"`) {
		t.Fatalf("cutover approve as eve: %v\n%s\nwant the RBAC error naming her", err, out)
	}

	// bob and carol approve at once, each in a process of their own.
	type result struct {
		out string
		err error
	}
	results := map[string]result{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for who, kubeconfig := range approvers {
		wg.Go(func() {
			out, err := approve(kubeconfig)
			mu.Lock()
			results[who] = result{out, err}
			mu.Unlock()
		})
	}
	wg.Wait()
	winner := ""
	for who, r := range results {
		if r.err == nil {
			if winner != "" {
				t.Fatalf("both approvals applied:\n%v", results)
			}
			winner = who
		}
	}
	if winner == "" {
		t.Fatalf("no approval applied:\n%v", results)
	}
	out := results[winner].out
	for _, want := range []string{"Switch traffic to web:v2?", "What approving changes (blue live → green preview", "+ container/app/image: web:v2", "approved production/switch of service " + ns + "/web-service as " + winner} {
		if !strings.Contains(out, want) {
			t.Errorf("cutover approve as %s printed no %q:\n%s", winner, want, out)
		}
	}
	if code := waitExit(t, run); code != 0 {
		t.Fatalf("the run exited %d after %s's approval, want 0", code, winner)
	}
	recs, _, err := engine.ReadJournal(state)
	if err != nil {
		t.Fatal(err)
	}
	var approvals []engine.Record
	for _, r := range recs {
		if r.Type == engine.RecGateApproved {
			approvals = append(approvals, r)
		}
	}
	if len(approvals) != 1 || approvals[0].Actor == nil || approvals[0].Actor.Name != winner {
		t.Fatalf("journal: %+v, want one approval by %s", approvals, winner)
	}
}

// kubeconfigAs writes a copy of kubeconfig that impersonates user.
func kubeconfigAs(t *testing.T, kubeconfig, user string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range cfg.AuthInfos {
		a.Impersonate = user
	}
	path := filepath.Join(t.TempDir(), user+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}
