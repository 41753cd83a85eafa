package engine

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
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

// ansi matches terminal escape sequences (CSI and OSC), which step output
// often carries for colour but which must not reach another terminal raw.
var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)?`)

// Sanitize makes one line of process output safe to print and to encode:
// invalid UTF-8 and control characters become U+FFFD, escape sequences are
// dropped, and a trailing carriage return is removed.
func Sanitize(line string) string {
	line = strings.TrimSuffix(line, "\r")
	if strings.IndexByte(line, 0x1b) >= 0 {
		line = ansi.ReplaceAllString(line, "")
	}
	clean := true
	for i := 0; i < len(line); i++ {
		if c := line[i]; c < 0x20 && c != '\t' || c == 0x7f || c >= utf8.RuneSelf {
			clean = false
			break
		}
	}
	if clean {
		return line
	}
	line = strings.ToValidUTF8(line, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r != '\t' && unicode.IsControl(r) {
			return '\uFFFD'
		}
		return r
	}, line)
}
