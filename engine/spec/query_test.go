package spec

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
