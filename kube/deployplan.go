package kube

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/cutover-sh/cutover/engine"
)

var _ engine.DeployPlanner = (*Cluster)(nil)

// PlanDeploy says what a deploy step will change in Deployment name before
// it changes anything: the Deployment as it is, and as it will be once the
// manifests in dir (if any) are applied, by a server-side dry run, and
// container's image is set.
func (c *Cluster) PlanDeploy(ctx context.Context, ns, dir, name, container, image string) (now, next engine.ColorState, err error) {
	cur, err := c.cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		now = engine.ColorState{Deployment: name}
	case err != nil:
		return now, next, fmt.Errorf("read deployment %s/%s: %w", ns, name, err)
	default:
		now = planState(cur)
	}
	var after *appsv1.Deployment
	if cur != nil && err == nil {
		after = cur.DeepCopy()
	}
	if dir != "" {
		objs, err := c.apply(ctx, ns, dir, true)
		if err != nil {
			return now, next, fmt.Errorf("dry run: %w", err)
		}
		for _, o := range objs {
			if o.GetKind() != "Deployment" || o.GetName() != name {
				continue
			}
			after = &appsv1.Deployment{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, after); err != nil {
				return now, next, fmt.Errorf("dry run: deployment %s/%s: %w", ns, name, err)
			}
		}
	}
	if after == nil {
		return now, next, fmt.Errorf("deployment %s/%s: not found, and the manifests do not create it", ns, name)
	}
	for i := range after.Spec.Template.Spec.Containers {
		if after.Spec.Template.Spec.Containers[i].Name == container {
			after.Spec.Template.Spec.Containers[i].Image = image
		}
	}
	return now, planState(after), nil
}

// planState is the part of a Deployment a plan compares: its replicas and
// its pod template.
func planState(d *appsv1.Deployment) engine.ColorState {
	s := engine.ColorState{Deployment: d.Name, Exists: true, Replicas: 1, Template: templateFields(d.Spec.Template)}
	if d.Spec.Replicas != nil {
		s.Replicas = *d.Spec.Replicas
	}
	return s
}
