package kube_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/kube"
	"github.com/cutover-sh/cutover/testenv"
)

// editAfterScaleDown passes requests on and, once the API server has
// answered the scale-down of one Deployment, runs edit before cutover sees
// that answer: a person's hand edit that lands between cutover's check of
// the Service and the observation after its write.
type editAfterScaleDown struct {
	rt         http.RoundTripper
	deployment string
	edit       func() error

	once sync.Once
	err  error
	at   time.Time
}

func (e *editAfterScaleDown) RoundTrip(r *http.Request) (*http.Response, error) {
	scaleDown := false
	if r.Method == http.MethodPatch && strings.HasSuffix(r.URL.Path, "/deployments/"+e.deployment) && r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		scaleDown = bytes.Contains(b, []byte(`"replicas":0`))
	}
	resp, err := e.rt.RoundTrip(r)
	if scaleDown && err == nil {
		e.once.Do(func() { e.at, e.err = time.Now(), e.edit() })
	}
	return resp, err
}

// TestHandEditDuringScaleDownIsHealed is the chaos campaign's first
// confirmed violation (seed 100, run 3): someone pointed the Service back
// at blue just as cutover scaled blue down after the delay, and the
// Service then selected a color with no pods until the next release. The
// edit is the person's to make, and cutover does not undo it; but the
// pods it took away are its own doing, so it scales blue back up, waits
// for every replica to be Ready, and stops, saying so.
func TestHandEditDuringScaleDownIsHealed(t *testing.T) {
	// Not watched: the edit points the Service at a color already scaled
	// to zero, on purpose. The test measures how long that lasted instead.
	ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 3, Green: 0}, false)
	tr := &editAfterScaleDown{deployment: "web-blue", edit: func() error {
		_, err := c.Client.CoreV1().Services(ns).Patch(context.Background(), "web-service", types.MergePatchType,
			[]byte(`{"spec":{"selector":{"color":"blue"}}}`), metav1.PatchOptions{FieldManager: "someone"})
		return err
	}}
	cfg := rest.CopyConfig(c.Config)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { tr.rt = rt; return tr }
	k, err := kube.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}

	log := releaseLog{logf: t.Logf}
	r, err := engine.RunBlueGreen(ctx, k, bgSpec(ns), log.hooks())
	if tr.at.IsZero() || tr.err != nil {
		t.Fatalf("the hand edit did not happen after the scale-down (edit error: %v); release: %v, %s (%s)", tr.err, err, r.Phase, r.Reason)
	}
	if err != nil || r.Phase != engine.PhaseFailed {
		t.Fatalf("release: %v, phase %s (%s); want failed", err, r.Phase, r.Reason)
	}
	for _, want := range []string{"pointed at blue by someone else", "scaled blue back up to 3", "3/3 Ready"} {
		if !strings.Contains(r.Reason, want) {
			t.Errorf("reason %q; want it to say %q", r.Reason, want)
		}
	}
	live, _, _ := selects(ctx, t, c.Client, ns)
	if live != "blue" {
		t.Errorf("service selects %s; the person's edit to blue must stay", live)
	}
	// When RunBlueGreen returns, blue is whole again: the release waited.
	for _, color := range []string{"blue", "green"} {
		if n := readyPods(ctx, t, c, ns, color); n != 3 {
			t.Errorf("%s has %d Ready pods when the release ends; want 3", color, n)
		}
	}
	t.Logf("blue whole again %s after the hand edit", time.Since(tr.at).Round(time.Millisecond))
}

// readyPods counts the Ready pods of a color not being deleted.
func readyPods(ctx context.Context, t *testing.T, c *testenv.Cluster, ns, color string) int {
	t.Helper()
	pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: fmt.Sprintf("app=web,color=%s", color)})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == "Ready" && cond.Status == "True" {
				n++
			}
		}
	}
	return n
}
