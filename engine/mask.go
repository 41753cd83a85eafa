package engine

import (
	"cmp"
	"slices"
	"strings"
)

// Mask is what a secret value is replaced with.
const Mask = "***"

// Masker hides secret values wherever they appear, including inside longer
// strings. A nil *Masker masks nothing.
type Masker struct {
	r *strings.Replacer
}

// NewMasker masks every non-empty value in secrets.
func NewMasker(secrets []string) *Masker {
	vals := slices.DeleteFunc(slices.Clone(secrets), func(s string) bool { return s == "" })
	if len(vals) == 0 {
		return nil
	}
	// Longest first: strings.Replacer tries its pairs in order, and a secret
	// that contains another must be masked whole.
	slices.SortFunc(vals, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	pairs := make([]string, 0, 2*len(vals))
	for _, v := range slices.Compact(vals) {
		pairs = append(pairs, v, Mask)
	}
	return &Masker{r: strings.NewReplacer(pairs...)}
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
