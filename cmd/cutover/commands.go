package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"
	"github.com/cutover-sh/cutover/schema"

	"github.com/spf13/cobra"

	"github.com/cutover-sh/cutover/engine"
	"github.com/cutover-sh/cutover/human"
)

// version is set at build time with -ldflags "-X main.version=...".
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func newValidateCmd(s streams) *cobra.Command {
	var set []string
	cmd := &cobra.Command{
		Use:   "validate PIPELINE",
		Short: "Check a pipeline file and report every problem at once",
		Long: `Check a pipeline file without running it. Every problem is reported with its
file:line:column and field path. Variables must be set, as they must for run.
Exits 2 if anything is wrong.`,
		Example: `  cutover validate examples/local/pipeline.yaml
  cutover validate deploy.yaml --set IMAGE_TAG=v1.4.2`,
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeYAML,
		RunE: func(_ *cobra.Command, args []string) error {
			vars, err := parseSet(set)
			if err != nil {
				return badInput(err)
			}
			p, err := spec.LoadFile(args[0], spec.Vars(vars, s.lookupEnv))
			if err != nil {
				return badInput(err)
			}
			steps := 0
			for _, st := range p.Stages {
				steps += len(st.Steps)
			}
			_, _ = fmt.Fprintf(s.out, "%s: pipeline %s is valid: %d stages, %d steps\n", args[0], p.Metadata.Name, len(p.Stages), steps)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&set, "set", nil, "set a variable, KEY=VALUE (repeatable)")
	return cmd
}

func newHistoryCmd(s streams, g *globalOptions) *cobra.Command {
	var (
		pipeline string
		window   int
		output   string
	)
	cmd := &cobra.Command{
		Use:   "history",
		Short: "Show per-stage times of past runs against their budgets",
		Long: `Print the "Total Pipeline Performance" table from the audit journal: for each
stage, its budget, its time in the last run, and the median of recent runs.
Values over budget are marked with "!".`,
		Example: `  cutover history
  cutover history --pipeline claude-tiu --runs 20
  cutover history --output json`,
		Args: args(cobra.NoArgs),
		RunE: func(_ *cobra.Command, _ []string) error {
			if output != "" && output != "json" {
				return badInput(fmt.Errorf("--output %q: the only format is json", output))
			}
			dir, err := g.journalDir()
			if err != nil {
				return err
			}
			recs, skipped, err := engine.ReadJournal(dir)
			if err != nil {
				return err
			}
			for _, sk := range skipped {
				_, _ = fmt.Fprintf(s.err, "warning: %s/%s line %d skipped: %s\n", dir, engine.JournalFile, sk.Line, sk.Reason)
			}
			if pipeline == "" {
				pipeline = engine.LatestPipeline(recs)
			}
			if pipeline == "" {
				return fmt.Errorf("no runs recorded in %s yet; run a pipeline first", dir)
			}
			h := engine.BuildHistory(recs, pipeline, window)
			if h.Runs == 0 {
				return badInput(fmt.Errorf("no runs of pipeline %q recorded in %s", pipeline, dir))
			}
			if output == "json" {
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				return enc.Encode(h)
			}
			return printHistory(s, h)
		},
	}
	cmd.Flags().StringVar(&pipeline, "pipeline", "", "pipeline name (default: the most recently run)")
	cmd.Flags().IntVar(&window, "runs", 10, "how many recent runs the median covers")
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json")
	return cmd
}

func printHistory(s streams, h engine.History) error {
	mark := func(d time.Duration, over bool) string {
		if d == 0 {
			return "-"
		}
		if over {
			return human.Duration(d) + " !"
		}
		return human.Duration(d)
	}
	runs := "runs"
	if h.Runs == 1 {
		runs = "run"
	}
	_, _ = fmt.Fprintf(s.out, "Pipeline %s: %d %s (median of the last %d)\n\n", h.Pipeline, h.Runs, runs, h.Window)
	rows := make([][]string, 0, len(h.Stages)+1)
	for _, r := range h.Stages {
		rows = append(rows, []string{r.Stage, human.Duration(r.Budget), mark(r.Last, r.LastOverBudget), mark(r.Median, r.MedianOver), fmt.Sprint(r.Samples)})
	}
	rows = append(rows, []string{"TOTAL", human.Duration(h.TotalBudget), mark(h.TotalLast, h.TotalLast > h.TotalBudget), mark(h.TotalMedian, h.TotalMedian > h.TotalBudget), ""})
	if err := writeTable(s.out, []string{"STAGE", "BUDGET", "LAST", "MEDIAN", "RUNS"}, rows, 1, 2, 3, 4); err != nil {
		return err
	}
	if h.LastRun != "" {
		_, _ = fmt.Fprintf(s.out, "\nLast run %s %s in %s wall-clock.\n", h.LastRun, h.LastStatus, human.Duration(h.LastElapsed))
	}
	return nil
}

func newSchemaCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of the pipeline file",
		Long: `Print the JSON Schema of the pipeline file, generated from cutover's own types.
Point your editor's YAML language server at it for completion.`,
		Example: `  cutover schema > pipeline.schema.json
  # then, at the top of a pipeline file:
  # yaml-language-server: $schema=./pipeline.schema.json`,
		Args: args(cobra.NoArgs),
		RunE: func(_ *cobra.Command, _ []string) error {
			if _, err := s.out.Write(schema.Pipeline); err != nil {
				return fmt.Errorf("write schema: %w", err)
			}
			return nil
		},
	}
}

// buildInfo is what `cutover version -o json` prints.
type buildInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Date     string `json:"date,omitempty"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// currentBuild is this binary's version: set by the release's ldflags,
// else the module version go install recorded, else "dev".
func currentBuild() buildInfo {
	b := buildInfo{Version: version, Commit: commit, Date: date, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if info, ok := debug.ReadBuildInfo(); ok && b.Version == "dev" {
		if info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version // installed with go install ...@vX
		}
	}
	if b.Commit == "" {
		b.Date = ""
	}
	return b
}

// String is the version as one line, what `cutover version` and
// `cutover --version` print.
func (b buildInfo) String() string {
	out := "cutover " + b.Version
	if b.Commit != "" {
		out += fmt.Sprintf(" (commit %s, built %s)", b.Commit, b.Date)
	}
	return out + " " + b.Go + " " + b.Platform
}

func newVersionCmd(s streams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print cutover's version",
		Example: `  cutover version
  cutover version -o json`,
		Args: args(cobra.NoArgs),
		RunE: func(_ *cobra.Command, _ []string) error {
			b := currentBuild()
			switch output {
			case "":
				_, _ = fmt.Fprintln(s.out, b)
				return nil
			case "json":
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				return enc.Encode(b)
			}
			return badInput(fmt.Errorf("--output %q: the only format is json", output))
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json")
	return cmd
}
