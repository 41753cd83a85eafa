package spec

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/agnivade/levenshtein"
	"go.yaml.in/yaml/v3"
)

// maxDepth bounds nesting so that hostile input (deep nesting, alias
// cycles) cannot exhaust the stack.
const maxDepth = 64

// decoder fills Go values from a YAML node tree, field by field, so that
// every error can name its line, column and field path, and so that all
// errors are reported at once. yaml.v3's own decoder stops at the first
// structural error and reports lines only.
type decoder struct {
	errs *errorList
	// pos records where each decoded field path was written: the key for
	// mappings and lists, the value for scalars.
	pos map[string]Pos
	// suggested marks field paths offered as "did you mean" for an unknown
	// key, so that the same field is not also reported as missing.
	suggested map[string]bool
	// nodes counts decoded nodes. Aliases let a small file expand
	// exponentially; the count caps that.
	nodes int
	// used holds the variables the file referenced, with their values,
	// so that validation can tell where a value came from.
	used map[string]string
	// capped is the error that said the file expands to too many values.
	capped *FieldError
}

// maxNodes bounds how many values a pipeline file may expand to.
const maxNodes = 100_000

func nodePos(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("%q", n.Value)
	default:
		return "an alias"
	}
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxDepth; i++ {
		n = n.Alias
	}
	return n
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// shorthand is a mapping that may also be written as its main field
// alone: slack: ${SLACK_WEBHOOK} is slack: {webhook: ${SLACK_WEBHOOK}}.
type shorthand interface {
	fromScalar(s string)
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, depth int) {
	n = resolveAlias(n)
	if n == nil || n.Kind == yaml.AliasNode {
		d.errs.add(Pos{}, path, "alias could not be resolved")
		return
	}
	if depth > maxDepth {
		d.errs.add(nodePos(n), path, "nested too deeply")
		return
	}
	if d.nodes++; d.nodes > maxNodes {
		if d.nodes == maxNodes+1 {
			d.errs.add(nodePos(n), path, "the file expands to more than %d values (through aliases?)", maxNodes)
			d.capped = d.errs.errs[len(d.errs.errs)-1]
		}
		return
	}
	if _, ok := d.pos[path]; !ok {
		d.pos[path] = nodePos(n)
	}
	if d.errs.unset[path] {
		return // already reported as an unset variable
	}
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" && v.CanAddr() {
		if sh, ok := v.Addr().Interface().(shorthand); ok {
			sh.fromScalar(n.Value)
			return
		}
	}
	if v.CanAddr() && v.Addr().Type().Implements(textUnmarshaler) {
		s, ok := d.scalar(n, path, "a string")
		if !ok {
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			d.errs.add(nodePos(n), path, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path, depth)
	case reflect.Slice:
		d.decodeSlice(n, v, path, depth)
	case reflect.Map:
		d.decodeMap(n, v, path, depth)
	case reflect.String, reflect.Int, reflect.Int32, reflect.Int64, reflect.Float32, reflect.Float64, reflect.Bool:
		d.decodeScalar(n, v, path)
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path, depth+1)
	case reflect.Interface:
		var out any
		if err := n.Decode(&out); err != nil {
			d.errs.add(nodePos(n), path, "%v", err)
			return
		}
		if out != nil {
			v.Set(reflect.ValueOf(out))
		}
	default:
		d.errs.add(nodePos(n), path, "cannot decode into %s", v.Type())
	}
}

// decodeScalar fills a string, number or bool from a scalar node.
func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Int, reflect.Int32, reflect.Int64:
		s, ok := d.scalar(n, path, "a whole number")
		if !ok {
			return
		}
		i, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			d.errs.add(nodePos(n), path, "expected a whole number, got %q", s)
			return
		}
		v.SetInt(i)
	case reflect.Float32, reflect.Float64:
		s, ok := d.scalar(n, path, "a number")
		if !ok {
			return
		}
		f, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			d.errs.add(nodePos(n), path, "expected a number, like 0.05, got %q", s)
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		s, ok := d.scalar(n, path, "true or false")
		if !ok {
			return
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			d.errs.add(nodePos(n), path, "expected true or false, got %q", s)
			return
		}
		v.SetBool(b)
	}
}

// scalar returns a scalar node's text, or reports what was expected.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errs.add(nodePos(n), path, "expected %s, got %s", want, kindName(n))
		return "", false
	}
	if n.Tag == "!!null" {
		return "", true
	}
	return n.Value, true
}

// fieldsOf maps the JSON names of a struct's exported fields to their index.
func fieldsOf(t reflect.Type) (map[string]int, []string) {
	idx := map[string]int{}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		idx[name] = i
		names = append(names, name)
	}
	return idx, names
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		if n.Tag == "!!null" {
			return
		}
		d.errs.add(nodePos(n), path, "expected a mapping, got %s", kindName(n))
		return
	}
	idx, names := fieldsOf(v.Type())
	seen := map[string]Pos{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		fpath := joinPath(path, key)
		if k.Kind != yaml.ScalarNode {
			d.errs.add(nodePos(k), path, "keys must be plain names, got %s", kindName(k))
			continue
		}
		if first, dup := seen[key]; dup {
			d.errs.add(nodePos(k), fpath, "set twice (first at line %d)", first.Line)
			continue
		}
		seen[key] = nodePos(k)
		fi, ok := idx[key]
		if !ok {
			msg := fmt.Sprintf("unknown field %q", key)
			if s := Suggest(key, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
				d.suggested[joinPath(path, s)] = true
			}
			d.errs.add(nodePos(k), fpath, "%s", msg)
			continue
		}
		if val = resolveAlias(val); val != nil && val.Kind != yaml.ScalarNode {
			// A problem with a whole mapping or list is shown at its key.
			d.pos[fpath] = nodePos(k)
		}
		d.decode(val, v.Field(fi), fpath, depth+1)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.SequenceNode {
		if n.Tag == "!!null" {
			return
		}
		d.errs.add(nodePos(n), path, "expected a list, got %s", kindName(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.decode(item, out.Index(i), fmt.Sprintf("%s[%d]", path, i), depth+1)
	}
	v.Set(out)
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string, depth int) {
	if n.Kind != yaml.MappingNode {
		if n.Tag == "!!null" {
			// An explicit empty value still marks the field as present, which
			// matters for step kinds written as "deploy:" with nothing under it.
			v.Set(reflect.MakeMap(v.Type()))
			return
		}
		d.errs.add(nodePos(n), path, "expected a mapping, got %s", kindName(n))
		return
	}
	out := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errs.add(nodePos(k), path, "keys must be plain names, got %s", kindName(k))
			continue
		}
		fpath := joinPath(path, k.Value)
		if out.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
			d.errs.add(nodePos(k), fpath, "set twice")
			continue
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		d.pos[fpath] = nodePos(k)
		d.decode(val, elem, fpath, depth+1)
		out.SetMapIndex(reflect.ValueOf(k.Value), elem)
	}
	v.Set(out)
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Suggest returns the known name closest to an unknown one, if it is close
// enough to be a plausible typo.
func Suggest(name string, known []string) string {
	// One edit for short names, two (such as a swapped pair of letters)
	// from five letters on, three for long names.
	limit := 1
	switch {
	case len(name) >= 9:
		limit = 3
	case len(name) >= 5:
		limit = 2
	}
	best, bestDist := "", limit+1
	lower := strings.ToLower(name)
	for _, k := range slices.Sorted(slices.Values(known)) {
		dist := levenshtein.ComputeDistance(lower, strings.ToLower(k))
		if dist < bestDist && k != name {
			best, bestDist = k, dist
		}
	}
	return best
}
