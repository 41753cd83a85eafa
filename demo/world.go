package demo

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	"github.com/cutover-sh/cutover/kube"
)

// Pipeline is the deployment guide's release of claude-tiu, as the demo
// runs it. Its delays and analysis intervals are variables, so that
// --speed can scale them (World.Vars).
//
//go:embed demo.yaml
var Pipeline []byte

// World is everything the demo's release acts on and is judged by.
type World struct {
	// Cluster is the simulated cluster, through the kube code that
	// drives a real one.
	Cluster *kube.Cluster

	sim     *Sim
	speed   float64
	target  spec.Target
	apps    map[string]*App // blue, green, maintenance
	staging *App
	prom    *Local
	// recorder stands in for Slack's webhook.
	recorder *webhookRecorder

	cancel  context.CancelFunc
	stopSim chan struct{}
	wg      sync.WaitGroup
	served  map[string]*atomic.Int64
	failed  atomic.Int64
}

const (
	demoNS      = "production"
	demoService = "claude-tiu-service"
)

// StartWorld starts the world, its delays divided by speed; with bad,
// green fails a fifth of its requests. It runs until ctx is done or Stop.
func StartWorld(ctx context.Context, speed float64, bad bool) (w *World, err error) {
	w = &World{speed: speed, apps: map[string]*App{}, stopSim: make(chan struct{}), served: map[string]*atomic.Int64{"blue": {}, "green": {}, "maintenance": {}}}
	ctx, w.cancel = context.WithCancel(ctx)
	defer func() {
		if err != nil {
			w.Stop()
		}
	}()
	w.sim, err = NewSim(speed, uint64(time.Now().UnixNano()), Objects()...) //nolint:gosec // a seed, not a secret
	if err != nil {
		return w, err
	}
	w.Cluster = kube.New(w.sim.Client())
	w.wg.Go(func() { w.sim.Run(w.stopSim) })
	if w.target, err = w.Cluster.Resolve(ctx, spec.Target{Namespace: demoNS, Service: demoService, SelectorKey: "color"}); err != nil {
		return w, err
	}

	greenErrors := 0.0
	if bad {
		greenErrors = 0.2
	}
	for _, a := range []AppOptions{
		{Color: "blue", Version: "v1.4.1", Latency: 40 * time.Millisecond},
		{Color: "green", Version: "v1.4.2", Latency: 35 * time.Millisecond, ErrRatio: greenErrors},
	} {
		a.Service, a.Namespace = demoService, demoNS
		a.Restarts = w.restarts(a.Color)
		if w.apps[a.Color], err = StartApp(ctx, a); err != nil {
			return w, err
		}
	}
	if w.apps["maintenance"], err = StartApp(ctx, AppOptions{Service: demoService, Namespace: demoNS, Color: "maintenance", Version: "maintenance page", ErrRatio: 1}); err != nil {
		return w, err
	}
	if w.staging, err = StartApp(ctx, AppOptions{Service: demoService, Namespace: "staging", Color: "staging", Version: "v1.4.2", Latency: 30 * time.Millisecond}); err != nil {
		return w, err
	}
	if w.recorder, err = startWebhookRecorder(ctx); err != nil {
		return w, err
	}
	var targets []LocalTarget
	for _, a := range []*App{w.apps["blue"], w.apps["green"], w.staging} {
		targets = append(targets, LocalTarget{Job: "claude-tiu", Addr: a.Addr})
	}
	if w.prom, err = StartLocal(ctx, LocalOptions{Targets: targets, Interval: 500 * time.Millisecond}); err != nil {
		return w, err
	}
	w.wg.Go(func() { w.traffic(ctx) })
	return w, nil
}

// restarts sums the container restarts of a color's pods, as
// kube-state-metrics would export them.
func (w *World) restarts(color string) func() float64 {
	return func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		obs, err := w.Cluster.Observe(ctx, w.target)
		if err != nil {
			return 0
		}
		n := 0.0
		for _, p := range obs.Color(spec.Color(color)).Pods {
			n += float64(p.Restarts)
		}
		return n
	}
}

// traffic is the service's users: 20 requests a second to the color the
// Service selects, read from the cluster before each request, as
// kube-proxy would route them; and, as a preview Service would carry, a
// smoke request every quarter second to the other color once it has Ready
// pods, so that pre-promotion analysis has something to judge.
func (w *World) traffic(ctx context.Context) {
	client := &http.Client{Timeout: 5 * time.Second}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	var inflight sync.WaitGroup
	defer inflight.Wait()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		obs, err := w.Cluster.Observe(ctx, w.target)
		if err != nil {
			continue
		}
		live := string(obs.Service.Live)
		colors := []string{live}
		if other := obs.Service.Live.Other(); other.Valid() && n%5 == 0 {
			if c := obs.Color(other); c.Replicas > 0 && c.Ready > 0 {
				colors = append(colors, string(other))
			}
		}
		for _, c := range colors {
			a := w.apps[c]
			if a == nil {
				continue
			}
			inflight.Go(func() {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+a.Addr+"/", nil)
				if err != nil {
					return
				}
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						w.failed.Add(1)
					}
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if c == live {
					w.served[c].Add(1)
				}
			})
		}
	}
}

// Vars are the pipeline's variables: where the world's parts listen, the
// program its steps run (self), and its delays at the world's speed.
func (w *World) Vars(self string) map[string]string {
	scaled := func(d, floor time.Duration) string {
		return max(time.Duration(float64(d)/w.speed), floor).Round(100 * time.Millisecond).String()
	}
	return map[string]string{
		"CUTOVER_BIN":        self,
		"CUTOVER_DEMO_SPEED": strconv.FormatFloat(w.speed, 'f', -1, 64),
		"PROM_URL":           "http://" + w.prom.Addr,
		"STAGING_URL":        "http://" + w.staging.Addr,
		"SLACK_WEBHOOK":      "http://" + w.recorder.addr + "/slack/T0DEMO/B0DEMO",
		// Analysis needs a scrape or two between rounds, whatever the
		// speed; Prometheus here scrapes twice a second.
		"ANALYSIS_INTERVAL": scaled(10*time.Second, 2*time.Second),
		"SCALE_DOWN_DELAY":  scaled(30*time.Second, time.Second),
		"LOAD_DURATION":     scaled(15*time.Second, 3*time.Second),
	}
}

// Summary is what the users saw: the requests each color served, those
// not answered, and the Slack messages received.
func (w *World) Summary() string {
	return fmt.Sprintf("demo: users' requests served by blue %d, green %d, the maintenance page %d; %d not answered; %d Slack messages received",
		w.served["blue"].Load(), w.served["green"].Load(), w.served["maintenance"].Load(), w.failed.Load(), w.recorder.count.Load())
}

// Stop stops everything StartWorld started and waits for it.
func (w *World) Stop() {
	w.cancel()
	close(w.stopSim)
	w.wg.Wait()
	if w.prom != nil {
		w.prom.Stop()
	}
	for _, a := range append([]*App{w.staging}, w.apps["blue"], w.apps["green"], w.apps["maintenance"]) {
		if a != nil {
			a.Stop()
		}
	}
	if w.recorder != nil {
		w.recorder.stop()
	}
}

// webhookRecorder accepts webhook posts on loopback and counts them.
type webhookRecorder struct {
	addr  string
	srv   *http.Server
	count atomic.Int64
}

func startWebhookRecorder(ctx context.Context) (*webhookRecorder, error) {
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("webhook recorder: %w", err)
	}
	r := &webhookRecorder{addr: l.Addr().String()}
	r.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		r.count.Add(1)
		_, _ = io.WriteString(rw, "ok")
	})}
	go func() { _ = r.srv.Serve(l) }()
	return r, nil
}

func (r *webhookRecorder) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		_ = r.srv.Close()
	}
}
