package spec

import (
	"slices"
	"testing"
)

func TestExpand(t *testing.T) {
	lookup := Vars(map[string]string{"A": "1", "EMPTY": ""}, nil)
	for _, c := range []struct {
		in, want string
		missing  []string
	}{
		{"x${A}y", "x1y", nil},
		{"${EMPTY}", "", nil},
		{"$${A}", "${A}", nil},
		{"$A ${A:-z} ${#A} $$", "$A ${A:-z} ${#A} $$", nil},
		{"${B}${C}", "", []string{"B", "C"}},
		{"${A", "${A", nil},
	} {
		used := map[string]string{}
		got, missing := expand(c.in, lookup, used)
		if got != c.want || !slices.Equal(missing, c.missing) {
			t.Errorf("expand(%q): got %q missing %v, want %q missing %v", c.in, got, missing, c.want, c.missing)
		}
	}
}
