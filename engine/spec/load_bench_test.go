package spec_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cutover-sh/cutover/engine/spec"
)

// BenchmarkLoad compares a syntax error's cost with a valid file's of the
// same size: locating the error's column re-parses prefixes of the file, so
// the ratio between the two is the price of the column. Past the bisection
// limit (256 KiB) the column is not sought and the ratio falls.
func BenchmarkLoad(b *testing.B) {
	for _, size := range []int{4 << 10, 250 << 10, 1 << 20} {
		for _, tc := range []struct{ name, tail string }{
			{"valid", "stages: [{name: s, budget: 1m, steps: [{run: x}]}]\n"},
			{"syntax-error-at-end", "stages: a: b\n"},
		} {
			doc := []byte(pipelineOf(size, tc.tail))
			b.Run(fmt.Sprintf("%s/%dKiB", tc.name, size>>10), func(b *testing.B) {
				b.SetBytes(int64(len(doc)))
				for b.Loop() {
					_, _ = spec.Load("bench.yaml", doc, nil)
				}
			})
		}
	}
}

// pipelineOf returns a pipeline of about size bytes, most of it vars, ending
// in tail.
func pipelineOf(size int, tail string) string {
	var s strings.Builder
	s.WriteString("apiVersion: cutover.dev/v1alpha1\nkind: Pipeline\nmetadata: {name: web}\nvars:\n")
	for i := 0; s.Len() < size-len(tail); i++ {
		s.WriteString("  V")
		s.WriteString(strings.Repeat("X", i%7))
		s.WriteString(string(rune('A' + i%26)))
		s.WriteString(string(rune('A' + i/26%26)))
		s.WriteString(string(rune('A' + i/676%26)))
		s.WriteString(": \"some value\"\n")
	}
	s.WriteString(tail)
	return s.String()
}
