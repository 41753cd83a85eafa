package kube_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/cutover-sh/cutover/testenv"
)

// The example manifests and the RBAC, relative to this package.
var (
	manifestDir = filepath.Join("..", "examples", "claude-tiu", "k8s")
	rbacFile    = filepath.Join("..", "deploy", "rbac.yaml")
)

// manifest is one YAML document from a file.
type manifest struct {
	file string // relative to the repository root
	obj  *unstructured.Unstructured
}

func (m manifest) String() string {
	return fmt.Sprintf("%s: %s %s", m.file, m.obj.GetKind(), m.obj.GetName())
}

// readManifests decodes every YAML document in every .yaml file under path
// (a file or a directory), in a stable order.
func readManifests(t *testing.T, path string) []manifest {
	t.Helper()
	var out []manifest
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (filepath.Ext(p) != ".yaml" && filepath.Ext(p) != ".yml") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(filepath.ToSlash(p), "../")
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var doc json.RawMessage
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				return nil
			} else if err != nil {
				return fmt.Errorf("decode %s: %w", rel, err)
			}
			if len(doc) == 0 || string(doc) == "null" { // an empty document between ---
				continue
			}
			// Through the unstructured scheme, so numbers are int64 as
			// they are for objects read from the apiserver.
			obj := &unstructured.Unstructured{}
			if err := obj.UnmarshalJSON(doc); err != nil {
				return fmt.Errorf("decode %s: %w", rel, err)
			}
			if obj.GetKind() == "" || obj.GetName() == "" {
				return fmt.Errorf("%s: a document without kind or metadata.name", rel)
			}
			out = append(out, manifest{file: rel, obj: obj})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no manifests under %s", path)
	}
	return out
}

// TestManifestsNameWhatThePipelineUses checks, without a cluster, that the
// example manifests carry the names and labels that
// examples/claude-tiu/pipeline.yaml and the deployment guide refer to, and
// no namespace (it is chosen at apply time).
func TestManifestsNameWhatThePipelineUses(t *testing.T) {
	byKey := map[string]*unstructured.Unstructured{}
	for _, m := range readManifests(t, manifestDir) {
		if ns := m.obj.GetNamespace(); ns != "" {
			t.Errorf("%s: namespace %q, want none", m, ns)
		}
		key := m.file + " " + m.obj.GetKind() + "/" + m.obj.GetName()
		if byKey[key] != nil {
			t.Errorf("%s: defined twice", m)
		}
		byKey[key] = m.obj
	}
	deployments := []struct {
		key       string
		container string
		labels    map[string]string
		replicas  int64
	}{
		{"examples/claude-tiu/k8s/staging/deployment.yaml Deployment/claude-tiu-app", "claude-tiu", map[string]string{"app": "claude-tiu"}, 2},
		{"examples/claude-tiu/k8s/production/deployment-blue.yaml Deployment/claude-tiu-blue", "claude-tiu", map[string]string{"app": "claude-tiu", "color": "blue"}, 3},
		{"examples/claude-tiu/k8s/production/deployment-green.yaml Deployment/claude-tiu-green", "claude-tiu", map[string]string{"app": "claude-tiu", "color": "green"}, 0},
		{"examples/claude-tiu/k8s/maintenance/deployment.yaml Deployment/claude-tiu-maintenance", "maintenance", map[string]string{"app": "claude-tiu", "color": "maintenance"}, 2},
	}
	for _, want := range deployments {
		d := byKey[want.key]
		if d == nil {
			t.Errorf("no %s", want.key)
			continue
		}
		selector, _, _ := unstructured.NestedStringMap(d.Object, "spec", "selector", "matchLabels")
		if !maps.Equal(selector, want.labels) {
			t.Errorf("%s: selector %v, want %v", want.key, selector, want.labels)
		}
		podLabels, _, _ := unstructured.NestedStringMap(d.Object, "spec", "template", "metadata", "labels")
		if !maps.Equal(podLabels, want.labels) {
			t.Errorf("%s: pod labels %v, want %v", want.key, podLabels, want.labels)
		}
		if got, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas"); got != want.replicas {
			t.Errorf("%s: replicas %d, want %d", want.key, got, want.replicas)
		}
		containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
		var names []string
		for _, c := range containers {
			if c, ok := c.(map[string]any); ok {
				names = append(names, fmt.Sprint(c["name"]))
			}
		}
		if !slices.Equal(names, []string{want.container}) {
			t.Errorf("%s: containers %v, want [%s]", want.key, names, want.container)
		}
	}
	services := []struct {
		key      string
		selector map[string]string
	}{
		{"examples/claude-tiu/k8s/staging/service.yaml Service/claude-tiu-service", map[string]string{"app": "claude-tiu"}},
		// The Service starts on blue, the color that starts with replicas.
		{"examples/claude-tiu/k8s/production/service.yaml Service/claude-tiu-service", map[string]string{"app": "claude-tiu", "color": "blue"}},
	}
	for _, want := range services {
		s := byKey[want.key]
		if s == nil {
			t.Errorf("no %s", want.key)
			continue
		}
		if got, _, _ := unstructured.NestedStringMap(s.Object, "spec", "selector"); !maps.Equal(got, want.selector) {
			t.Errorf("%s: selector %v, want %v", want.key, got, want.selector)
		}
	}
	for _, key := range []string{
		"examples/claude-tiu/k8s/staging/networkpolicy.yaml NetworkPolicy/claude-tiu",
		"examples/claude-tiu/k8s/production/networkpolicy.yaml NetworkPolicy/claude-tiu",
	} {
		if byKey[key] == nil {
			t.Errorf("no %s", key)
		}
	}
}

// TestManifestsAdmittedUnderRestrictedPodSecurity server-side applies every
// example manifest, dry-run, into a namespace that enforces the Pod Security
// "restricted" profile, on a real kube-apiserver. Pod Security enforces on
// Pods only (for a Deployment it only warns), so the namespace also warns at
// "restricted", any warning fails the test, and each workload's pod template
// is also created as a Pod, dry-run, to meet the enforcing check itself. Two
// deliberately non-compliant objects show that both checks can fail.
func TestManifestsAdmittedUnderRestrictedPodSecurity(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := startCluster(ctx, t)
	ns := restrictedNamespace(ctx, t, c.Client, "release")
	warnings := &warningRecorder{}
	cfg := rest.CopyConfig(c.Config)
	cfg.WarningHandlerWithContext = warnings
	a := newApplier(ctx, t, cfg)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dryRun := []string{metav1.DryRunAll}

	// First, that the namespace's labels are enforced at all.
	t.Run("rejects a root pod", func(t *testing.T) {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "root"},
			Spec:       rootPodSpec(),
		}
		_, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{DryRun: dryRun})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "violates PodSecurity") {
			t.Fatalf("create a pod running as root in %s: got %v, want a PodSecurity rejection", ns, err)
		}
	})
	t.Run("warns about a root deployment", func(t *testing.T) {
		spec := rootPodSpec()
		d := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "root"},
			"spec": map[string]any{
				"selector": map[string]any{"matchLabels": map[string]any{"app": "root"}},
				"template": map[string]any{
					"metadata": map[string]any{"labels": map[string]any{"app": "root"}},
					"spec":     mustToUnstructured(t, &spec),
				},
			},
		}}
		warnings.take()
		if err := a.apply(ctx, ns, d, dryRun); err != nil {
			t.Fatalf("apply a deployment running as root, dry-run: %v", err)
		}
		if got := warnings.take(); !slices.ContainsFunc(got, func(w string) bool { return strings.Contains(w, "would violate PodSecurity") }) {
			t.Fatalf("warnings %q, want one that says it would violate PodSecurity", got)
		}
	})
	if t.Failed() {
		t.FailNow() // admitting the manifests below would prove nothing
	}

	for _, m := range readManifests(t, manifestDir) {
		t.Run(m.String(), func(t *testing.T) {
			warnings.take()
			if err := a.apply(ctx, ns, m.obj, dryRun); err != nil {
				t.Fatalf("%s: server-side apply, dry-run, into %s: %v", m, ns, err)
			}
			if got := warnings.take(); len(got) > 0 {
				t.Errorf("%s: apply warned: %q, want no warnings", m, got)
			}
			tmpl, ok, err := unstructured.NestedMap(m.obj.Object, "spec", "template")
			if err != nil || !ok {
				return // not a workload
			}
			var pt corev1.PodTemplateSpec
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(tmpl, &pt); err != nil {
				t.Fatalf("%s: read the pod template: %v", m, err)
			}
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: m.obj.GetName(), Labels: pt.Labels}, Spec: pt.Spec}
			if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{DryRun: dryRun}); err != nil {
				t.Errorf("%s: its pod template as a Pod, dry-run, in %s: %v", m, ns, err)
			}
		})
	}
}

// TestRBACGrantsOnlyWhatCutoverNeeds applies deploy/rbac.yaml and asks the
// apiserver's own authorizer what the cutover ServiceAccount may do, then
// server-side applies the staging and production manifests (dry-run) as
// that ServiceAccount, which is how cutover installs them.
func TestRBACGrantsOnlyWhatCutoverNeeds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := startCluster(ctx, t)
	ns := restrictedNamespace(ctx, t, c.Client, "production")
	other := restrictedNamespace(ctx, t, c.Client, "elsewhere")
	// Some sixty reviews: client-go's default 5 requests a second would
	// spend twelve seconds waiting on itself.
	adminCfg := rest.CopyConfig(c.Config)
	adminCfg.QPS, adminCfg.Burst = 500, 500
	reviewer, err := kubernetes.NewForConfig(adminCfg)
	if err != nil {
		t.Fatal(err)
	}
	admin := newApplier(ctx, t, adminCfg)
	for _, m := range readManifests(t, rbacFile) {
		if err := admin.apply(ctx, ns, m.obj, nil); err != nil {
			t.Fatalf("%s: server-side apply into %s: %v", m, ns, err)
		}
	}
	user := "system:serviceaccount:" + ns + ":cutover"
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
	review := func(ctx context.Context, ra authorizationv1.ResourceAttributes) (*authorizationv1.SubjectAccessReview, error) {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user, Groups: groups, ResourceAttributes: &ra,
		}}
		return reviewer.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	}
	// The authorizer learns of the new RoleBinding through a watch; until
	// it has, every review says no.
	seen := authorizationv1.ResourceAttributes{Namespace: ns, Verb: "get", Resource: "services"}
	for {
		got, err := review(ctx, seen)
		if err != nil {
			t.Fatalf("review whether %s may get services: %v", user, err)
		}
		if got.Status.Allowed {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s may never get services in %s: %s", user, ns, got.Status.Reason)
		case <-time.After(50 * time.Millisecond):
		}
	}

	checks := []struct {
		namespace, group, resource, subresource string
		verbs                                   []string
		allowed                                 bool
	}{
		{ns, "", "services", "", []string{"get", "list", "watch", "create", "patch", "update"}, true},
		{ns, "apps", "deployments", "", []string{"get", "list", "watch", "create", "patch", "update"}, true},
		{ns, "apps", "deployments", "scale", []string{"get", "patch", "update"}, true},
		{ns, "apps", "replicasets", "", []string{"get", "list", "watch"}, true},
		{ns, "", "pods", "", []string{"get", "list", "watch"}, true},
		{ns, "", "events", "", []string{"list", "watch"}, true},
		{ns, "coordination.k8s.io", "leases", "", []string{"get", "list", "watch", "create", "update", "patch", "delete"}, true},
		{ns, "networking.k8s.io", "networkpolicies", "", []string{"get", "list", "create", "patch", "update"}, true},

		{ns, "apps", "deployments", "", []string{"delete", "deletecollection"}, false},
		{ns, "", "services", "", []string{"delete"}, false},
		{ns, "", "secrets", "", []string{"get", "list", "watch"}, false},
		{ns, "", "configmaps", "", []string{"get", "create"}, false},
		{ns, "", "pods", "", []string{"create", "delete"}, false},
		{ns, "", "pods", "exec", []string{"create", "get"}, false},
		{ns, "apps", "replicasets", "", []string{"patch", "delete"}, false},
		{ns, "networking.k8s.io", "networkpolicies", "", []string{"delete"}, false},
		{ns, "rbac.authorization.k8s.io", "roles", "", []string{"create", "patch"}, false},
		{ns, "rbac.authorization.k8s.io", "rolebindings", "", []string{"create", "patch"}, false},
		{other, "apps", "deployments", "", []string{"get", "patch"}, false},
		{other, "", "services", "", []string{"patch"}, false},
		{other, "coordination.k8s.io", "leases", "", []string{"get"}, false},
		{"", "", "namespaces", "", []string{"get", "list"}, false},
	}
	for _, ch := range checks {
		for _, verb := range ch.verbs {
			resource := ch.resource
			if ch.subresource != "" {
				resource += "/" + ch.subresource
			}
			name := fmt.Sprintf("%s %s in %q", verb, resource, ch.namespace)
			t.Run(name, func(t *testing.T) {
				got, err := review(ctx, authorizationv1.ResourceAttributes{
					Namespace: ch.namespace, Verb: verb,
					Group: ch.group, Resource: ch.resource, Subresource: ch.subresource,
				})
				if err != nil {
					t.Fatalf("review whether %s may %s: %v", user, name, err)
				}
				if got.Status.Allowed != ch.allowed {
					t.Errorf("%s may %s: got allowed=%t, want %t (%s)", user, name, got.Status.Allowed, ch.allowed, got.Status.Reason)
				}
			})
		}
	}

	// The rules are enough to install the release manifests the way
	// cutover does: server-side apply, which creates what is missing.
	cfg := rest.CopyConfig(adminCfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	sa := newApplier(ctx, t, cfg)
	for _, dir := range []string{"staging", "production"} {
		for _, m := range readManifests(t, filepath.Join(manifestDir, dir)) {
			t.Run("as cutover: "+m.String(), func(t *testing.T) {
				if err := sa.apply(ctx, ns, m.obj, []string{metav1.DryRunAll}); err != nil {
					t.Errorf("%s: server-side apply, dry-run, into %s as %s: %v", m, ns, user, err)
				}
			})
		}
	}
	// And the same identity is refused outside them, so the impersonation
	// itself is not what let the applies through.
	t.Run("as cutover: list secrets", func(t *testing.T) {
		client, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("list secrets in %s as %s: got %v, want forbidden", ns, user, err)
		}
	})
}

// startCluster starts the test control plane and stops it when the test
// ends, as testenv's own tests do.
func startCluster(ctx context.Context, t *testing.T) *testenv.Cluster {
	t.Helper()
	bin, err := testenv.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	c, err := testenv.Start(ctx, bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// restrictedNamespace creates a namespace that enforces, and warns about,
// the latest Pod Security "restricted" profile.
func restrictedNamespace(ctx context.Context, t *testing.T, client kubernetes.Interface, name string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce":         "restricted",
		"pod-security.kubernetes.io/enforce-version": "latest",
		"pod-security.kubernetes.io/warn":            "restricted",
		"pod-security.kubernetes.io/warn-version":    "latest",
	}}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	// The ServiceAccount admission plugin refuses a pod before Pod
	// Security sees it until the controller manager has made the
	// namespace's default ServiceAccount; on a busy machine that takes a
	// moment after the namespace exists.
	err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		t.Fatalf("serviceaccount %s/default: not made by the controller manager: %v", name, err)
	}
	return name
}

// rootPodSpec runs as root, may escalate and adds a capability: several
// things the restricted profile forbids. (Not privileged: this apiserver
// runs without --allow-privileged, so validation would refuse that before
// Pod Security saw it, and the check would prove nothing about the label.)
func rootPodSpec() corev1.PodSpec {
	yes, no, root := true, false, int64(0)
	return corev1.PodSpec{Containers: []corev1.Container{{
		Name: "root", Image: "example.invalid/root:1",
		SecurityContext: &corev1.SecurityContext{
			RunAsUser: &root, RunAsNonRoot: &no, AllowPrivilegeEscalation: &yes,
			Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN"}},
		},
	}}}
}

func mustToUnstructured(t *testing.T, v any) map[string]any {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(v)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// applier server-side applies unstructured objects, finding each kind's
// resource through the apiserver's discovery.
type applier struct {
	mapper meta.RESTMapper
	client dynamic.Interface
}

func newApplier(ctx context.Context, t *testing.T, cfg *rest.Config) *applier {
	t.Helper()
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := restmapper.GetAPIGroupResourcesWithContext(ctx, client.Discovery())
	if err != nil {
		t.Fatalf("discover the apiserver's resources: %v", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &applier{mapper: restmapper.NewDiscoveryRESTMapper(groups), client: dyn}
}

// apply server-side applies obj into namespace ns as field manager
// "cutover". Every object must be namespaced: the manifests name none, and
// the namespace is chosen at apply time.
func (a *applier) apply(ctx context.Context, ns string, obj *unstructured.Unstructured, dryRun []string) error {
	gvk := obj.GroupVersionKind()
	mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("find the resource for %s: %w", gvk, err)
	}
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		return fmt.Errorf("%s is cluster-scoped; the manifests must hold only namespaced objects", gvk.Kind)
	}
	_, err = a.client.Resource(mapping.Resource).Namespace(ns).Apply(ctx, obj.GetName(), obj,
		metav1.ApplyOptions{FieldManager: "cutover", DryRun: dryRun})
	return err
}

// warningRecorder keeps the warnings the apiserver sends back.
type warningRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (w *warningRecorder) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, text)
}

// take returns the warnings since the last take and forgets them.
func (w *warningRecorder) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	seen := w.seen
	w.seen = nil
	return seen
}
