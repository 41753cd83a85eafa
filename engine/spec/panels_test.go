package spec

import (
	"strings"
	"testing"
)

func TestUnitFormat(t *testing.T) {
	tests := []struct {
		unit Unit
		v    float64
		want string
	}{
		{UnitReqPerSec, 12.345, "12.3 req/s"},
		{UnitPercent, 0.0487, "4.87%"},
		{UnitPercent, 0, "0%"},
		{UnitSeconds, 0.25, "250ms"},
		{UnitSeconds, 3, "3s"},
		{UnitBytes, 512, "512 B"},
		{UnitBytes, 3 << 20, "3 MiB"},
		{UnitBytes, 1.5 * (1 << 30), "1.5 GiB"},
		{UnitCores, 0.125, "0.125 cores"},
		{UnitCount, 4, "4"},
		{UnitCount, 2e9, "2000000000"},
	}
	for _, tc := range tests {
		if got := tc.unit.Format(tc.v); got != tc.want {
			t.Errorf("%s.Format(%v) = %q, want %q", tc.unit, tc.v, got, tc.want)
		}
	}
}

func TestPanelJudge(t *testing.T) {
	p := PanelSpec{Warn: "> 0.01", Crit: "> 0.05"}
	for v, want := range map[float64]PanelState{0: PanelOK, 0.02: PanelWarn, 0.2: PanelCrit} {
		if got := p.Judge(v); got != want {
			t.Errorf("Judge(%v) = %s, want %s", v, got, want)
		}
	}
	if got := (PanelSpec{Crit: "< 10"}).Judge(3); got != PanelCrit {
		t.Errorf("a request rate of 3 under crit < 10 is %s, want crit", got)
	}
}

// The default panels are queries cutover writes itself; each must parse
// as a template, use no variable, and narrow to the namespace when known.
func TestDefaultPanels(t *testing.T) {
	for _, ns := range []string{"", "prod"} {
		panels := DefaultPanels(QueryVars{Namespace: ns})
		if len(panels) != 6 {
			t.Fatalf("%d default panels, want the guide's 6", len(panels))
		}
		for _, p := range panels {
			q, err := ParseQuery(p.Query)
			if err != nil {
				t.Errorf("%s: %v", p.Title, err)
				continue
			}
			if _, err := q.Render(QueryVars{}); err != nil {
				t.Errorf("%s: %v", p.Title, err)
			}
			if has := strings.Contains(p.Query, `namespace="prod"`); has != (ns != "") {
				t.Errorf("%s with namespace %q: query %s", p.Title, ns, p.Query)
			}
		}
	}
}
