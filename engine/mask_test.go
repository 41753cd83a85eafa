package engine

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cutover-sh/cutover/engine/spec"
)

func TestMasker(t *testing.T) {
	m := NewMasker([]string{"abc", "", "abcdef", "zz"})
	for _, c := range []struct{ in, want string }{
		{"token=abcdef;", "token=***;"},
		{"abc abcdefabc", "*** ******"},
		{"nothing here", "nothing here"},
		{"zzz", "***z"},
	} {
		if got := m.String(c.in); got != c.want {
			t.Errorf("mask %q: got %q, want %q", c.in, got, c.want)
		}
	}
	var none *Masker
	if got := none.String("abc"); got != "abc" {
		t.Errorf("nil masker: got %q", got)
	}
	if NewMasker([]string{""}) != nil {
		t.Error("a masker of only empty secrets should be nil")
	}
}

func TestSplitLineKeepsRunes(t *testing.T) {
	s := strings.Repeat("é", 10) // 20 bytes
	parts := splitLine(s, 5)
	if strings.Join(parts, "") != s {
		t.Fatalf("pieces do not rejoin: %q", parts)
	}
	for _, p := range parts {
		if len(p) > 5 || !utf8.ValidString(p) {
			t.Errorf("piece %q is too long or splits a rune", p)
		}
	}
}

// pemKey is a multi-line secret of the shape people keep in secretEnv.
const pemKey = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n}\n-----END PRIVATE KEY-----"

func TestMaskerMultiLineSecret(t *testing.T) {
	m := NewMasker([]string{pemKey})
	for _, c := range []struct{ name, in, want string }{
		{"whole", "key=" + pemKey + ";", "key=***;"},
		{"whole, CRLF", "key=" + strings.ReplaceAll(pemKey, "\n", "\r\n"), "key=***"},
		{"one line", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "***"},
		{"a line indented", "    BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj", "    ***"},
		{"a short line alone is not masked", "}", "}"},
	} {
		if got := m.String(c.in); got != c.want {
			t.Errorf("%s: mask %q: got %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

func TestMaskerCutKeepsSecretsWhole(t *testing.T) {
	m := NewMasker([]string{"s3cr3t-value"})
	b := []byte("xxxxxxxs3cr3t-valuexxxx")
	for n := 1; n < len(b); n++ {
		cut := m.Cut(b, n)
		if cut > n {
			t.Fatalf("Cut(%d) = %d: past n", n, cut)
		}
		left, right := m.String(string(b[:cut])), m.String(string(b[cut:]))
		if strings.Contains(left+right, "s3cr3t") {
			t.Errorf("cut at %d (asked %d) splits the secret: %q | %q", cut, n, left, right)
		}
	}
	var none *Masker
	if got := none.Cut(b, 5); got != 5 {
		t.Errorf("nil masker: Cut = %d, want 5", got)
	}
}

// TestDiffsAreMasked: a pipeline secret written into a pod template as a
// literal variable is masked in the diff, whose hash stays the one of what
// the cluster holds.
func TestDiffsAreMasked(t *testing.T) {
	const secret = "s3cr3t-token-value-123"
	m := NewMasker([]string{secret})
	live := ColorState{Replicas: 3, Template: map[string]string{"container/web/env/TOKEN": `"old"`}}
	preview := ColorState{Replicas: 3, Template: map[string]string{"container/web/env/TOKEN": `"` + secret + `"`}}
	raw := DiffColors(spec.Blue, spec.Green, live, preview, "color")
	d := m.Diff(raw)
	if strings.Contains(d.Unified(), secret) || !strings.Contains(d.Unified(), Mask) || d.Hash != raw.Hash {
		t.Errorf("masked diff:\n%s(hash %s, raw %s); want the secret masked and the hash kept", d.Unified(), d.Hash, raw.Hash)
	}
	if !strings.Contains(raw.Unified(), secret) {
		t.Errorf("the raw diff lost the value, so the test proves nothing:\n%s", raw.Unified())
	}
}
