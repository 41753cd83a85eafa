package testenv

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
)

// TestControlPlaneRunsPods starts the whole control plane and checks that a
// Deployment's pods are scheduled onto a kwok node and become Ready: the
// controllers, the scheduler and kwok all have to work for that.
func TestControlPlaneRunsPods(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := start(ctx, t)
	if err := c.AddNode(ctx, "kwok-node-0"); err != nil {
		t.Fatal(err)
	}
	replicas := int32(3)
	labels := map[string]string{"app": "web"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers:  []corev1.Container{{Name: "web", Image: "example.invalid/web:1"}},
					Tolerations: []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
				},
			},
		},
	}
	if _, err := c.Client.AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := c.Client.AppsV1().Deployments("default").Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", "web").String()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		if ev.Type == watch.Error {
			t.Fatalf("watch: %v", ev.Object)
		}
		if got, ok := ev.Object.(*appsv1.Deployment); ok && got.Status.ReadyReplicas == replicas {
			// The node must keep a lease, or it goes Unknown after the
			// grace period and takes its pods' readiness with it.
			for {
				if _, err := c.Client.CoordinationV1().Leases("kube-node-lease").Get(ctx, "kwok-node-0", metav1.GetOptions{}); err == nil {
					return
				}
				select {
				case <-ctx.Done():
					t.Fatal("kwok keeps no lease for node kwok-node-0")
				case <-time.After(100 * time.Millisecond):
				}
			}
		}
	}
	t.Fatalf("deployment web did not get %d ready replicas: %v", replicas, ctx.Err())
}

func start(ctx context.Context, t *testing.T) *Cluster {
	t.Helper()
	bin, err := BinDir()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Start(ctx, bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// TestTwoControlPlanesAtOnce: ports are chosen free, so tests that need two
// clusters (staging and production) can have them.
func TestTwoControlPlanesAtOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a, b := start(ctx, t), start(ctx, t)
	if a.Config.Host == b.Config.Host {
		t.Fatalf("both clusters serve at %s", a.Config.Host)
	}
	if _, err := a.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "only-in-a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Client.CoreV1().Namespaces().Get(ctx, "only-in-a", metav1.GetOptions{}); err == nil {
		t.Error("a namespace created in cluster a shows in cluster b: they share a store")
	}
}
