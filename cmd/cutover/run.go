package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/cutover-sh/cutover/engine/spec"

	"github.com/spf13/cobra"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/kube"
	"github.com/cutover-sh/cutover/loadtest"
	"github.com/cutover-sh/cutover/proc"
	"github.com/cutover-sh/cutover/prom"
	"github.com/cutover-sh/cutover/webhook"
)

type runOptions struct {
	set         []string
	plain       bool
	output      string
	parallel    int
	skip        []string
	emergency   bool
	reason      string
	autoApprove bool
	resume      bool
	readOnly    bool
	// demo marks the console's header: the cluster is simulated.
	demo bool
	// decideHint is the command that decides this run's gates from
	// another terminal; "" when the run has no decisions socket.
	decideHint string
	// journal is the journal's path, and summary what the demo's users
	// saw ("" outside the demo), for what the console leaves on the
	// terminal when it closes.
	journal string
	summary func() string
}

func newRunCmd(s streams, g *globalOptions) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run PIPELINE",
		Short: "Run a release pipeline and show it live",
		Long: `Run a release pipeline. Independent stages run in parallel; steps inside a
stage run in order. Approve gates wait for a person: in plain mode, type
"approve" (or "reject") and Enter; from another terminal on this host, run
cutover approve (or cutover reject).

Exit codes: 0 success, 1 the pipeline failed, 2 bad input, 3 the release
was rolled back, 130 aborted.`,
		Example: `  cutover run pipeline.yaml --set IMAGE_TAG=v1.4.2
  cutover run pipeline.yaml --plain --auto-approve
  cutover run pipeline.yaml --output json | jq .
  cutover run pipeline.yaml --emergency --reason "INC-231: hotfix for login outage"
  cutover run pipeline.yaml --resume   # after the console running it died`,
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeYAML,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPipeline(cmd.Context(), s, g, o, args[0])
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.set, "set", nil, "set a variable, KEY=VALUE (repeatable); wins over the environment")
	f.BoolVar(&o.plain, "plain", false, "print one timestamped line per event instead of the TUI")
	f.BoolVar(&o.readOnly, "readonly", false, "in the TUI, disable every key that changes something")
	f.StringVarP(&o.output, "output", "o", "", "output format: json prints one JSON object per event")
	f.IntVar(&o.parallel, "parallel", 4, "how many independent stages may run at once")
	f.StringArrayVar(&o.skip, "skip-stage", nil, "skip the named stage (repeatable); recorded in the journal")
	f.BoolVar(&o.emergency, "emergency", false, "skip every stage marked skippableInEmergency; needs --reason")
	f.StringVar(&o.reason, "reason", "", "why stages are skipped; recorded in the journal")
	f.BoolVar(&o.autoApprove, "auto-approve", false, "approve every approval gate, recorded as the actor auto-approve; a check that cannot measure still waits for a person")
	f.BoolVar(&o.resume, "resume", false, "continue this pipeline's last run after its console died: skip the stages it finished and pick the release up where the cluster says it is")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"json"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("skip-stage", completeStages(s))
	return cmd
}

// completeStages offers the stage names of the pipeline named on the line.
func completeStages(s streams) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		p, err := spec.LoadFile(args[0], s.lookupEnv)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, st := range p.Stages {
			names = append(names, st.Name)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

func runPipeline(ctx context.Context, s streams, g *globalOptions, o *runOptions, path string) error {
	if o.output != "" && o.output != "json" {
		return badInput(fmt.Errorf("--output %q: the only format is json", o.output))
	}
	if o.parallel < 1 {
		return badInput(fmt.Errorf("--parallel %d: at least one stage must be able to run", o.parallel))
	}
	r, err := prepareRun(s, g, o, path, osActor(s.lookupEnv))
	if err != nil {
		return err
	}
	defer func() { _ = r.journal.Close() }()
	o.journal = r.journal.Path()
	stop := r.listen(s, g, o)
	defer stop()
	return drive(ctx, s, r.eng, r.p, r.actor, o, r.contexts.Open, r.secrets)
}

// listen opens the run's decisions socket, so that its gates can be
// decided from another terminal on this host, and sets o.decideHint. A
// run without one still runs: its gates are decided where it runs.
func (r *preparedRun) listen(s streams, g *globalOptions, o *runOptions) (stop func()) {
	_, stop, err := listenDecisions(r.dir, r.eng, r.p.Metadata.Name)
	if err != nil {
		_, _ = fmt.Fprintf(s.err, "cutover: warning: %v; gates can be decided only where the run runs\n", err)
		return func() {}
	}
	o.decideHint = "cutover approve --run " + r.eng.RunID()
	if g.stateDir != "" {
		o.decideHint += " --state-dir " + g.stateDir
	}
	return stop
}

// preparedRun is a pipeline loaded and an engine built to run it.
type preparedRun struct {
	eng      *engine.Engine
	p        *spec.Pipeline
	actor    engine.Actor
	secrets  []string
	journal  *engine.Journal
	contexts *kube.Contexts
	// dir is the state dir: the journal, and the decisions socket.
	dir string
}

// prepareRun loads the pipeline at path and builds its engine, started by
// actor. The caller closes the journal.
func prepareRun(s streams, g *globalOptions, o *runOptions, path string, actor engine.Actor) (*preparedRun, error) {
	set, err := parseSet(o.set)
	if err != nil {
		return nil, badInput(err)
	}
	lookup := spec.Vars(set, s.lookupEnv)
	p, err := spec.LoadFile(path, lookup)
	if err != nil {
		return nil, badInput(err)
	}
	vars, secrets := p.Exports(set, lookup)
	dir, err := g.journalDir()
	if err != nil {
		return nil, err
	}
	var resume *engine.Resume
	if o.resume {
		recs, _, err := engine.ReadJournal(dir)
		if err != nil {
			return nil, err
		}
		r, err := engine.FindResume(recs, p.Metadata.Name)
		if err != nil {
			return nil, badInput(err)
		}
		resume = &r
	}
	journal, err := engine.OpenJournal(dir)
	if err != nil {
		return nil, err
	}
	contexts := g.contexts()
	eng, err := engine.New(engine.Config{
		Pipeline: p, Vars: vars, Secrets: secrets, Parallel: o.parallel,
		SkipStages: o.skip, Emergency: o.emergency, Reason: o.reason,
		Actor: actor, AutoApprove: o.autoApprove, Journal: journal,
		Clusters: contexts.Clusters(), Resume: resume, Processes: &proc.Runner{}, LoadTester: loadtest.Vegeta{}, Webhooks: webhook.Poster{},
		Metrics: func(ps spec.PrometheusSpec) (engine.Metrics, error) {
			return prom.New(promConfig(ps))
		},
	})
	if err != nil {
		_ = journal.Close()
		if errors.Is(err, engine.ErrBadSkip) {
			return nil, badInput(err)
		}
		return nil, err
	}
	return &preparedRun{eng: eng, p: p, actor: actor, secrets: secrets, journal: journal, contexts: contexts, dir: dir}, nil
}

// drive runs a built engine under the console on a terminal, else under
// a printer, and returns what the run's exit code says. open opens the
// cluster of a kubeconfig context, for the console's pod details.
func drive(ctx context.Context, s streams, eng *engine.Engine, p *spec.Pipeline, actor engine.Actor, o *runOptions, open func(string) (*kube.Cluster, error), secrets []string) error {
	if o.output != "json" && !o.plain && s.outTTY {
		return runTUI(ctx, s, eng, p, actor, o, open, secrets)
	}
	var print printer
	shown := &shownDiffs{}
	if o.output == "json" {
		print = newJSONPrinter(s.out)
	} else {
		pp := newPlainPrinter(s.out, o.autoApprove)
		pp.shown = shown
		print = pp
	}
	// A large buffer: printers should see every line, and only a stalled
	// stdout makes them fall back to snapshots.
	sub := eng.Subscribe(1 << 14)
	printed := make(chan error, 1)
	go func() {
		err := follow(ctx, sub, print)
		if err != nil {
			// Nobody can see the release any more (the terminal or the
			// pipe reading it went away): stop it rather than carry on
			// unwatched.
			_ = eng.Abort(actor, fmt.Sprintf("output closed: %v", err))
		}
		printed <- err
	}()

	stopSignals := handleSignals(eng, actor)
	defer stopSignals()
	// Under --auto-approve no gate waits, but a person watching the run
	// can still abort it or roll its release back from here.
	go readDecisions(s.in, s.err, eng, actor, o.decideHint, shown)

	final, err := eng.Run(ctx)
	if err != nil {
		return err
	}
	printErr := <-printed
	return exitFor(final, printErr)
}

// exitFor turns how a run ended into the documented exit code.
func exitFor(final engine.Snapshot, printErr error) error {
	switch final.Status {
	case engine.StatusSucceeded:
		if printErr != nil {
			return fmt.Errorf("write output: %w", printErr)
		}
		return nil
	case engine.StatusAborted:
		return &exitError{code: exitAborted, err: errors.New("")}
	}
	if final.RolledBack {
		return &exitError{code: exitRolledBack, err: errors.New("")}
	}
	return &exitError{code: exitFailed, err: errors.New("")}
}

// follow feeds one subscription to a printer until the run ends. It ends
// when the broadcaster closes, so it needs no stop signal of its own.
func follow(ctx context.Context, sub *engine.Subscription, p printer) error {
	defer sub.Close()
	first := true
	for {
		m, err := sub.Next(ctx)
		if errors.Is(err, engine.ErrClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		if m.Snapshot != nil {
			if !first {
				if err := p.resync(*m.Snapshot, sub.Dropped()); err != nil {
					return err
				}
			}
			first = false
			continue
		}
		if err := p.event(m.Event); err != nil {
			return err
		}
	}
}

// handleSignals turns SIGINT, SIGTERM, SIGQUIT and SIGHUP (the SSH session
// to the bastion dropped) into Abort, so that no step is left running unwatched
// and the journal says why the run ended. A second signal skips the grace
// period. SIGPIPE is caught so that a closed stdout surfaces as a write
// error, which aborts the run the same way, instead of killing cutover
// outright. The returned func stops the handler and waits for its goroutine
// to end.
func handleSignals(eng *engine.Engine, actor engine.Actor, also ...func()) func() {
	ch := make(chan os.Signal, 2)
	// Caught, not ignored: an ignored SIGPIPE would be inherited by every
	// step, and `yes | head` in a script would change behaviour.
	// SIGQUIT (Ctrl-\) too: Go's default, a goroutine dump and exit 2,
	// would leave every step running and the run unfinished in the
	// journal.
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGPIPE)
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for {
			select {
			case sig := <-ch:
				if sig != syscall.SIGPIPE {
					_ = eng.Abort(actor, fmt.Sprintf("interrupted (%s)", sig))
					for _, f := range also {
						f()
					}
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
		<-ended
	}
}

// readDecisions reads "approve", "reject [reason]" and "abort" lines from
// stdin, so a gate can be passed in plain mode. It ends when stdin does;
// at process exit when stdin stays open.
// An approval is bound to the diff shown for its gate, if one was.
func readDecisions(in io.Reader, errOut io.Writer, eng *engine.Engine, actor engine.Actor, hint string, shown *shownDiffs) {
	defer unattended(errOut, eng, hint)
	approve := func(gate string) error {
		if waiting := eng.WaitingGates(); gate == "" && len(waiting) == 1 {
			gate = waiting[0]
		}
		return eng.ApproveSeen(actor, gate, shown.get(gate))
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		word, rest, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		var err error
		switch strings.ToLower(word) {
		case "":
			continue
		case "a", "approve":
			err = approve(strings.TrimSpace(rest))
		case "promote":
			// A blueGreen step's gate stands between its ready preview and
			// the switch, so approving it is promoting. Before the gate, a
			// promote skips what is left of the pre-promotion analysis.
			if len(eng.WaitingGates()) > 0 {
				err = approve(strings.TrimSpace(rest))
			} else {
				err = eng.Promote(actor, "", "promote typed on stdin")
			}
		case "r", "reject":
			gate, reason := "", strings.TrimSpace(rest)
			// "reject GATE REASON" names the gate when several wait.
			if first, more, _ := strings.Cut(reason, " "); slices.Contains(eng.WaitingGates(), first) {
				gate, reason = first, strings.TrimSpace(more)
			}
			err = eng.Reject(actor, gate, reason)
		case "abort":
			err = eng.Abort(actor, "abort typed on stdin")
		case "rollback":
			service, reason := "", strings.TrimSpace(rest)
			// "rollback SERVICE REASON" names the release when several run.
			if first, more, _ := strings.Cut(reason, " "); slices.Contains(eng.ActiveReleases(), first) {
				service, reason = first, strings.TrimSpace(more)
			}
			if reason == "" {
				err = errors.New("rollback needs a reason: type rollback REASON")
				break
			}
			err = eng.Rollback(actor, service, reason)
		default:
			err = fmt.Errorf("unknown command %q: type approve [GATE] (or promote), reject [GATE] [REASON], rollback REASON or abort", word)
		}
		if err != nil {
			_, _ = fmt.Fprintln(errOut, "cutover:", err)
		}
	}
}

// unattended says once, when the first gate waits after standard input
// closed, that nobody can answer it here, and how it can still be
// decided: on stderr, and as a warning event for -o json and the journal's
// readers.
func unattended(errOut io.Writer, eng *engine.Engine, hint string) {
	sub := eng.Subscribe(256)
	defer sub.Close()
	ctx := context.Background()
	for {
		m, err := sub.Next(ctx)
		if err != nil {
			return // the run ended
		}
		var g engine.GateWaiting
		switch {
		case m.Snapshot != nil && len(m.Snapshot.Gates) > 0:
			g = m.Snapshot.Gates[0]
		case m.Event != nil:
			w, ok := m.Event.(engine.GateWaiting)
			if !ok {
				continue
			}
			g = w
		default:
			continue
		}
		msg := fmt.Sprintf("standard input is closed, so nobody can answer gate %s here", g.Gate)
		if hint != "" {
			msg += fmt.Sprintf("; decide it from another terminal on this host: %s (or %s --reason ...)", hint, strings.Replace(hint, "approve", "reject", 1))
		}
		msg += ". " + gateDeadline(g)
		_, _ = fmt.Fprintln(errOut, "cutover:", msg)
		eng.Warn(engine.WarnUnattended, msg)
		return
	}
}
