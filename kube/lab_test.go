package kube_test

import (
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/testenv"
)

// TestNoRequestLostToTheSwitch: a load test runs through the test router
// (kube-proxy's stand-in) while a blue-green release switches the Service
// under it. Both colors serve some of the requests, so the switch
// happened during the load, and not one request fails.
func TestNoRequestLostToTheSwitch(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 0}, true)
	served := map[string]*atomic.Int64{"blue": {}, "green": {}}
	backends := map[string]string{}
	for color, n := range served {
		l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n.Add(1)
			_, _ = io.WriteString(w, color)
		})}
		go func() { _ = srv.Serve(l) }()
		t.Cleanup(func() { _ = srv.Close() })
		backends[color] = l.Addr().String()
	}
	router, err := testenv.StartRouter(ctx, c.Client, ns, "web-service", "color", backends)
	if err != nil {
		t.Fatal(err)
	}
	defer router.Stop()

	// The two stages need nothing of each other, so they run at once; the
	// switch comes 3 s into the 12 s of load.
	final, recs, _ := runPipeline(ctx, t, `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: web}
stages:
  - name: production
    budget: 5m
    steps:
      - name: let-traffic-start    # blue serves a while before the switch
        run: sleep 3
      - name: switch
        blueGreen: {context: prod, namespace: `+ns+`, service: web-service, container: app, image: "web:v2", replicas: 2, scaleDownDelay: 1s}
  - name: traffic
    budget: 5m
    steps:
      - name: load
        loadtest:
          target: http://`+router.Addr+`/
          rate: 50
          duration: 12s
          thresholds: {errorRate: 0}
`, clustersOf(map[string]*testenv.Cluster{"prod": c}), logEvents(t))
	var sum *engine.LoadSummary
	for _, r := range recs {
		if r.Type == engine.RecLoadTest {
			sum = r.Load
		}
	}
	if final.Status != engine.StatusSucceeded || sum == nil {
		t.Fatalf("run %s, load summary %+v; want both stages to succeed", final.Status, sum)
	}
	t.Logf("load: %s; blue served %d, green %d", sum, served["blue"].Load(), served["green"].Load())
	if sum.ErrorRate != 0 || sum.StatusCodes["200"] != int(sum.Requests) || router.Unrouted() != 0 {
		t.Errorf("requests failed during the switch: %s, %d unrouted", sum, router.Unrouted())
	}
	if served["blue"].Load() == 0 || served["green"].Load() == 0 {
		t.Errorf("blue served %d and green %d: the switch did not happen under the load", served["blue"].Load(), served["green"].Load())
	}
	if live, _, _ := selects(ctx, t, c.Client, ns); live != "green" {
		t.Errorf("service selects %s, want green", live)
	}
}
