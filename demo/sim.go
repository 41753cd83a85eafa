package demo

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"
)

// Sim is a simulated cluster for the demo. client-go's object tracker
// holds the objects, and its typed fake clients serve them (simClientset);
// Sim makes them answer the way an API server does where cutover depends
// on it, and plays the controller manager, scheduler and kubelet for
// Deployments: replicas and image changes become pods that go from
// Pending to Running to Ready after realistic delays.
//
// The fakes alone would mislead the kube code that drives them: the
// tracker sets no resourceVersion, so a conditional switch could never
// conflict; it never bumps a Deployment's generation, so a rollout would
// look done before it began; and its watches ignore selectors, so one
// color's wait would count the other color's pods. Sim fixes those three,
// and no more.
type Sim struct {
	cs    *simClientset
	store *simStore
	speed float64

	// mu serialises every write, the clients' and the simulator's own: a
	// status write is a read-modify-write that must not undo a client's
	// patch made in between.
	mu      sync.Mutex
	rng     *rand.Rand
	pods    map[string]*simPod
	revs    map[string]map[string]int // deployment key → template hash → revision
	moved   map[string]time.Time      // deployment key → its last progress
	crash   map[string]bool           // images whose containers crash
	instant bool
}

// simPod is a pod's timeline: when the scheduler binds it, when its
// container starts, and when its readiness probe first passes.
type simPod struct {
	scheduleAt, startAt, readyAt time.Time
	nextCrash                    time.Time
}

// Simulated delays at speed 1, as a small image on a warm node shows them.
var (
	simSchedule = [2]time.Duration{200 * time.Millisecond, 600 * time.Millisecond}
	simStart    = [2]time.Duration{1500 * time.Millisecond, 3 * time.Second} // image pull and start
	simReady    = [2]time.Duration{1 * time.Second, 2 * time.Second}         // readiness probe
	simBackOff  = 10 * time.Second                                           // first CrashLoopBackOff delay
)

// simRevisionAnnotation is the Deployment controller's own annotation,
// which the simulator writes as the controller does. It is not kube's
// constant: kube reads it from a real cluster, and the simulator is no
// part of kube.
const simRevisionAnnotation = "deployment.kubernetes.io/revision"

var (
	deploymentsGVR = appsv1.SchemeGroupVersion.WithResource("deployments")
	podsGVR        = corev1.SchemeGroupVersion.WithResource("pods")
	eventsGVR      = corev1.SchemeGroupVersion.WithResource("events")
)

// NewSim returns a simulated cluster holding objs. The pods of the
// Deployments among them are Ready from the start, as in a cluster that
// was running before the demo began. speed divides every delay.
func NewSim(speed float64, seed uint64, objs ...runtime.Object) (*Sim, error) {
	if speed <= 0 {
		return nil, fmt.Errorf("simulated cluster: speed %g must be above 0", speed)
	}
	cs, err := newSimClientset()
	if err != nil {
		return nil, err
	}
	s := &Sim{
		cs: cs, speed: speed,
		rng:  rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), //nolint:gosec // delays and names, not secrets
		pods: map[string]*simPod{}, revs: map[string]map[string]int{}, moved: map[string]time.Time{}, crash: map[string]bool{},
	}
	tracker := k8stesting.NewObjectTracker(scheme.Scheme, scheme.Codecs.UniversalDecoder())
	s.store = &simStore{ObjectTracker: tracker, rng: s.rng}
	react := k8stesting.ObjectReaction(s.store)
	cs.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetVerb() != "get" && a.GetVerb() != "list" {
			s.mu.Lock()
			defer s.mu.Unlock()
		}
		return react(a)
	})
	cs.PrependWatchReactor("*", s.watch)
	for _, o := range objs {
		gvks, _, err := scheme.Scheme.ObjectKinds(o)
		if err != nil {
			return nil, fmt.Errorf("simulated cluster: %w", err)
		}
		gvr, _ := meta.UnsafeGuessKindToResource(gvks[0])
		m, err := meta.Accessor(o)
		if err != nil {
			return nil, fmt.Errorf("simulated cluster: %w", err)
		}
		if err := s.store.Create(gvr, o.DeepCopyObject(), m.GetNamespace()); err != nil {
			return nil, fmt.Errorf("simulated cluster: create %s %s/%s: %w", gvks[0].Kind, m.GetNamespace(), m.GetName(), err)
		}
	}
	s.instant = true
	if err := s.Step(time.Now()); err != nil {
		return nil, err
	}
	s.instant = false
	return s, nil
}

// Client is the clientset to build a Cluster on (kube.New(s.Client())).
// It serves the API groups kube uses (simClientset); any other group
// answers with an error.
func (s *Sim) Client() kubernetes.Interface { return s.cs }

// Crash makes every container running image crash at start and back off,
// as a release with a bad config does: its pods never become Ready.
func (s *Sim) Crash(image string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.crash[image] = true
}

// Run moves pods and Deployments along until done is closed.
func (s *Sim) Run(done <-chan struct{}) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			// An error here is the fake store refusing a write of the
			// simulator's own; the next tick tries again from fresh state.
			_ = s.Step(now)
			// The fake keeps a copy of every call for tests to inspect;
			// the demo's traffic would grow it for as long as it runs.
			s.cs.ClearActions()
		}
	}
}

// Step does one round of what the controllers and kubelets would do by
// now.
func (s *Sim) Step(now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	obj, err := s.store.ObjectTracker.List(deploymentsGVR, appsv1.SchemeGroupVersion.WithKind("Deployment"), "")
	if err != nil {
		return fmt.Errorf("simulated cluster: list deployments: %w", err)
	}
	for i := range obj.(*appsv1.DeploymentList).Items {
		if err := s.reconcile(&obj.(*appsv1.DeploymentList).Items[i], now); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sim) delay(r [2]time.Duration) time.Duration {
	if s.instant {
		return 0
	}
	d := r[0] + time.Duration(s.rng.Int64N(int64(r[1]-r[0])+1))
	return time.Duration(float64(d) / s.speed)
}

// reconcile is the Deployment controller (with maxSurge 100%: every new pod
// at once, an old one gone for each new one Ready), then the kubelets of
// the Deployment's pods.
func (s *Sim) reconcile(d *appsv1.Deployment, now time.Time) error {
	key := d.Namespace + "/" + d.Name
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil // a real controller would skip it too
	}
	list, err := s.store.ObjectTracker.List(podsGVR, corev1.SchemeGroupVersion.WithKind("Pod"), d.Namespace)
	if err != nil {
		return fmt.Errorf("simulated cluster: list pods of %s: %w", key, err)
	}
	hash := templateHash(&d.Spec.Template)
	var current, old []*corev1.Pod
	for i := range list.(*corev1.PodList).Items {
		p := &list.(*corev1.PodList).Items[i]
		if !sel.Matches(labels.Set(p.Labels)) {
			continue
		}
		if err := s.kubelet(p, now); err != nil {
			return err
		}
		if p.Labels[appsv1.DefaultDeploymentUniqueLabelKey] == hash {
			current = append(current, p)
		} else {
			old = append(old, p)
		}
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	for n := len(current); n < int(want); n++ {
		p, err := s.newPod(d, hash, now)
		if err != nil {
			return err
		}
		current = append(current, p)
	}
	for len(current) > int(want) {
		last := current[len(current)-1]
		if err := s.deletePod(last); err != nil {
			return err
		}
		current = current[:len(current)-1]
	}
	readyNew := countReady(current)
	for keep := max(0, int(want-readyNew)); len(old) > keep; {
		if err := s.deletePod(old[0]); err != nil {
			return err
		}
		old = old[1:]
	}

	next := d.DeepCopy()
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	next.Annotations[simRevisionAnnotation] = strconv.Itoa(s.revision(key, hash))
	ready := readyNew + countReady(old)
	// Both counts are bounded by spec.replicas, an int32, by now.
	next.Status = appsv1.DeploymentStatus{
		ObservedGeneration: d.Generation,
		Replicas:           int32(len(current) + len(old)), //nolint:gosec // bounded above
		UpdatedReplicas:    int32(len(current)),            //nolint:gosec // bounded above
		ReadyReplicas:      ready,
		AvailableReplicas:  ready,
	}
	next.Status.UnavailableReplicas = max(0, want-ready)
	complete := next.Status.UpdatedReplicas == want && next.Status.Replicas == want && ready == want
	moved := s.moved[key]
	if complete || moved.IsZero() || !sameCounts(d.Status, next.Status) || d.Status.ObservedGeneration != d.Generation {
		moved = now
		s.moved[key] = now
	}
	deadline := 600 * time.Second
	if d.Spec.ProgressDeadlineSeconds != nil {
		deadline = time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second
	}
	progressing := condition(appsv1.DeploymentProgressing, corev1.ConditionTrue, "ReplicaSetUpdated", fmt.Sprintf("ReplicaSet %q is progressing.", d.Name+"-"+hash))
	switch {
	case complete:
		progressing = condition(appsv1.DeploymentProgressing, corev1.ConditionTrue, "NewReplicaSetAvailable", fmt.Sprintf("ReplicaSet %q has successfully progressed.", d.Name+"-"+hash))
	case now.Sub(moved) > time.Duration(float64(deadline)/s.speed):
		progressing = condition(appsv1.DeploymentProgressing, corev1.ConditionFalse, "ProgressDeadlineExceeded", fmt.Sprintf("ReplicaSet %q has timed out progressing.", d.Name+"-"+hash))
	}
	available := condition(appsv1.DeploymentAvailable, corev1.ConditionFalse, "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
	if ready >= want {
		available = condition(appsv1.DeploymentAvailable, corev1.ConditionTrue, "MinimumReplicasAvailable", "Deployment has minimum availability.")
	}
	next.Status.Conditions = keepTimes(d.Status.Conditions, []appsv1.DeploymentCondition{available, progressing}, now)
	if equality.Semantic.DeepEqual(d.Status, next.Status) && equality.Semantic.DeepEqual(d.Annotations, next.Annotations) {
		return nil
	}
	if err := s.store.put(deploymentsGVR, next); err != nil {
		return fmt.Errorf("simulated cluster: update the status of deployment %s: %w", key, err)
	}
	return nil
}

// revision numbers a template the way the Deployment controller numbers
// its ReplicaSets.
func (s *Sim) revision(key, hash string) int {
	revs := s.revs[key]
	if revs == nil {
		revs = map[string]int{}
		s.revs[key] = revs
	}
	if r, ok := revs[hash]; ok {
		return r
	}
	revs[hash] = len(revs) + 1
	return revs[hash]
}

func (s *Sim) newPod(d *appsv1.Deployment, hash string, now time.Time) (*corev1.Pod, error) {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%s-%s-%s", d.Name, hash, randomSuffix(s.rng)),
			Namespace: d.Namespace,
			Labels:    map[string]string{appsv1.DefaultDeploymentUniqueLabelKey: hash},
		},
		Spec:   *d.Spec.Template.Spec.DeepCopy(),
		Status: corev1.PodStatus{Phase: corev1.PodPending},
	}
	for k, v := range d.Spec.Template.Labels {
		p.Labels[k] = v
	}
	sp := &simPod{scheduleAt: now.Add(s.delay(simSchedule))}
	sp.startAt = sp.scheduleAt.Add(s.delay(simStart))
	sp.readyAt = sp.startAt.Add(s.delay(simReady))
	s.pods[p.Namespace+"/"+p.Name] = sp
	if err := s.store.Create(podsGVR, p, p.Namespace); err != nil {
		return nil, fmt.Errorf("simulated cluster: create pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	return p, s.kubelet(p, now)
}

func (s *Sim) deletePod(p *corev1.Pod) error {
	delete(s.pods, p.Namespace+"/"+p.Name)
	if err := s.store.Delete(podsGVR, p.Namespace, p.Name); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("simulated cluster: delete pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	return nil
}

// kubelet moves p along its timeline and writes it when it changed.
func (s *Sim) kubelet(p *corev1.Pod, now time.Time) error {
	sp := s.pods[p.Namespace+"/"+p.Name]
	if sp == nil {
		return nil // not the simulator's: leave it as it is
	}
	next := p.DeepCopy()
	st := &next.Status
	if now.Before(sp.scheduleAt) {
		return nil
	}
	if next.Spec.NodeName == "" {
		next.Spec.NodeName = fmt.Sprintf("sim-node-%d", 1+s.rng.IntN(3))
	}
	ctr := corev1.ContainerStatus{Name: "app", RestartCount: 0}
	if len(st.ContainerStatuses) > 0 {
		ctr = st.ContainerStatuses[0]
	}
	if len(next.Spec.Containers) > 0 {
		ctr.Name, ctr.Image = next.Spec.Containers[0].Name, next.Spec.Containers[0].Image
	}
	scheduled := condition2(corev1.PodScheduled, corev1.ConditionTrue, "")
	initialized := condition2(corev1.PodInitialized, corev1.ConditionTrue, "")
	ready := condition2(corev1.PodReady, corev1.ConditionFalse, "ContainersNotReady")
	started := metav1.NewTime(sp.startAt)
	switch {
	case now.Before(sp.startAt):
		ctr.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
	case s.crash[ctr.Image]:
		st.Phase = corev1.PodRunning
		if sp.nextCrash.IsZero() || !now.Before(sp.nextCrash) {
			if !sp.nextCrash.IsZero() {
				ctr.RestartCount++
			}
			backoff := simBackOff << min(ctr.RestartCount, 4)
			sp.nextCrash = now.Add(time.Duration(float64(backoff) / s.speed))
			ctr.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", StartedAt: started, FinishedAt: metav1.NewTime(now)}}
			if err := s.event(next, "BackOff", "Back-off restarting failed container "+ctr.Name+" in pod "+next.Name, now); err != nil {
				return err
			}
		}
		ctr.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off restarting failed container " + ctr.Name}}
		ctr.Ready = false
	default:
		st.Phase = corev1.PodRunning
		ctr.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}
		t := true
		ctr.Started = &t
		if !now.Before(sp.readyAt) {
			ctr.Ready = true
			ready = condition2(corev1.PodReady, corev1.ConditionTrue, "")
		}
	}
	st.HostIP, st.PodIP = "10.0.0.1", fmt.Sprintf("10.244.0.%d", 2+s.rng.IntN(250))
	if len(p.Status.ContainerStatuses) > 0 {
		st.PodIP = p.Status.PodIP // an IP stays with its pod
	}
	st.ContainerStatuses = []corev1.ContainerStatus{ctr}
	containersReady := ready
	containersReady.Type = corev1.ContainersReady
	st.Conditions = keepPodTimes(p.Status.Conditions, []corev1.PodCondition{scheduled, initialized, containersReady, ready}, now)
	if st.StartTime == nil {
		t := metav1.NewTime(sp.scheduleAt)
		st.StartTime = &t
	}
	if equality.Semantic.DeepEqual(p.Spec, next.Spec) && equality.Semantic.DeepEqual(p.Status, next.Status) {
		return nil
	}
	if err := s.store.put(podsGVR, next); err != nil {
		return fmt.Errorf("simulated cluster: update pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	*p = *next
	return nil
}

// event records a Warning event on pod, counting repeats as the kubelet's
// event recorder does.
func (s *Sim) event(p *corev1.Pod, reason, msg string, now time.Time) error {
	name := p.Name + "." + reason
	t := metav1.NewTime(now)
	if o, err := s.store.Get(eventsGVR, p.Namespace, name); err == nil {
		e := o.(*corev1.Event)
		e.Count++
		e.LastTimestamp = t
		return s.store.put(eventsGVR, e)
	}
	e := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: name, Namespace: p.Namespace},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID},
		Reason:         reason, Message: msg, Type: corev1.EventTypeWarning, Count: 1,
		FirstTimestamp: t, LastTimestamp: t, Source: corev1.EventSource{Component: "kubelet", Host: p.Spec.NodeName},
	}
	return s.store.Create(eventsGVR, e, p.Namespace)
}

// watch serves a watch from the fake's tracker, filtered by the request's
// label and field selectors as an API server filters it.
func (s *Sim) watch(a k8stesting.Action) (bool, watch.Interface, error) {
	wa, ok := a.(k8stesting.WatchActionImpl)
	if !ok {
		return false, nil, nil
	}
	w, err := s.store.Watch(a.GetResource(), a.GetNamespace(), wa.ListOptions)
	if err != nil {
		return true, nil, err
	}
	r := wa.WatchRestrictions
	return true, watch.Filter(w, func(ev watch.Event) (watch.Event, bool) {
		// The tracker sends the objects it already holds when a watch
		// starts as they are stored, not copies; an informer that
		// transforms them (kube strips managedFields) would write to
		// the store under the tracker's readers. An API server's watch
		// never shares, so neither does this one.
		if ev.Object != nil {
			ev.Object = ev.Object.DeepCopyObject()
		}
		return ev, matches(ev.Object, r.Labels, r.Fields)
	}), nil
}

func matches(obj runtime.Object, ls labels.Selector, fs fields.Selector) bool {
	m, err := meta.Accessor(obj)
	if err != nil {
		return true
	}
	if ls != nil && !ls.Matches(labels.Set(m.GetLabels())) {
		return false
	}
	if fs == nil || fs.Empty() {
		return true
	}
	set := fields.Set{"metadata.name": m.GetName(), "metadata.namespace": m.GetNamespace()}
	if e, ok := obj.(*corev1.Event); ok {
		set["involvedObject.kind"] = e.InvolvedObject.Kind
		set["involvedObject.name"] = e.InvolvedObject.Name
		set["involvedObject.namespace"] = e.InvolvedObject.Namespace
		set["type"] = e.Type
		set["reason"] = e.Reason
	}
	return fs.Matches(set)
}

// simStore is the fake's object tracker with what an API server adds to
// writes: resourceVersions and their preconditions, uids, creation times,
// and a Deployment's generation and its controller-owned status.
type simStore struct {
	k8stesting.ObjectTracker
	rng *rand.Rand
	rv  int64
}

func (t *simStore) stamp(m metav1.Object) {
	t.rv++
	m.SetResourceVersion(strconv.FormatInt(t.rv, 10))
}

func (t *simStore) Create(gvr schema.GroupVersionResource, obj runtime.Object, ns string, opts ...metav1.CreateOptions) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	if m.GetName() == "" && m.GetGenerateName() != "" {
		m.SetName(m.GetGenerateName() + randomSuffix(t.rng))
	}
	if m.GetResourceVersion() != "" {
		return apierrors.NewBadRequest("resourceVersion should not be set on objects to be created")
	}
	m.SetUID(types.UID(fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", t.rng.Uint32(), t.rng.Uint32()&0xffff, t.rng.Uint32()&0xffff, t.rng.Uint32()&0xffff, t.rng.Uint64()&0xffffffffffff)))
	m.SetCreationTimestamp(metav1.Now())
	m.SetGeneration(1)
	t.stamp(m)
	return t.ObjectTracker.Create(gvr, obj, ns, opts...)
}

func (t *simStore) Update(gvr schema.GroupVersionResource, obj runtime.Object, ns string, opts ...metav1.UpdateOptions) error {
	if err := t.admit(gvr, obj, ns); err != nil {
		return err
	}
	return t.ObjectTracker.Update(gvr, obj, ns, opts...)
}

func (t *simStore) Patch(gvr schema.GroupVersionResource, obj runtime.Object, ns string, opts ...metav1.PatchOptions) error {
	if err := t.admit(gvr, obj, ns); err != nil {
		return err
	}
	return t.ObjectTracker.Patch(gvr, obj, ns, opts...)
}

// List honours field selectors, which the fake ignores (it filters labels
// itself, after this).
func (t *simStore) List(gvr schema.GroupVersionResource, gvk schema.GroupVersionKind, ns string, opts ...metav1.ListOptions) (runtime.Object, error) {
	list, err := t.ObjectTracker.List(gvr, gvk, ns, opts...)
	if err != nil || len(opts) == 0 || opts[0].FieldSelector == "" {
		return list, err
	}
	fs, err := fields.ParseSelector(opts[0].FieldSelector)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	kept := items[:0]
	for _, o := range items {
		if matches(o, nil, fs) {
			kept = append(kept, o)
		}
	}
	return list, meta.SetList(list, kept)
}

// admit checks a client's write against the stored object: a stale
// resourceVersion is a conflict, a Deployment's status stays the
// controller's, and a change to its spec is a new generation.
func (t *simStore) admit(gvr schema.GroupVersionResource, obj runtime.Object, ns string) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	old, err := t.Get(gvr, ns, m.GetName())
	if err != nil {
		return err
	}
	om, err := meta.Accessor(old)
	if err != nil {
		return err
	}
	if rv := m.GetResourceVersion(); rv != "" && rv != om.GetResourceVersion() {
		return apierrors.NewConflict(gvr.GroupResource(), m.GetName(),
			fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
	}
	m.SetUID(om.GetUID())
	m.SetCreationTimestamp(om.GetCreationTimestamp())
	m.SetGeneration(om.GetGeneration())
	if d, ok := obj.(*appsv1.Deployment); ok {
		od := old.(*appsv1.Deployment)
		d.Status = *od.Status.DeepCopy()
		if !equality.Semantic.DeepEqual(d.Spec, od.Spec) {
			d.Generation = od.Generation + 1
		}
	}
	t.stamp(m)
	return nil
}

// put is the controllers' own write: status included, no precondition.
func (t *simStore) put(gvr schema.GroupVersionResource, obj runtime.Object) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	t.stamp(m)
	return t.ObjectTracker.Update(gvr, obj, m.GetNamespace())
}

func templateHash(t *corev1.PodTemplateSpec) string {
	b, _ := json.Marshal(t) // a PodTemplateSpec always marshals
	h := fnv.New32a()
	_, _ = h.Write(b)
	return strconv.FormatUint(uint64(h.Sum32()), 36)
}

func randomSuffix(r *rand.Rand) string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789" // the API server's, without vowels
	b := make([]byte, 5)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func countReady(pods []*corev1.Pod) int32 {
	n := int32(0)
	for _, p := range pods {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				n++
			}
		}
	}
	return n
}

func sameCounts(a, b appsv1.DeploymentStatus) bool {
	return a.Replicas == b.Replicas && a.UpdatedReplicas == b.UpdatedReplicas && a.ReadyReplicas == b.ReadyReplicas && a.AvailableReplicas == b.AvailableReplicas
}

func condition(t appsv1.DeploymentConditionType, s corev1.ConditionStatus, reason, msg string) appsv1.DeploymentCondition {
	return appsv1.DeploymentCondition{Type: t, Status: s, Reason: reason, Message: msg}
}

func condition2(t corev1.PodConditionType, s corev1.ConditionStatus, reason string) corev1.PodCondition {
	return corev1.PodCondition{Type: t, Status: s, Reason: reason}
}

// keepTimes dates each condition: a condition whose status and reason are
// unchanged keeps its times, so that writes happen only on real changes.
func keepTimes(old, next []appsv1.DeploymentCondition, now time.Time) []appsv1.DeploymentCondition {
	for i := range next {
		next[i].LastUpdateTime, next[i].LastTransitionTime = metav1.NewTime(now), metav1.NewTime(now)
		for _, o := range old {
			if o.Type == next[i].Type && o.Status == next[i].Status && o.Reason == next[i].Reason {
				next[i].LastUpdateTime, next[i].LastTransitionTime = o.LastUpdateTime, o.LastTransitionTime
			}
		}
	}
	return next
}

func keepPodTimes(old, next []corev1.PodCondition, now time.Time) []corev1.PodCondition {
	for i := range next {
		next[i].LastTransitionTime = metav1.NewTime(now)
		for _, o := range old {
			if o.Type == next[i].Type && o.Status == next[i].Status {
				next[i].LastTransitionTime = o.LastTransitionTime
			}
		}
	}
	return next
}
