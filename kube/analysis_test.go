package kube_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/testenv"
)

// TestPostPromotionAnalysisRollsBack is the guide's release judged by its
// metrics: green goes live, a real Prometheus scrapes 20% errors from it,
// the post-promotion analysis fails, and traffic goes back to blue.
func TestPostPromotionAnalysisRollsBack(t *testing.T) {
	ctx, c, ns := releaseEnv(t, 2*time.Minute, testenv.Pair{Name: "web", Live: "blue", BlueImage: "web:v1", GreenImage: "web:v1", Blue: 2, Green: 0}, true)
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
	if err := p.WaitForRequests(ctx, "web"); err != nil {
		t.Fatal(err)
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
                query: (sum(rate(http_requests_total{namespace="{{.Namespace}}",color="{{.Color}}",code=~"5.."}[5s])) or vector(0)) / sum(rate(http_requests_total{namespace="{{.Namespace}}",color="{{.Color}}"}[5s]))
                successCondition: "< 0.05"
`, clustersOf(map[string]*testenv.Cluster{"prod": c}), logEvents(t))
	st, _ := final.Stage("production")
	if !final.RolledBack || !strings.Contains(st.Steps[0].Reason, "post-promotion analysis failed: metric post-promotion/error-rate failed") {
		t.Fatalf("run %s, rolled back %v, step %q; want rolled back by the analysis", final.Status, final.RolledBack, st.Steps[0].Reason)
	}
	if live, _, _ := selects(ctx, t, c.Client, ns); live != "blue" {
		t.Errorf("service selects %s, want blue", live)
	}
	failed := 0
	sent := `color="green"}[5s]`
	for _, r := range recs {
		if r.Type != engine.RecMeasurement {
			continue
		}
		// The template was filled with the release's color and namespace;
		// the journal keeps the query as sent.
		if !strings.Contains(r.Query, `namespace="`+ns+`",color="green"`) || !strings.Contains(r.Query, sent) {
			t.Errorf("measurement of query %s; want the template filled with namespace %s and color green", r.Query, ns)
		}
		if r.Verdict == engine.VerdictFail && strings.HasPrefix(r.Value, "0.") {
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
