package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// App stands in for the released service: an HTTP server on loopback whose
// /metrics exports the metrics the deployment guide's panels and gates
// read. Its traffic is synthetic: a generator records Rate requests a
// second with the error ratio and latency set by Set, so a test can make a
// release healthy or sick while Prometheus scrapes it.
type App struct {
	// Addr is host:port, for a scrape config.
	Addr string

	srv  *http.Server
	stop chan struct{}
	done chan struct{}

	mu       sync.Mutex
	errRatio float64
	latency  time.Duration
	restarts float64
	// sent and failed count the generator's requests, to spread errors.
	sent, failed float64
}

// AppOptions label the App's series.
type AppOptions struct {
	Service, Color, Namespace, Pod string
	// Rate is requests per second (default 50).
	Rate float64
}

// StartApp starts an App with no errors and 50 ms latency.
func StartApp(ctx context.Context, o AppOptions) (*App, error) {
	if o.Rate == 0 {
		o.Rate = 50
	}
	reg := prometheus.NewRegistry()
	// namespace is the label Prometheus's Kubernetes discovery adds to
	// every target in a cluster; queries narrow to a release with it.
	labels := prometheus.Labels{"service": o.Service, "color": o.Color, "namespace": o.Namespace}
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "http_requests_total", Help: "Requests by status code.", ConstLabels: labels}, []string{"code"})
	duration := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "http_request_duration_seconds", Help: "Request latency.", ConstLabels: labels, Buckets: prometheus.DefBuckets})
	podLabels := prometheus.Labels{"namespace": o.Namespace, "pod": o.Pod, "container": "app", "color": o.Color}
	cpu := prometheus.NewCounter(prometheus.CounterOpts{Name: "container_cpu_usage_seconds_total", Help: "CPU seconds.", ConstLabels: podLabels})
	memory := prometheus.NewGauge(prometheus.GaugeOpts{Name: "container_memory_usage_bytes", Help: "Memory in use.", ConstLabels: podLabels})
	a := &App{stop: make(chan struct{}), done: make(chan struct{}), latency: 50 * time.Millisecond}
	restarts := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kube_pod_container_status_restarts_total", Help: "Container restarts.", ConstLabels: podLabels}, func() float64 {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.restarts
	})
	reg.MustRegister(requests, duration, cpu, memory, restarts)
	memory.Set(256 << 20)

	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start the metrics app: %w", err)
	}
	a.Addr = l.Addr().String()
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = a.srv.Serve(l) }()

	go func() {
		defer close(a.done)
		const tick = 10 * time.Millisecond
		t := time.NewTicker(tick)
		defer t.Stop()
		owed := 0.0
		for {
			select {
			case <-a.stop:
				return
			case <-t.C:
			}
			a.mu.Lock()
			errRatio, latency := a.errRatio, a.latency
			a.mu.Unlock()
			cpu.Add(0.25 * tick.Seconds()) // a quarter of a core
			for owed += o.Rate * tick.Seconds(); owed >= 1; owed-- {
				code := "200"
				if a.fails(errRatio) {
					code = "500"
				}
				requests.WithLabelValues(code).Inc()
				duration.Observe(latency.Seconds())
			}
		}
	}()
	return a, nil
}

// fails reports whether the next request fails. Errors are spread evenly
// (a ratio of 0.2 fails every fifth request), so short windows show them.
func (a *App) fails(ratio float64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sent++
	if a.failed < ratio*a.sent {
		a.failed++
		return true
	}
	return false
}

// Set changes the share of requests that fail with 500 and their latency.
func (a *App) Set(errRatio float64, latency time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errRatio, a.latency = errRatio, latency
	// Count afresh, or the new ratio would first make up for the old one.
	a.sent, a.failed = 0, 0
}

// Restart counts one more container restart.
func (a *App) Restart() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.restarts++
}

// Stop stops the generator and the server.
func (a *App) Stop() {
	close(a.stop)
	<-a.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		_ = a.srv.Close()
	}
}
