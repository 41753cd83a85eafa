package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
)

// The annotations on the Service that let any console read a release's state
// from the cluster alone.
const (
	AnnRelease       = "cutover.dev/release"
	AnnPreviousColor = "cutover.dev/previous-color"
	AnnSwitchedAt    = "cutover.dev/switched-at"
	AnnSwitchedBy    = "cutover.dev/switched-by"
	// AnnBlue and AnnGreen name each color's Deployment, so that a
	// console with no pipeline file finds them.
	AnnBlue  = "cutover.dev/blue-deployment"
	AnnGreen = "cutover.dev/green-deployment"
)

// ServiceState is what the cluster says about the Service.
type ServiceState struct {
	// Live is the color the selector names; it may be something other than
	// blue or green (maintenance), or "" when the key is absent.
	Live spec.Color `json:"live"`
	// Selector is the Service's whole selector.
	Selector map[string]string `json:"selector,omitempty"`
	// Version is the Service's resourceVersion, which makes writes
	// conditional.
	Version string      `json:"version"`
	Release ReleaseMark `json:"release"`
}

// ReleaseMark is the last switch as the Service's annotations record it.
type ReleaseMark struct {
	Release    string     `json:"release,omitempty"`
	Previous   spec.Color `json:"previousColor,omitempty"`
	SwitchedAt time.Time  `json:"switchedAt,omitzero"`
	SwitchedBy string     `json:"switchedBy,omitempty"`
}

// ColorState is what the cluster says about one color's Deployment and pods.
type ColorState struct {
	Deployment string `json:"deployment"`
	// Exists is false when the Deployment is not found.
	Exists bool `json:"exists"`
	// Images maps container names to images.
	Images map[string]string `json:"images,omitempty"`
	// Replicas is the desired count (spec); the rest are status counts.
	Replicas           int32  `json:"replicas"`
	Current            int32  `json:"current"`
	Updated            int32  `json:"updated"`
	Ready              int32  `json:"ready"`
	Available          int32  `json:"available"`
	Generation         int64  `json:"generation"`
	ObservedGeneration int64  `json:"observedGeneration"`
	Revision           string `json:"revision,omitempty"`
	// DeadlineExceeded is the Progressing condition's
	// ProgressDeadlineExceeded reason.
	DeadlineExceeded bool       `json:"deadlineExceeded,omitempty"`
	Pods             []PodState `json:"pods,omitempty"`
	// Template is the pod template flattened for DiffColors (diff.go).
	// It is never changed once read, so copies share it, and events carry
	// the diff rather than both templates.
	Template map[string]string `json:"-"`
}

// PodState is one pod of a color.
type PodState struct {
	Name     string        `json:"name"`
	Phase    string        `json:"phase"`
	Ready    bool          `json:"ready"`
	Restarts int32         `json:"restarts"`
	Age      time.Duration `json:"ageNs"`
	Node     string        `json:"node,omitempty"`
	// Reason is why a container waits or ended (ImagePullBackOff,
	// CrashLoopBackOff, OOMKilled...), or why the pod is not scheduled.
	Reason string `json:"reason,omitempty"`
}

// Observation is one reading of a blue-green pair.
type Observation struct {
	Service ServiceState               `json:"service"`
	Colors  map[spec.Color]*ColorState `json:"colors"`
}

// Color returns c's state, or an empty one.
func (o Observation) Color(c spec.Color) ColorState {
	if s := o.Colors[c]; s != nil {
		return *s
	}
	return ColorState{}
}

// RolloutStatus judges a Deployment the way `kubectl rollout status` does:
// observedGeneration first, then ProgressDeadlineExceeded, then updated,
// old and available replicas. err is set when the rollout cannot finish.
func RolloutStatus(c ColorState) (done bool, msg string, err error) {
	switch {
	case !c.Exists:
		return false, "", &RolloutError{Deployment: c.Deployment, Msg: "not found"}
	case c.Generation > c.ObservedGeneration:
		return false, "waiting for the deployment spec update to be observed", nil
	case c.DeadlineExceeded:
		return false, "", &RolloutError{Deployment: c.Deployment, Msg: "exceeded its progress deadline" + podReasons(c.Pods)}
	case c.Updated < c.Replicas:
		return false, fmt.Sprintf("%d of %d new replicas updated", c.Updated, c.Replicas), nil
	case c.Current > c.Updated:
		return false, fmt.Sprintf("%d old replicas pending termination", c.Current-c.Updated), nil
	case c.Available < c.Updated:
		return false, fmt.Sprintf("%d of %d updated replicas available", c.Available, c.Updated), nil
	}
	return true, fmt.Sprintf("%d of %d ready", c.Ready, c.Replicas), nil
}

// RolloutError is a rollout that cannot finish.
type RolloutError struct {
	Deployment, Msg string
}

func (e *RolloutError) Error() string { return "deployment " + e.Deployment + " " + e.Msg }

// podReasons lists why pods are not ready, e.g. ": pods web-1 (ImagePullBackOff)".
func podReasons(pods []PodState) string {
	var parts []string
	for _, p := range pods {
		if p.Ready {
			continue
		}
		r := p.Reason
		if r == "" {
			r = p.Phase
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", p.Name, r))
	}
	if len(parts) == 0 {
		return ""
	}
	return ": pods " + strings.Join(parts, ", ")
}

// SwitchRequest asks for the Service to select To.
type SwitchRequest struct {
	To, From spec.Color
	// Version is the Service resourceVersion the caller last saw; the
	// switch fails, changing nothing, when the Service has changed since.
	Version string
	// MinReady is how many Ready pods the new selector must match,
	// checked right before the switch.
	MinReady int32
	// Selector is the Service's selector as last read; nil makes Switch
	// read it.
	Selector map[string]string
	Release  string
	Actor    Actor
	At       time.Time
}

// Cluster is what the engine needs from a Kubernetes cluster. kube
// implements it.
type Cluster interface {
	// Observe reads the Service, both Deployments and their pods.
	Observe(ctx context.Context, t spec.Target) (Observation, error)
	// Deploy sets the image of container on c's Deployment and scales it
	// to replicas.
	Deploy(ctx context.Context, t spec.Target, c spec.Color, container, image string, replicas int32) error
	// WaitRollout watches c's Deployment until RolloutStatus says it is
	// done, reporting every change to progress. It returns the error
	// RolloutStatus gives, or ctx's.
	WaitRollout(ctx context.Context, t spec.Target, c spec.Color, progress func(ColorState)) error
	// Switch points the Service at req.To and records the switch in its
	// annotations. It returns the Service's new resourceVersion.
	Switch(ctx context.Context, t spec.Target, req SwitchRequest) (string, error)
	// Scale sets c's replica count.
	Scale(ctx context.Context, t spec.Target, c spec.Color, replicas int32) error

	// Apply applies the manifests in dir to namespace, server-side, and
	// returns what it applied ("Deployment/web", ...).
	Apply(ctx context.Context, namespace, dir string) ([]string, error)
	// SetImage sets the image of one container of a Deployment.
	SetImage(ctx context.Context, namespace, deployment, container, image string) error
	// WaitDeployment is WaitRollout for any Deployment.
	WaitDeployment(ctx context.Context, namespace, deployment string, progress func(ColorState)) error

	// Lock takes the release lock of t's Service for holder, or fails
	// naming who holds it and since when. A lock held by previous (a run
	// being resumed) is taken over.
	Lock(ctx context.Context, t spec.Target, holder, previous string) (ReleaseLock, error)
}

// ReleaseLock is a held release lock.
type ReleaseLock interface {
	// TakenFrom names the holder whose expired lock was taken over, or "".
	TakenFrom() string
	// Lost is closed if the lock is lost while held.
	Lost() <-chan struct{}
	// LostTo names who holds the lock once Lost is closed.
	LostTo() string
	// Release gives the lock up.
	Release(ctx context.Context) error
}

// PairWatcher is a Cluster that pushes each change of a blue-green pair as
// it happens. While a gate waits the engine watches through it when it
// can, and reads the cluster on a timer when it cannot.
type PairWatcher interface {
	// WatchPair calls seen with a new Observation after every change,
	// until ctx ends or it cannot go on (its error says why).
	WatchPair(ctx context.Context, t spec.Target, seen func(Observation)) error
}

// DeployPlanner is a Cluster that can say what a deploy step will change
// before it changes anything.
type DeployPlanner interface {
	// PlanDeploy returns Deployment name as it is and as it will be once
	// the manifests in dir (if any) are applied and container runs image.
	PlanDeploy(ctx context.Context, namespace, dir, name, container, image string) (now, next ColorState, err error)
}

// Clusters returns the Cluster for a kubeconfig context ("" is the current
// one).
type Clusters func(context string) (Cluster, error)

// clone returns a copy that shares nothing mutable with o, so an event can
// carry it while the executor reads the cluster again.
func (o Observation) clone() Observation {
	c := Observation{Service: o.Service}
	c.Service.Selector = maps.Clone(o.Service.Selector)
	if o.Colors != nil {
		c.Colors = make(map[spec.Color]*ColorState, len(o.Colors))
		for k, v := range o.Colors {
			if v == nil {
				continue
			}
			cs := *v
			cs.Images = maps.Clone(v.Images)
			cs.Pods = slices.Clone(v.Pods)
			c.Colors[k] = &cs
		}
	}
	return c
}

// PodDetail is what `kubectl describe pod` tells a person deciding about a
// release: the pod's conditions, its containers' states, and its recent
// Warning events.
type PodDetail struct {
	Namespace, Name, Node, Phase string
	Conditions                   []PodCondition
	Containers                   []ContainerDetail
	Events                       []PodEvent
}

// PodCondition is one of a pod's conditions.
type PodCondition struct {
	Type, Status, Reason, Message string
}

// ContainerDetail is one container's state.
type ContainerDetail struct {
	Name, Image string
	Ready       bool
	Restarts    int32
	// State is running, waiting or terminated, with its reason and
	// message; LastState is how the previous instance ended.
	State, Reason, Message string
	LastState              string
}

// PodEvent is one Warning event about a pod.
type PodEvent struct {
	Reason, Message string
	Count           int32
	Last            time.Time
}
