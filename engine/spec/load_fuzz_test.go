package spec_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover-sh/cutover/engine/spec"
)

// FuzzLoad feeds arbitrary bytes to Load. Load must never panic, must
// report problems as a *engine.ValidationError, must place every YAML
// syntax error at a line and column, and must never accept a pipeline that
// has nothing to run.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(validPipeline))
	for _, name := range corpus(f) {
		data, err := os.ReadFile(filepath.Join(invalidDir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	lookup := spec.Vars(map[string]string{"IMAGE_TAG": "1.4.2"}, noVars)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := spec.Load("fuzz.yaml", data, lookup)
		if err != nil {
			var verr *spec.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("error type: got %T (%v), want *engine.ValidationError", err, err)
			}
			for _, fe := range verr.Errs {
				if strings.HasPrefix(fe.Msg, "invalid YAML") && !strings.Contains(fe.Msg, "one document") && (fe.Pos.Line < 1 || fe.Pos.Col < 1) {
					t.Fatalf("Load(%q): %v: want a line and column", data, fe)
				}
			}
			return
		}
		if len(p.Stages) == 0 {
			t.Fatalf("Load accepted %q: got 0 stages, want at least 1", data)
		}
	})
}
