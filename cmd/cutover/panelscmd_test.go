package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestPanelsPrintsTheGuidesSix: with no panels declared, `cutover panels`
// shows the guide's six against a real Prometheus, narrowed to the
// blueGreen step's namespace, each with a value in its unit; a panel whose
// query breaks says so instead of showing 0.
func TestPanelsPrintsTheGuidesSix(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, p := scrapedApp(ctx, t, 0)
	pipeline := func(panels string) string {
		return writeFile(t, "panels.yaml", `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: web}
prometheus: {address: `+p.URL+`, range: 2m}
`+panels+`stages:
  - name: production
    budget: 5m
    steps:
      - blueGreen: {namespace: prod, service: web-service, container: app, image: "web:v2", replicas: 2}
`)
	}
	code, out, errOut := cli(t, "", nil, "panels", "--once", pipeline(""))
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	for _, want := range []string{
		"Request rate       OK          color=", // one color: no name; the panel still has its series
		"5xx error ratio    OK          0%",
		"Latency p50/p95    OK          quantile=p50 ",
		"CPU                OK          ",
		"Memory             OK          256 MiB",
		"Restarts (15m)     OK          0",
	} {
		if !strings.Contains(out, strings.TrimSuffix(want, "color=")) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "UNAVAILABLE") || strings.Contains(out, "NO DATA") {
		t.Errorf("a default panel had no data:\n%s", out)
	}

	code, out, _ = cli(t, "", nil, "panels", "--once", pipeline(`panels:
  - {title: Broken, query: "sum(rate(http_requests_total[1m])"}
  - {title: Errors, query: "sum(rate(http_requests_total{namespace=\"{{.Namespace}}\"}[1m]))", unit: req/s, crit: "> 1"}
`))
	if code != 0 || !strings.Contains(out, "Broken             UNAVAILABLE query sum(rate(") || !strings.Contains(out, "Errors             CRIT") {
		t.Errorf("declared panels: exit %d; want Broken unavailable with its error and Errors crit\n%s", code, out)
	}
}
