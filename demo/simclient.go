package demo

import (
	"fmt"
	"net/http"

	"k8s.io/client-go/kubernetes"
	appsv1 "k8s.io/client-go/kubernetes/typed/apps/v1"
	fakeappsv1 "k8s.io/client-go/kubernetes/typed/apps/v1/fake"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	fakecoordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1/fake"
	corev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	fakecorev1 "k8s.io/client-go/kubernetes/typed/core/v1/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
)

// simClientset serves the three API groups kube's code uses (core, apps
// and coordination for the release lock) with client-go's typed fakes,
// whose calls go to the Fake's reactors: Sim's. Every other group is a
// real clientset whose requests fail with unserved's error, so a kube
// change that needs another group gets an error from the demo, not a
// nil pointer.
//
// Not client-go's fake.Clientset: it serves every group, which links a
// typed fake and its generic client for every resource of every group,
// and its tracker links the schemas of every type for server-side apply,
// which kube does not ask of the simulator: 14 MB of a stripped cutover,
// against 2.5 MB for this.
type simClientset struct {
	*kubernetes.Clientset
	k8stesting.Fake
}

func newSimClientset() (*simClientset, error) {
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: "http://simulated-cluster", Transport: unserved{}})
	if err != nil {
		return nil, fmt.Errorf("simulated cluster: %w", err)
	}
	return &simClientset{Clientset: cs}, nil
}

// CoreV1 serves Services, Pods and Events.
func (c *simClientset) CoreV1() corev1.CoreV1Interface {
	return &fakecorev1.FakeCoreV1{Fake: &c.Fake}
}

// AppsV1 serves Deployments and ReplicaSets.
func (c *simClientset) AppsV1() appsv1.AppsV1Interface {
	return &fakeappsv1.FakeAppsV1{Fake: &c.Fake}
}

// CoordinationV1 serves the Leases of the release lock.
func (c *simClientset) CoordinationV1() coordinationv1.CoordinationV1Interface {
	return &fakecoordinationv1.FakeCoordinationV1{Fake: &c.Fake}
}

// IsWatchListSemanticsUnSupported tells client-go's informers to list and
// then watch, as fake.Clientset does: the tracker cannot stream a list as
// a watch.
func (*simClientset) IsWatchListSemanticsUnSupported() bool { return true }

// unserved is the transport of the groups the simulator does not serve.
type unserved struct{}

func (unserved) RoundTrip(r *http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("the simulated cluster does not serve %s %s", r.Method, r.URL.Path)
}
