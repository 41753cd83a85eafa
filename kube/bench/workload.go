package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// addNodes registers the kwok nodes, waits for them to be Ready and
// returns how many pods each may run, as kwok's node-initialize stage set
// it. kwok keeps their leases (testenv passes --node-lease-duration-seconds).
func (b *bench) addNodes(ctx context.Context) (string, error) {
	for i := range b.o.nodes {
		if err := b.c.AddNode(ctx, fmt.Sprintf("kwok-%d", i)); err != nil {
			return "", err
		}
	}
	var pods string
	err := waitFor(ctx, time.Minute, 100*time.Millisecond, "wait for the kwok nodes", func(ctx context.Context) (bool, error) {
		nodes, err := b.admin.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		ready := 0
		for _, n := range nodes.Items {
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					ready++
					pods = n.Status.Allocatable.Pods().String()
				}
			}
		}
		return ready == b.o.nodes, nil
	})
	return pods, err
}

// pair creates app-blue and app-green with n pods each and a Service
// app-service that selects green, and waits until they are Ready. With
// holdOne, one pod of each color stays held by the scheduling gate, so that
// each rollout stays unfinished and a WaitRollout keeps watching it.
func (b *bench) pair(ctx context.Context, ns, app string, n int32, holdOne bool) error {
	for _, c := range []spec.Color{spec.Blue, spec.Green} {
		d := deployment(ns, app, c, n, holdOne)
		if _, err := b.admin.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create deployment %s/%s: %w", ns, d.Name, err)
		}
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: app + "-service", Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": app, "color": string(spec.Green)},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	if _, err := b.admin.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create service %s/%s: %w", ns, svc.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	want := n
	if holdOne {
		for _, c := range []spec.Color{spec.Blue, spec.Green} {
			sel := fmt.Sprintf("app=%s,color=%s", app, c)
			var pods []corev1.Pod
			err := waitFor(ctx, 0, time.Second, fmt.Sprintf("wait for the %d pods of %s-%s", n, app, c), func(ctx context.Context) (bool, error) {
				var err error
				pods, err = b.livePods(ctx, ns, sel)
				logf("%s-%s: %d of %d pods created", app, c, len(pods), n)
				return len(pods) == int(n), err
			})
			if err != nil {
				return err
			}
			slices.SortFunc(pods, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
			if err := b.release(ctx, pods[:len(pods)-1], 16); err != nil {
				return err
			}
		}
		want = n - 1
	}
	for _, c := range []spec.Color{spec.Blue, spec.Green} {
		name := app + "-" + string(c)
		err := waitFor(ctx, 0, time.Second, fmt.Sprintf("wait for %d Ready pods of %s/%s", want, ns, name), func(ctx context.Context) (bool, error) {
			d, err := b.admin.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if n > 10 {
				logf("%s: %d of %d pods Ready", name, d.Status.ReadyReplicas, want)
			}
			return d.Status.ReadyReplicas == want && d.Status.Replicas == n, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) namespace(ctx context.Context, name string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := b.admin.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}

// deployment is app-color with a pod template the size of a small real
// service's: a port, a probe, resources, a few variables. With held, its
// pods are created behind the scheduling gate.
func deployment(ns, app string, c spec.Color, replicas int32, held bool) *appsv1.Deployment {
	labels := map[string]string{"app": app, "color": string(c)}
	deadline := int32(600)
	pod := corev1.PodSpec{
		Containers: []corev1.Container{{
			Name:  "app",
			Image: "registry.invalid/" + app + ":v1",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			Env: []corev1.EnvVar{
				{Name: "COLOR", Value: string(c)},
				{Name: "LOG_LEVEL", Value: "info"},
				{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
			},
			ReadinessProbe: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
				PeriodSeconds: 5,
			},
		}},
		Tolerations: []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
	}
	if held {
		pod.SchedulingGates = []corev1.PodSchedulingGate{{Name: gate}}
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: app + "-" + string(c), Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas:                &replicas,
			ProgressDeadlineSeconds: &deadline,
			Selector:                &metav1.LabelSelector{MatchLabels: labels},
			Template:                corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: pod},
		},
	}
}

func (b *bench) scale(ctx context.Context, ns, name string, n int32) error {
	body := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, n)
	if _, err := b.admin.AppsV1().Deployments(ns).Patch(ctx, name, types.MergePatchType, body, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("scale deployment %s/%s to %d: %w", ns, name, n, err)
	}
	return nil
}

// livePods lists the pods of sel that are not being deleted.
func (b *bench) livePods(ctx context.Context, ns, sel string) ([]corev1.Pod, error) {
	list, err := b.admin.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list pods %s in %s: %w", sel, ns, err)
	}
	return slices.DeleteFunc(list.Items, func(p corev1.Pod) bool { return p.DeletionTimestamp != nil }), nil
}

// release removes the scheduling gate from pods, parallel at a time.
func (b *bench) release(ctx context.Context, pods []corev1.Pod, parallel int) error {
	if len(pods) == 0 {
		return nil
	}
	patch := []byte(`[{"op":"remove","path":"/spec/schedulingGates"}]`)
	next := make(chan string)
	errs := make(chan error, parallel)
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for name := range next {
				_, err := b.admin.CoreV1().Pods(pods[0].Namespace).Patch(ctx, name, types.JSONPatchType, patch, metav1.PatchOptions{})
				if err != nil {
					errs <- fmt.Errorf("release pod %s/%s: %w", pods[0].Namespace, name, err)
					return
				}
			}
		})
	}
	var err error
feed:
	for _, p := range pods {
		select {
		case next <- p.Name:
		case err = <-errs:
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	if err != nil {
		return err
	}
	return <-errs // nil once closed and empty
}

// waitFor calls cond every `every` until it is true, for at most limit
// (0: until ctx ends). cond's errors are retried; the last one is reported.
func waitFor(ctx context.Context, limit, every time.Duration, what string, cond func(context.Context) (bool, error)) error {
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	var last error
	for {
		ok, err := cond(ctx)
		if ok && err == nil {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%s: %w (last error: %w)", what, context.Cause(ctx), last)
			}
			return fmt.Errorf("%s: %w", what, context.Cause(ctx))
		case <-time.After(every):
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-time.After(d):
		return nil
	}
}
