package engine

import (
	"strings"
	"testing"

	"github.com/cutover-sh/cutover/engine/spec"
)

// TestDiffColors: the diff compares two colors' templates field by field,
// images and replicas first, leaving out the color label, and its hash
// changes with any field.
func TestDiffColors(t *testing.T) {
	live := ColorState{Replicas: 3, Template: map[string]string{
		"container/web/image": "registry:5000/shop/web:v1.4.1", "label/color": "blue", "label/app": "web",
		"container/web/env/MODE": `"a"`, "volume/config": "configMap web-v1",
		"container/web/probe/readiness": "httpGet :8080/healthz delay 0s period 10s timeout 1s failures 3",
	}}
	preview := ColorState{Replicas: 4, Template: map[string]string{
		"container/web/image": "registry:5000/shop/web:v1.4.2", "label/color": "green", "label/app": "web",
		"container/web/env/DB_PASSWORD": "secretKeyRef db/password", "volume/config": "configMap web-v2",
		"container/web/probe/readiness": "httpGet :8080/ready delay 0s period 10s timeout 1s failures 3",
	}}
	d := DiffColors(spec.Blue, spec.Green, live, preview, "color")
	want := []string{
		"web image: v1.4.1 → v1.4.2",
		"replicas: 3 → 4",
		"web env DB_PASSWORD: added secretKeyRef db/password",
		`web env MODE: removed (was "a")`,
		"web probe readiness: httpGet :8080/healthz delay 0s period 10s timeout 1s failures 3 → httpGet :8080/ready delay 0s period 10s timeout 1s failures 3",
		"volume config: configMap web-v1 → configMap web-v2",
	}
	if got := d.Summary(10); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("summary:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := d.Summary(3); len(got) != 3 || got[2] != "… and 4 more changes" {
		t.Errorf("summary in 3 lines: %q, want two changes and a count of the rest", got)
	}
	if u := d.Unified(); !strings.Contains(u, "- container/web/env/MODE: \"a\"\n") || !strings.Contains(u, "+ replicas: 4\n") || strings.Contains(u, "label/color") {
		t.Errorf("unified:\n%s", u)
	}
	same := DiffColors(spec.Blue, spec.Green, live, ColorState{Replicas: 3, Template: withColor(live.Template, "green")}, "color")
	if len(same.Changes) != 0 || same.Summary(3)[0] != "green's pods are the same as blue's" {
		t.Errorf("same templates: %+v", same)
	}
	if d.Hash == same.Hash || len(d.Hash) != 16 {
		t.Errorf("hashes %q and %q: want 16 hex digits that differ between diffs", d.Hash, same.Hash)
	}
}

func withColor(m map[string]string, c string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	out["label/color"] = c
	return out
}
