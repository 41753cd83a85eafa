package sanitize

import (
	"errors"
	"testing"
)

type inner struct {
	Name string
	Tags map[string]string
}

type outer struct {
	Title   string
	Body    string `sanitize:"text"`
	Items   []inner
	Ptr     *inner
	Any     any
	Err     error
	Count   int
	private string
}

func TestDeep(t *testing.T) {
	evil := "a\x1b]52;c;aGk=\x07b"
	orig := outer{
		Title: evil, Body: "one\ntwo\x1b[2J", Items: []inner{{Name: "clean"}, {Name: evil}},
		Ptr: &inner{Tags: map[string]string{evil: evil}}, Any: inner{Name: evil},
		Err: errors.New(evil), Count: 3, private: evil,
	}
	got := Deep(orig)
	if got.Title != "ab" || got.Body != "one\ntwo" || got.Items[1].Name != "ab" || got.Items[0].Name != "clean" {
		t.Errorf("fields: got %+v", got)
	}
	if got.Ptr.Tags["ab"] != "ab" || len(got.Ptr.Tags) != 1 {
		t.Errorf("map: got %q, want key and value ab", got.Ptr.Tags)
	}
	if in, ok := got.Any.(inner); !ok || in.Name != "ab" {
		t.Errorf("interface: got %#v", got.Any)
	}
	if got.Count != 3 || !errors.Is(got.Err, orig.Err) || got.private != evil {
		t.Errorf("what holds no exported string must be kept: got %+v", got)
	}
	// The original is untouched: others read it too.
	if orig.Title != evil || orig.Items[1].Name != evil || orig.Ptr.Tags[evil] != evil || orig.Any.(inner).Name != evil {
		t.Errorf("Deep modified its argument: %+v", orig)
	}
}

func TestDeepSharesWhatIsClean(t *testing.T) {
	clean := outer{Title: "ok", Items: []inner{{Name: "x"}}, Ptr: &inner{Name: "y"}}
	got := Deep(clean)
	if &got.Items[0] != &clean.Items[0] || got.Ptr != clean.Ptr {
		t.Error("a clean value was copied")
	}
	if n := testing.AllocsPerRun(100, func() { _ = Deep(clean) }); n > 1 {
		t.Errorf("Deep of a clean value: %v allocations, want at most 1", n)
	}
}
