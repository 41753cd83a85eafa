package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	toolswatch "k8s.io/client-go/tools/watch"
)

// Router stands in for kube-proxy in tests: kwok's pods are not processes,
// so it watches a Service's selector and forwards each request to the
// local process that plays the selected color. It lives in the test
// environment only.
type Router struct {
	// Addr is host:port on loopback.
	Addr string

	live     atomic.Pointer[string]
	proxies  map[string]*httputil.ReverseProxy
	srv      *http.Server
	cancel   context.CancelFunc
	done     chan struct{}
	unrouted atomic.Int64
}

// StartRouter serves on a free loopback port and routes to backends, a
// color (the Service selector's value of key) to host:port. It follows the
// Service until ctx ends or Stop is called.
func StartRouter(ctx context.Context, cs kubernetes.Interface, namespace, service, key string, backends map[string]string) (*Router, error) {
	ctx, cancel := context.WithCancel(ctx)
	r := &Router{proxies: map[string]*httputil.ReverseProxy{}, done: make(chan struct{}), cancel: cancel}
	for color, addr := range backends {
		r.proxies[color] = httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: addr})
	}
	svc, err := cs.CoreV1().Services(namespace).Get(ctx, service, metav1.GetOptions{})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("router: read service %s/%s: %w", namespace, service, err)
	}
	r.set(svc.Spec.Selector[key])
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		return nil, fmt.Errorf("router: listen: %w", err)
	}
	r.Addr = l.Addr().String()
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(l) }()

	// A retrying watch from the Service's resourceVersion: every selector
	// change is one event, and a dropped watch resumes where it was.
	sel := fields.OneTermEqualSelector("metadata.name", service).String()
	lw := &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return cs.CoreV1().Services(namespace).Watch(ctx, o)
		},
	}
	w, err := toolswatch.NewRetryWatcherWithContext(ctx, svc.ResourceVersion, lw)
	if err != nil {
		cancel()
		_ = r.srv.Close()
		return nil, fmt.Errorf("router: watch service %s/%s: %w", namespace, service, err)
	}
	go func() {
		defer close(r.done)
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.ResultChan():
				if !ok {
					return
				}
				if s, ok := ev.Object.(*corev1.Service); ok {
					r.set(s.Spec.Selector[key])
				}
			}
		}
	}()
	return r, nil
}

func (r *Router) set(color string) {
	r.live.Store(&color)
}

// Live is the color requests go to now.
func (r *Router) Live() string {
	if c := r.live.Load(); c != nil {
		return *c
	}
	return ""
}

// Unrouted counts requests that arrived while the Service selected a color
// with no backend: each would be an outage in a real cluster.
func (r *Router) Unrouted() int64 { return r.unrouted.Load() }

func (r *Router) serve(w http.ResponseWriter, req *http.Request) {
	color := r.Live()
	p, ok := r.proxies[color]
	if !ok {
		r.unrouted.Add(1)
		http.Error(w, fmt.Sprintf("the Service selects %q, which has no backend", color), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("X-Cutover-Color", color)
	p.ServeHTTP(w, req)
}

// Stop stops serving and waits for the watch to end.
func (r *Router) Stop() {
	r.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		_ = r.srv.Close()
	}
	<-r.done
}
