package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cutover-sh/cutover/engine"
)

// Cluster implements engine.Cluster with client-go.
type Cluster struct {
	cs kubernetes.Interface
	// cfg is set by NewForConfig; Apply needs it for the dynamic client.
	cfg *rest.Config
	now func() time.Time
	// warm holds the pairs a WatchPair keeps in its informers' caches,
	// which Observe and Switch read instead of asking the API server.
	warm warmPairs
}

var _ engine.Cluster = (*Cluster)(nil)

// NewForConfig returns a Cluster for cfg. A release is a burst of reads and
// writes, and a rollback must never queue behind client-side throttling,
// so the rate limits are raised above client-go's defaults (5/s, burst 10)
// unless cfg sets its own.
func NewForConfig(cfg *rest.Config) (*Cluster, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 && cfg.RateLimiter == nil {
		cfg.QPS, cfg.Burst = 50, 100
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", cfg.Host, err)
	}
	c := New(cs)
	c.cfg = cfg
	return c, nil
}

// New returns a Cluster that talks through cs.
func New(cs kubernetes.Interface) *Cluster {
	return &Cluster{cs: cs, now: time.Now}
}

// Resolve fills in the Deployment names t leaves empty from the Service's
// cutover.dev/blue-deployment and green-deployment annotations, then by the
// <name>-blue/<name>-green convention.
func (c *Cluster) Resolve(ctx context.Context, t spec.Target) (spec.Target, error) {
	if t.Blue == "" || t.Green == "" {
		svc, err := c.cs.CoreV1().Services(t.Namespace).Get(ctx, t.Service, metav1.GetOptions{})
		if err != nil {
			return t, fmt.Errorf("read service %s: %w", t, err)
		}
		if t.Blue == "" {
			t.Blue = svc.Annotations[engine.AnnBlue]
		}
		if t.Green == "" {
			t.Green = svc.Annotations[engine.AnnGreen]
		}
	}
	return t.WithDefaults(), nil
}

// Observe reads the Service, both Deployments and their pods. The
// Service is always read from the API server, consistently: its
// resourceVersion is the precondition of a switch, and a stale one would
// fail it. While a WatchPair keeps t's pair in its caches, the
// Deployments and pods come from there, already current: a rollback then
// costs this read and its patch.
func (c *Cluster) Observe(ctx context.Context, t spec.Target) (engine.Observation, error) {
	var obs engine.Observation
	svc, err := c.cs.CoreV1().Services(t.Namespace).Get(ctx, t.Service, metav1.GetOptions{})
	if err != nil {
		return obs, fmt.Errorf("read service %s: %w", t, err)
	}
	obs.Service = serviceState(svc, t.SelectorKey)
	if w := c.warm.get(t); w != nil {
		// A Deployment created or changed under the watch is read from
		// the API server below.
		if colors, err := w.readColors(); err == nil {
			obs.Colors = colors
			return obs, nil
		}
	}
	obs.Colors = map[spec.Color]*engine.ColorState{}
	for _, col := range []spec.Color{spec.Blue, spec.Green} {
		s, err := c.colorState(ctx, t.Namespace, t.Deployment(col))
		if err != nil {
			return obs, err
		}
		obs.Colors[col] = s
	}
	return obs, nil
}

func serviceState(svc *corev1.Service, key string) engine.ServiceState {
	a := svc.Annotations
	s := engine.ServiceState{
		Live:     spec.Color(svc.Spec.Selector[key]),
		Selector: maps.Clone(svc.Spec.Selector),
		Version:  svc.ResourceVersion,
		Release: engine.ReleaseMark{
			Release:    a[engine.AnnRelease],
			Previous:   spec.Color(a[engine.AnnPreviousColor]),
			SwitchedBy: a[engine.AnnSwitchedBy],
		},
	}
	if at, err := time.Parse(time.RFC3339Nano, a[engine.AnnSwitchedAt]); err == nil {
		s.Release.SwitchedAt = at
	}
	return s
}

func (c *Cluster) colorState(ctx context.Context, ns, name string) (*engine.ColorState, error) {
	d, err := c.cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return &engine.ColorState{Deployment: name}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read deployment %s/%s: %w", ns, name, err)
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("deployment %s/%s: bad selector: %w", ns, name, err)
	}
	// The pods are read from the API server's watch cache (resourceVersion
	// 0): they explain a color's state to a person, while every decision
	// uses the Deployment's own counts, read consistently above (or, while
	// a WatchPair runs, from its current cache; see Observe). A
	// consistent list waits for that cache to catch up with etcd, up to
	// 100 ms after any write, which a rollback would pay at every reading.
	pods, err := c.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String(), ResourceVersion: "0"})
	if err != nil {
		return nil, fmt.Errorf("list pods of deployment %s/%s: %w", ns, name, err)
	}
	ptrs := make([]*corev1.Pod, len(pods.Items))
	for i := range pods.Items {
		ptrs[i] = &pods.Items[i]
	}
	s := deploymentState(d, ptrs, c.now())
	return &s, nil
}

// deploymentState summarises a Deployment and its pods.
func deploymentState(d *appsv1.Deployment, pods []*corev1.Pod, now time.Time) engine.ColorState {
	s := engine.ColorState{
		Deployment: d.Name, Exists: true, Images: map[string]string{},
		Current: d.Status.Replicas, Updated: d.Status.UpdatedReplicas, Ready: d.Status.ReadyReplicas,
		Available: d.Status.AvailableReplicas, Generation: d.Generation, ObservedGeneration: d.Status.ObservedGeneration,
		Revision: d.Annotations["deployment.kubernetes.io/revision"],
		Template: templateFields(d.Spec.Template),
	}
	if d.Spec.Replicas != nil {
		s.Replicas = *d.Spec.Replicas
	} else {
		s.Replicas = 1
	}
	for _, ct := range d.Spec.Template.Spec.Containers {
		s.Images[ct.Name] = ct.Image
	}
	for _, cond := range d.Status.Conditions {
		if cond.Type == appsv1.DeploymentProgressing && cond.Reason == "ProgressDeadlineExceeded" {
			s.DeadlineExceeded = true
		}
	}
	slices.SortFunc(pods, func(a, b *corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		s.Pods = append(s.Pods, podState(p, now))
	}
	return s
}

func podState(p *corev1.Pod, now time.Time) engine.PodState {
	s := engine.PodState{Name: p.Name, Phase: string(p.Status.Phase), Node: p.Spec.NodeName, Age: now.Sub(p.CreationTimestamp.Time)}
	for _, cond := range p.Status.Conditions {
		switch {
		case cond.Type == corev1.PodReady:
			s.Ready = cond.Status == corev1.ConditionTrue
		case cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && s.Reason == "":
			s.Reason = cond.Reason
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		s.Restarts += cs.RestartCount
		switch {
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
			s.Reason = cs.State.Waiting.Reason
		case cs.State.Terminated != nil && cs.State.Terminated.Reason != "":
			s.Reason = cs.State.Terminated.Reason
		case cs.LastTerminationState.Terminated != nil && s.Reason == "" && !s.Ready:
			s.Reason = cs.LastTerminationState.Terminated.Reason
		}
	}
	return s
}

// Deploy sets the image of one container of color's Deployment and scales
// it, in one patch.
// It refuses a color the Service selects: the live color is never changed
// in place.
func (c *Cluster) Deploy(ctx context.Context, t spec.Target, color spec.Color, container, image string, replicas int32) error {
	svc, err := c.cs.CoreV1().Services(t.Namespace).Get(ctx, t.Service, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("read service %s before deploying %s: %w", t, color, permanent(err))
	}
	if spec.Color(svc.Spec.Selector[t.SelectorKey]) == color {
		return fmt.Errorf("not deploying to %s: service %s selects it, and the live color is never changed in place", color, t)
	}
	return c.setImage(ctx, t.Namespace, t.Deployment(color), container, image, &replicas)
}

// SetImage sets the image of one container of a Deployment.
func (c *Cluster) SetImage(ctx context.Context, namespace, deployment, container, image string) error {
	return c.setImage(ctx, namespace, deployment, container, image, nil)
}

func (c *Cluster) setImage(ctx context.Context, ns, name, container, image string, replicas *int32) error {
	d, err := c.cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("read deployment %s/%s: %w", ns, name, permanent(err))
	}
	var names []string
	for _, ct := range d.Spec.Template.Spec.Containers {
		names = append(names, ct.Name)
	}
	if !slices.Contains(names, container) {
		return fmt.Errorf("deployment %s/%s has no container %q (it has %s): %w", ns, name, container, strings.Join(names, ", "), engine.ErrPermanent)
	}
	// A strategic merge patch merges containers by name, so the other
	// containers are left alone.
	spec := map[string]any{"template": map[string]any{"spec": map[string]any{
		"containers": []map[string]any{{"name": container, "image": image}},
	}}}
	if replicas != nil {
		spec["replicas"] = *replicas
	}
	return c.patchDeployment(ctx, ns, name, types.StrategicMergePatchType, map[string]any{"spec": spec})
}

// Scale sets color's replicas. It refuses to scale to zero a color the
// Service selects: that would leave traffic with no pods.
func (c *Cluster) Scale(ctx context.Context, t spec.Target, color spec.Color, replicas int32) error {
	name := t.Deployment(color)
	if replicas == 0 {
		svc, err := c.cs.CoreV1().Services(t.Namespace).Get(ctx, t.Service, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("read service %s before scaling %s down: %w", t, name, err)
		}
		if spec.Color(svc.Spec.Selector[t.SelectorKey]) == color {
			return fmt.Errorf("not scaling deployment %s/%s to 0: service %s still selects %s=%s", t.Namespace, name, t, t.SelectorKey, color)
		}
	}
	patch := map[string]any{"spec": map[string]any{"replicas": replicas}}
	return c.patchDeployment(ctx, t.Namespace, name, types.MergePatchType, patch)
}

// Switch points the Service's selector at req.To. Right before the patch it
// checks that the new selector picks at least req.MinReady Ready pods: for
// blue or green, by reading the color's Deployment and checking that its
// pods carry every label of the new selector; for any other value (a
// maintenance page), by listing the pods the selector picks. The patch
// carries req.Version, so the API server rejects it if anyone changed the
// Service since it was read.
func (c *Cluster) Switch(ctx context.Context, t spec.Target, req engine.SwitchRequest) (string, error) {
	what := fmt.Sprintf("switch service %s to %s", t, req.To)
	sel, version := maps.Clone(req.Selector), req.Version
	if sel == nil {
		svc, err := c.cs.CoreV1().Services(t.Namespace).Get(ctx, t.Service, metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("%s: %w", what, permanent(err))
		}
		sel, version = maps.Clone(svc.Spec.Selector), svc.ResourceVersion
		if sel == nil {
			sel = map[string]string{}
		}
	}
	if sel[t.SelectorKey] == string(req.To) {
		// Every write is idempotent: a Service that selects the color
		// already is left as it is, annotations and all, as argo-rollouts'
		// switchServiceSelector leaves it.
		return version, nil
	}
	sel[t.SelectorKey] = string(req.To)
	ready, where, err := c.readyFor(ctx, t, req.To, sel)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if min := max(req.MinReady, 1); ready < min {
		return "", fmt.Errorf("%s: %s has %d Ready pods for selector %s, want at least %d; not switching",
			what, where, ready, labels.SelectorFromSet(sel), min)
	}
	ann := map[string]string{
		engine.AnnRelease:    req.Release,
		engine.AnnSwitchedAt: req.At.UTC().Format(time.RFC3339Nano),
		engine.AnnSwitchedBy: req.Actor.String(),
		engine.AnnBlue:       t.Blue,
		engine.AnnGreen:      t.Green,
	}
	if req.From != "" {
		ann[engine.AnnPreviousColor] = string(req.From)
	}
	patch := map[string]any{
		// A resourceVersion in a patch is a precondition: the API server
		// answers 409 Conflict when the Service has changed.
		"metadata": map[string]any{"resourceVersion": req.Version, "annotations": ann},
		"spec":     map[string]any{"selector": map[string]string{t.SelectorKey: string(req.To)}},
	}
	body, err := json.Marshal(patch)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	svc, err := c.cs.CoreV1().Services(t.Namespace).Patch(ctx, t.Service, types.StrategicMergePatchType, body, metav1.PatchOptions{FieldManager: FieldManager})
	if apierrors.IsConflict(err) {
		return "", fmt.Errorf("%s: the service changed since resourceVersion %s (someone else edited it); nothing was written", what, req.Version)
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, permanent(err))
	}
	// The switch is verified from the write's own answer, the Service as
	// stored: no read after it.
	if got := svc.Spec.Selector[t.SelectorKey]; got != string(req.To) {
		return "", fmt.Errorf("%s: the API server stored selector %s=%s", what, t.SelectorKey, got)
	}
	return svc.ResourceVersion, nil
}

// readyFor counts the Ready pods that selector sel picks when the Service
// is switched to value to, and says where it looked.
func (c *Cluster) readyFor(ctx context.Context, t spec.Target, to spec.Color, sel map[string]string) (int32, string, error) {
	if to.Valid() {
		name := t.Deployment(to)
		// The Deployment's Ready count from a watch that is current, or
		// from the API server.
		d := c.warm.deployment(t, name)
		if d == nil {
			var err error
			if d, err = c.cs.AppsV1().Deployments(t.Namespace).Get(ctx, name, metav1.GetOptions{}); err != nil {
				return 0, "", fmt.Errorf("read deployment %s/%s: %w", t.Namespace, name, permanent(err))
			}
		}
		where := fmt.Sprintf("deployment %s/%s", t.Namespace, name)
		if !labels.SelectorFromSet(sel).Matches(labels.Set(d.Spec.Template.Labels)) {
			return 0, where + " (its pods do not carry the Service's selector)", nil
		}
		if d.Spec.Replicas != nil && *d.Spec.Replicas == 0 {
			return 0, where + " (scaled to zero)", nil
		}
		return d.Status.ReadyReplicas, where, nil
	}
	// A consistent list: whether these pods are Ready decides the switch.
	pods, err := c.cs.CoreV1().Pods(t.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(sel).String()})
	if err != nil {
		return 0, "", fmt.Errorf("list the pods it would select: %w", err)
	}
	ready := int32(0)
	for i := range pods.Items {
		if p := &pods.Items[i]; p.DeletionTimestamp == nil && podState(p, c.now()).Ready {
			ready++
		}
	}
	return ready, "the selector", nil
}

// permanent marks API errors that a retry cannot fix, so that a release
// fails at once and says why.
func permanent(err error) error {
	switch {
	case apierrors.IsNotFound(err), apierrors.IsForbidden(err), apierrors.IsUnauthorized(err),
		apierrors.IsInvalid(err), apierrors.IsBadRequest(err), apierrors.IsMethodNotSupported(err):
		return fmt.Errorf("%w (%w)", err, engine.ErrPermanent)
	}
	return err
}

// FieldManager is the name cutover's writes are recorded under.
const FieldManager = "cutover"

func (c *Cluster) patchDeployment(ctx context.Context, ns, name string, pt types.PatchType, patch any) error {
	body, err := json.Marshal(patch)
	if err != nil {
		return fmt.Errorf("patch deployment %s/%s: %w", ns, name, err)
	}
	d, err := c.cs.AppsV1().Deployments(ns).Patch(ctx, name, pt, body, metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil {
		return fmt.Errorf("patch deployment %s/%s: %w", ns, name, permanent(err))
	}
	c.warm.wrote(ns+"/"+name, d.Generation)
	return nil
}

// selectorOf returns a Deployment's pod selector as a string.
func selectorOf(d *appsv1.Deployment) (string, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return "", fmt.Errorf("deployment %s/%s: bad selector: %w", d.Namespace, d.Name, err)
	}
	if sel.Empty() {
		return labels.Everything().String(), nil
	}
	return sel.String(), nil
}
