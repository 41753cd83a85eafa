package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/cutover-sh/cutover/engine/spec"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ScaleDownAll scales both colors to zero: the guide's emergency
// scale-down. It is the one write that leaves the Service with no Ready
// pods, on purpose, so the caller must have had a person confirm it.
func (c *Cluster) ScaleDownAll(ctx context.Context, t spec.Target) error {
	for _, col := range []spec.Color{spec.Blue, spec.Green} {
		patch := map[string]any{"spec": map[string]any{"replicas": 0}}
		if err := c.patchDeployment(ctx, t.Namespace, t.Deployment(col), types.MergePatchType, patch); err != nil {
			return err
		}
	}
	return nil
}

const revisionAnnotation = "deployment.kubernetes.io/revision"

// Undo rolls a Deployment's pod template back to its previous revision, as
// `kubectl rollout undo` does, and returns the revision it came from and
// the one it restored. The patch is conditional on the Deployment's
// resourceVersion.
func (c *Cluster) Undo(ctx context.Context, ns, name string) (from, to int64, err error) {
	what := fmt.Sprintf("undo deployment %s/%s", ns, name)
	d, err := c.cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", what, err)
	}
	sel, err := selectorOf(d)
	if err != nil {
		return 0, 0, err
	}
	sets, err := c.cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return 0, 0, fmt.Errorf("%s: list its ReplicaSets: %w", what, err)
	}
	from, _ = strconv.ParseInt(d.Annotations[revisionAnnotation], 10, 64)
	var prev *appsv1.ReplicaSet
	for i := range sets.Items {
		rs := &sets.Items[i]
		if ref := metav1.GetControllerOf(rs); ref == nil || ref.UID != d.UID {
			continue
		}
		rev, err := strconv.ParseInt(rs.Annotations[revisionAnnotation], 10, 64)
		if err != nil || rev >= from || rev <= to {
			continue
		}
		prev, to = rs, rev
	}
	if prev == nil {
		return from, 0, fmt.Errorf("%s: no revision before %d in its history", what, from)
	}
	tmpl := prev.Spec.Template.DeepCopy()
	delete(tmpl.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	// The patch applies only if nobody changed the Deployment's spec since
	// it was read: its generation, not its resourceVersion, which the
	// controller's status updates move on their own (CI saw one land
	// between the read and the patch, and the undo refused).
	body, err := json.Marshal([]map[string]any{
		{"op": "test", "path": "/metadata/generation", "value": d.Generation},
		{"op": "replace", "path": "/spec/template", "value": tmpl},
	})
	if err != nil {
		return from, to, fmt.Errorf("%s: %w", what, err)
	}
	if _, err := c.cs.AppsV1().Deployments(ns).Patch(ctx, name, types.JSONPatchType, body, metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
		return from, to, fmt.Errorf("%s to revision %d: %w", what, to, err)
	}
	return from, to, nil
}
