package main

import (
	"context"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/kube"
	"github.com/cutover-sh/cutover/prom"
	"github.com/cutover-sh/cutover/tui"
)

// panelPoints is how many points a panel fetches for the console: its
// sparklines are at most this wide.
const panelPoints = 60

// runTUI runs the pipeline under the terminal console. The console stays
// up after the run ends, showing how it ended, until the person quits.
func runTUI(ctx context.Context, s streams, eng *engine.Engine, p *engine.Pipeline, actor engine.Actor, o *runOptions, contexts *kube.Contexts, secrets []string) error {
	keys, err := tui.LoadKeyMap(tui.ConfigPath(func(k string) string { v, _ := s.lookupEnv(k); return v }))
	if err != nil {
		return badInput(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rv := p.ReleaseVars()
	kubeContext := ""
	for _, st := range p.Stages {
		for _, step := range st.Steps {
			if b := step.BlueGreen; b != nil && kubeContext == "" {
				kubeContext = b.Context
			}
		}
	}
	var panels chan []engine.PanelData
	if p.Prometheus != nil {
		c, err := prom.New(promConfig(*p.Prometheus))
		if err != nil {
			return err
		}
		panels = make(chan []engine.PanelData, 1)
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
		vars := func() engine.QueryVars {
			v := eng.QueryVars()
			if v.Namespace == "" {
				return rv
			}
			return v
		}
		// The board stops when the console does (ctx), and closing the
		// channel then ends the console's wait on it.
		go func() {
			board.Run(ctx, every, func() int { return panelPoints }, vars, publish)
			close(panels)
		}()
	}
	_, _, mspec, _ := p.MaintenanceTarget()
	sub := eng.Subscribe(1 << 14)
	defer sub.Close()
	m := tui.New(tui.Options{
		Controller: eng, Events: sub, Panels: panels, Actor: actor,
		Image: rv.Release, KubeContext: kubeContext, Namespace: rv.Namespace,
		ReadOnly: o.readOnly, Keys: keys, MaintenancePage: mspec.Maintenance,
		PodDetail: func(ctx context.Context, namespace, pod string) (engine.PodDetail, error) {
			c, err := contexts.Open(kubeContext)
			if err != nil {
				return engine.PodDetail{}, err
			}
			return c.PodDetail(ctx, namespace, pod)
		},
	})

	var prog *tea.Program
	// A signal aborts the run, as in plain mode, and closes the console:
	// after SIGHUP there is no terminal to draw on.
	stopSignals := handleSignals(eng, actor, func() { prog.Quit() })
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
	// Bubble Tea finds the terminal itself (stdout, and /dev/tty for keys
	// when stdin is a pipe); cutover handles the signals. Thirty frames a
	// second at most: events are coalesced into them, and an idle console
	// measured 0.7-0.9% of a core at 30 against 1.1% at the default 60.
	prog = tea.NewProgram(m, tea.WithContext(ctx), tea.WithoutSignalHandler(), tea.WithFPS(30))
	if _, err := prog.Run(); err != nil {
		// The console is gone, and nobody watches the run any more.
		_ = eng.Abort(actor, fmt.Sprintf("the console failed: %v", err))
		r := <-done
		return fmt.Errorf("terminal UI: %w (run %s)", err, r.final.Status)
	}
	r := <-done
	if r.err != nil {
		return r.err
	}
	return exitFor(r.final, nil)
}
