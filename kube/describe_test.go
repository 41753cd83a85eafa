package kube_test

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-sh/cutover/kube"
	"github.com/cutover-sh/cutover/testenv"
)

// TestPodDetail reads a real pod: its conditions and container state as
// kwok reports them, and the Warning events about it, newest first, and
// not the Normal ones.
func TestPodDetail(t *testing.T) {
	ctx, c, ns := releaseEnv(t, time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 1, Green: 0}, false)
	pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "color=blue"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("list blue's pods: %v (%d)", err, len(pods.Items))
	}
	pod := pods.Items[0]
	now := time.Now()
	for i, e := range []struct {
		typ, reason, msg string
		at               time.Time
	}{
		{corev1.EventTypeWarning, "BackOff", "Back-off restarting failed container app", now.Add(-time.Minute)},
		{corev1.EventTypeNormal, "Pulled", "Successfully pulled image", now.Add(-30 * time.Second)},
		{corev1.EventTypeWarning, "Unhealthy", "Readiness probe failed: HTTP 503", now},
	} {
		ev := &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: pod.Name + "." + string(rune('a'+i)), Namespace: ns},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: pod.Name, Namespace: ns, UID: pod.UID},
			Type:           e.typ, Reason: e.reason, Message: e.msg, Count: 3,
			FirstTimestamp: metav1.NewTime(e.at), LastTimestamp: metav1.NewTime(e.at),
		}
		if _, err := c.Client.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cl, err := kube.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	d, err := cl.PodDetail(ctx, ns, pod.Name)
	if err != nil {
		t.Fatal(err)
	}
	ready := false
	for _, cond := range d.Conditions {
		ready = ready || cond.Type == "Ready" && cond.Status == "True"
	}
	if !ready || d.Node == "" || d.Phase != "Running" {
		t.Errorf("pod %s: phase %s on %q, conditions %+v; want Running, Ready, on a node", pod.Name, d.Phase, d.Node, d.Conditions)
	}
	if len(d.Containers) != 1 || d.Containers[0].Image != "web:v1" || d.Containers[0].State != "running" {
		t.Errorf("containers %+v; want app running web:v1", d.Containers)
	}
	if len(d.Events) != 2 || d.Events[0].Reason != "Unhealthy" || d.Events[1].Reason != "BackOff" || d.Events[0].Count != 3 {
		t.Errorf("events %+v; want the two Warnings, newest first", d.Events)
	}
	if _, err := cl.PodDetail(ctx, ns, "no-such-pod"); err == nil || !strings.Contains(err.Error(), "read pod "+ns+"/no-such-pod") {
		t.Errorf("a missing pod: %v, want an error naming it", err)
	}
}
