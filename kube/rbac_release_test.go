package kube_test

import (
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/kube"
	"github.com/cutover-sh/cutover/testenv"
)

// TestReleaseAndRollbackWithShippedRBAC runs a whole release, then a
// rollback, as the ServiceAccount that deploy/rbac.yaml binds, through
// impersonation; and checks it may not delete Deployments or read Secrets.
func TestReleaseAndRollbackWithShippedRBAC(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 0}, true)
	admin, err := kube.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Apply(ctx, ns, "../deploy"); err != nil {
		t.Fatalf("apply deploy/rbac.yaml: %v", err)
	}
	cfg := rest.CopyConfig(c.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":cutover"}
	sa, err := kube.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}

	final, _, _ := runPipeline(ctx, t, releasePipeline(ns), func(string) (engine.Cluster, error) { return sa, nil })
	if final.Status != engine.StatusSucceeded {
		st, _ := final.Stage("production")
		t.Fatalf("release as the ServiceAccount: %s (%s), want succeeded", final.Status, st.Steps[0].Reason)
	}
	if live, _, _ := selects(ctx, t, c.Client, ns); live != "green" {
		t.Fatalf("service selects %s after the release, want green", live)
	}
	log := releaseLog{logf: t.Logf}
	target := spec.Target{Namespace: ns, Service: "web-service"}.WithDefaults()
	to, err := engine.RunRollback(ctx, sa, target, engine.RollbackOptions{}, log.hooks())
	if err != nil || to != spec.Blue {
		t.Fatalf("rollback as the ServiceAccount: %v (to %s), want blue", err, to)
	}
	if live, _, _ := selects(ctx, t, c.Client, ns); live != "blue" {
		t.Errorf("service selects %s after the rollback, want blue", live)
	}

	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.AppsV1().Deployments(ns).Delete(ctx, "web-green", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("delete deployment as the ServiceAccount: got %v, want Forbidden", err)
	}
	if _, err := cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("list secrets as the ServiceAccount: got %v, want Forbidden", err)
	}
}
