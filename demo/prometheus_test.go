package demo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"

	"github.com/cutover-sh/cutover/demo"
	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/prom"
)

// A short interval keeps the tests quick; nothing asserts on speed.
const localInterval = 50 * time.Millisecond

// demoApp is a metrics endpoint on loopback, like the demo's sample apps.
type demoApp struct {
	addr     string
	gauge    prometheus.Gauge
	requests prometheus.Counter
	srv      *http.Server
}

// serveApp serves a fresh registry on ln. Its gauge exposes a namespace
// label of its own, as apps instrumented for Kubernetes often do, which
// the target's namespace label must win over.
func serveApp(t *testing.T, ln net.Listener) *demoApp {
	t.Helper()
	reg := prometheus.NewRegistry()
	a := &demoApp{
		addr:     ln.Addr().String(),
		gauge:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "demo_temperature_celsius", Help: "A gauge.", ConstLabels: prometheus.Labels{"namespace": "app-says"}}),
		requests: prometheus.NewCounter(prometheus.CounterOpts{Name: "demo_requests_total", Help: "A counter."}),
	}
	reg.MustRegister(a.gauge, a.requests)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = a.srv.Serve(ln) }()
	t.Cleanup(func() { _ = a.srv.Close() })
	return a
}

func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func startLocal(ctx context.Context, t *testing.T, targets ...demo.LocalTarget) (*demo.Local, *prom.Client) {
	t.Helper()
	l, err := demo.StartLocal(ctx, demo.LocalOptions{Targets: targets, Interval: localInterval})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Stop)
	c, err := prom.New(prom.Config{Address: "http://" + l.Addr})
	if err != nil {
		t.Fatal(err)
	}
	return l, c
}

// await polls query until ok accepts its value or its error.
func await(ctx context.Context, t *testing.T, c *prom.Client, query string, ok func(float64, error) bool) (float64, error) {
	t.Helper()
	for {
		v, err := c.Scalar(ctx, query, time.Now())
		if ok(v, err) {
			return v, err
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: last answer %v, %v", query, v, err)
		case <-time.After(localInterval / 2):
		}
	}
}

// settle waits until query answers want, failing the test if it never does.
func settle(ctx context.Context, t *testing.T, c *prom.Client, query string, want float64) {
	t.Helper()
	_, _ = await(ctx, t, c, query, func(v float64, err error) bool { return err == nil && v == want })
}

func answered(_ float64, err error) bool { return err == nil }

// TestLocalAnswersWhatItScraped: what a real client_golang registry
// exposes comes back through the PromQL engine with the target's labels.
func TestLocalAnswersWhatItScraped(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	app := serveApp(t, listen(t, "127.0.0.1:0"))
	app.gauge.Set(21.5)
	l, c := startLocal(ctx, t, demo.LocalTarget{Job: "shop", Addr: app.addr, Labels: map[string]string{"namespace": "prod", "pod": "web-1"}})

	if got, _ := await(ctx, t, c, `demo_temperature_celsius{job="shop"}`, answered); got != 21.5 {
		t.Errorf("gauge: got %v, want 21.5", got)
	}
	if got, err := c.Scalar(ctx, `up{job="shop"}`, time.Now()); err != nil || got != 1 {
		t.Errorf("up: got %v, %v, want 1", got, err)
	}
	labelled := fmt.Sprintf(`count(demo_temperature_celsius{job="shop",instance=%q,namespace="prod",pod="web-1",exported_namespace="app-says"})`, app.addr)
	if got, err := c.Scalar(ctx, labelled, time.Now()); err != nil || got != 1 {
		t.Errorf("%s: got %v, %v, want 1", labelled, got, err)
	}

	// Counting on while scrapes go by makes the counter increase within
	// any window that holds two of them.
	rate, _ := await(ctx, t, c, `rate(demo_requests_total{job="shop"}[1s])`, func(v float64, err error) bool {
		app.requests.Add(5)
		return err == nil && v > 0
	})
	if rate <= 0 {
		t.Errorf("rate: got %v, want > 0", rate)
	}
	if got, err := c.Scalar(ctx, `increase(demo_requests_total{job="shop"}[2s])`, time.Now()); err != nil || got <= 0 {
		t.Errorf("increase: got %v, %v, want > 0", got, err)
	}
	// Once it stops, the stored value catches up with the counter exactly.
	total := testutil.ToFloat64(app.requests)
	settle(ctx, t, c, `demo_requests_total{job="shop"}`, total)

	hc, err := api.NewClient(api.Config{Address: "http://" + l.Addr})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	val, _, _, err := v1.NewAPI(hc).QueryRange(ctx, `demo_temperature_celsius{job="shop"}`, v1.Range{Start: now.Add(-2 * time.Second), End: now, Step: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	m, ok := val.(model.Matrix)
	if !ok || len(m) != 1 {
		t.Fatalf("range query: got %v, want a matrix of one series", val)
	}
	if n := len(m[0].Values); n == 0 || m[0].Values[n-1].Value != 21.5 || m[0].Metric["pod"] != "web-1" {
		t.Errorf("range query: got %v, want points ending at 21.5 with pod web-1", m[0])
	}

	_, err = c.Scalar(ctx, `sum(demo_temperature_celsius`, time.Now())
	if err == nil || !strings.Contains(err.Error(), "bad_data") || !strings.Contains(err.Error(), "parse error") {
		t.Errorf("syntax error: got %v, want a bad_data parse error", err)
	}
}

// TestLocalScrapesThroughFailures: a target that is down is up 0, the loop
// keeps trying until it comes up, and once it goes away again its series
// are marked stale rather than lingering.
func TestLocalScrapesThroughFailures(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	reserved := listen(t, "127.0.0.1:0")
	addr := reserved.Addr().String()
	if err := reserved.Close(); err != nil {
		t.Fatal(err)
	}
	_, c := startLocal(ctx, t, demo.LocalTarget{Job: "flaky", Addr: addr})

	if got, _ := await(ctx, t, c, `up{job="flaky"}`, answered); got != 0 {
		t.Fatalf("up before the app listens: got %v, want 0", got)
	}

	app := serveApp(t, listen(t, addr))
	app.gauge.Set(7)
	settle(ctx, t, c, `up{job="flaky"}`, 1)
	settle(ctx, t, c, `demo_temperature_celsius{job="flaky"}`, 7)

	if err := app.srv.Close(); err != nil {
		t.Fatal(err)
	}
	settle(ctx, t, c, `up{job="flaky"}`, 0)
	_, err := await(ctx, t, c, `demo_temperature_celsius{job="flaky"}`, func(_ float64, err error) bool { return err != nil })
	if !errors.Is(err, engine.ErrNoData) {
		t.Errorf("gauge after the app stopped: got %v, want no data", err)
	}
}

// TestLocalHTTPAPI: the wire format, status codes and error types that
// Prometheus's own API uses.
func TestLocalHTTPAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	l, _ := startLocal(ctx, t)
	base := "http://" + l.Addr

	// Two series on the right that both match the left's empty group: a
	// query that parses but fails when it runs.
	manyToMany := `vector(1) + on() (label_replace(vector(1), "a", "x", "", "") or label_replace(vector(1), "a", "y", "", ""))`
	tests := []struct {
		name, method, path string
		form               url.Values
		code               int
		// want is the status, then errorType or resultType, then a part of
		// the error or the result's JSON.
		want [3]string
	}{
		{"instant GET, unix time", "GET", "/api/v1/query", url.Values{"query": {"1+1"}, "time": {"1700000000.5"}}, 200, [3]string{"success", "scalar", `[1700000000.5,"2"]`}},
		{"instant POST, RFC 3339", "POST", "/api/v1/query", url.Values{"query": {"vector(3)"}, "time": {"2026-01-02T03:04:05Z"}}, 200, [3]string{"success", "vector", `"value":[1767323045,"3"]`}},
		{"no alerts without rules", "GET", "/api/v1/query", url.Values{"query": {`ALERTS{alertstate="firing"}`}}, 200, [3]string{"success", "vector", `[]`}},
		{"range", "POST", "/api/v1/query_range", url.Values{"query": {"vector(1)"}, "start": {"0"}, "end": {"10"}, "step": {"5"}}, 200, [3]string{"success", "matrix", `"values":[[0,"1"],[5,"1"],[10,"1"]]`}},
		{"syntax error", "GET", "/api/v1/query", url.Values{"query": {"sum("}}, 400, [3]string{"error", "bad_data", "parse error"}},
		{"no query", "GET", "/api/v1/query", nil, 400, [3]string{"error", "bad_data", `invalid parameter \"query\"`}},
		{"bad time", "GET", "/api/v1/query", url.Values{"query": {"1"}, "time": {"yesterday"}}, 400, [3]string{"error", "bad_data", `invalid parameter \"time\"`}},
		{"NaN time", "GET", "/api/v1/query", url.Values{"query": {"1"}, "time": {"NaN"}}, 400, [3]string{"error", "bad_data", `invalid parameter \"time\"`}},
		{"huge time", "GET", "/api/v1/query", url.Values{"query": {"1"}, "time": {"1e300"}}, 400, [3]string{"error", "bad_data", `invalid parameter \"time\"`}},
		{"bad timeout", "GET", "/api/v1/query", url.Values{"query": {"1"}, "timeout": {"soon"}}, 400, [3]string{"error", "bad_data", `invalid parameter \"timeout\"`}},
		{"end before start", "GET", "/api/v1/query_range", url.Values{"query": {"1"}, "start": {"10"}, "end": {"0"}, "step": {"1"}}, 400, [3]string{"error", "bad_data", `invalid parameter \"end\"`}},
		{"zero step", "GET", "/api/v1/query_range", url.Values{"query": {"1"}, "start": {"0"}, "end": {"10"}, "step": {"0"}}, 400, [3]string{"error", "bad_data", `invalid parameter \"step\"`}},
		{"too many points", "GET", "/api/v1/query_range", url.Values{"query": {"1"}, "start": {"0"}, "end": {"100000"}, "step": {"1"}}, 400, [3]string{"error", "bad_data", "11000 points"}},
		{"fails when run", "GET", "/api/v1/query", url.Values{"query": {manyToMany}}, 422, [3]string{"error", "execution", "duplicate series"}},
		{"timed out", "GET", "/api/v1/query", url.Values{"query": {"1"}, "timeout": {"0.000000001"}}, 503, [3]string{"error", "timeout", "timed out"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(ctx, t, tt.method, base+tt.path, tt.form)
			if code != tt.code {
				t.Errorf("status: got %d, want %d (%s)", code, tt.code, body)
			}
			var r struct {
				Status, ErrorType, Error string
				Data                     struct {
					ResultType string
					Result     json.RawMessage
				}
			}
			if err := json.Unmarshal([]byte(body), &r); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			got := [3]string{r.Status, r.ErrorType, r.Error}
			if r.Status == "success" {
				got = [3]string{r.Status, r.Data.ResultType, string(r.Data.Result)}
			}
			if got[0] != tt.want[0] || got[1] != tt.want[1] || !strings.Contains(got[2], strings.ReplaceAll(tt.want[2], `\"`, `"`)) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	if code, body := call(ctx, t, "DELETE", base+"/api/v1/query", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: got %d %s, want 405", code, body)
	}
	if code, body := call(ctx, t, "GET", base+"/-/ready", nil); code != http.StatusOK {
		t.Errorf("ready: got %d %s, want 200", code, body)
	}
}

func call(ctx context.Context, t *testing.T, method, u string, form url.Values) (int, string) {
	t.Helper()
	var body io.Reader
	if method == "POST" {
		body = strings.NewReader(form.Encode())
	} else if form != nil {
		u += "?" + form.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if method == "POST" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestStartLocalRefuses: targets that would reach beyond loopback, or
// whose labels would clash with the ones a scrape sets, are refused before
// anything starts.
func TestStartLocalRefuses(t *testing.T) {
	tests := []struct {
		name   string
		target demo.LocalTarget
		want   string
	}{
		{"a name", demo.LocalTarget{Job: "j", Addr: "localhost:80"}, "loopback"},
		{"a remote IP", demo.LocalTarget{Job: "j", Addr: "10.0.0.1:80"}, "loopback"},
		{"no port", demo.LocalTarget{Job: "j", Addr: "127.0.0.1"}, "port"},
		{"no job", demo.LocalTarget{Addr: "127.0.0.1:80"}, "no job"},
		{"a job label", demo.LocalTarget{Job: "j", Addr: "127.0.0.1:80", Labels: map[string]string{"job": "k"}}, "label job"},
		{"a reserved label", demo.LocalTarget{Job: "j", Addr: "127.0.0.1:80", Labels: map[string]string{"__address__": "x"}}, "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := demo.StartLocal(t.Context(), demo.LocalOptions{Targets: []demo.LocalTarget{tt.target}})
			if err == nil {
				l.Stop()
				t.Fatalf("got a Local, want an error mentioning %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	twice := demo.LocalTarget{Job: "j", Addr: "127.0.0.1:80"}
	if _, err := demo.StartLocal(t.Context(), demo.LocalOptions{Targets: []demo.LocalTarget{twice, twice}}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a target listed twice: got %v, want an error", err)
	}
}

// TestLocalStopRemovesItsStorage: nothing is left in the temporary
// directory, and the API no longer answers.
func TestLocalStopRemovesItsStorage(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	l, err := demo.StartLocal(t.Context(), demo.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(tmp); err != nil || len(entries) != 1 {
		t.Fatalf("temporary directory while running: got %v, %v, want one storage directory", entries, err)
	}
	l.Stop()
	l.Stop()
	if entries, err := os.ReadDir(tmp); err != nil || len(entries) != 0 {
		t.Errorf("temporary directory after Stop: got %v, %v, want it empty", entries, err)
	}
	if conn, err := net.Dial("tcp", l.Addr); err == nil {
		_ = conn.Close()
		t.Errorf("dial %s after Stop: got a connection, want none", l.Addr)
	}
}
