package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// App plays the released service: an HTTP server on loopback that
// answers real requests, failing a set share of them and taking a set
// time, and exports the metrics the guide's panels and gates read. The
// demo runs one per color in-process; the lab runs them as processes
// (`cutover demo app`).
type App struct {
	// Addr is the host:port it serves on.
	Addr string
	srv  *http.Server

	mu       sync.Mutex
	errRatio float64
	latency  time.Duration
	// sent and failed spread the errors evenly: a ratio of 0.2 fails every
	// fifth request, so that short windows show the ratio.
	sent, failed float64
}

// AppOptions say what an App answers, how, and which labels its metrics carry.
type AppOptions struct {
	// Listen is the host:port to serve on (default 127.0.0.1:0).
	Listen                    string
	Service, Namespace, Color string
	Version                   string
	ErrRatio                  float64
	Latency                   time.Duration
	// Restarts, when set, reports the color's container restarts.
	Restarts func() float64
}

// StartApp serves until ctx ends or Stop is called.
func StartApp(ctx context.Context, o AppOptions) (*App, error) {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.ErrRatio < 0 || o.ErrRatio > 1 || math.IsNaN(o.ErrRatio) {
		return nil, fmt.Errorf("sample app: error ratio %g must be between 0 and 1", o.ErrRatio)
	}
	a := &App{errRatio: o.ErrRatio, latency: o.Latency}
	reg := prometheus.NewRegistry()
	// namespace, service and color are what Prometheus's Kubernetes
	// discovery and relabelling would add to the app's own series.
	labels := prometheus.Labels{"service": o.Service, "color": o.Color, "namespace": o.Namespace}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total", Help: "Requests by status code.", ConstLabels: labels}, []string{"code"})
	// A vector, so that a color that has served nothing has no latency
	// series at all: an empty histogram's quantile is NaN, not "no data".
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "http_request_duration_seconds", Help: "Request latency.", ConstLabels: labels, Buckets: prometheus.DefBuckets}, []string{"method"})
	podLabels := prometheus.Labels{"namespace": o.Namespace, "pod": o.Service + "-" + o.Color, "container": "app", "color": o.Color}
	start := time.Now()
	var served float64
	cpu := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "container_cpu_usage_seconds_total", Help: "CPU seconds.", ConstLabels: podLabels}, func() float64 {
		a.mu.Lock()
		defer a.mu.Unlock()
		// An idle baseline and two milliseconds of CPU per request.
		return 0.02*time.Since(start).Seconds() + 0.002*served
	})
	memory := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "container_memory_usage_bytes", Help: "Memory in use.", ConstLabels: podLabels}, func() float64 {
		a.mu.Lock()
		defer a.mu.Unlock()
		return 180<<20 + 2048*math.Min(served, 20000)
	})
	restarts := o.Restarts
	if restarts == nil {
		restarts = func() float64 { return 0 }
	}
	reg.MustRegister(requests, duration, cpu, memory,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kube_pod_container_status_restarts_total", Help: "Container restarts.", ConstLabels: podLabels}, restarts))

	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("sample app %s: %w", o.Color, err)
	}
	a.Addr = l.Addr().String()
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		fail, latency := a.next()
		// ±20% around the set latency, so p50 and p95 differ.
		time.Sleep(time.Duration(float64(latency) * (0.8 + 0.4*rand.Float64()))) //nolint:gosec // jitter, not a secret
		code := http.StatusOK
		if fail {
			code = http.StatusInternalServerError
		}
		w.Header().Set("X-Color", o.Color)
		w.WriteHeader(code)
		_, _ = fmt.Fprintf(w, "%s %s (%s)\n", o.Service, o.Version, o.Color)
		requests.WithLabelValues(fmt.Sprint(code)).Inc()
		duration.WithLabelValues(r.Method).Observe(time.Since(began).Seconds())
		a.mu.Lock()
		served++
		a.mu.Unlock()
	})
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = a.srv.Serve(l) }()
	go func() {
		<-ctx.Done()
		a.Stop()
	}()
	return a, nil
}

// next decides whether this request fails, and how long it takes.
func (a *App) next() (bool, time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sent++
	if a.failed < a.errRatio*a.sent {
		a.failed++
		return true, a.latency
	}
	return false, a.latency
}

// Stop stops serving, letting requests in flight finish for up to 5s.
func (a *App) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		_ = a.srv.Close()
	}
}
