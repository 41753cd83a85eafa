package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover-sh/cutover/demo"
	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/kube"
	"github.com/cutover-sh/cutover/prom"
)

// demoPipeline is the deployment guide's release of claude-tiu, as the
// demo runs it. Its delays and analysis intervals are variables, so that
// --speed can scale them.
//
//go:embed demo.yaml
var demoPipeline []byte

type demoOptions struct {
	plain, badRelease, readOnly bool
	output                      string
	speed                       float64
}

func newDemoCmd(s streams, g *globalOptions) *cobra.Command {
	o := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole release story on a simulated cluster",
		Long: `Run the deployment guide's pipeline for claude-tiu from code quality to a
blue-green switch in production, in about two minutes, with no cluster, no
Prometheus and no network: everything runs in this process, on loopback.

  - A simulated Kubernetes cluster, driven by the same code that drives a
    real one: pods go from Pending to Running to Ready as on a real node.
  - Blue (v1.4.1, live) and green (v1.4.2) sample apps answer real HTTP
    requests, and traffic goes to the color the Service selects.
  - An in-process Prometheus scrapes them; the panels and the analysis
    gates query it with the real PromQL engine.

On a terminal the console opens: press a to promote green when the gate
asks, r then y to roll back, ? for every key. --plain prints the event
stream instead, approves the gate itself, and exits with the release's
exit code: 0 released, 3 rolled back.

--bad-release makes green fail 20% of its requests: the post-promotion
analysis measures it, and cutover rolls back to blue by itself.`,
		Example: `  cutover demo
  cutover demo --bad-release
  cutover demo --plain --speed 10`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), s, g, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.plain, "plain", false, "print one timestamped line per event instead of the TUI")
	f.StringVarP(&o.output, "output", "o", "", "output format: json prints one JSON object per event")
	f.Float64Var(&o.speed, "speed", 1, "run the demo's delays this many times faster (1 to 20)")
	f.BoolVar(&o.badRelease, "bad-release", false, "green fails 20% of its requests, and the release rolls back")
	f.BoolVar(&o.readOnly, "readonly", false, "in the TUI, disable every key that changes something")
	cmd.AddCommand(newSampleAppCmd(s), newDemoToolCmd(s))
	return cmd
}

func runDemo(ctx context.Context, s streams, g *globalOptions, o *demoOptions) error {
	if o.speed < 1 || o.speed > 20 {
		return badInput(fmt.Errorf("--speed %g: choose from 1 to 20", o.speed))
	}
	if o.output != "" && o.output != "json" {
		return badInput(fmt.Errorf("--output %q: the only format is json", o.output))
	}
	kube.QuietLogs()
	w, err := startDemoWorld(ctx, o.speed, o.badRelease)
	if err != nil {
		return err
	}
	defer w.stop()
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("demo: find this program for its pipeline's steps: %w", err)
	}
	scaled := func(d, floor time.Duration) string {
		return max(time.Duration(float64(d)/o.speed), floor).Round(100 * time.Millisecond).String()
	}
	set := map[string]string{
		"CUTOVER_BIN":        self,
		"CUTOVER_DEMO_SPEED": strconv.FormatFloat(o.speed, 'f', -1, 64),
		"PROM_URL":           "http://" + w.prom.Addr,
		"STAGING_URL":        "http://" + w.staging.addr,
		"SLACK_WEBHOOK":      "http://" + w.recorder.addr + "/slack/T0DEMO/B0DEMO",
		// Analysis needs a scrape or two between rounds, whatever the
		// speed; Prometheus here scrapes twice a second.
		"ANALYSIS_INTERVAL": scaled(10*time.Second, 2*time.Second),
		"SCALE_DOWN_DELAY":  scaled(30*time.Second, time.Second),
		"LOAD_DURATION":     scaled(15*time.Second, 3*time.Second),
	}
	lookup := engine.Vars(set, s.lookupEnv)
	p, err := engine.Load("demo.yaml (built in)", demoPipeline, lookup)
	if err != nil {
		return fmt.Errorf("demo: its built-in pipeline: %w", err)
	}
	vars, secrets := p.Exports(set, lookup)
	dir, err := g.journalDir()
	if err != nil {
		return err
	}
	journal, err := engine.OpenJournal(dir)
	if err != nil {
		return err
	}
	defer func() { _ = journal.Close() }()
	actor := osActor(s.lookupEnv)
	tuiOn := o.output != "json" && !o.plain && s.outTTY
	eng, err := engine.New(engine.Config{
		Pipeline: p, Vars: vars, Secrets: secrets, Parallel: 4,
		Actor: actor, Journal: journal,
		// Off the console nobody is there to promote: the gate passes
		// itself, recorded as auto-approve.
		AutoApprove: !tuiOn,
		Clusters:    func(string) (engine.Cluster, error) { return w.cluster, nil },
		Metrics: func(ps engine.PrometheusSpec) (engine.Metrics, error) {
			return prom.New(promConfig(ps))
		},
	})
	if err != nil {
		return err
	}
	ro := &runOptions{plain: o.plain, output: o.output, readOnly: o.readOnly, autoApprove: !tuiOn, demo: true}
	err = drive(ctx, s, eng, p, actor, ro, func(string) (*kube.Cluster, error) { return w.cluster, nil }, secrets)
	if !tuiOn {
		_, _ = fmt.Fprintln(s.err, w.summary())
	}
	return err
}

// demoWorld is everything the demo's release acts on and is judged by.
type demoWorld struct {
	sim     *demo.Sim
	cluster *kube.Cluster
	target  engine.Target
	apps    map[string]*sampleApp // blue, green, maintenance
	staging *sampleApp
	prom    *demo.Local
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

func startDemoWorld(ctx context.Context, speed float64, bad bool) (w *demoWorld, err error) {
	w = &demoWorld{apps: map[string]*sampleApp{}, stopSim: make(chan struct{}), served: map[string]*atomic.Int64{"blue": {}, "green": {}, "maintenance": {}}}
	ctx, w.cancel = context.WithCancel(ctx)
	defer func() {
		if err != nil {
			w.stop()
		}
	}()
	w.sim, err = demo.NewSim(speed, uint64(time.Now().UnixNano()), demo.DemoObjects()...) //nolint:gosec // a seed, not a secret
	if err != nil {
		return w, err
	}
	w.cluster = kube.New(w.sim.Client())
	w.wg.Go(func() { w.sim.Run(w.stopSim) })
	if w.target, err = w.cluster.Resolve(ctx, engine.Target{Namespace: demoNS, Service: demoService, SelectorKey: "color"}); err != nil {
		return w, err
	}

	greenErrors := 0.0
	if bad {
		greenErrors = 0.2
	}
	for _, a := range []sampleAppOptions{
		{Color: "blue", Version: "v1.4.1", Latency: 40 * time.Millisecond},
		{Color: "green", Version: "v1.4.2", Latency: 35 * time.Millisecond, ErrRatio: greenErrors},
	} {
		a.Service, a.Namespace = demoService, demoNS
		a.Restarts = w.restarts(a.Color)
		if w.apps[a.Color], err = startSampleApp(ctx, a); err != nil {
			return w, err
		}
	}
	if w.apps["maintenance"], err = startSampleApp(ctx, sampleAppOptions{Service: demoService, Namespace: demoNS, Color: "maintenance", Version: "maintenance page", ErrRatio: 1}); err != nil {
		return w, err
	}
	if w.staging, err = startSampleApp(ctx, sampleAppOptions{Service: demoService, Namespace: "staging", Color: "staging", Version: "v1.4.2", Latency: 30 * time.Millisecond}); err != nil {
		return w, err
	}
	if w.recorder, err = startWebhookRecorder(ctx); err != nil {
		return w, err
	}
	var targets []demo.LocalTarget
	for _, a := range []*sampleApp{w.apps["blue"], w.apps["green"], w.staging} {
		targets = append(targets, demo.LocalTarget{Job: "claude-tiu", Addr: a.addr})
	}
	if w.prom, err = demo.StartLocal(ctx, demo.LocalOptions{Targets: targets, Interval: 500 * time.Millisecond}); err != nil {
		return w, err
	}
	w.wg.Go(func() { w.traffic(ctx) })
	return w, nil
}

// restarts sums the container restarts of a color's pods, as
// kube-state-metrics would export them.
func (w *demoWorld) restarts(color string) func() float64 {
	return func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		obs, err := w.cluster.Observe(ctx, w.target)
		if err != nil {
			return 0
		}
		n := 0.0
		for _, p := range obs.Color(engine.Color(color)).Pods {
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
func (w *demoWorld) traffic(ctx context.Context) {
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
		obs, err := w.cluster.Observe(ctx, w.target)
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
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+a.addr+"/", nil)
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

func (w *demoWorld) summary() string {
	return fmt.Sprintf("demo: users' requests served by blue %d, green %d, the maintenance page %d; %d not answered; %d Slack messages received",
		w.served["blue"].Load(), w.served["green"].Load(), w.served["maintenance"].Load(), w.failed.Load(), w.recorder.count.Load())
}

func (w *demoWorld) stop() {
	w.cancel()
	close(w.stopSim)
	w.wg.Wait()
	if w.prom != nil {
		w.prom.Stop()
	}
	for _, a := range append([]*sampleApp{w.staging}, w.apps["blue"], w.apps["green"], w.apps["maintenance"]) {
		if a != nil {
			a.stop()
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
