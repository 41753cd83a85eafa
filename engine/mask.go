package engine

import (
	"bytes"
	"cmp"
	"slices"
	"strings"

	"github.com/cutover-sh/cutover/engine/spec"
)

// Mask is what a secret value is replaced with.
const Mask = "***"

// Masker hides secret values wherever they appear, including inside longer
// strings. A nil *Masker masks nothing.
type Masker struct {
	r    *strings.Replacer
	vals []string // what is masked, longest first
}

// NewMasker masks every non-empty value in secrets. A value of several
// lines is masked whole, and each of its lines on its own as well, since a
// step prints a PEM key or a kubeconfig one line at a time. Lines shorter
// than MinSecret are not masked on their own (a blank line, a lone "}"):
// the rest of the value still is.
func NewMasker(secrets []string) *Masker {
	var vals []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		vals = append(vals, s)
		if !strings.ContainsAny(s, "\r\n") {
			continue
		}
		vals = append(vals, strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n"))
		for _, line := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
			for _, l := range []string{line, strings.TrimSpace(line)} {
				if len(l) >= spec.MinSecret {
					vals = append(vals, l)
				}
			}
		}
	}
	if len(vals) == 0 {
		return nil
	}
	// Longest first: strings.Replacer tries its pairs in order, and a secret
	// that contains another must be masked whole.
	slices.SortFunc(vals, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b)) })
	vals = slices.Compact(vals)
	pairs := make([]string, 0, 2*len(vals))
	for _, v := range vals {
		pairs = append(pairs, v, Mask)
	}
	return &Masker{r: strings.NewReplacer(pairs...), vals: vals}
}

// String returns s with every secret replaced by Mask.
func (m *Masker) String(s string) string {
	if m == nil {
		return s
	}
	return m.r.Replace(s)
}

// Map masks every value of vars.
func (m *Masker) Map(vars map[string]string) map[string]string {
	if vars == nil {
		return nil
	}
	out := make(map[string]string, len(vars))
	for k, v := range vars {
		out[k] = m.String(v)
	}
	return out
}

// Cut returns where to cut b, at n or before it, so that no secret is cut
// in two: a piece of output too long to mask whole is cut there, and each
// piece is masked on its own.
func (m *Masker) Cut(b []byte, n int) int {
	if m == nil {
		return n
	}
	cut := n
	for _, v := range m.vals {
		// Any occurrence that starts in the last len(v)-1 bytes before n
		// and is found whole reaches past n.
		from := max(0, n-len(v)+1)
		if j := bytes.Index(b[from:min(len(b), n+len(v)-1)], []byte(v)); j >= 0 {
			cut = min(cut, from+j)
		}
	}
	if cut == 0 {
		return n // a secret at the very start: it is whole in this piece
	}
	return cut
}

// Diff masks a diff's values: a pod template may hold a pipeline secret as
// a literal variable, and the diff goes to screens, chat and the journal.
// The hash stays the unmasked diff's, which is what a person approves.
func (m *Masker) Diff(d TemplateDiff) TemplateDiff {
	if m == nil {
		return d
	}
	changes := make([]Change, len(d.Changes))
	for i, c := range d.Changes {
		changes[i] = Change{Path: m.String(c.Path), From: m.String(c.From), To: m.String(c.To)}
	}
	d.Changes = changes
	return d
}
