package spec_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cutover-sh/cutover/engine/spec"

	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite the golden .err files in testdata/invalid")

// invalidDir holds malformed pipeline files, each next to a NAME.yaml.err
// golden file with the exact error text Load must return for it.
const invalidDir = "testdata/invalid"

// minCorpus guards against the corpus silently shrinking.
const minCorpus = 25

// noVars is a lookup that knows no variables.
func noVars(string) (string, bool) { return "", false }

// positioned matches one error line that carries at least a line number.
var positioned = regexp.MustCompile(`^[^:]+:\d+(:\d+)?: `)

func corpus(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(invalidDir)
	if err != nil {
		t.Fatalf("read corpus: %v", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestLoadRejectsMalformedFiles(t *testing.T) {
	names := corpus(t)
	if len(names) < minCorpus {
		t.Fatalf("corpus in %s has %d files, want at least %d", invalidDir, len(names), minCorpus)
	}
	goldens, err := filepath.Glob(filepath.Join(invalidDir, "*.err"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range goldens {
		if _, err := os.Stat(strings.TrimSuffix(g, ".err")); err != nil {
			t.Errorf("golden %s has no pipeline file next to it: %v", g, err)
		}
	}
	for _, name := range names {
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(invalidDir, name))
			if err != nil {
				t.Fatal(err)
			}
			p, err := spec.Load(name, data, noVars)
			if err == nil {
				t.Fatalf("Load(%s) = %+v, nil; want a validation error", name, p)
			}
			var verr *spec.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Load(%s) error is %T (%v), want *engine.ValidationError", name, err, err)
			}
			got := err.Error()
			for _, line := range strings.Split(got, "\n") {
				if !positioned.MatchString(line) {
					t.Errorf("error line has no line number: got %q, want it to match %s", line, positioned)
				}
			}
			golden := filepath.Join(invalidDir, name+".err")
			if *update {
				if err := os.WriteFile(golden, []byte(got+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			wantBytes, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run with -update to create it): %v", err)
			}
			if want := strings.TrimSuffix(string(wantBytes), "\n"); got != want {
				t.Errorf("Load(%s) error:\ngot\n%s\nwant\n%s", name, got, want)
			}
		})
	}
}

// validPipeline uses every field the loader accepts today.
const validPipeline = `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata:
  name: checkout
  description: ships the checkout service
secretEnv:
  - REGISTRY_TOKEN
stages:
  - name: build
    budget: 15m
    onOverBudget: fail
    steps:
      - name: image
        run: docker build -t registry.example.com/checkout:${IMAGE_TAG} .
        dir: ./services/checkout
        env:
          DOCKER_BUILDKIT: "1"
          TAG: ${IMAGE_TAG}
        timeout: 10m
        retries: 2
  - name: release
    needs: [build]
    budget: 1h30m
    skippableInEmergency: true
    steps:
      - approve: Check the SLO dashboard for checkout ${IMAGE_TAG}
        timeout: 30m
        onTimeout: reject
`

func TestLoadAcceptsValid(t *testing.T) {
	lookup := spec.Vars(map[string]string{"IMAGE_TAG": "1.4.2"}, noVars)
	p, err := spec.Load("valid.yaml", []byte(validPipeline), lookup)
	if err != nil {
		t.Fatalf("Load: got error %v, want nil", err)
	}

	checks := []struct {
		what      string
		got, want any
	}{
		{"metadata.name", p.Metadata.Name, "checkout"},
		{"secretEnv", strings.Join(p.SecretEnv, ","), "REGISTRY_TOKEN"},
		{"stage count", len(p.Stages), 2},
	}
	if len(p.Stages) == 2 && len(p.Stages[0].Steps) == 1 && len(p.Stages[1].Steps) == 1 {
		build, release := p.Stages[0], p.Stages[1]
		run, gate := build.Steps[0], release.Steps[0]
		checks = append(checks, []struct {
			what      string
			got, want any
		}{
			{"build.budget", build.Budget.D(), 15 * time.Minute},
			{"build.onOverBudget", build.OnOverBudget, spec.OverBudgetFail},
			{"build.needs", len(build.Needs), 0},
			{"release.budget", release.Budget.D(), 90 * time.Minute},
			{"release.needs", strings.Join(release.Needs, ","), "build"},
			{"release.skippableInEmergency", release.SkippableInEmergency, true},
			{"run.kind", run.Kind(), spec.KindRun},
			{"run.name", run.StepName(0), "image"},
			// A run command keeps its references: the shell expands them
			// from the exported variables.
			{"run.run", run.Run, "docker build -t registry.example.com/checkout:${IMAGE_TAG} ."},
			{"run.dir", run.Dir, "./services/checkout"},
			{"run.env[DOCKER_BUILDKIT]", run.Env["DOCKER_BUILDKIT"], "1"},
			{"run.env[TAG]", run.Env["TAG"], "1.4.2"},
			{"run.env size", len(run.Env), 2},
			{"run.timeout", run.Timeout.D(), 10 * time.Minute},
			{"run.retries", run.Retries, 2},
			{"gate.kind", gate.Kind(), spec.KindApprove},
			{"gate.name", gate.StepName(0), "approve-1"},
			{"gate.approve", gate.Approve, "Check the SLO dashboard for checkout 1.4.2"},
			{"gate.timeout", gate.Timeout.D(), 30 * time.Minute},
			{"gate.onTimeout", gate.OnTimeout, spec.GateReject},
		}...)
	} else {
		t.Errorf("stages: got %+v, want build with one step and release with one step", p.Stages)
	}
	checks = append(checks, []struct {
		what      string
		got, want any
	}{
		{"source.path", p.Source.Path, "valid.yaml"},
		{"source.vars[IMAGE_TAG]", p.Source.Vars["IMAGE_TAG"], "1.4.2"},
		{"source.vars size", len(p.Source.Vars), 1},
		{"source.hash has sha256: prefix", strings.HasPrefix(p.Source.Hash, "sha256:"), true},
		{"source.hash length", len(p.Source.Hash), len("sha256:") + 64},
	}...)
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestLoadLeavesShellSyntaxAlone(t *testing.T) {
	tests := []struct {
		name string
		run  string
		want string
	}{
		{"escaped reference", `echo $${X}`, `echo ${X}`},
		{"escaped next to a real one", `echo $${X}-${X}`, `echo ${X}-${X}`},
		{"plain shell variable", `echo $HOME`, `echo $HOME`},
		{"shell default", `echo ${x:-y}`, `echo ${x:-y}`},
		{"shell pid", `echo $$`, `echo $$`},
		{"unclosed brace", `echo ${X`, `echo ${X`},
	}
	lookup := spec.Vars(map[string]string{"X": "from-lookup"}, noVars)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := "apiVersion: cutover.dev/v1alpha1\nkind: Pipeline\nmetadata:\n  name: shell\n" +
				"stages:\n  - name: build\n    budget: 1m\n    steps:\n      - run: '" + tt.run + "'\n"
			p, err := spec.Load("shell.yaml", []byte(doc), lookup)
			if err != nil {
				t.Fatalf("Load: got error %v, want nil", err)
			}
			if got := p.Stages[0].Steps[0].Run; got != tt.want {
				t.Errorf("run: got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadSubstitutesOutsideRun(t *testing.T) {
	doc := "apiVersion: cutover.dev/v1alpha1\nkind: Pipeline\nmetadata:\n  name: subst\n" +
		"stages:\n  - name: s\n    budget: 1m\n    steps:\n" +
		"      - approve: 'ship ${X}, not $${X}?'\n" +
		"      - run: make\n        dir: /srv/${X}\n        env: {TAG: 'v-${X}'}\n"
	p, err := spec.Load("subst.yaml", []byte(doc), spec.Vars(map[string]string{"X": "7"}, noVars))
	if err != nil {
		t.Fatal(err)
	}
	steps := p.Stages[0].Steps
	for _, c := range []struct{ what, got, want string }{
		{"approve", steps[0].Approve, "ship 7, not ${X}?"},
		{"dir", steps[1].Dir, "/srv/7"},
		{"env", steps[1].Env["TAG"], "v-7"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.what, c.got, c.want)
		}
	}
}

func TestLoadRejectsAliasExpansion(t *testing.T) {
	// A few kilobytes of anchors and aliases that would expand to four
	// million steps if the loader followed every alias.
	var b strings.Builder
	b.WriteString("apiVersion: cutover.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: bomb}\nvars:\n  S: &s {name: a, budget: 1m, steps: [&t {run: x}")
	for range 2000 {
		b.WriteString(", *t")
	}
	b.WriteString("]}\nstages: [*s")
	for range 2000 {
		b.WriteString(", *s")
	}
	b.WriteString("]\n")
	_, err := spec.Load("bomb.yaml", []byte(b.String()), noVars)
	if err == nil || !strings.HasPrefix(err.Error(), "bomb.yaml:") || !strings.Contains(err.Error(), "expands to more than") {
		t.Fatalf("got %v, want an error about expansion", err)
	}
	// The cap is said once, and the cascade of what was never decoded
	// is not.
	if n := strings.Count(err.Error(), "\n"); n != 0 {
		t.Errorf("got %d more lines after the cap:\n%.500s", n, err)
	}
}

func TestLoadVarsDefaults(t *testing.T) {
	doc := `apiVersion: cutover.dev/v1alpha1
kind: Pipeline
metadata: {name: defaults}
vars:
  TAG: dev
  REGION: eu-west-1
stages:
  - name: s
    budget: 1m
    steps:
      - run: make
        dir: /srv/${TAG}/${REGION}
`
	lookup := spec.Vars(map[string]string{"TAG": "v2"}, noVars)
	p, err := spec.Load("defaults.yaml", []byte(doc), lookup)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Stages[0].Steps[0].Dir, "/srv/v2/eu-west-1"; got != want {
		t.Errorf("dir: got %q, want %q (--set wins over the default)", got, want)
	}
	vars, _ := p.Exports(map[string]string{"TAG": "v2"}, lookup)
	if vars["TAG"] != "v2" || vars["REGION"] != "eu-west-1" {
		t.Errorf("exports: got %v, want TAG=v2 REGION=eu-west-1", vars)
	}
}

// TestClaudeTIUExample checks the guide's pipeline: its seven stages and
// budgets, that it loads, and that it uses every step kind.
func TestClaudeTIUExample(t *testing.T) {
	path := "../../examples/claude-tiu/pipeline.yaml"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Stages []struct{ Name, Budget string }
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range doc.Stages {
		got = append(got, s.Name+"="+s.Budget)
	}
	wantStages := []string{"code-quality=15m", "testing=20m", "build-and-scan=30m", "staging-deploy=15m", "performance-test=20m", "production-deploy=30m", "monitoring=25m"}
	if strings.Join(got, " ") != strings.Join(wantStages, " ") {
		t.Errorf("stages: got %v, want %v", got, wantStages)
	}
	for _, name := range []string{"claude-tiu-staging", "claude-tiu-production", "claude-tiu-service", "claude-tiu-blue", "claude-tiu-green", "ghcr.io/claude-tiu/claude-tiu:${IMAGE_TAG}"} {
		if !strings.Contains(string(data), name) {
			t.Errorf("the example does not name %s", name)
		}
	}
	lookup := spec.Vars(map[string]string{"IMAGE_TAG": "v1.4.2", "SLACK_WEBHOOK": "https://hooks.slack.com/services/T0/B0/x", "TEAMS_WEBHOOK": "https://example.webhook.office.com/x"}, noVars)
	p, err := spec.Load(path, data, lookup)
	if err != nil {
		t.Fatalf("the guide's pipeline does not load: %v", err)
	}
	kinds := map[spec.StepKind]bool{}
	for _, s := range p.Stages {
		for _, st := range s.Steps {
			kinds[st.Kind()] = true
		}
	}
	for _, k := range []spec.StepKind{spec.KindRun, spec.KindApprove, spec.KindDeploy, spec.KindLoadTest, spec.KindBlueGreen, spec.KindAnalysis, spec.KindAlerts, spec.KindNotify} {
		if !kinds[k] {
			t.Errorf("the guide's pipeline has no %s step", k)
		}
	}
}

// TestAScalarStepKindIsAnError: a step kind written as a scalar holding an
// unset variable, where a mapping belongs, is reported, for every kind;
// it used to leave the kind's spec nil for validation to dereference.
func TestAScalarStepKindIsAnError(t *testing.T) {
	for _, kind := range []string{"blueGreen", "deploy", "analysis", "loadtest", "alerts", "notify"} {
		doc := "apiVersion: cutover.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: web}\nstages:\n  - name: p\n    budget: 10m\n    steps:\n" +
			"      - name: s\n        " + kind + ": x ${UNSET_V} y\n"
		_, err := spec.Load("scalar.yaml", []byte(doc), noVars)
		var verr *spec.ValidationError
		if !errors.As(err, &verr) || !strings.Contains(err.Error(), "scalar.yaml:9:") {
			t.Errorf("%s as a scalar: got %v, want a validation error at line 9", kind, err)
		}
	}
}

// TestSyntaxErrorsPointAtTheMistake: a YAML syntax error names the line and
// column where the file stops being YAML, which yaml.v3 alone does not say
// (its line is where the broken construct began, and it has no column).
func TestSyntaxErrorsPointAtTheMistake(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"unterminated double quote", "a: b\nc: \"never closed\nd: e\n", "x.yaml:2:4: invalid YAML: found unexpected end of stream"},
		{"unterminated single quote", "a: 'x\n", "x.yaml:1:4: invalid YAML: found unexpected end of stream"},
		{"unclosed flow list", "a: [1, 2\nb: c\n", "x.yaml:1:8: invalid YAML: did not find expected ',' or ']'"},
		{"two keys on a line", "a: b\nc: d: e\n", `x.yaml:2:5: invalid YAML: mapping values are not allowed in this context; a line holds one "key:", so put this one on a line of its own`},
		{"columns count characters", "é: ü: x\n", `x.yaml:1:5: invalid YAML: mapping values are not allowed in this context; a line holds one "key:", so put this one on a line of its own`},
		{"key outdented", "a:\n  b: 1\n c: 2\n", "x.yaml:3:2: invalid YAML: did not find expected key"},
		{"list after a mapping", "a: b\n- c\n", "x.yaml:2:1: invalid YAML: did not find expected key"},
		{"reserved character", "a: b\nc: @d\n", "x.yaml:2:4: invalid YAML: found character that cannot start any token"},
		{"tab after spaces", "a:\n  \tb: c\n", "x.yaml:2:3: invalid YAML: a tab cannot indent YAML; indent with spaces"},
		{"unknown alias", "a: &x 1\nb: *y\n", "x.yaml:2:4: invalid YAML: unknown anchor 'y' referenced"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := spec.Load("x.yaml", []byte(tc.doc), noVars)
			if err == nil || err.Error() != tc.want {
				t.Errorf("Load(%q):\ngot  %v\nwant %s", tc.doc, err, tc.want)
			}
		})
	}
}
