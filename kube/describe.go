package kube

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/cutover-sh/cutover/engine"
)

// maxPodEvents is how many Warning events PodDetail keeps, newest first.
const maxPodEvents = 10

// PodDetail reads one pod and its Warning events, once, when a person asks
// for it: the console never polls the cluster.
func (c *Cluster) PodDetail(ctx context.Context, namespace, name string) (engine.PodDetail, error) {
	p, err := c.cs.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return engine.PodDetail{}, fmt.Errorf("read pod %s/%s: %w", namespace, name, err)
	}
	d := engine.PodDetail{Namespace: namespace, Name: name, Node: p.Spec.NodeName, Phase: string(p.Status.Phase)}
	for _, cond := range p.Status.Conditions {
		d.Conditions = append(d.Conditions, engine.PodCondition{Type: string(cond.Type), Status: string(cond.Status), Reason: cond.Reason, Message: cond.Message})
	}
	for _, cs := range p.Status.ContainerStatuses {
		cd := engine.ContainerDetail{Name: cs.Name, Image: cs.Image, Ready: cs.Ready, Restarts: cs.RestartCount}
		cd.State, cd.Reason, cd.Message = containerState(cs.State)
		if last, reason, _ := containerState(cs.LastTerminationState); last != "" {
			cd.LastState = strings.TrimSpace(last + " " + reason)
		}
		d.Containers = append(d.Containers, cd)
	}
	sel := fields.Set{"involvedObject.kind": "Pod", "involvedObject.name": name, "type": corev1.EventTypeWarning}.AsSelector().String()
	evs, err := c.cs.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return d, fmt.Errorf("list the events of pod %s/%s: %w", namespace, name, err)
	}
	for _, e := range evs.Items {
		last := e.LastTimestamp.Time
		if last.IsZero() {
			last = e.EventTime.Time
		}
		d.Events = append(d.Events, engine.PodEvent{Reason: e.Reason, Message: e.Message, Count: max(e.Count, 1), Last: last})
	}
	slices.SortFunc(d.Events, func(a, b engine.PodEvent) int { return b.Last.Compare(a.Last) })
	if len(d.Events) > maxPodEvents {
		d.Events = d.Events[:maxPodEvents]
	}
	return d, nil
}

func containerState(s corev1.ContainerState) (state, reason, message string) {
	switch {
	case s.Running != nil:
		return "running", "", ""
	case s.Waiting != nil:
		return "waiting", s.Waiting.Reason, s.Waiting.Message
	case s.Terminated != nil:
		return "terminated", s.Terminated.Reason, s.Terminated.Message
	}
	return "", "", ""
}
