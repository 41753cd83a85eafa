package engine

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
)

func TestLoadThresholds(t *testing.T) {
	five := 0.05
	th := spec.LoadThresholds{P95: spec.Duration(2 * time.Second), ErrorRate: &five, MinRate: 10}
	ok := LoadSummary{Requests: 500, Throughput: 49.5, P95: 400 * time.Millisecond, ErrorRate: 0.002}
	if b := breaches(th, ok); len(b) != 0 {
		t.Errorf("a healthy summary breaks %v", b)
	}
	bad := LoadSummary{Requests: 500, Throughput: 8, P95: 2500 * time.Millisecond, ErrorRate: 0.2}
	if got := strings.Join(breaches(th, bad), "; "); got != "p95 2.5s > 2s; errors 20% > 5%; rate 8/s < 10/s" {
		t.Errorf("breaches: %s", got)
	}
	if b := breaches(spec.LoadThresholds{}, bad); len(b) != 0 {
		t.Errorf("no thresholds, yet %v", b)
	}
}

// TestLoadTestStep sends real requests to a server on loopback: a healthy
// one passes the guide's thresholds, one failing a fifth of its requests
// and a slow one fail, naming the threshold and the value.
func TestLoadTestStep(t *testing.T) {
	var n atomic.Int64
	var failEvery, delay atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		i := n.Add(1)
		time.Sleep(time.Duration(delay.Load()))
		if f := failEvery.Load(); f > 0 && i%f == 0 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	five := 0.05
	loadSpec := func() *spec.LoadTestSpec {
		return &spec.LoadTestSpec{Target: srv.URL + "/healthz", Rate: 40, Duration: spec.Duration(time.Second),
			Thresholds: spec.LoadThresholds{P95: spec.Duration(100 * time.Millisecond), ErrorRate: &five, MinRate: 10}}
	}
	run := func(ls *spec.LoadTestSpec) (Snapshot, []Record) {
		h := newHarness(t, Config{Pipeline: &spec.Pipeline{Metadata: spec.Metadata{Name: "p"}, Stages: []spec.Stage{
			{Name: "performance-test", Budget: spec.Duration(time.Minute), Steps: []spec.Step{{Name: "load", LoadTest: ls}}},
		}}})
		return h.run(), h.records()
	}

	final, recs := run(loadSpec())
	st, _ := final.Stage("performance-test")
	var sum *LoadSummary
	for _, r := range recs {
		if r.Type == RecLoadTest {
			sum = r.Load
		}
	}
	if final.Status != StatusSucceeded || sum == nil || sum.Requests < 30 || sum.Requests > 41 || sum.ErrorRate != 0 || sum.StatusCodes["200"] != int(sum.Requests) {
		t.Fatalf("healthy: run %s (%s), summary %+v; want success with about 40 requests, all 200", final.Status, st.Steps[0].Reason, sum)
	}
	if !strings.Contains(st.Steps[0].Reason, "requests at") {
		t.Errorf("healthy: reason %q, want the summary", st.Steps[0].Reason)
	}

	failEvery.Store(5)
	final, _ = run(loadSpec())
	st, _ = final.Stage("performance-test")
	if final.Status != StatusFailed || !strings.Contains(st.Steps[0].Reason, "errors 20% > 5%") {
		t.Errorf("20%% errors: run %s, %q; want a failure naming the error rate", final.Status, st.Steps[0].Reason)
	}

	failEvery.Store(0)
	delay.Store(int64(150 * time.Millisecond))
	final, _ = run(loadSpec())
	st, _ = final.Stage("performance-test")
	if final.Status != StatusFailed || !strings.Contains(st.Steps[0].Reason, "p95 ") || !strings.Contains(st.Steps[0].Reason, "> 100ms") {
		t.Errorf("150 ms latency: run %s, %q; want a failure naming p95", final.Status, st.Steps[0].Reason)
	}

	delay.Store(0)
	slow := loadSpec()
	slow.Rate = 5
	final, _ = run(slow)
	st, _ = final.Stage("performance-test")
	if final.Status != StatusFailed || !strings.Contains(st.Steps[0].Reason, "/s < 10/s") {
		t.Errorf("5 req/s against a minimum of 10: run %s, %q", final.Status, st.Steps[0].Reason)
	}
}
