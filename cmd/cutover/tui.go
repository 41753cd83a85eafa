package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
	"github.com/cutover-sh/cutover/sanitize"

	tea "charm.land/bubbletea/v2"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/human"
	"github.com/cutover-sh/cutover/kube"
	"github.com/cutover-sh/cutover/prom"
	"github.com/cutover-sh/cutover/tui"
)

// runTUI runs the pipeline under the terminal console. The console stays
// up after the run ends, showing how it ended, until the person quits.
func runTUI(ctx context.Context, s streams, eng *engine.Engine, p *spec.Pipeline, actor engine.Actor, o *runOptions, open func(string) (*kube.Cluster, error), secrets []string) error {
	keys, err := tui.LoadKeyMap(tui.ConfigPath(func(k string) string { v, _ := s.lookupEnv(k); return v }))
	if err != nil {
		return badInput(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	kubeContext := releaseContext(p)
	if o.demo {
		kubeContext = "simulated"
	}
	// How many points a panel can draw: the console says, as the terminal
	// is resized; until it does, a sparkline's widest.
	var points atomic.Int64
	points.Store(40)
	panels, err := panelFeed(ctx, p, eng, secrets, &points)
	if err != nil {
		return err
	}
	sub := eng.Subscribe(1 << 14)
	defer sub.Close()
	opts := consoleOptions(p, eng, open)
	opts.Events, opts.Panels, opts.Actor, opts.KubeContext = sub, panels, actor, kubeContext
	opts.ReadOnly, opts.Demo, opts.Keys = o.readOnly, o.demo, keys
	opts.PanelPoints = func(n int) { points.Store(int64(n)) }
	m := tui.New(opts)

	// Bubble Tea finds the terminal itself (stdout, and /dev/tty for keys
	// when stdin is a pipe); cutover handles the signals. Thirty frames a
	// second at most: events are coalesced into them, and an idle console
	// measured 0.7-0.9% of a core at 30 against 1.1% at the default 60.
	// The program exists before the signal handler that quits it.
	prog := tea.NewProgram(m, tea.WithContext(ctx), tea.WithoutSignalHandler(), tea.WithFPS(30))
	// A signal aborts the run, as in plain mode, and closes the console:
	// after SIGHUP there is no terminal to draw on.
	stopSignals := handleSignals(eng, actor, prog.Quit)
	defer stopSignals()
	type result struct {
		final engine.Snapshot
		err   error
	}
	done := make(chan result, 1)
	go func() {
		final, err := eng.Run(ctx)
		done <- result{final, err}
	}()
	if _, err := prog.Run(); err != nil {
		// The console is gone, and nobody watches the run any more.
		_ = eng.Abort(actor, fmt.Sprintf("the console failed: %v", err))
		r := <-done
		return fmt.Errorf("terminal UI: %w (run %s)", err, r.final.Status)
	}
	var r result
	select {
	case r = <-done:
	default:
		// The console quit with the run in flight, after asking to
		// abort it: say why the terminal waits.
		_, _ = fmt.Fprintf(s.err, "cutover: stopping the run (running steps get SIGTERM, then SIGKILL after %s)...\n", eng.Snapshot().KillGrace)
		r = <-done
	}
	if r.err != nil {
		return r.err
	}
	err = exitFor(r.final, nil)
	finalState(s.out, r.final, o, err)
	return err
}

// finalState is what the console leaves on the terminal once it closes:
// how the run ended and its exit code, what each release's Service serves
// now, why it failed, what the demo's users saw, and where the journal is.
func finalState(w io.Writer, snap engine.Snapshot, o *runOptions, err error) {
	code := exitOK
	if ee, ok := errors.AsType[*exitError](err); ok {
		code = ee.code
	}
	lines := []string{fmt.Sprintf("cutover: run %s of %s %s in %s (exit %d)", snap.Run, snap.Pipeline, snap.Status, human.Duration(snap.Finished.Sub(snap.Started)), code)}
	for _, st := range snap.Stages {
		for _, step := range st.Steps {
			if step.Status == engine.StatusFailed && step.Reason != "" {
				lines = append(lines, fmt.Sprintf("  failed: %s/%s: %s", st.Name, step.Name, step.Reason))
			}
			r := step.Release
			if r == nil || r.Observed == nil || r.Service == "" {
				continue
			}
			live := r.Observed.Service.Live
			cs := r.Observed.Color(live)
			lines = append(lines, fmt.Sprintf("  %s serves %s: %s, %d/%d Ready", r.Service, live, imagesOf(cs), cs.Ready, cs.Replicas))
		}
	}
	if o.summary != nil {
		lines = append(lines, "  "+o.summary())
	}
	if o.journal != "" {
		lines = append(lines, "  journal: "+o.journal)
	}
	for _, l := range lines {
		_, _ = fmt.Fprintln(w, sanitize.Line(l))
	}
}

// imagesOf is a color's images, sorted, joined.
func imagesOf(cs engine.ColorState) string {
	return strings.Join(slices.Sorted(maps.Values(cs.Images)), ",")
}

// panelFeed runs the pipeline's panels board until ctx ends, and closes
// the channel then; it is nil when the pipeline has no Prometheus. points
// is how many points a panel can draw.
func panelFeed(ctx context.Context, p *spec.Pipeline, eng *engine.Engine, secrets []string, points *atomic.Int64) (chan []engine.PanelData, error) {
	if p.Prometheus == nil {
		return nil, nil
	}
	c, err := prom.New(promConfig(*p.Prometheus))
	if err != nil {
		return nil, err
	}
	rv := p.ReleaseVars()
	panels := make(chan []engine.PanelData, 1)
	every := p.Prometheus.RefreshEvery()
	board := prom.NewBoard(c, p.PanelSpecs(rv), p.Prometheus.Span(), min(every, 10*time.Second))
	mask := engine.NewMasker(secrets)
	publish := func(d []engine.PanelData) {
		for i := range d {
			if d[i].Err != nil {
				d[i].Err = fmt.Errorf("%s", mask.String(d[i].Err.Error()))
			}
		}
		// The console wants the latest refresh, not every one: a
		// refresh it has not taken yet is replaced.
		select {
		case <-panels:
		default:
		}
		panels <- d
	}
	vars := func() spec.QueryVars {
		v := eng.QueryVars()
		if v.Namespace == "" {
			return rv
		}
		return v
	}
	// The board stops when the console does (ctx), and closing the
	// channel then ends the console's wait on it.
	go func() {
		board.Run(ctx, every, func() int { return int(points.Load()) }, vars, publish)
		close(panels)
	}()
	return panels, nil
}

// consoleOptions are what every console of a run shows the same way, in a
// terminal or over SSH: the run's engine, the header's image, context and
// namespace, the maintenance page, and pods read from the release's
// cluster when a person opens one.
func consoleOptions(p *spec.Pipeline, eng *engine.Engine, open func(string) (*kube.Cluster, error)) tui.Options {
	rv := p.ReleaseVars()
	_, _, mspec, _ := p.MaintenanceTarget()
	kubeContext := releaseContext(p)
	return tui.Options{
		Controller: eng, Image: rv.Release, KubeContext: kubeContext, Namespace: rv.Namespace, MaintenancePage: mspec.Maintenance,
		PodDetail: func(ctx context.Context, namespace, pod string) (engine.PodDetail, error) {
			c, err := open(kubeContext)
			if err != nil {
				return engine.PodDetail{}, err
			}
			return c.PodDetail(ctx, namespace, pod)
		},
	}
}

// releaseContext is the kubeconfig context of the pipeline's first
// blue-green step: the cluster the console's header names.
func releaseContext(p *spec.Pipeline) string {
	if bg := p.BlueGreenSteps(); len(bg) > 0 {
		return bg[0].BlueGreen.Context
	}
	return ""
}
