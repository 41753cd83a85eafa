package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	"github.com/spf13/cobra"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/human"
	"github.com/cutover-sh/cutover/prom"
)

type panelsOptions struct {
	set   []string
	once  bool
	width int
	color string
}

func newPanelsCmd(s streams) *cobra.Command {
	var o panelsOptions
	cmd := &cobra.Command{
		Use:   "panels PIPELINE",
		Short: "Print the pipeline's metrics panels, refreshed until interrupted",
		Long: `Query the pipeline's panels from its Prometheus and print each one's current
values and state (ok, warn, crit, no data, unavailable), once per refresh
interval (prometheus.refresh, default 5s). Without panels in the file, the
guide's six are shown: request rate, 5xx ratio, p50/p95 latency, CPU, memory
and restarts, narrowed to the namespace of the pipeline's blueGreen step.

A panel whose query fails is shown as unavailable with the error, never as 0.`,
		Example: `  cutover panels examples/claude-tiu/pipeline.yaml --once
  cutover panels pipeline.yaml --color green`,
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeYAML,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPanels(cmd.Context(), s, args[0], o)
		},
	}
	cmd.Flags().StringArrayVar(&o.set, "set", nil, "set a variable, KEY=VALUE (repeatable)")
	cmd.Flags().BoolVar(&o.once, "once", false, "print one refresh and exit")
	cmd.Flags().IntVar(&o.width, "width", 80, "points per series: the range query's step is chosen so the panel's span fits in this many")
	cmd.Flags().StringVar(&o.color, "color", "", "the color {{.Color}} and {{.Deployment}} stand for in panel queries")
	return cmd
}

func runPanels(ctx context.Context, s streams, path string, o panelsOptions) error {
	set, err := parseSet(o.set)
	if err != nil {
		return badInput(err)
	}
	lookup := spec.Vars(set, s.lookupEnv)
	p, err := spec.LoadFile(path, lookup)
	if err != nil {
		return badInput(err)
	}
	if p.Prometheus == nil || p.Prometheus.Address == "" {
		return badInput(fmt.Errorf("%s: panels need Prometheus: add prometheus: {address: https://...} at the top of the file", path))
	}
	_, secrets := p.Exports(set, lookup)
	mask := engine.NewMasker(secrets)
	c, err := prom.New(promConfig(*p.Prometheus))
	if err != nil {
		return err
	}
	vars := p.ReleaseVars()
	if o.color != "" {
		vars.Color = o.color
		if bg := p.BlueGreenSteps(); len(bg) > 0 {
			vars.Deployment = bg[0].BlueGreen.Target().Deployment(spec.Color(o.color))
		}
	}
	every := p.Prometheus.RefreshEvery()
	// A query slower than the refresh interval would only be overtaken by
	// the next one.
	b := prom.NewBoard(c, p.PanelSpecs(vars), p.Prometheus.Span(), min(every, 10*time.Second))
	if o.once {
		printPanels(s.out, b.Refresh(ctx, vars, time.Now(), o.width), mask)
		return nil
	}
	b.Run(ctx, every, func() int { return o.width }, func() spec.QueryVars { return vars }, func(d []engine.PanelData) {
		printPanels(s.out, d, mask)
	})
	return nil
}

// promConfig is how run and panels reach the pipeline's Prometheus.
func promConfig(ps spec.PrometheusSpec) prom.Config {
	return prom.Config{Address: ps.Address, BearerToken: ps.BearerToken, Username: ps.Username, Password: ps.Password, CAFile: ps.CAFile}
}

// printPanels writes one refresh: a line per panel with its state and the
// current value of each series.
func printPanels(w io.Writer, panels []engine.PanelData, mask *engine.Masker) {
	if len(panels) == 0 {
		return
	}
	_, _ = fmt.Fprintf(w, "%s panels (step %s)\n", panels[0].At.Format("15:04:05"), human.Duration(panels[0].Step))
	for _, d := range panels {
		var vals []string
		switch {
		case d.Err != nil:
			vals = append(vals, mask.String(d.Err.Error()))
		case len(d.Series) == 0:
			vals = append(vals, "the query returned no series")
		}
		for _, s := range d.Series {
			v := "no current value"
			if s.HasCurrent {
				v = d.Spec.Unit.Format(s.Current)
			}
			if s.Name != "" {
				v = s.Name + " " + v
			}
			vals = append(vals, v)
		}
		_, _ = fmt.Fprintf(w, "  %-18s %-11s %s\n", d.Spec.Title, strings.ToUpper(string(d.State)), strings.Join(vals, "  "))
	}
}
