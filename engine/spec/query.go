package spec

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
)

// QueryVars are the values a query template is filled with at run time,
// so that one pipeline file measures whichever color is being released.
type QueryVars struct {
	// Color is the color being released (the preview before the switch,
	// the new live color after it).
	Color string
	// Namespace, Service and Deployment locate the release: Deployment is
	// Color's Deployment.
	Namespace, Service, Deployment string
	// Release is the image being released, the value of the
	// cutover.dev/release annotation.
	Release string
}

func (v QueryVars) value(field string) string {
	switch field {
	case "Color":
		return v.Color
	case "Namespace":
		return v.Namespace
	case "Service":
		return v.Service
	case "Deployment":
		return v.Deployment
	case "Release":
		return v.Release
	}
	return ""
}

// queryFields are the fields a query template may use, in the order help
// text lists them.
var queryFields = []string{"Color", "Namespace", "Service", "Deployment", "Release"}

// QueryTemplate is a parsed PromQL query template.
type QueryTemplate struct {
	text   string
	t      *template.Template
	fields []string
}

// ParseQuery parses a query template. Besides syntax, it rejects fields
// other than those of QueryVars, so that a typo such as {{.Colour}} is a
// validation error and not an empty string in production.
func ParseQuery(text string) (*QueryTemplate, error) {
	t, err := template.New("query").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, templateError(err, text)
	}
	q := &QueryTemplate{text: text, t: t}
	var walkErr error
	walk(t.Root, func(n parse.Node) {
		if walkErr != nil {
			return
		}
		switch x := n.(type) {
		case *parse.FieldNode:
			name := x.Ident[0]
			switch {
			case !slices.Contains(queryFields, name):
				walkErr = fmt.Errorf("{{.%s}} is not a query variable; use %s", name, fieldList())
			case len(x.Ident) > 1:
				walkErr = fmt.Errorf("{{%s}}: query variables are text, with no fields of their own; use {{.%s}}", x, name)
			case !slices.Contains(q.fields, name):
				q.fields = append(q.fields, name)
			}
		case *parse.DotNode:
			// {{.}} would write the whole set of values into the query.
			walkErr = fmt.Errorf("{{.}} is not a query variable; use %s", fieldList())
		case *parse.ChainNode:
			walkErr = fmt.Errorf("{{%s}}: query variables are text, with no fields of their own", x)
		case *parse.TemplateNode:
			walkErr = fmt.Errorf("{{template %q}}: a query is one template; write the query out", x.Name)
		case *parse.VariableNode:
			walkErr = fmt.Errorf("{{%s}}: template variables are not supported; use %s", x, fieldList())
		}
	})
	if walkErr != nil {
		return nil, walkErr
	}
	return q, nil
}

// templateError rewrites text/template's "template: query:2: msg" so that
// it reads on its own after the file:line of the query field: the line
// within the query only matters when the query has several.
func templateError(err error, text string) error {
	msg := strings.TrimPrefix(err.Error(), "template: query:")
	line, rest, ok := strings.Cut(msg, ": ")
	if !ok || msg == err.Error() {
		return err
	}
	if strings.Contains(strings.TrimRight(text, "\n"), "\n") {
		return fmt.Errorf("line %s of the query: %s", line, rest)
	}
	return errors.New(rest)
}

func fieldList() string {
	var s []string
	for _, f := range queryFields {
		s = append(s, "{{."+f+"}}")
	}
	return strings.Join(s, ", ")
}

// walk calls fn for every node under n.
func walk(n parse.Node, fn func(parse.Node)) {
	if n == nil {
		return
	}
	fn(n)
	switch x := n.(type) {
	case *parse.ListNode:
		if x != nil {
			for _, c := range x.Nodes {
				walk(c, fn)
			}
		}
	case *parse.ActionNode:
		walk(x.Pipe, fn)
	case *parse.PipeNode:
		if x != nil {
			for _, c := range x.Cmds {
				walk(c, fn)
			}
		}
	case *parse.CommandNode:
		for _, a := range x.Args {
			walk(a, fn)
		}
	case *parse.ChainNode:
		walk(x.Node, fn)
	case *parse.TemplateNode:
		walk(x.Pipe, fn)
	case *parse.IfNode:
		walk(x.Pipe, fn)
		walk(x.List, fn)
		walk(x.ElseList, fn)
	case *parse.RangeNode:
		walk(x.Pipe, fn)
		walk(x.List, fn)
		walk(x.ElseList, fn)
	case *parse.WithNode:
		walk(x.Pipe, fn)
		walk(x.List, fn)
		walk(x.ElseList, fn)
	}
}

// Render fills the template in. A variable the query uses that has no
// value here is an error: an empty label matcher would quietly match the
// wrong series, or none, and a gate would decide on that.
func (q *QueryTemplate) Render(v QueryVars) (string, error) {
	var missing []string
	for _, f := range q.fields {
		if v.value(f) == "" {
			missing = append(missing, "{{."+f+"}}")
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("query uses %s, which this step does not know: only a blueGreen or deploy step, or one that ran before it in this run, sets them", strings.Join(missing, " and "))
	}
	var b strings.Builder
	if err := q.t.Execute(&b, v); err != nil {
		return "", templateError(err, q.text)
	}
	return b.String(), nil
}

// String returns the template as written.
func (q *QueryTemplate) String() string { return q.text }
