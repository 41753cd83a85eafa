package engine

import (
	"strings"
	"testing"
)

func TestQueryTemplates(t *testing.T) {
	vars := QueryVars{Color: "green", Namespace: "prod", Service: "web-service", Deployment: "web-green", Release: "web:v2"}
	tests := []struct {
		name, text string
		vars       QueryVars
		want       string
		parseErr   string
		renderErr  string
	}{
		{name: "every variable", vars: vars,
			text: `x{color="{{.Color}}",namespace="{{.Namespace}}",service="{{.Service}}",deployment="{{.Deployment}}",image="{{.Release}}"}`,
			want: `x{color="green",namespace="prod",service="web-service",deployment="web-green",image="web:v2"}`},
		{name: "no variables", text: `sum(rate(x{code=~"5.."}[1m]))`, want: `sum(rate(x{code=~"5.."}[1m]))`},
		{name: "unknown field", text: `x{color="{{.Colour}}"}`, parseErr: "{{.Colour}} is not a query variable"},
		{name: "unknown field in a condition", text: `{{if .Pod}}x{{end}}`, parseErr: "{{.Pod}} is not a query variable"},
		{name: "syntax on one line", text: `x{color="{{.Color}"}`, parseErr: "bad character"},
		{name: "a field of a variable", text: `x{color="{{.Color.X}}"}`, parseErr: "no fields of their own"},
		{name: "a chain hides a typo", text: `x{color="{{(.Colour).X}}"}`, parseErr: "no fields of their own"},
		{name: "a chain", text: `x{color="{{(.Color).X}}"}`, parseErr: "no fields of their own"},
		{name: "dot", text: `x{color="{{.}}"}`, parseErr: "{{.}} is not a query variable"},
		{name: "another template", text: `{{template "x" .Colour}}`, parseErr: "a query is one template"},
		{name: "a template variable", text: `{{$c := .Color}}x{color="{{$c}}"}`, parseErr: "template variables are not supported"},
		{name: "syntax on line 2", text: "sum(\n x{color=\"{{.Color\"})", parseErr: "line 2 of the query:"},
		{name: "a variable the step does not know", vars: QueryVars{Namespace: "prod"},
			text: `x{namespace="{{.Namespace}}",color="{{.Color}}"}`, renderErr: "uses {{.Color}}, which this step does not know"},
	}
	for _, tc := range tests {
		q, err := ParseQuery(tc.text)
		if tc.parseErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.parseErr) {
				t.Errorf("%s: parse error %v, want one containing %q", tc.name, err, tc.parseErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		got, err := q.Render(tc.vars)
		switch {
		case tc.renderErr != "" && (err == nil || !strings.Contains(err.Error(), tc.renderErr)):
			t.Errorf("%s: render error %v, want one containing %q", tc.name, err, tc.renderErr)
		case tc.renderErr == "" && (err != nil || got != tc.want):
			t.Errorf("%s: rendered %q (%v), want %q", tc.name, got, err, tc.want)
		}
	}
}

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
