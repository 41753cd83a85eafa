package main

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-sh/cutover/testenv"
)

// scrapedApp starts the metrics app as the green pod of service web in
// namespace prod, failing errRatio of its requests from the start, and a
// real Prometheus scraping it with the given rule files, and waits until
// Prometheus has a request rate for it. Both stop when the test ends.
func scrapedApp(ctx context.Context, t *testing.T, errRatio float64, rules ...string) (*testenv.App, *testenv.Prometheus) {
	t.Helper()
	app, err := testenv.StartApp(ctx, testenv.AppOptions{Service: "web", Color: "green", Namespace: "prod", Pod: "web-green-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Stop)
	if errRatio > 0 {
		app.Set(errRatio, 50*time.Millisecond)
	}
	p, err := testenv.StartPrometheus(ctx, t.TempDir(), []string{app.Addr}, rules...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	if err := p.WaitForRequests(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	return app, p
}

// pairOnCluster makes a namespace on the shared control plane with a
// blue-green pair in it, and returns a reader of the color its Service
// selects.
func pairOnCluster(ctx context.Context, t *testing.T, pair testenv.Pair) (*testenv.Cluster, string, func() string) {
	t.Helper()
	c := sharedCluster(t)
	ns, err := testenv.Namespace(ctx, c.Client)
	if err != nil {
		t.Fatal(err)
	}
	if err := testenv.CreatePair(ctx, c.Client, ns, pair); err != nil {
		t.Fatal(err)
	}
	live := func() string {
		svc, err := c.Client.CoreV1().Services(ns).Get(ctx, pair.Name+"-service", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return svc.Spec.Selector["color"]
	}
	return c, ns, live
}

// webRelease is a pipeline of one blue-green step that releases web:v2 to
// the pair pairOnCluster made in ns, with a 10-minute scale-down delay;
// more adds fields to the step, such as an approve gate.
func webRelease(name, ns, more string) string {
	return `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: ` + name + `}
stages:
  - name: production
    budget: 10m
    steps:
      - name: switch
        blueGreen:
          namespace: ` + ns + `
          service: web-service
          container: app
          image: web:v2
          replicas: 2
          scaleDownDelay: 10m
` + more
}
