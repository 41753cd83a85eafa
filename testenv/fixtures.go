package testenv

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

var nsSeq atomic.Int64

// Namespace creates a namespace with a fresh name, so that tests can share
// one control plane without seeing each other's objects.
func Namespace(ctx context.Context, cs kubernetes.Interface) (string, error) {
	name := fmt.Sprintf("t%d-%d", time.Now().UnixNano()%1e6, nsSeq.Add(1))
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		return "", fmt.Errorf("create namespace %s: %w", name, err)
	}
	return name, nil
}

// Pair describes a blue-green pair as the guide lays it out: a Service
// NAME-service selecting app=NAME,color=LIVE, and Deployments NAME-blue and
// NAME-green whose container is "app".
type Pair struct {
	Name                  string
	Live                  string
	BlueImage, GreenImage string
	Blue, Green           int32 // replicas
}

// Deployment builds one color's Deployment, tolerating the kwok nodes.
func Deployment(ns, name, color, image string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name, "color": color}
	deadline := int32(600)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-" + color, Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas:                &replicas,
			ProgressDeadlineSeconds: &deadline,
			Selector:                &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers:  []corev1.Container{{Name: "app", Image: image}},
					Tolerations: []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
				},
			},
		},
	}
}

// CreatePair creates p in ns and waits until each color has its pods Ready;
// the Service is created last, so it never selects pods that are not.
func CreatePair(ctx context.Context, cs kubernetes.Interface, ns string, p Pair) error {
	for _, d := range []*appsv1.Deployment{
		Deployment(ns, p.Name, "blue", p.BlueImage, p.Blue),
		Deployment(ns, p.Name, "green", p.GreenImage, p.Green),
	} {
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create deployment %s/%s: %w", ns, d.Name, err)
		}
	}
	for _, c := range []struct {
		color string
		n     int32
	}{{"blue", p.Blue}, {"green", p.Green}} {
		if err := WaitReady(ctx, cs, ns, p.Name+"-"+c.color, c.n); err != nil {
			return err
		}
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name + "-service", Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": p.Name, "color": p.Live},
			Ports:    []corev1.ServicePort{{Port: 80}},
		},
	}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create service %s/%s: %w", ns, svc.Name, err)
	}
	return nil
}

// WaitReady waits until a Deployment has exactly n pods, all Ready.
func WaitReady(ctx context.Context, cs kubernetes.Interface, ns, name string, n int32) error {
	for {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil && d.Status.ReadyReplicas == n && d.Status.Replicas == n && d.Status.ObservedGeneration >= d.Generation {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("deployment %s/%s did not get %d Ready pods: %w", ns, name, n, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// SetPodReady sets a pod's Ready condition, as a readiness probe would.
// kwok makes a pod Ready only while it is Pending, so it leaves this be.
func SetPodReady(ctx context.Context, cs kubernetes.Interface, ns, name string, ready bool) error {
	pod, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	for i, cond := range pod.Status.Conditions {
		if cond.Type == corev1.PodReady || cond.Type == corev1.ContainersReady {
			pod.Status.Conditions[i].Status = status
			pod.Status.Conditions[i].LastTransitionTime = metav1.Now()
		}
	}
	for i := range pod.Status.ContainerStatuses {
		pod.Status.ContainerStatuses[i].Ready = ready
	}
	if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("set pod %s/%s Ready=%v: %w", ns, name, ready, err)
	}
	return nil
}

// BindRole binds the Role named role in ns to user, as an administrator
// gives a person a Role.
func BindRole(ctx context.Context, cs kubernetes.Interface, ns, role, user string) error {
	_, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role + "-" + user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: user}},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("bind role %s/%s to %s: %w", ns, role, user, err)
	}
	return nil
}
