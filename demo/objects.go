package demo

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Objects are the cluster `cutover demo` starts from: in production,
// the claude-tiu-service selecting blue, which runs three pods of v1.4.1,
// green scaled to zero and a maintenance page; in staging, the app.
func Objects() []runtime.Object {
	dep := func(ns, name string, labels map[string]string, image string, replicas int32) *appsv1.Deployment {
		deadline := int32(120)
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
			Spec: appsv1.DeploymentSpec{
				Replicas: &replicas, ProgressDeadlineSeconds: &deadline,
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "claude-tiu", Image: image}}},
				},
			},
		}
	}
	color := func(c string) map[string]string { return map[string]string{"app": "claude-tiu", "color": c} }
	const image = "ghcr.io/claude-tiu/claude-tiu:"
	return []runtime.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "production"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "staging"}},
		dep("production", "claude-tiu-blue", color("blue"), image+"v1.4.1", 3),
		dep("production", "claude-tiu-green", color("green"), image+"v1.4.1", 0),
		dep("production", "claude-tiu-maintenance", color("maintenance"), "ghcr.io/claude-tiu/maintenance-page:1", 1),
		dep("staging", "claude-tiu-app", map[string]string{"app": "claude-tiu"}, image+"v1.4.1", 2),
		&corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "claude-tiu-service", Namespace: "production"},
			Spec: corev1.ServiceSpec{
				Selector: color("blue"),
				Ports:    []corev1.ServicePort{{Port: 80}},
			},
		},
	}
}
