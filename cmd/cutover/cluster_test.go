package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/kube"
	"github.com/cutover-sh/cutover/testenv"
)

// TestReleaseCommandsOnACluster drives status, rollback, promote, abort and
// a blueGreen run from the command line against the real control plane.
func TestReleaseCommandsOnACluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin, err := testenv.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	c, err := testenv.Start(ctx, bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if err := c.AddNode(ctx, "kwok-0"); err != nil {
		t.Fatal(err)
	}
	ns, err := testenv.Namespace(ctx, c.Client)
	if err != nil {
		t.Fatal(err)
	}
	if err := testenv.CreatePair(ctx, c.Client, ns, testenv.Pair{Name: "web", Live: "green", BlueImage: "web:v1", GreenImage: "web:v2", Blue: 3, Green: 3}); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	env := map[string]string{"USER": "oncall"}
	kargs := func(a ...string) []string {
		return append(a, "--kubeconfig", c.Kubeconfig, "-n", ns, "--state-dir", state)
	}
	live := func() string {
		svc, err := c.Client.CoreV1().Services(ns).Get(ctx, "web-service", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return svc.Spec.Selector["color"]
	}

	code, out, errOut := cli(t, "", env, kargs("status", "web-service")...)
	for _, want := range []string{"live color GREEN", "green (live)", "web-blue", "3/3", "app=web:v1", "Last switch: none", "Release lock: free"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("status: exit %d, output lacks %q:\n%s%s", code, want, out, errOut)
		}
	}

	code, _, errOut = cli(t, "", env, kargs("rollback", "web-service")...)
	if code != exitBadInput || !strings.Contains(errOut, "--reason is required") {
		t.Errorf("rollback without --reason: exit %d, %q; want 2 asking for a reason", code, errOut)
	}
	code, _, errOut = cli(t, "", env, kargs("rollback", "web-service", "--reason", "5xx")...)
	if code != exitBadInput || !strings.Contains(errOut, "pass --yes") || live() != "green" {
		t.Errorf("rollback off a terminal without --yes: exit %d, %q; want 2 and nothing changed", code, errOut)
	}

	code, out, errOut = cli(t, "", env, kargs("rollback", "web-service", "--reason", "error rate 12%", "--yes")...)
	if code != 0 || live() != "blue" || !strings.Contains(out, "now selects blue (was green)") {
		t.Fatalf("rollback: exit %d, service selects %s:\n%s%s", code, live(), out, errOut)
	}
	recs, _, err := engine.ReadJournal(state)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Type != engine.RecRollback || recs[0].Actor == nil || recs[0].Reason != "error rate 12%" ||
		recs[0].From != engine.Green || recs[0].To != engine.Blue {
		t.Errorf("journal %+v, want one rollback green -> blue with its reason and actor", recs)
	}

	code, out, _ = cli(t, "", env, kargs("status", "web-service", "-o", "json")...)
	var st struct {
		Live       engine.Color       `json:"live"`
		LastSwitch engine.ReleaseMark `json:"lastSwitch"`
	}
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil || st.Live != engine.Blue || st.LastSwitch.Previous != engine.Green {
		t.Errorf("status -o json: exit %d, %v, %+v; want live blue, previous green\n%s", code, err, st, out)
	}

	code, out, errOut = cli(t, "", env, kargs("promote", "web-service", "--reason", "checked by hand", "--yes")...)
	if code != 0 || live() != "green" {
		t.Errorf("promote: exit %d, service selects %s:\n%s%s", code, live(), out, errOut)
	}

	pipeline := writeFile(t, "release.yaml", `apiVersion: cutover.dev/v1alpha1
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
          image: web:v3
          replicas: 2
          scaleDownDelay: 1s
`)
	code, out, errOut = cli(t, "", env, "run", "--plain", "--auto-approve", pipeline, "--kubeconfig", c.Kubeconfig, "--state-dir", state)
	if code != 0 || live() != "blue" {
		t.Errorf("run: exit %d, service selects %s; want 0 and blue\n%s%s", code, live(), out, errOut)
	}
	for _, want := range []string{"production/switch deploying-preview service " + ns + "/web-service live=green blue", "scale-down-delay", "production/switch done"} {
		if !strings.Contains(out, want) {
			t.Errorf("run output lacks %q:\n%s", want, out)
		}
	}

	// Abort reaches a release held by another console through its lock.
	target := engine.Target{Namespace: ns, Service: "web-service"}.WithDefaults()
	lock, err := kube.New(c.Client).Lock(ctx, target, "alice on bastion-1")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut = cli(t, "", env, kargs("abort", "web-service", "--reason", "wrong tag")...)
	if code != 0 || !strings.Contains(out, "from alice on bastion-1") {
		t.Errorf("abort: exit %d:\n%s%s", code, out, errOut)
	}
	held, err := kube.New(c.Client).ReadLock(ctx, target)
	if err != nil || held == nil || !strings.HasPrefix(held.Holder, "abort by ") || !strings.HasSuffix(held.Holder, ": wrong tag") {
		t.Errorf("after abort the lock is %+v (%v), want it held by the abort", held, err)
	}
	_ = lock.Release(ctx) // no longer ours: a no-op
}
