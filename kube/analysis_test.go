package kube_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/prom"
	"github.com/cutover-sh/cutover/testenv"
)

// TestPostPromotionAnalysisRollsBack is the guide's release judged by its
// metrics: green goes live, a real Prometheus scrapes 20% errors from it,
// the post-promotion analysis fails, and traffic goes back to blue.
func TestPostPromotionAnalysisRollsBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := sharedCluster(t)
	ns := namespace(ctx, t, c.Client)
	makePair(ctx, t, c.Client, ns, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 0})
	watchInvariant(ctx, t, c.Client, ns, "web-service", "color")
	app, err := testenv.StartApp(ctx, testenv.AppOptions{Service: "web", Color: "green", Namespace: ns, Pod: "web-green-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Stop()
	app.Set(0.2, 50*time.Millisecond)
	p, err := testenv.StartPrometheus(ctx, t.TempDir(), []string{app.Addr})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	// The analysis starts right after the switch; give Prometheus the two
	// scrapes a rate needs first, or it is rightly inconclusive.
	pc, err := prom.New(prom.Config{Address: p.URL})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if v, err := pc.Scalar(ctx, `sum(rate(http_requests_total{service="web"}[5s]))`, time.Now()); err == nil && v > 10 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("Prometheus never had a request rate for the app")
		case <-time.After(500 * time.Millisecond):
		}
	}

	final, recs, _ := runPipeline(ctx, t, `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: web}
prometheus: {address: `+p.URL+`}
stages:
  - name: production
    budget: 5m
    steps:
      - name: switch
        blueGreen:
          context: prod
          namespace: `+ns+`
          service: web-service
          container: app
          image: web:v2
          replicas: 2
          scaleDownDelay: 10m
          postPromotion:
            interval: 2s
            count: 3
            inconclusiveLimit: 5
            metrics:
              - name: error-rate
                query: (sum(rate(http_requests_total{service="web",color="green",code=~"5.."}[5s])) or vector(0)) / sum(rate(http_requests_total{service="web",color="green"}[5s]))
                successCondition: "< 0.05"
`, clustersOf(map[string]*testenv.Cluster{"prod": c}), func(_ *engine.Engine, ev engine.Event) {
		switch e := ev.(type) {
		case engine.AnalysisMeasured:
			t.Logf("%s = %g: %s %s", e.Metric, e.Measurement.Value, e.Measurement.Verdict, e.Measurement.Reason)
		case engine.ReleaseProgress:
			t.Logf("%s next %s: %s", e.Phase, e.Action, e.Message)
		case engine.Warning:
			t.Logf("warning: %s", e.Message)
		}
	})
	st, _ := final.Stage("production")
	if !final.RolledBack || !strings.Contains(st.Steps[0].Reason, "post-promotion analysis failed: metric post-promotion/error-rate failed") {
		t.Fatalf("run %s, rolled back %v, step %q; want rolled back by the analysis", final.Status, final.RolledBack, st.Steps[0].Reason)
	}
	if live, _, _ := selects(ctx, t, c.Client, ns); live != "blue" {
		t.Errorf("service selects %s, want blue", live)
	}
	failed := 0
	for _, r := range recs {
		if r.Type == engine.RecMeasurement && r.Verdict == engine.VerdictFail && strings.HasPrefix(r.Value, "0.") {
			failed++
		}
	}
	if failed == 0 {
		t.Error("no failing measurement with its value in the journal")
	}
	if fin, ok := findRecord(recs, engine.RecReleaseFinished); !ok || fin.Phase != engine.PhaseRolledBack {
		t.Errorf("journal release.finished %+v, want rolled-back", fin)
	}
}
