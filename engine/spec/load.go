package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// maxFileSize bounds what the loader reads; a pipeline file is hand-written
// and anything this large is a mistake.
const maxFileSize = 4 << 20

// LoadFile reads and validates a pipeline file.
func LoadFile(path string, lookup Lookup) (*Pipeline, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read pipeline: %w", err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read pipeline %s: %w", path, err)
	}
	return Load(path, data, lookup)
}

// Load parses and validates a pipeline from data. name is used in error
// messages. Every problem is reported at once in a *ValidationError.
func Load(name string, data []byte, lookup Lookup) (*Pipeline, error) {
	errs := &errorList{file: name, unset: map[string]bool{}}
	if len(data) > maxFileSize {
		errs.add(Pos{}, "", "file is larger than %d bytes", maxFileSize)
		return nil, errs.err()
	}
	if pos, deep := deepNesting(data, maxNesting); deep {
		errs.add(pos, "", "nested more than %d levels deep, which no pipeline needs; check the brackets and indentation here", maxNesting)
		return nil, errs.err()
	}
	root, err := parseYAML(data)
	if err != nil {
		errs.errs = append(errs.errs, syntaxError(name, data, err))
		return nil, errs.err()
	}
	if root == nil || root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		errs.add(Pos{Line: 1, Col: 1}, "", "file is empty; a pipeline starts with apiVersion: %s", APIVersion)
		return nil, errs.err()
	}
	if root.Kind != yaml.MappingNode {
		errs.add(nodePos(root), "", "expected a mapping with apiVersion, kind, metadata and stages, got %s", kindName(root))
		return nil, errs.err()
	}
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	defaults := fileDefaults(root)
	withDefaults := func(name string) (string, bool) {
		if v, ok := lookup(name); ok {
			return v, true
		}
		v, ok := defaults[name]
		return v, ok
	}
	used := map[string]string{}
	expandTree(root, "", withDefaults, used, errs, 0)

	d := &decoder{errs: errs, pos: map[string]Pos{}, suggested: map[string]bool{}, used: used}
	p := &Pipeline{}
	d.decode(root, reflect.ValueOf(p).Elem(), "", 0)
	if d.capped != nil {
		// What was not decoded would be reported missing thousands of
		// times over: the cap is the one thing to say.
		errs.errs = []*FieldError{d.capped}
		return nil, errs.err()
	}
	validate(p, d, root, withDefaults)
	if err := errs.err(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	p.Source = Source{Path: name, Hash: "sha256:" + hex.EncodeToString(sum[:]), Vars: used}
	return p, nil
}

// parseYAML returns the document's root node, nil for an empty file.
func parseYAML(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &FieldError{Pos: Pos{Line: extra.Line}, Msg: `invalid YAML: a pipeline file holds one document; remove this "---" and what follows`}
	} else if !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

// bisectLimit is the largest file whose syntax errors are located to the
// column: at 250 KiB the bisection makes an error cost 11 times a valid
// load (BenchmarkLoad), about a quarter of a second.
const bisectLimit = 256 << 10

var (
	yamlLine      = regexp.MustCompile(`^yaml: line (\d+): `)
	yamlWhere     = regexp.MustCompile(`^yaml: (line \d+: )?`)
	unknownAnchor = regexp.MustCompile(`unknown anchor '([^']*)' referenced`)
)

// syntaxError turns a YAML parse error into a positioned field error.
// yaml.v3 gives no column, and its line is where the broken construct began,
// often a line above the mistake, and none at all on the first line. It
// reads a file front to back and stops at the first byte it cannot take, so
// the shortest prefix of the file that fails with the same problem ends at
// the mistake. That prefix is found by bisection, on the error path only: about
// log2(size) parses, a few milliseconds for any hand-written file. Beyond
// bisectLimit that would take seconds, and yaml.v3's own line is given.
func syntaxError(file string, data []byte, err error) *FieldError {
	if fe, ok := errors.AsType[*FieldError](err); ok {
		fe.File = file
		return fe
	}
	problem := yamlWhere.ReplaceAllString(err.Error(), "")
	if m := unknownAnchor.FindStringSubmatch(problem); m != nil {
		// Not a syntax error: the whole file parses, and the alias is
		// where the anchor's name is first used.
		return &FieldError{File: file, Pos: posOf(data, bytes.Index(data, []byte("*"+m[1]))), Msg: "invalid YAML: " + problem}
	}
	if len(data) > bisectLimit {
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return &FieldError{File: file, Pos: Pos{Line: line}, Msg: "invalid YAML: " + problem}
		}
		return &FieldError{File: file, Msg: "invalid YAML: " + problem}
	}
	fails := func(n int) bool {
		_, err := parseYAML(data[:n])
		return err != nil && yamlWhere.ReplaceAllString(err.Error(), "") == problem
	}
	if !fails(len(data)) {
		return &FieldError{File: file, Msg: "invalid YAML: " + problem}
	}
	lo, hi := 0, len(data)
	for hi-lo > 1 {
		if mid := lo + (hi-lo)/2; fails(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	at := hi - 1
	for at > 0 && !utf8.RuneStart(data[at]) {
		at--
	}
	start := bytes.LastIndexByte(data[:at], '\n') + 1
	line := data[start:at]
	msg := problem
	switch {
	case bytes.IndexByte(data[start:at+1], '\t') >= 0 && len(bytes.TrimLeft(data[start:at+1], " \t")) == 0:
		at = start + bytes.IndexByte(data[start:at+1], '\t')
		msg = "a tab cannot indent YAML; indent with spaces"
	case strings.HasPrefix(problem, "mapping values are not allowed"):
		if bytes.Contains(line, []byte(": ")) {
			msg += `; a line holds one "key:", so put this one on a line of its own`
		} else if start > 0 && indent(line) > indent(previousLine(data, start)) {
			msg += "; this line continues the value above it: check its indentation"
		}
	}
	return &FieldError{File: file, Pos: posOf(data, at), Msg: "invalid YAML: " + msg}
}

// previousLine returns the last line before offset start that holds more
// than spaces or a comment.
func previousLine(data []byte, start int) []byte {
	for end := start - 1; end > 0; {
		from := bytes.LastIndexByte(data[:end], '\n') + 1
		if l := data[from:end]; len(bytes.TrimLeft(l, " ")) > 0 && bytes.TrimLeft(l, " ")[0] != '#' {
			return l
		}
		end = from - 1
	}
	return nil
}

func indent(line []byte) int { return len(line) - len(bytes.TrimLeft(line, " ")) }

// posOf returns the line and column of byte offset i, or no position for -1.
// Columns count characters, as yaml.v3's do for every node.
func posOf(data []byte, i int) Pos {
	if i < 0 {
		return Pos{}
	}
	start := bytes.LastIndexByte(data[:i], '\n') + 1
	return Pos{Line: 1 + bytes.Count(data[:i], []byte("\n")), Col: 1 + utf8.RuneCount(data[start:i])}
}

// fileDefaults returns the scalar values under the top-level vars key. Their
// own errors are reported when the tree is decoded.
func fileDefaults(root *yaml.Node) map[string]string {
	out := map[string]string{}
	if root.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "vars" || root.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		m := root.Content[i+1]
		for j := 0; j+1 < len(m.Content); j += 2 {
			if v := m.Content[j+1]; v.Kind == yaml.ScalarNode {
				out[m.Content[j].Value] = v.Value
			}
		}
	}
	return out
}

// expandTree substitutes ${VAR} in every scalar value (never in keys) and
// reports unset variables where they are used.
func expandTree(n *yaml.Node, path string, lookup Lookup, used map[string]string, errs *errorList, depth int) {
	if n == nil || depth > maxDepth {
		return
	}
	switch n.Kind {
	case yaml.ScalarNode:
		expandFn := expand
		if runField.MatchString(path) {
			expandFn = checkRefs
		}
		out, missing := expandFn(n.Value, lookup, used)
		if len(missing) > 0 {
			errs.unset[path] = true
		}
		for _, name := range missing {
			errs.add(nodePos(n), path, "variable %s is not set (pass --set %s=VALUE, export it, or give it a default under vars)", name, name)
		}
		n.Value = out
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if depth == 0 && n.Content[i].Value == "vars" {
				continue // defaults are values, not templates
			}
			expandTree(n.Content[i+1], joinPath(path, n.Content[i].Value), lookup, used, errs, depth+1)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			expandTree(c, fmt.Sprintf("%s[%d]", path, i), lookup, used, errs, depth+1)
		}
	}
}

// runField matches the path of a run step's command. Its variables are
// exported to the step and left for the shell to expand, rather than
// pasted into the script: a secret then never shows in the process list,
// and a value cannot inject shell syntax.
var runField = regexp.MustCompile(`^stages\[\d+\]\.steps\[\d+\]\.run$`)

var stageName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// stepKindFields are the step fields that choose a step's kind, in the order
// errors list them.
var stepKindFields = []StepKind{KindRun, KindApprove, KindDeploy, KindBlueGreen, KindAnalysis, KindAlerts, KindLoadTest, KindNotify}

// validate checks what the decoder cannot: required fields, references
// between stages, and rules that span fields.
func validate(p *Pipeline, d *decoder, root *yaml.Node, lookup Lookup) {
	errs := d.errs
	at := func(path string) Pos {
		// Fall back to the nearest enclosing field that was written, so a
		// missing field is reported where its parent is.
		for p := path; p != ""; p = parentPath(p) {
			if pos, ok := d.pos[p]; ok {
				return pos
			}
		}
		return nodePos(root)
	}
	switch {
	case p.APIVersion == "":
		errs.add(at("apiVersion"), "apiVersion", "required; set it to %s", APIVersion)
	case p.APIVersion != APIVersion:
		errs.add(at("apiVersion"), "apiVersion", "unsupported version %q; this cutover reads %s", p.APIVersion, APIVersion)
	}
	switch {
	case p.Kind == "":
		errs.add(at("kind"), "kind", "required; set it to %s", KindPipeline)
	case p.Kind != KindPipeline:
		errs.add(at("kind"), "kind", "must be %s, got %q", KindPipeline, p.Kind)
	}
	switch {
	case p.Metadata.Name == "":
		errs.add(at("metadata.name"), "metadata.name", "required: the pipeline needs a name")
	case !stageName.MatchString(p.Metadata.Name) && !errs.unset["metadata.name"]:
		// It titles every console and keys the history.
		errs.add(at("metadata.name"), "metadata.name", "%q is not a valid pipeline name (use letters, digits, '-', '_' and '.')", p.Metadata.Name)
	}
	for name := range p.Vars {
		if !ValidName(name) {
			errs.add(at("vars."+name), "vars."+name, "%q is not a variable name", name)
		}
	}
	for i, name := range p.SecretEnv {
		path := fmt.Sprintf("secretEnv[%d]", i)
		if !ValidName(name) {
			errs.add(at(path), path, "%q is not a variable name", name)
		}
		if first := slices.Index(p.SecretEnv, name); first < i {
			errs.add(at(path), path, "%s is listed twice (also secretEnv[%d])", name, first)
		}
		if v, ok := lookup(name); ok && v != "" && utf8.RuneCountInString(v) < MinSecret {
			errs.add(at(path), path, "the value of %s is %d characters long: a secret shorter than %d cannot be masked without revealing it "+
				"(every occurrence of it in the output would be masked); use a longer one", name, utf8.RuneCountInString(v), MinSecret)
		}
	}
	validatePanels(p, d, at)
	validateNotify(p, d, at)
	if len(p.Stages) == 0 {
		if !errs.has("stages") && !d.suggested["stages"] {
			errs.add(at("stages"), "stages", "a pipeline needs at least one stage")
		}
		return
	}
	byName := map[string]int{}
	for i := range p.Stages {
		validateStage(p, i, d, at, byName)
	}
	requirePrometheus(p, errs, at)
	validateNeeds(p, errs, at, byName)
}

// requirePrometheus reports every step that measures with no Prometheus
// to measure with.
func requirePrometheus(p *Pipeline, errs *errorList, at func(string) Pos) {
	if p.Prometheus != nil && strings.TrimSpace(p.Prometheus.Address) != "" {
		return
	}
	for i, s := range p.Stages {
		for j, st := range s.Steps {
			path := fmt.Sprintf("stages[%d].steps[%d]", i, j)
			switch b := st.BlueGreen; {
			case st.Analysis != nil:
				path += ".analysis"
			case st.Alerts != nil:
				path += ".alerts"
			case b != nil && b.PrePromotion != nil:
				path += ".blueGreen.prePromotion"
			case b != nil && b.PostPromotion != nil:
				path += ".blueGreen.postPromotion"
			default:
				continue
			}
			errs.add(at(path), path, "analysis needs Prometheus: add prometheus: {address: https://...} at the top of the file")
		}
	}
}

// validateNeeds checks the graph of needs: every name a stage, none its
// own, no cycle.
func validateNeeds(p *Pipeline, errs *errorList, at func(string) Pos, byName map[string]int) {
	for i, s := range p.Stages {
		for j, need := range s.Needs {
			path := fmt.Sprintf("stages[%d].needs[%d]", i, j)
			switch _, ok := byName[need]; {
			case need == s.Name:
				errs.add(at(path), path, "stage %q cannot need itself", need)
			case !ok:
				msg := fmt.Sprintf("no stage is named %q", need)
				others := slices.DeleteFunc(StageNames(p), func(n string) bool { return n == s.Name || n == need })
				if sug := Suggest(need, others); sug != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", sug)
				}
				errs.add(at(path), path, "%s", msg)
			}
		}
	}
	if cycle := findCycle(p); cycle != nil {
		i := byName[cycle[0]]
		path := fmt.Sprintf("stages[%d].needs", i)
		errs.add(at(path), path, "needs form a cycle: %s", strings.Join(cycle, " -> "))
	}
}

func validateStage(p *Pipeline, i int, d *decoder, at func(string) Pos, byName map[string]int) {
	errs := d.errs
	s := &p.Stages[i]
	path := fmt.Sprintf("stages[%d]", i)
	switch {
	case s.Name == "" && errs.has(path+".name"):
	case s.Name == "":
		errs.add(at(path+".name"), path+".name", "required: every stage needs a name")
	case !stageName.MatchString(s.Name):
		errs.add(at(path+".name"), path+".name", "%q is not a valid stage name (use letters, digits, '-', '_' and '.')", s.Name)
	default:
		if first, dup := byName[s.Name]; dup {
			errs.add(at(path+".name"), path+".name", "duplicate stage name %q (also stages[%d])", s.Name, first)
		} else {
			byName[s.Name] = i
		}
	}
	if _, ok := d.pos[path+".budget"]; !ok {
		if !d.suggested[path+".budget"] {
			errs.add(at(path), path+".budget", "required: every stage needs a time budget, like 15m")
		}
	} else if s.Budget <= 0 && !errs.has(path+".budget") {
		errs.add(at(path+".budget"), path+".budget", "must be longer than zero")
	}
	if s.OnOverBudget != "" && s.OnOverBudget != OverBudgetWarn && s.OnOverBudget != OverBudgetFail {
		errs.add(at(path+".onOverBudget"), path+".onOverBudget", "must be warn or fail, got %q", s.OnOverBudget)
	}
	if len(s.Steps) == 0 && !errs.has(path+".steps") && !d.suggested[path+".steps"] {
		errs.add(at(path+".steps"), path+".steps", "a stage needs at least one step")
	}
	stepNames := map[string]int{}
	for j := range s.Steps {
		name := s.Steps[j].StepName(j)
		if n := s.Steps[j].Name; n != "" && !stageName.MatchString(n) {
			// Step names are printed and typed (approve STAGE/STEP) like
			// stage names, and follow their rule.
			npath := fmt.Sprintf("%s.steps[%d].name", path, j)
			errs.add(at(npath), npath, "%q is not a valid step name (use letters, digits, '-', '_' and '.')", n)
		}
		if first, dup := stepNames[name]; dup {
			npath := fmt.Sprintf("%s.steps[%d].name", path, j)
			if s.Steps[j].Name == "" {
				errs.add(at(npath), npath, "this unnamed step's default name %q is taken by steps[%d]; give it a name", name, first)
			} else {
				errs.add(at(npath), npath, "duplicate step name %q in stage (also steps[%d])", name, first)
			}
		}
		stepNames[name] = j
		validateStep(p, &s.Steps[j], fmt.Sprintf("%s.steps[%d]", path, j), d, at)
	}
}

func validateStep(p *Pipeline, st *Step, path string, d *decoder, at func(string) Pos) {
	errs := d.errs
	var kinds []StepKind
	for _, k := range stepKindFields {
		if _, ok := d.pos[path+"."+string(k)]; ok {
			kinds = append(kinds, k)
		}
	}
	switch len(kinds) {
	case 0:
		errs.add(at(path), path, "step has no kind; set one of run, approve, deploy, blueGreen, analysis, alerts, loadtest or notify")
		return
	case 1:
	default:
		names := make([]string, len(kinds))
		for i, k := range kinds {
			names[i] = string(k)
		}
		errs.add(at(path+"."+string(kinds[1])), path, "step has several kinds (%s); give each its own step", strings.Join(names, ", "))
		return
	}
	kind := kinds[0]
	kpath := path + "." + string(kind)
	if !kind.implemented() {
		errs.add(at(kpath), kpath, "%s steps are not yet implemented in this version of cutover", kind)
		return
	}
	if kind != KindRun && kind != KindApprove && !slices.Contains(st.Kinds(), kind) {
		// Its value did not decode (a scalar where a mapping belongs), and
		// the decoder said so: there is nothing of it to check.
		return
	}
	only := func(field string, kinds ...StepKind) {
		if _, ok := d.pos[path+"."+field]; ok && !slices.Contains(kinds, kind) {
			errs.add(at(path+"."+field), path+"."+field, "only applies to %s steps", kinds[0])
		}
	}
	only("env", KindRun)
	only("dir", KindRun)
	only("retries", KindRun)
	only("onTimeout", KindApprove)
	switch kind {
	case KindRun:
		if strings.TrimSpace(st.Run) == "" && !errs.unset[kpath] {
			errs.add(at(kpath), kpath, "command is empty")
		}
		if st.Retries < 0 || st.Retries > 10 {
			errs.add(at(path+".retries"), path+".retries", "must be between 0 and 10, got %d", st.Retries)
		}
		for name := range st.Env {
			if !ValidName(name) {
				errs.add(at(path+".env."+name), path+".env."+name, "%q is not a valid environment variable name", name)
			}
		}
	case KindApprove:
		if strings.TrimSpace(st.Approve) == "" {
			errs.add(at(kpath), kpath, "instruction text is empty; say what the approver must check")
		}
		if st.OnTimeout != "" && st.OnTimeout != GateApprove && st.OnTimeout != GateReject {
			errs.add(at(path+".onTimeout"), path+".onTimeout", "must be approve or reject, got %q", st.OnTimeout)
		}
		if st.OnTimeout != "" && st.Timeout == 0 {
			errs.add(at(path+".onTimeout"), path+".onTimeout", "needs a timeout longer than zero to take effect")
		}
	case KindBlueGreen:
		validateBlueGreen(st.BlueGreen, kpath, d, at)
		if a := st.BlueGreen.PrePromotion; a != nil {
			validateAnalysis(a, kpath+".prePromotion", d, at)
		}
		if a := st.BlueGreen.PostPromotion; a != nil {
			validateAnalysis(a, kpath+".postPromotion", d, at)
		}
	case KindAnalysis:
		validateAnalysis(st.Analysis, kpath, d, at)
	case KindLoadTest:
		validateLoadTest(st.LoadTest, kpath, d, at)
	case KindNotify:
		validateNotifyStep(p, st.Notify, kpath, d, at)
	case KindDeploy:
		required := requirer(kpath, d, at)
		required("namespace", st.Deploy.Namespace, "the namespace of the Deployment")
		required("deployment", st.Deploy.Deployment, "the Deployment to update")
		required("container", st.Deploy.Container, "the container whose image is set")
		required("image", st.Deploy.Image, "the image to deploy")
	}
	if st.Timeout < 0 {
		errs.add(at(path+".timeout"), path+".timeout", "must not be negative")
	}
}

// requirer returns a check that reports an empty required field of the
// object at kpath, with a hint of what belongs there.
func requirer(kpath string, d *decoder, at func(string) Pos) func(field, val, hint string) {
	return func(field, val, hint string) {
		fpath := kpath + "." + field
		if strings.TrimSpace(val) == "" && !d.errs.has(fpath) && !d.errs.unset[fpath] && !d.suggested[fpath] {
			d.errs.add(at(fpath), fpath, "required: %s", hint)
		}
	}
}

func validateAnalysis(a *AnalysisSpec, kpath string, d *decoder, at func(string) Pos) {
	errs := d.errs
	if len(a.Metrics) == 0 && !errs.has(kpath+".metrics") {
		errs.add(at(kpath), kpath+".metrics", "required: at least one metric, with a query and a successCondition or failureCondition")
	}
	for _, f := range []struct {
		field string
		v     int
	}{{"count", a.Count}, {"failureLimit", a.FailureLimit}, {"inconclusiveLimit", a.InconclusiveLimit}, {"consecutiveSuccesses", a.ConsecutiveSuccesses}} {
		if f.v < 0 {
			errs.add(at(kpath+"."+f.field), kpath+"."+f.field, "must not be negative, got %d", f.v)
		}
	}
	if a.Interval < 0 {
		errs.add(at(kpath+".interval"), kpath+".interval", "must not be negative")
	}
	seen := map[string]int{}
	for i, m := range a.Metrics {
		mpath := fmt.Sprintf("%s.metrics[%d]", kpath, i)
		required := requirer(mpath, d, at)
		required("name", m.Name, "a name for the metric, shown with each measurement")
		required("query", m.Query, "the PromQL query; it must return one number")
		if m.Query != "" {
			if _, err := ParseQuery(m.Query); err != nil {
				errs.add(at(mpath+".query"), mpath+".query", "%v", err)
			}
		}
		if first, dup := seen[m.Name]; dup && m.Name != "" {
			errs.add(at(mpath+".name"), mpath+".name", "duplicate metric name %q (also metrics[%d])", m.Name, first)
		}
		seen[m.Name] = i
		if m.SuccessCondition == "" && m.FailureCondition == "" {
			errs.add(at(mpath), mpath, "needs a successCondition or a failureCondition, like \"< 0.05\"")
		}
		for _, c := range []struct{ field, text string }{{"successCondition", m.SuccessCondition}, {"failureCondition", m.FailureCondition}} {
			if c.text == "" {
				continue
			}
			if _, err := ParseCondition(c.text); err != nil {
				errs.add(at(mpath+"."+c.field), mpath+"."+c.field, "%v", err)
			}
		}
	}
}

func validateBlueGreen(b *BlueGreenSpec, kpath string, d *decoder, at func(string) Pos) {
	required := requirer(kpath, d, at)
	required("namespace", b.Namespace, "the namespace of the Service and its Deployments")
	required("service", b.Service, "the Service whose selector names the live color")
	required("container", b.Container, "the container whose image is released")
	required("image", b.Image, "the image to release")
	if _, set := d.pos[kpath+".replicas"]; !set && !d.suggested[kpath+".replicas"] {
		d.errs.add(at(kpath), kpath+".replicas", "required: how many pods the new color runs")
	} else if b.Replicas < 1 && !d.errs.has(kpath+".replicas") {
		d.errs.add(at(kpath+".replicas"), kpath+".replicas", "must be at least 1, got %d", b.Replicas)
	}
	if b.ScaleDownDelay < 0 {
		d.errs.add(at(kpath+".scaleDownDelay"), kpath+".scaleDownDelay", "must not be negative")
	}
	if t := b.Target(); t.Blue == t.Green {
		d.errs.add(at(kpath+".deployments"), kpath+".deployments", "blue and green must be different Deployments, both are %q", t.Blue)
	}
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// StageNames lists the pipeline's stage names, in order: what an unknown
// stage name is compared with for a "did you mean".
func StageNames(p *Pipeline) []string {
	names := make([]string, 0, len(p.Stages))
	for _, s := range p.Stages {
		names = append(names, s.Name)
	}
	return names
}

// findCycle returns the stages of one cycle in needs, first stage repeated
// at the end, or nil when the graph is acyclic.
func findCycle(p *Pipeline) []string {
	needs := map[string][]string{}
	for _, s := range p.Stages {
		needs[s.Name] = s.Needs
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(string) []string
	visit = func(n string) []string {
		state[n] = visiting
		stack = append(stack, n)
		for _, m := range needs[n] {
			if _, ok := needs[m]; !ok || m == n {
				continue // reported elsewhere
			}
			switch state[m] {
			case visiting:
				start := slices.Index(stack, m)
				return append(slices.Clone(stack[start:]), m)
			case unvisited:
				if c := visit(m); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		return nil
	}
	for _, s := range p.Stages {
		if state[s.Name] == unvisited {
			if c := visit(s.Name); c != nil {
				return c
			}
		}
	}
	return nil
}

func validatePanels(p *Pipeline, d *decoder, at func(string) Pos) {
	errs := d.errs
	if pr := p.Prometheus; pr != nil {
		for _, f := range []struct {
			field string
			v     Duration
		}{{"refresh", pr.Refresh}, {"range", pr.Range}} {
			if f.v < 0 {
				errs.add(at("prometheus."+f.field), "prometheus."+f.field, "must not be negative")
			}
		}
		if pr.Refresh > 0 && pr.Refresh.D() < time.Second {
			errs.add(at("prometheus.refresh"), "prometheus.refresh", "must be at least 1s: Prometheus scrapes no faster, and every refresh queries each panel")
		}
	}
	if len(p.Panels) > 0 && (p.Prometheus == nil || strings.TrimSpace(p.Prometheus.Address) == "") {
		errs.add(at("panels"), "panels", "panels need Prometheus: add prometheus: {address: https://...} at the top of the file")
	}
	for i, pn := range p.Panels {
		path := fmt.Sprintf("panels[%d]", i)
		required := requirer(path, d, at)
		required("title", pn.Title, "the panel's title")
		required("query", pn.Query, "the PromQL query the panel draws")
		if pn.Query != "" {
			if _, err := ParseQuery(pn.Query); err != nil {
				errs.add(at(path+".query"), path+".query", "%v", err)
			}
		}
		if pn.Unit != "" && !slices.Contains(units, pn.Unit) {
			errs.add(at(path+".unit"), path+".unit", "unknown unit %q; use one of req/s, %%, seconds, bytes, cores or count", pn.Unit)
		}
		for _, c := range []struct{ field, text string }{{"warn", pn.Warn}, {"crit", pn.Crit}} {
			if c.text == "" {
				continue
			}
			if _, err := ParseCondition(c.text); err != nil {
				errs.add(at(path+"."+c.field), path+"."+c.field, "%v", err)
			}
		}
	}
}

// validateNotify checks the pipeline's notify:.
func validateNotify(p *Pipeline, d *decoder, at func(string) Pos) {
	n := p.Notify
	if n == nil {
		return
	}
	errs := d.errs
	if n.Slack == nil && n.Teams == nil {
		errs.add(at("notify"), "notify", "names no target; add slack: ${SLACK_WEBHOOK} or teams: ${TEAMS_WEBHOOK}, and list the variable under secretEnv")
	}
	validateTargets(p, n.Slack, n.Teams, "notify", d, at)
	names := make([]string, len(notifyTriggers))
	for i, t := range notifyTriggers {
		names[i] = string(t)
	}
	seen := map[NotifyTrigger]int{}
	for i, t := range n.On {
		path := fmt.Sprintf("notify.on[%d]", i)
		if errs.has(path) {
			continue
		}
		if !slices.Contains(notifyTriggers, t) {
			msg := fmt.Sprintf("unknown event %q; use started, approval, promoted, rolledBack, failed or finished", t)
			if sug := Suggest(string(t), names); sug != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", sug)
			}
			errs.add(at(path), path, "%s", msg)
			continue
		}
		if first, dup := seen[t]; dup {
			errs.add(at(path), path, "%s is listed twice (also notify.on[%d])", t, first)
		}
		seen[t] = i
	}
	if r := n.Retries; r != nil && (*r < 0 || *r > 10) {
		errs.add(at("notify.retries"), "notify.retries", "must be between 0 and 10, got %d", *r)
	}
	if n.Timeout < 0 {
		errs.add(at("notify.timeout"), "notify.timeout", "must not be negative")
	}
}

// validateNotifyStep checks a notify step. One that names no target of
// its own uses the pipeline's notify:, which must then have one.
func validateNotifyStep(p *Pipeline, n *NotifyStepSpec, kpath string, d *decoder, at func(string) Pos) {
	if strings.TrimSpace(n.Message) == "" && !d.errs.has(kpath+".message") && !d.errs.unset[kpath+".message"] && !d.suggested[kpath+".message"] {
		d.errs.add(at(kpath+".message"), kpath+".message", "required: the text to send, like \"checkout ${IMAGE_TAG} is live in production\"")
	}
	if n.Slack == nil && n.Teams == nil && (p.Notify == nil || p.Notify.Slack == nil && p.Notify.Teams == nil) {
		d.errs.add(at(kpath), kpath, "has no target: add slack: ${SLACK_WEBHOOK} or teams: ${TEAMS_WEBHOOK} to the step "+
			"(and list the variable under secretEnv), or a notify: with them at the top of the file for every notify step to use")
	}
	validateTargets(p, n.Slack, n.Teams, kpath, d, at)
}

func validateTargets(p *Pipeline, slack *SlackTarget, teams *TeamsTarget, path string, d *decoder, at func(string) Pos) {
	if slack != nil {
		validateWebhook(p, slack.Webhook, path+".slack.webhook", "SLACK_WEBHOOK", d, at)
	}
	if teams != nil {
		validateWebhook(p, teams.Webhook, path+".teams.webhook", "TEAMS_WEBHOOK", d, at)
	}
}

// validateWebhook checks that a webhook URL comes from a secretEnv
// variable: the URL is a credential (anyone who has it can post to the
// channel), and only secretEnv values are masked. The URL itself is never
// quoted in an error, which may end up in a CI log.
func validateWebhook(p *Pipeline, webhook, fpath, example string, d *decoder, at func(string) Pos) {
	errs := d.errs
	target := parentPath(fpath) // written as a mapping, or as the webhook alone
	if errs.has(fpath) || errs.has(target) || errs.unset[fpath] || errs.unset[target] || d.suggested[fpath] {
		return
	}
	hint := fmt.Sprintf("write webhook: ${%s} and list %s under secretEnv", example, example)
	if strings.TrimSpace(webhook) == "" {
		errs.add(at(fpath), fpath, "required: the webhook URL; %s", hint)
		return
	}
	var from []string // the variables whose value this is
	for _, name := range slices.Sorted(maps.Keys(d.used)) {
		if d.used[name] == webhook {
			from = append(from, name)
		}
	}
	secret := slices.IndexFunc(from, func(name string) bool { return slices.Contains(p.SecretEnv, name) })
	switch {
	case secret < 0 && len(from) > 0:
		errs.add(at(fpath), fpath, "comes from %s, which is not listed under secretEnv; list it there, so that the webhook URL, a credential, is masked", from[0])
		return
	case secret < 0:
		errs.add(at(fpath), fpath, "must come from a secretEnv variable, since a webhook URL is a credential: %s", hint)
		return
	}
	if u, err := url.Parse(webhook); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs.add(at(fpath), fpath, "the value of %s is not an http or https URL", from[secret])
	}
}

// maxLoadTest bounds a load test: it is a check, not a soak.
const maxLoadTest = time.Hour

func validateLoadTest(l *LoadTestSpec, kpath string, d *decoder, at func(string) Pos) {
	errs := d.errs
	required := requirer(kpath, d, at)
	required("target", l.Target, "the URL to send requests to")
	if l.Target != "" {
		if u, err := url.Parse(l.Target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs.add(at(kpath+".target"), kpath+".target", "want an http or https URL, got %q", l.Target)
		}
	}
	if m := l.Method; m != "" && !slices.Contains([]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}, m) {
		errs.add(at(kpath+".method"), kpath+".method", "unknown method %q; use GET, HEAD, POST, PUT, PATCH or DELETE", m)
	}
	if _, set := d.pos[kpath+".rate"]; !set && !errs.has(kpath+".rate") {
		errs.add(at(kpath), kpath+".rate", "required: requests per second, like 50")
	} else if (l.Rate < 1 || l.Rate > 10000) && !errs.has(kpath+".rate") {
		errs.add(at(kpath+".rate"), kpath+".rate", "must be between 1 and 10000 requests per second, got %d", l.Rate)
	}
	switch {
	case l.Duration <= 0 && !errs.has(kpath+".duration"):
		errs.add(at(kpath+".duration"), kpath+".duration", "required: how long to send requests, like 30s")
	case l.Duration.D() > maxLoadTest:
		errs.add(at(kpath+".duration"), kpath+".duration", "must be at most %s, got %s", Duration(maxLoadTest), l.Duration)
	}
	if l.RequestTimeout < 0 {
		errs.add(at(kpath+".requestTimeout"), kpath+".requestTimeout", "must not be negative")
	}
	tp := kpath + ".thresholds"
	if l.Thresholds.P95 < 0 {
		errs.add(at(tp+".p95"), tp+".p95", "must not be negative")
	}
	if r := l.Thresholds.ErrorRate; r != nil && (*r < 0 || *r > 1) {
		errs.add(at(tp+".errorRate"), tp+".errorRate", "is a ratio between 0 and 1 (0.05 is 5%%), got %g", *r)
	}
	if l.Thresholds.MinRate < 0 {
		errs.add(at(tp+".minRate"), tp+".minRate", "must not be negative")
	}
}
