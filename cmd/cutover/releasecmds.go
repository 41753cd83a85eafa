package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	"github.com/spf13/cobra"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/human"
	"github.com/cutover-sh/cutover/kube"
)

// pairFlags name a blue-green pair, by flags or from a pipeline file.
type pairFlags struct {
	blue, green, selectorKey string
	pipeline                 string
	// maintenance is the selector value of the maintenance page, from
	// the pipeline file.
	maintenance string
}

func (f *pairFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.pipeline, "pipeline", "f", "", "take the context, namespace and names from this pipeline file's blueGreen step for SERVICE")
	cmd.Flags().StringVar(&f.blue, "blue", "", "the blue Deployment (default: as the Service's cutover.dev/blue-deployment annotation says, else <service>-blue without a -service suffix)")
	cmd.Flags().StringVar(&f.green, "green", "", "the green Deployment (default: the cutover.dev/green-deployment annotation, else <service>-green)")
	cmd.Flags().StringVar(&f.selectorKey, "selector-key", spec.DefaultSelectorKey, "the Service selector label that names the live color")
}

// pair resolves the Service argument, the namespace and the cluster.
func (g *globalOptions) pair(ctx context.Context, s streams, service string, f *pairFlags) (spec.Target, *kube.Cluster, error) {
	if f.pipeline != "" {
		return g.pairFromPipeline(s, service, f)
	}
	ns, _, err := g.kube.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return spec.Target{}, nil, badInput(fmt.Errorf("find the namespace: %w", err))
	}
	t := spec.Target{Namespace: ns, Service: service, SelectorKey: f.selectorKey, Blue: f.blue, Green: f.green}
	cl, err := g.contexts().Open("")
	if err != nil {
		return t, nil, err
	}
	// Flags win, then the names the last switch wrote on the Service, then
	// the convention.
	if t, err = cl.Resolve(ctx, t); err != nil {
		return t, nil, err
	}
	return t, cl, nil
}

// pairFromPipeline finds SERVICE's blueGreen step in the pipeline file, so
// that an emergency command needs no names typed in.
func (g *globalOptions) pairFromPipeline(s streams, service string, f *pairFlags) (spec.Target, *kube.Cluster, error) {
	// Variables the file uses but the shell does not set read as
	// placeholders: only the names matter here.
	lookup := func(k string) (string, bool) {
		if v, ok := s.lookupEnv(k); ok {
			return v, true
		}
		return "${" + k + "}", true
	}
	p, err := spec.LoadFile(f.pipeline, lookup)
	if err != nil {
		return spec.Target{}, nil, badInput(err)
	}
	var found []*spec.BlueGreenSpec
	for _, r := range p.BlueGreenSteps() {
		if r.BlueGreen.Service == service {
			found = append(found, r.BlueGreen)
		}
	}
	if len(found) != 1 {
		return spec.Target{}, nil, badInput(fmt.Errorf("%s has %d blueGreen steps for service %s; want exactly one", f.pipeline, len(found), service))
	}
	b := found[0]
	f.maintenance = b.Maintenance
	t := b.Target()
	if *g.kube.Namespace != "" && *g.kube.Namespace != t.Namespace {
		return t, nil, badInput(fmt.Errorf("-n %s, but %s puts service %s in namespace %s", *g.kube.Namespace, f.pipeline, service, t.Namespace))
	}
	ctxName := b.Context
	if *g.kube.Context != "" {
		ctxName = *g.kube.Context
	}
	cl, err := g.contexts().Open(ctxName)
	if err != nil {
		return t, nil, err
	}
	return t, cl, nil
}

// statusView is `cutover status -o json`.
type statusView struct {
	Service   string              `json:"service"`
	Selector  string              `json:"selectorKey"`
	Live      spec.Color          `json:"live"`
	Last      engine.ReleaseMark  `json:"lastSwitch"`
	Colors    map[spec.Color]view `json:"colors"`
	Lock      *kube.LockState     `json:"lock,omitempty"`
	CheckedAt time.Time           `json:"checkedAt"`
}

type view = *engine.ColorState

func newStatusCmd(s streams, g *globalOptions) *cobra.Command {
	var f pairFlags
	var output string
	cmd := &cobra.Command{
		Use:   "status SERVICE",
		Short: "Show where a release stands, read from the cluster alone",
		Long: `Show the live color of a blue-green Service, both colors' images and
readiness, each pod's state, the last switch (from the Service's cutover.dev/*
annotations) and who holds the release lock. No pipeline file is needed.`,
		Example: `  cutover status claude-tiu-service -n production
  cutover status claude-tiu-service -n production -o json`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if output != "" && output != "json" {
				return badInput(fmt.Errorf("--output %q: want json", output))
			}
			t, cl, err := g.pair(cmd.Context(), s, a[0], &f)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			obs, err := cl.Observe(ctx, t)
			if err != nil {
				return err
			}
			lock, err := cl.ReadLock(ctx, t)
			if err != nil {
				return err
			}
			v := statusView{
				Service: t.String(), Selector: t.SelectorKey, Live: obs.Service.Live, Last: obs.Service.Release,
				Colors: obs.Colors, Lock: lock, CheckedAt: time.Now().UTC(),
			}
			if output == "json" {
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			return printStatus(s.out, v)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json")
	return cmd
}

func printStatus(w io.Writer, v statusView) error {
	_, _ = fmt.Fprintf(w, "Service %s: live color %s\n", v.Service, strings.ToUpper(string(v.Live)))
	if m := v.Last; !m.SwitchedAt.IsZero() {
		_, _ = fmt.Fprintf(w, "Last switch: %s -> %s at %s (%s ago) by %s, release %s\n", orDash(string(m.Previous)), v.Live,
			m.SwitchedAt.UTC().Format(time.RFC3339), human.Duration(time.Since(m.SwitchedAt)), orDash(m.SwitchedBy), orDash(m.Release))
	} else {
		_, _ = fmt.Fprintln(w, "Last switch: none recorded (no cutover.dev annotations)")
	}
	switch l := v.Lock; {
	case l == nil || l.Holder == "":
		_, _ = fmt.Fprintln(w, "Release lock: free")
	case l.Expired:
		_, _ = fmt.Fprintf(w, "Release lock: expired, last held by %s (renewed %s ago)\n", l.Holder, human.Duration(time.Since(l.RenewedAt)))
	default:
		_, _ = fmt.Fprintf(w, "Release lock: held by %s since %s\n", l.Holder, l.Since.UTC().Format(time.RFC3339))
	}
	_, _ = fmt.Fprintln(w)
	var rows [][]string
	for _, c := range []spec.Color{spec.Blue, spec.Green} {
		st := v.Colors[c]
		name := string(c)
		if c == v.Live {
			name += " (live)"
		}
		if st == nil || !st.Exists {
			deployment := "?"
			if st != nil {
				deployment = st.Deployment
			}
			rows = append(rows, []string{name, deployment, "not found", "", "", "", ""})
			continue
		}
		var images []string
		for _, k := range slices.Sorted(mapsKeys(st.Images)) {
			images = append(images, k+"="+st.Images[k])
		}
		rows = append(rows, []string{name, st.Deployment, fmt.Sprintf("%d/%d", st.Ready, st.Replicas), fmt.Sprint(st.Updated), fmt.Sprint(st.Available),
			orDash(st.Revision), strings.Join(images, ",")})
	}
	if err := writeTable(w, []string{"COLOR", "DEPLOYMENT", "READY", "UP-TO-DATE", "AVAILABLE", "REVISION", "IMAGES"}, rows, 3, 4); err != nil {
		return err
	}
	_, _ = fmt.Fprintln(w)
	rows = nil
	for _, c := range []spec.Color{spec.Blue, spec.Green} {
		st := v.Colors[c]
		if st == nil {
			continue
		}
		for _, p := range st.Pods {
			ready := "no"
			if p.Ready {
				ready = "yes"
			}
			rows = append(rows, []string{p.Name, string(c), p.Phase, ready, fmt.Sprint(p.Restarts), human.Duration(p.Age), orDash(p.Node), orDash(p.Reason)})
		}
	}
	return writeTable(w, []string{"POD", "COLOR", "PHASE", "READY", "RESTARTS", "AGE", "NODE", "REASON"}, rows, 4, 5)
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// switchOptions are what rollback and promote share.
type switchOptions struct {
	pair     pairFlags
	reason   string
	yes      bool
	replicas int32
	// explicitTo is set when the person named the color (--to).
	explicitTo bool
}

func newRollbackCmd(s streams, g *globalOptions) *cobra.Command {
	var o switchOptions
	var to string
	var complete bool
	cmd := &cobra.Command{
		Use:   "rollback SERVICE",
		Short: "Switch traffic back to the previous color",
		Long: `Switch a blue-green Service back to the previous color, read from its
cutover.dev/previous-color annotation (or the other color, or --to).

The Service is never pointed at a color without Ready pods: if the previous
color still has Ready pods the switch is one patch; if it was scaled down, it
is scaled up first (to the live color's replica count, or --replicas) and
the switch waits until its pods are Ready. No pipeline file is needed.

On a terminal it asks for confirmation; --yes skips that for scripts. The
rollback and its reason are written to the audit journal.`,
		Example: `  cutover rollback claude-tiu-service -n production --reason "error rate 12% after v1.4.2"
  cutover rollback claude-tiu-service -n production --reason "p95 4s" --yes`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if strings.TrimSpace(o.reason) == "" {
				return badInput(errors.New("--reason is required: say why, for the audit journal and the next on-call"))
			}
			target := spec.Color(to)
			if to != "" && !target.Valid() {
				return badInput(fmt.Errorf("--to %q: want blue or green", to))
			}
			if complete {
				return completeRollback(cmd.Context(), s, g, a[0], o)
			}
			o.explicitTo = target != ""
			return switchCmd(cmd.Context(), s, g, a[0], o, "rollback", func(t spec.Target, obs engine.Observation) (spec.Color, error) {
				if target != "" {
					return target, nil
				}
				return engine.RollbackTarget(t, obs)
			})
		},
	}
	o.add(cmd)
	cmd.Flags().StringVar(&to, "to", "", "the color to roll back to (default: the previous one)")
	cmd.Flags().BoolVar(&complete, "complete", false, "the guide's complete rollback: restore each color's previous revision (kubectl rollout undo); traffic stays where it is")
	return cmd
}

// completeRollback undoes both colors' Deployments to their previous
// revision and waits for them to roll out. The Service is not touched.
func completeRollback(ctx context.Context, s streams, g *globalOptions, service string, o switchOptions) error {
	t, cl, err := g.pair(ctx, s, service, &o.pair)
	if err != nil {
		return err
	}
	plan := fmt.Sprintf("Restore the previous revision of %s and %s (kubectl rollout undo of both)?", t.Blue, t.Green)
	if err := confirmPlan(s, "rollback --complete", t, &o, plan); err != nil {
		return err
	}
	actor := osActor(s.lookupEnv)
	journal, err := g.openJournal()
	if err != nil {
		return err
	}
	defer func() { _ = journal.Close() }()
	var errs []error
	for _, c := range []spec.Color{spec.Blue, spec.Green} {
		name := t.Deployment(c)
		from, to, err := cl.Undo(ctx, t.Namespace, name)
		if err == nil {
			err = cl.WaitDeployment(ctx, t.Namespace, name, nil)
		}
		rec := engine.Record{Type: engine.RecUndo, Actor: &actor, Service: t.String(), To: c, Reason: o.reason}
		if err == nil {
			rec.Release = fmt.Sprintf("%s revision %d -> %d", name, from, to)
			_, _ = fmt.Fprintf(s.out, "%s: revision %d restored (was %d) and rolled out.\n", name, to, from)
		}
		if err := journalSwitch(journal, rec, err); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func newPromoteCmd(s streams, g *globalOptions) *cobra.Command {
	var o switchOptions
	cmd := &cobra.Command{
		Use:   "promote SERVICE",
		Short: "Switch traffic to the color that is not live, now",
		Long: `Switch a blue-green Service to the color that is not live, once every one of
that color's replicas is Ready. Use it when a release's preview has been
checked by hand. A release running in another console sees the Service
change and stops without overwriting it.`,
		Example: `  cutover promote claude-tiu-service -n production --reason "preview checked by hand"`,
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if strings.TrimSpace(o.reason) == "" {
				return badInput(errors.New("--reason is required: say why, for the audit journal"))
			}
			return switchCmd(cmd.Context(), s, g, a[0], o, "promote", func(t spec.Target, obs engine.Observation) (spec.Color, error) {
				to := obs.Service.Live.Other()
				if !to.Valid() {
					return to, fmt.Errorf("promote service %s: it selects %s=%q, and there is no blue or green to switch to", t, t.SelectorKey, obs.Service.Live)
				}
				return to, nil
			})
		},
	}
	o.add(cmd)
	return cmd
}

func (o *switchOptions) add(cmd *cobra.Command) {
	o.pair.add(cmd)
	cmd.Flags().StringVar(&o.reason, "reason", "", "why (required; written to the audit journal)")
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().Int32Var(&o.replicas, "replicas", 0, "replicas for a scaled-down color (default: the live color's)")
}

// switchCmd moves a Service to the color pick chooses, once the person
// agreed to the engine's plan for it: rollback and promote differ in that
// choice and in what the plan requires.
func switchCmd(ctx context.Context, s streams, g *globalOptions, service string, o switchOptions, verb string,
	pick func(spec.Target, engine.Observation) (spec.Color, error)) error {
	t, cl, err := g.pair(ctx, s, service, &o.pair)
	if err != nil {
		return err
	}
	obs, err := cl.Observe(ctx, t)
	if err != nil {
		return err
	}
	to, err := pick(t, obs)
	if err != nil {
		return err
	}
	plan := engine.PlanRollback(t.String(), obs, to, engine.RollbackReplicas(obs, to, o.replicas))
	if verb == "promote" {
		plan = engine.PlanPromote(t.String(), obs, to)
	}
	switch plan.Effect {
	case engine.EffectNothing:
		_, _ = fmt.Fprintln(s.out, plan)
		return nil
	case engine.EffectRefused:
		return fmt.Errorf("%s service %s to %s: %s", verb, t, to, plan.Reason)
	}
	if verb == "rollback" && !o.explicitTo {
		// Mid-release, the previous-color annotation may name the preview
		// being rebuilt: make the person say which color they mean.
		if l, err := cl.ReadLock(ctx, t); err == nil && l != nil && l.Holder != "" && !l.Expired && !l.Aborted {
			return badInput(fmt.Errorf("rollback of %s: a release is in progress (lock held by %s); "+
				"stop it with `cutover abort` or type `rollback REASON` in its console, or name the color here with --to", t, l.Holder))
		}
	}
	if err := confirmPlan(s, verb, t, &o, plan.String()); err != nil {
		return err
	}
	actor := osActor(s.lookupEnv)
	from, start := obs.Service.Live, time.Now()
	h := engine.ReleaseHooks{
		Actor: actor, Clock: engine.RealClock{},
		Observed: func(_ engine.Release, obs engine.Observation, act engine.Action) {
			if act.Kind != engine.ActNone {
				c := obs.Color(to)
				_, _ = fmt.Fprintf(s.out, "%s: %s %s (%s %d/%d Ready)\n", human.Duration(time.Since(start)), act.Kind, to, c.Deployment, c.Ready, c.Replicas)
			}
		},
		Retrying: func(err error) { _, _ = fmt.Fprintln(s.err, "retrying:", err) },
	}
	journal, err := g.openJournal()
	if err != nil {
		return err
	}
	defer func() { _ = journal.Close() }()
	typ, done := engine.RecRollback, spec.Color("")
	if verb == "promote" {
		typ = engine.RecPromote
		done, err = engine.RunPromote(ctx, cl, t, to, obs.Service.Version, h)
	} else {
		done, err = engine.RunRollback(ctx, cl, t, engine.RollbackOptions{To: to, Replicas: o.replicas, Version: obs.Service.Version}, h)
	}
	if err := journalSwitch(journal, engine.Record{Type: typ, Actor: &actor, Service: t.String(), From: from, To: done, Reason: o.reason, Duration: time.Since(start)}, err); err != nil {
		return err
	}
	_, _ = fmt.Fprintf(s.out, "Service %s now selects %s (was %s); %s took %s.\n", t, done, from, verb, human.Duration(time.Since(start)))
	return nil
}

// confirmPlan shows a person what a command will do, and asks them to type
// yes, unless --yes said it already.
func confirmPlan(s streams, verb string, t spec.Target, o *switchOptions, plan string) error {
	if o.yes {
		return nil
	}
	if !s.inTTY {
		return badInput(fmt.Errorf("%s service %s: not a terminal, so cannot ask; pass --yes to confirm", verb, t))
	}
	_, _ = fmt.Fprintf(s.out, "%s\nReason: %s\nType yes to go on: ", plan, o.reason)
	line, _ := bufio.NewReader(s.in).ReadString('\n')
	if strings.TrimSpace(strings.ToLower(line)) != "yes" {
		return &exitError{code: exitAborted, err: errors.New("not confirmed; nothing was changed")}
	}
	return nil
}

// journalSwitch records how an action outside a pipeline went (a switch,
// an undo, a scale-down), and returns its error, or the journal's.
func journalSwitch(journal *engine.Journal, rec engine.Record, err error) error {
	if err != nil {
		rec.Status, rec.Reason = engine.StatusFailed, rec.Reason+"; failed: "+err.Error()
	} else {
		rec.Status = engine.StatusSucceeded
	}
	if jerr := appendCLI(journal, rec); jerr != nil {
		return errors.Join(err, jerr)
	}
	return err
}

// maintenance switches a Service to its maintenance page, or back, as the
// console's m does: under the release lock (engine.SwitchMaintenance).
func maintenance(ctx context.Context, s streams, g *globalOptions, service string, o *switchOptions, on bool, page func(*pairFlags) (spec.Color, error)) error {
	t, cl, err := g.pair(ctx, s, service, &o.pair)
	if err != nil {
		return err
	}
	p, err := page(&o.pair)
	if err != nil {
		return err
	}
	obs, err := cl.Observe(ctx, t)
	if err != nil {
		return err
	}
	plan := fmt.Sprintf("Point %s at the maintenance page (%s=%s), once those pods are Ready.", t, t.SelectorKey, p)
	switch {
	case on && obs.Service.Live == p:
		_, _ = fmt.Fprintf(s.out, "Service %s already serves the maintenance page; nothing to do.\n", t)
		return nil
	case !on && obs.Service.Live != p:
		_, _ = fmt.Fprintf(s.out, "Service %s is not in maintenance: it serves %s; nothing to do.\n", t, obs.Service.Live)
		return nil
	case !on:
		back := obs.Service.Release.Previous
		plan = engine.PlanRollback(t.String(), obs, back, engine.RollbackReplicas(obs, back, o.replicas)).String()
	}
	verb := map[bool]string{true: "maintenance on", false: "maintenance off"}[on]
	if err := confirmPlan(s, verb, t, o, plan); err != nil {
		return err
	}
	journal, err := g.openJournal()
	if err != nil {
		return err
	}
	defer func() { _ = journal.Close() }()
	actor, start := osActor(s.lookupEnv), time.Now()
	m, err := engine.SwitchMaintenance(ctx, cl, t, p, on, actor, engine.CommandHolder(actor, verb), engine.RealClock{})
	if m.Changed {
		rec := engine.Record{Type: engine.RecMaintenance, Actor: &actor, Service: t.String(), From: m.From, To: m.To, Reason: o.reason, Duration: time.Since(start)}
		if err := journalSwitch(journal, rec, err); err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	_, _ = fmt.Fprintf(s.out, "Service %s now serves %s (was %s); %s took %s.\n", t, m.To, m.From, verb, human.Duration(time.Since(start)))
	return nil
}

func newAbortCmd(s streams, g *globalOptions) *cobra.Command {
	var f pairFlags
	var reason string
	cmd := &cobra.Command{
		Use:   "abort SERVICE",
		Short: "Stop the release another console is running on a Service",
		Long: `Stop a release that another cutover (another terminal, another engineer) is
running on SERVICE. It takes that release's lock: the running console finds
out at its next lease renewal (within 2s), stops, and leaves traffic where
it is. Roll back afterwards if traffic must move.

To stop a release in your own terminal, press Ctrl-C or type "abort".`,
		Example: `  cutover abort claude-tiu-service -n production --reason "wrong image tag"`,
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if strings.TrimSpace(reason) == "" {
				return badInput(errors.New("--reason is required: the release's owner will see it"))
			}
			t, cl, err := g.pair(cmd.Context(), s, a[0], &f)
			if err != nil {
				return err
			}
			actor := osActor(s.lookupEnv)
			journal, err := g.openJournal()
			if err != nil {
				return err
			}
			defer func() { _ = journal.Close() }()
			prev, err := cl.BreakLock(cmd.Context(), t, fmt.Sprintf("abort by %s: %s", actor, reason))
			if err != nil {
				return err
			}
			if prev == "" {
				return &exitError{code: exitFailed, err: fmt.Errorf("no release is running on service %s (its lock is free or expired)", t)}
			}
			if err := appendCLI(journal, engine.Record{
				Type: engine.RecRunAborted, Actor: &actor, Service: t.String(), Reason: fmt.Sprintf("%s (release held by %s)", reason, prev),
			}); err != nil {
				return err
			}
			_, _ = fmt.Fprintf(s.out, "Took the release lock of %s from %s; that release stops within %s.\n", t, prev, kube.RenewEvery)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	return cmd
}

func newMaintenanceCmd(s streams, g *globalOptions) *cobra.Command {
	var o switchOptions
	var value string
	cmd := &cobra.Command{
		Use:       "maintenance SERVICE on|off",
		Short:     "Point a Service at the maintenance page, or back",
		ValidArgs: []string{"on", "off"},
		Long: `"on" points SERVICE's selector at the maintenance page's pods: the value of
the blueGreen step's "maintenance" field in --pipeline, else --value. Those
pods must be Ready first (apply k8s/maintenance/ beforehand). "off" switches
back to the color that was live, scaling it up first if it was scaled down.`,
		Example: `  cutover maintenance claude-tiu-service on -f examples/claude-tiu/pipeline.yaml --reason "database failover"
  cutover maintenance claude-tiu-service off -n production --reason "failover done" --yes`,
		Args: args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if strings.TrimSpace(o.reason) == "" {
				return badInput(errors.New("--reason is required: say why, for the audit journal"))
			}
			if a[1] != "on" && a[1] != "off" {
				return badInput(fmt.Errorf("%q: want on or off", a[1]))
			}
			return maintenance(cmd.Context(), s, g, a[0], &o, a[1] == "on", func(f *pairFlags) (spec.Color, error) {
				v := value
				if !cmd.Flags().Changed("value") && f.maintenance != "" {
					v = f.maintenance
				}
				if spec.Color(v).Valid() {
					return "", badInput(fmt.Errorf("the maintenance value %q is a release color", v))
				}
				return spec.Color(v), nil
			})
		},
	}
	o.add(cmd)
	cmd.Flags().StringVar(&value, "value", "maintenance", "the selector value of the maintenance pods")
	return cmd
}

func newScaleDownCmd(s streams, g *globalOptions) *cobra.Command {
	var f pairFlags
	var reason, confirm string
	cmd := &cobra.Command{
		Use:   "scale-down SERVICE",
		Short: "Emergency: scale both colors to zero, taking the service down",
		Long: `The guide's emergency scale-down: both colors' Deployments go to zero
replicas and every request to SERVICE fails until you scale up, roll back or
switch to maintenance. Prefer "cutover maintenance SERVICE on" when a page
should be served.

You must type the Service's name to confirm (or pass --confirm NAME in a
script) and give a reason; both go to the audit journal.`,
		Example: `  cutover scale-down claude-tiu-service -n production --reason "data leak, stop serving now"`,
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if strings.TrimSpace(reason) == "" {
				return badInput(errors.New("--reason is required: say why, for the audit journal"))
			}
			t, cl, err := g.pair(cmd.Context(), s, a[0], &f)
			if err != nil {
				return err
			}
			if confirm == "" {
				if !s.inTTY {
					return badInput(errors.New("not a terminal, so cannot ask; pass --confirm " + t.Service))
				}
				_, _ = fmt.Fprintf(s.out, "This scales %s and %s to 0: service %s will have no pods and every request fails.\nType the service name to confirm: ",
					t.Blue, t.Green, t)
				line, _ := bufio.NewReader(s.in).ReadString('\n')
				confirm = strings.TrimSpace(line)
			}
			if confirm != t.Service {
				return &exitError{code: exitAborted, err: fmt.Errorf("%q is not %q; nothing was changed", confirm, t.Service)}
			}
			actor := osActor(s.lookupEnv)
			journal, err := g.openJournal()
			if err != nil {
				return err
			}
			defer func() { _ = journal.Close() }()
			err = cl.ScaleDownAll(cmd.Context(), t)
			if err := journalSwitch(journal, engine.Record{Type: engine.RecScaleDown, Actor: &actor, Service: t.String(), Reason: reason}, err); err != nil {
				return err
			}
			_, _ = fmt.Fprintf(s.out, "Scaled %s and %s to 0. Service %s has no pods.\n", t.Blue, t.Green, t)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "why (required)")
	cmd.Flags().StringVar(&confirm, "confirm", "", "the Service's name, to confirm without a prompt")
	return cmd
}

// openJournal opens the journal before a command acts, so that an action
// that could not be journaled is never taken.
func (g *globalOptions) openJournal() (*engine.Journal, error) {
	dir, err := g.journalDir()
	if err != nil {
		return nil, err
	}
	return engine.OpenJournal(dir)
}

// appendCLI journals an action taken outside a pipeline run.
func appendCLI(j *engine.Journal, rec engine.Record) error {
	now := time.Now()
	rec.Time, rec.Run = now, "cli-"+now.UTC().Format("20060102T150405Z")
	if err := j.Append(rec); err != nil {
		return fmt.Errorf("the action was not journaled: %w", err)
	}
	return nil
}
