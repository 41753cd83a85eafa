package spec

import (
	"bytes"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestDeepNesting(t *testing.T) {
	for _, c := range []struct {
		name string
		doc  string
		deep bool
	}{
		{"flow brackets", "a: " + strings.Repeat("[", 70), true},
		{"flow braces", "a: " + strings.Repeat("{b: ", 70), true},
		{"block entries on one line", strings.Repeat("- ", 70) + "x", true},
		{"indentation", deepBlock(70), true},
		{"shallow flow", "a: " + strings.Repeat("[", 20) + strings.Repeat("]", 20), false},
		{"shallow indentation", deepBlock(30), false},
		{"brackets in a quoted scalar", "a: '" + strings.Repeat("[", 200) + "'", false},
		{"brackets in a double-quoted scalar", `a: "\"` + strings.Repeat("[", 200) + `"`, false},
		{"brackets in a plain scalar", "run: echo " + strings.Repeat("[", 200), false},
		{"brackets in a comment", "a: b # " + strings.Repeat("[", 200), false},
		{"brackets in a block scalar", "run: |\n  " + strings.Repeat("[", 200) + "\nb: c", false},
		{"a block scalar ends where its key's level resumes", "s:\n  - run: |\n      x\n    b: " + strings.Repeat("[", 70), true},
		{"an apostrophe inside a plain scalar opens no quote", "a: it's\nb: " + strings.Repeat("[", 70), true},
		{"a quoted scalar over two lines", "a: '[\n  [' \nb: " + strings.Repeat("[", 70), true},
	} {
		_, deep := deepNesting([]byte(c.doc), maxNesting)
		if deep != c.deep {
			t.Errorf("%s: deep %v, want %v", c.name, deep, c.deep)
		}
	}
}

// deepBlock nests n mappings by indentation.
func deepBlock(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(strings.Repeat(" ", i) + "k:\n")
	}
	return b.String()
}

func TestDeepNestingRefusedBeforeParsing(t *testing.T) {
	doc := "apiVersion: cutover.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: x}\nstages: " + strings.Repeat("[", 100_000)
	_, err := Load("deep.yaml", []byte(doc), nil)
	if err == nil || !strings.Contains(err.Error(), "deep.yaml:4:") || !strings.Contains(err.Error(), "nested more than 64 levels deep") {
		t.Fatalf("got %v, want deep.yaml:4: nested more than 64 levels deep", err)
	}
}

// collections returns how deep yaml.v3 nests mappings and sequences in n.
func collections(n *yaml.Node) int {
	if n == nil || n.Kind == yaml.AliasNode {
		return 0
	}
	deepest := 0
	for _, c := range n.Content {
		deepest = max(deepest, collections(c))
	}
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		return deepest + 1
	}
	return deepest
}

// FuzzDeepNesting checks that the scan never counts fewer levels than a
// real parser finds: a file it let through as shallow is shallow.
func FuzzDeepNesting(f *testing.F) {
	for _, s := range []string{
		"a: [b, {c: d}]", "- - - x", "a:\n- b:\n  - c:\n    - d", "a: |\n  [[[\nb: [[c]]",
		"? [a]\n: {b: [c]}", "a: &x [b]\nc: *x", "a: 'it''s [['\nb: [c]", "a: \"\\\" [\"\nb: {c: [d]}",
		"{a: [b,\n  [c,\n   [d]]]}", "a:   # [[\n  - [x]",
		// Flow sequence entries that are one-pair mappings, keys too.
		"0: [[0: ]]", "[[a]: b]", "[[[a]: b]: c]", "[? [a] : b]", "a: [b: [c: [d: e]]]", "[{a: [b]}: c, d]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		if len(doc) > 4096 {
			return
		}
		var n yaml.Node
		if err := yaml.NewDecoder(bytes.NewReader([]byte(doc))).Decode(&n); err != nil {
			return
		}
		depth := collections(&n)
		if depth == 0 {
			return
		}
		if _, deep := deepNesting([]byte(doc), depth-1); !deep {
			t.Fatalf("yaml.v3 nests %q %d deep; the scan counted at most %d", doc, depth, depth-1)
		}
	})
}
