package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	"github.com/spf13/cobra"

	"github.com/cutover-sh/cutover/demo"
	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/kube"
	"github.com/cutover-sh/cutover/loadtest"
	"github.com/cutover-sh/cutover/proc"
	"github.com/cutover-sh/cutover/prom"
	"github.com/cutover-sh/cutover/webhook"
)

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
	w, err := demo.StartWorld(ctx, o.speed, o.badRelease)
	if err != nil {
		return err
	}
	defer w.Stop()
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("demo: find this program for its pipeline's steps: %w", err)
	}
	set := w.Vars(self)
	lookup := spec.Vars(set, s.lookupEnv)
	p, err := spec.Load("demo.yaml (built in)", demo.Pipeline, lookup)
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
		Clusters:    func(string) (engine.Cluster, error) { return w.Cluster, nil },
		Processes:   &proc.Runner{},
		LoadTester:  loadtest.Vegeta{},
		Webhooks:    webhook.Poster{},
		Metrics: func(ps spec.PrometheusSpec) (engine.Metrics, error) {
			return prom.New(promConfig(ps))
		},
	})
	if err != nil {
		return err
	}
	ro := &runOptions{plain: o.plain, output: o.output, readOnly: o.readOnly, autoApprove: !tuiOn, demo: true, journal: journal.Path(), summary: w.Summary}
	err = drive(ctx, s, eng, p, actor, ro, func(string) (*kube.Cluster, error) { return w.Cluster, nil }, secrets)
	if !tuiOn {
		_, _ = fmt.Fprintln(s.err, w.Summary())
	}
	return err
}

// newSampleAppCmd runs one sample app as a process, for the lab: the test
// environment starts a blue and a green one behind its router.
func newSampleAppCmd(s streams) *cobra.Command {
	o := demo.AppOptions{}
	cmd := &cobra.Command{
		Use:   "app",
		Short: "Serve one color of the demo's sample app on loopback",
		Long: `Serve one color of the demo's sample app: real HTTP requests on /, with the
given share failing with 500 and the given latency, and the deployment
guide's metrics on /metrics. It prints "listening on HOST:PORT" and serves
until interrupted. The lab's tests run a blue and a green one.`,
		Example: `  cutover demo app --color green --error-ratio 0.2`,
		Args:    args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			a, err := demo.StartApp(ctx, o)
			if err != nil {
				return badInput(err)
			}
			if _, err := fmt.Fprintf(s.out, "listening on %s\n", a.Addr); err != nil {
				return err
			}
			<-ctx.Done()
			a.Stop()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Listen, "listen", "127.0.0.1:0", "host:port to serve on")
	f.StringVar(&o.Service, "service", "claude-tiu-service", "the service label on its metrics")
	f.StringVar(&o.Namespace, "namespace", "production", "the namespace label on its metrics")
	f.StringVar(&o.Color, "color", "blue", "the color label on its metrics")
	f.StringVar(&o.Version, "version", "v1.4.1", "the version it answers with")
	f.Float64Var(&o.ErrRatio, "error-ratio", 0, "share of requests answered with 500, 0 to 1")
	f.DurationVar(&o.Latency, "latency", 40*time.Millisecond, "time each request takes, ±20%")
	return cmd
}

// newDemoToolCmd plays one of the guide's tools for the demo's pipeline.
func newDemoToolCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:       "tool NAME",
		Short:     "Print what one of the guide's tools prints, for the demo's steps",
		Hidden:    true,
		Args:      args(cobra.ExactArgs(1)),
		ValidArgs: demo.ToolNames(),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if !slices.Contains(demo.ToolNames(), argv[0]) {
				return badInput(fmt.Errorf("no demo tool %q; there are %s", argv[0], strings.Join(demo.ToolNames(), ", ")))
			}
			speed := 1.0
			if v, ok := s.lookupEnv("CUTOVER_DEMO_SPEED"); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f > 0 {
					speed = f
				}
			}
			tag, _ := s.lookupEnv("IMAGE_TAG")
			return demo.PlayTool(cmd.Context(), s.out, argv[0], speed, tag)
		},
	}
}
