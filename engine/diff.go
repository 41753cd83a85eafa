package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/cutover-sh/cutover/engine/spec"
)

// A ColorState's Template is its Deployment's pod template flattened to
// one value per path, so that two colors compare field by field with no
// Kubernetes types in the engine. kube fills it. The paths:
//
//	container/NAME/image, .../command, .../args, .../workingDir
//	container/NAME/env/VAR        "value" quoted, or secretKeyRef SECRET/KEY
//	container/NAME/envFrom/SOURCE configMapRef NAME or secretRef NAME
//	container/NAME/resources/{requests,limits}/RESOURCE
//	container/NAME/probe/{liveness,readiness,startup}
//	container/NAME/port/NAME      8080/TCP
//	container/NAME/mount/PATH     VOLUME, read-only or not
//	initContainer/NAME/...        as container/
//	volume/NAME                   configMap NAME, secret NAME, emptyDir...
//	serviceAccount, label/KEY, annotation/KEY
//
// A Secret's value never enters a template: env and volumes name the
// Secret and key they read.

// Change is one difference between the live color's pod template and the
// preview's. From is empty for an added path, To for a removed one.
type Change struct {
	Path string `json:"path"`
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// TemplateDiff is what a switch changes for the pods that serve traffic:
// the preview's pod template and replicas against the live color's.
type TemplateDiff struct {
	From spec.Color `json:"from,omitempty"`
	To   spec.Color `json:"to,omitempty"`
	// Deployment is set instead of the colors for a deploy step's diff:
	// the Deployment now against what the step will make it.
	Deployment string   `json:"deployment,omitempty"`
	Changes    []Change `json:"changes"`
	// Hash identifies the diff a person read, so that an approval given
	// against it is refused once the preview differs from it.
	Hash string `json:"hash"`
}

// DiffColors compares the preview's template with the live color's, leaving
// out the label that names the color (selectorKey), which always differs.
func DiffColors(from, to spec.Color, live, preview ColorState, selectorKey string) TemplateDiff {
	return diffTemplates(TemplateDiff{From: from, To: to}, live, preview, selectorKey)
}

// DiffDeploy compares a Deployment now with what a deploy step will make
// it (DeployPlanner).
func DiffDeploy(deployment string, now, next ColorState) TemplateDiff {
	return diffTemplates(TemplateDiff{Deployment: deployment}, now, next, "")
}

func diffTemplates(d TemplateDiff, live, preview ColorState, selectorKey string) TemplateDiff {
	a, b := maps.Clone(live.Template), maps.Clone(preview.Template)
	if a == nil {
		a = map[string]string{}
	}
	if b == nil {
		b = map[string]string{}
	}
	a["replicas"], b["replicas"] = strconv.Itoa(int(live.Replicas)), strconv.Itoa(int(preview.Replicas))
	if selectorKey != "" {
		delete(a, "label/"+selectorKey)
		delete(b, "label/"+selectorKey)
	}
	for _, p := range slices.Sorted(maps.Keys(keysOf(a, b))) {
		if va, vb := a[p], b[p]; va != vb {
			d.Changes = append(d.Changes, Change{Path: p, From: va, To: vb})
		}
	}
	slices.SortStableFunc(d.Changes, func(x, y Change) int { return changeRank(x.Path) - changeRank(y.Path) })
	sum := sha256.Sum256([]byte(d.Unified()))
	d.Hash = hex.EncodeToString(sum[:8])
	return d
}

func keysOf(ms ...map[string]string) map[string]bool {
	out := map[string]bool{}
	for _, m := range ms {
		for k := range m {
			out[k] = true
		}
	}
	return out
}

// changeRank orders what a person checks first: images, then replicas,
// then everything else in path order.
func changeRank(path string) int {
	switch {
	case strings.HasSuffix(path, "/image"):
		return 0
	case path == "replicas":
		return 1
	}
	return 2
}

// Unified is every change, one per line: "- path: old" and "+ path: new".
func (d TemplateDiff) Unified() string {
	var b strings.Builder
	if d.Deployment != "" {
		fmt.Fprintf(&b, "--- deployment %s (now)\n+++ deployment %s (after this step)\n", d.Deployment, d.Deployment)
	} else {
		fmt.Fprintf(&b, "--- %s (live)\n+++ %s (preview)\n", d.From, d.To)
	}
	for _, c := range d.Changes {
		if c.From != "" {
			fmt.Fprintf(&b, "- %s: %s\n", c.Path, c.From)
		}
		if c.To != "" {
			fmt.Fprintf(&b, "+ %s: %s\n", c.Path, c.To)
		}
	}
	return b.String()
}

// Summary is the diff in at most max lines, each one change as a person
// reads it ("web image: v1.4.1 → v1.4.2"), the last saying how many more
// there are.
func (d TemplateDiff) Summary(max int) []string {
	switch {
	case len(d.Changes) == 0 && d.Deployment != "":
		return []string{fmt.Sprintf("deployment %s's pods stay as they are", d.Deployment)}
	case len(d.Changes) == 0:
		return []string{fmt.Sprintf("%s's pods are the same as %s's", d.To, d.From)}
	}
	var out []string
	for i, c := range d.Changes {
		if len(out) == max-1 && len(d.Changes)-i > 1 {
			out = append(out, fmt.Sprintf("… and %d more changes", len(d.Changes)-i))
			break
		}
		out = append(out, c.String())
	}
	return out
}

// String says one change: the field in words, then what it becomes.
func (c Change) String() string {
	what := c.Path
	if kind, rest, ok := strings.Cut(c.Path, "/"); ok && (kind == "container" || kind == "initContainer") {
		name, field, _ := strings.Cut(rest, "/")
		if kind == "initContainer" {
			name += " (init)"
		}
		// A mount's path keeps its slashes; resources/limits/cpu reads
		// as words.
		field, tail, _ := strings.Cut(field, "/")
		if field == "resources" {
			tail = strings.ReplaceAll(tail, "/", " ")
		}
		what = strings.TrimSpace(name + " " + field + " " + tail)
	} else {
		what = strings.Replace(what, "/", " ", 1)
	}
	from, to := c.From, c.To
	if strings.HasSuffix(c.Path, "/image") {
		from, to = shortImages(from, to)
	}
	switch {
	case from == "":
		return fmt.Sprintf("%s: added %s", what, to)
	case to == "":
		return fmt.Sprintf("%s: removed (was %s)", what, from)
	}
	return fmt.Sprintf("%s: %s → %s", what, from, to)
}

// shortImages drops the repository two images share, so that the tags or
// digests that differ are what is read.
func shortImages(a, b string) (string, string) {
	ra, ta := splitImage(a)
	rb, tb := splitImage(b)
	if ra == rb && ta != "" && tb != "" {
		return ta, tb
	}
	return a, b
}

// splitImage splits an image into repository and tag or digest; a port in
// the registry's name is not a tag.
func splitImage(s string) (repo, ref string) {
	if r, d, ok := strings.Cut(s, "@"); ok {
		return r, "@" + d
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 && !strings.Contains(s[i:], "/") {
		return s[:i], s[i+1:]
	}
	return s, ""
}
