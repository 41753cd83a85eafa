package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/kube"
	"github.com/cutover-sh/cutover/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopShared()
	os.Exit(code)
}

func sharedCluster(t *testing.T) *testenv.Cluster {
	t.Helper()
	c, err := testenv.Shared()
	if err != nil {
		t.Fatalf("test control plane: %v", err)
	}
	return c
}

// TestReleaseCommandsOnACluster drives status, rollback, promote, abort and
// a blueGreen run from the command line against the real control plane.
func TestReleaseCommandsOnACluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, ns, live := pairOnCluster(ctx, t, testenv.Pair{Name: "web", Live: "green", BlueImage: "web:v1", GreenImage: "web:v2", Blue: 3, Green: 3})
	state := t.TempDir()
	env := map[string]string{"USER": "oncall"}
	kargs := func(a ...string) []string {
		return append(a, "--kubeconfig", c.Kubeconfig, "-n", ns, "--state-dir", state)
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
		recs[0].From != spec.Green || recs[0].To != spec.Blue {
		t.Errorf("journal %+v, want one rollback green -> blue with its reason and actor", recs)
	}

	code, out, _ = cli(t, "", env, kargs("status", "web-service", "-o", "json")...)
	var st struct {
		Live       spec.Color         `json:"live"`
		LastSwitch engine.ReleaseMark `json:"lastSwitch"`
	}
	if err := json.Unmarshal([]byte(out), &st); code != 0 || err != nil || st.Live != spec.Blue || st.LastSwitch.Previous != spec.Green {
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
	target := spec.Target{Namespace: ns, Service: "web-service"}.WithDefaults()
	lock, err := kube.New(c.Client).Lock(ctx, target, "alice on bastion-1", "")
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

	// Maintenance mode, with the value and names from the pipeline file.
	if _, err := c.Client.AppsV1().Deployments(ns).Create(ctx, testenv.Deployment(ns, "web", "maintenance", "maint:1", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := testenv.WaitReady(ctx, c.Client, ns, "web-maintenance", 1); err != nil {
		t.Fatal(err)
	}
	withMaintenance := writeFile(t, "maint.yaml", `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: web}
stages:
  - name: production
    budget: 5m
    steps:
      - blueGreen:
          namespace: `+ns+`
          service: web-service
          container: app
          image: web:${IMAGE_TAG}
          replicas: 2
          maintenance: maintenance
`)
	fargs := func(a ...string) []string {
		return append(a, "-f", withMaintenance, "--kubeconfig", c.Kubeconfig, "--state-dir", state, "--reason", "db failover", "--yes")
	}
	code, out, errOut = cli(t, "", env, fargs("maintenance", "web-service", "on")...)
	if code != 0 || live() != "maintenance" {
		t.Errorf("maintenance on: exit %d, selects %s; want 0 and maintenance\n%s%s", code, live(), out, errOut)
	}
	code, out, errOut = cli(t, "", env, fargs("maintenance", "web-service", "off")...)
	if code != 0 || live() != "blue" {
		t.Errorf("maintenance off: exit %d, selects %s; want 0 and blue\n%s%s", code, live(), out, errOut)
	}

	// A Service whose Deployments follow no naming convention: the first
	// switch, given the names, writes them on the Service for next time.
	storefront := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "storefront", Namespace: ns},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web", "color": "green"}, Ports: []corev1.ServicePort{{Port: 80}}},
	}
	if _, err := c.Client.CoreV1().Services(ns).Create(ctx, storefront, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = cli(t, "", env, kargs("rollback", "storefront", "--to", "blue", "--blue", "web-blue", "--green", "web-green", "--reason", "r", "--yes")...)
	if code != 0 {
		t.Errorf("rollback naming the Deployments: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = cli(t, "", env, kargs("status", "storefront")...)
	if code != 0 || !strings.Contains(out, "blue (live)  web-blue") || !strings.Contains(out, "web-green") {
		t.Errorf("status finds the Deployments from the Service's annotations: exit %d\n%s%s", code, out, errOut)
	}

	// Complete rollback: blue goes back to web:v1; green has no earlier
	// revision, which is reported, not hidden.
	code, out, errOut = cli(t, "", env, kargs("rollback", "web-service", "--complete", "--reason", "bad schema", "--yes")...)
	blue, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "web-blue", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if code != exitFailed || blue.Spec.Template.Spec.Containers[0].Image != "web:v1" || !strings.Contains(errOut, "web-green: no revision before 1") {
		t.Errorf("rollback --complete: exit %d, blue runs %s; want 1, web:v1 and green's missing revision named\n%s%s",
			code, blue.Spec.Template.Spec.Containers[0].Image, out, errOut)
	}

	// The emergency scale-down wants the Service's name typed.
	code, _, errOut = cli(t, "", env, kargs("scale-down", "web-service", "--reason", "leak")...)
	if code != exitBadInput || !strings.Contains(errOut, "--confirm web-service") {
		t.Errorf("scale-down unconfirmed: exit %d, %q; want 2", code, errOut)
	}
	code, _, _ = cli(t, "", env, kargs("scale-down", "web-service", "--reason", "leak", "--confirm", "web")...)
	if code != exitAborted {
		t.Errorf("scale-down with the wrong name: exit %d, want %d", code, exitAborted)
	}
	code, out, errOut = cli(t, "", env, kargs("scale-down", "web-service", "--reason", "leak", "--confirm", "web-service")...)
	for _, name := range []string{"web-blue", "web-green"} {
		d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if code != 0 || err != nil || *d.Spec.Replicas != 0 {
			t.Errorf("scale-down: exit %d, %s: %v; want 0 replicas\n%s%s", code, name, err, out, errOut)
		}
	}
	recs, _, err = engine.ReadJournal(state)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, r := range recs {
		if strings.HasPrefix(r.Run, "cli-") {
			types = append(types, r.Type)
		}
	}
	// Maintenance off is journaled as maintenance, as the console's m
	// journals it: both switch through engine.SwitchMaintenance.
	want := "release.rolled-back release.promoted run.aborted release.maintenance release.maintenance release.rolled-back release.undone release.undone release.scaled-down"
	if got := strings.Join(types, " "); got != want {
		t.Errorf("journal of the commands:\ngot  %s\nwant %s", got, want)
	}
}

// TestMaintenanceRespectsTheReleaseLock: cutover maintenance switches
// under the release lock, as the console's m does, so a release held by
// another console is refused, not cut into.
func TestMaintenanceRespectsTheReleaseLock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, ns, live := pairOnCluster(ctx, t, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 0})
	if _, err := c.Client.AppsV1().Deployments(ns).Create(ctx, testenv.Deployment(ns, "web", "maintenance", "maint:1", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := testenv.WaitReady(ctx, c.Client, ns, "web-maintenance", 1); err != nil {
		t.Fatal(err)
	}
	target := spec.Target{Namespace: ns, Service: "web-service"}.WithDefaults()
	lock, err := kube.New(c.Client).Lock(ctx, target, "alice on bastion-1 (run R)", "")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"maintenance", "web-service", "on", "--kubeconfig", c.Kubeconfig, "-n", ns, "--state-dir", t.TempDir(), "--reason", "db failover", "--yes"}
	code, out, errOut := cli(t, "", nil, args...)
	if code == 0 || !strings.Contains(errOut, "alice on bastion-1 (run R)") || live() != "blue" {
		t.Errorf("maintenance on while alice releases: exit %d, selects %s; want a refusal naming alice, blue untouched\n%s%s", code, live(), out, errOut)
	}
	if err := lock.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := cli(t, "", nil, args...); code != 0 || live() != "maintenance" {
		t.Errorf("maintenance on once the lock is free: exit %d, selects %s\n%s%s", code, live(), out, errOut)
	}
}

// TestResumeAfterTheConsoleDied kills a console (SIGKILL, as a dropped
// bastion would) while its release waits at the gate before the switch,
// then resumes it from another console: the finished stage is not run
// again, the dead run's lock is taken over, and the release completes.
func TestResumeAfterTheConsoleDied(t *testing.T) {
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
	marker := filepath.Join(t.TempDir(), "prepared")
	pipeline := writeFile(t, "resume.yaml", `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: web-resume}
stages:
  - name: prepare
    budget: 1m
    steps: [{run: "echo prepared >> `+marker+`"}]
  - name: production
    budget: 5m
    needs: [prepare]
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
	first := exec.Command(bin, "run", "--plain", pipeline, "--kubeconfig", c.Kubeconfig, "--state-dir", state)
	stdout, err := first.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && !strings.Contains(sc.Text(), "waiting for approval") {
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()

	green, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "web-green", metav1.GetOptions{})
	if err != nil || green.Spec.Template.Spec.Containers[0].Image != "web:v2" {
		t.Fatalf("the killed run had not deployed the preview: %v", err)
	}
	lock, err := kube.New(c.Client).ReadLock(ctx, spec.Target{Namespace: ns, Service: "web-service"})
	if err != nil || lock == nil || lock.Holder == "" || lock.Expired {
		t.Fatalf("the killed run's lock: %+v, %v; want it still held", lock, err)
	}

	code, out, errOut := cli(t, "", map[string]string{}, "run", "--plain", "--resume", "--auto-approve", pipeline, "--kubeconfig", c.Kubeconfig, "--state-dir", state)
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"stage prepare skipped", "(--resume)", "took over the release lock of service " + ns + "/web-service from " + lock.Holder} {
		if !strings.Contains(out, want) {
			t.Errorf("resume output lacks %q:\n%s", want, out)
		}
	}
	if b, err := os.ReadFile(marker); err != nil || string(b) != "prepared\n" {
		t.Errorf("the prepare stage ran %q times; want once", b)
	}
	svc, err := c.Client.CoreV1().Services(ns).Get(ctx, "web-service", metav1.GetOptions{})
	if err != nil || svc.Spec.Selector["color"] != "green" {
		t.Errorf("after the resumed release the service selects %v (%v), want green", svc.Spec.Selector, err)
	}
	code, _, errOut = cli(t, "", map[string]string{}, "run", "--plain", "--resume", pipeline, "--kubeconfig", c.Kubeconfig, "--state-dir", state)
	if code != exitBadInput || !strings.Contains(errOut, "ended (succeeded)") {
		t.Errorf("resuming a finished run: exit %d, %q; want 2", code, errOut)
	}
}
