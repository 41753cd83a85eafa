package kube

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestTemplateFields: every part of a pod template the gate's diff lists
// has a path, and a Secret is named, never read.
func TestTemplateFields(t *testing.T) {
	tpl := corev1.PodTemplateSpec{}
	tpl.Labels = map[string]string{"app": "web"}
	tpl.Annotations = map[string]string{"team": "shop"}
	tpl.Spec.ServiceAccountName = "web"
	tpl.Spec.Volumes = []corev1.Volume{
		{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "web-config"}}}},
		{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "web-tls"}}},
	}
	tpl.Spec.Containers = []corev1.Container{{
		Name: "web", Image: "shop/web:v2", Command: []string{"/web"}, Args: []string{"--port", "8080"},
		Env: []corev1.EnvVar{{Name: "MODE", Value: "fast"}, {Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "api"}, Key: "token"}}}},
		EnvFrom:   []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "all"}}}},
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8080)}},
			PeriodSeconds: 5, TimeoutSeconds: 1, FailureThreshold: 3},
		Ports:        []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
		VolumeMounts: []corev1.VolumeMount{{Name: "tls", MountPath: "/tls", ReadOnly: true}},
	}}
	tpl.Spec.InitContainers = []corev1.Container{{Name: "migrate", Image: "shop/migrate:v2"}}
	got := templateFields(tpl)
	want := map[string]string{
		"label/app": "web", "annotation/team": "shop", "serviceAccount": "web",
		"volume/config": "configMap web-config", "volume/tls": "secret web-tls",
		"container/web/image": "shop/web:v2", "container/web/command": `"/web"`, "container/web/args": `"--port" "8080"`,
		"container/web/env/MODE": `"fast"`, "container/web/env/TOKEN": "secretKeyRef api/token",
		"container/web/envFrom/secret:all":        "secretRef all",
		"container/web/resources/requests/memory": "256Mi",
		"container/web/probe/readiness":           "httpGet :8080/ready delay 0s period 5s timeout 1s failures 3",
		"container/web/port/http":                 "8080/TCP",
		"container/web/mount//tls":                "tls (read-only)",
		"initContainer/migrate/image":             "shop/migrate:v2",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d fields, want %d: %v", len(got), len(want), got)
	}
}
