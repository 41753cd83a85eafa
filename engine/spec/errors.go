package spec

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Pos is a place in a pipeline file. Col is 0 when only the line is known.
type Pos struct {
	Line int
	Col  int
}

// FieldError is one problem in a pipeline file, located by position and by
// field path so that it can be found both in an editor and in the schema.
type FieldError struct {
	File string
	Pos  Pos
	// Path is the field path, such as stages[2].steps[0].run.
	Path string
	Msg  string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Pos.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Pos.Line)
		if e.Pos.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Pos.Col)
		}
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ValidationError holds every problem found in a pipeline file, so that a
// user fixes them in one pass instead of one run per mistake.
type ValidationError struct {
	Errs []*FieldError
}

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Errs))
	for i, fe := range e.Errs {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// errorList collects field errors while a file is checked.
type errorList struct {
	file string
	errs []*FieldError
	// unset marks field paths whose value used an unset variable; their
	// decoded value is meaningless and is not judged again.
	unset map[string]bool
}

func (l *errorList) add(pos Pos, path, format string, args ...any) {
	l.errs = append(l.errs, &FieldError{File: l.file, Pos: pos, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// has reports whether an error was already recorded for path.
func (l *errorList) has(path string) bool {
	for _, e := range l.errs {
		if e.Path == path {
			return true
		}
	}
	return false
}

// err returns the collected errors sorted by position, or nil.
func (l *errorList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(l.errs, func(a, b *FieldError) int {
		if c := cmp.Compare(a.Pos.Line, b.Pos.Line); c != 0 {
			return c
		}
		return cmp.Compare(a.Pos.Col, b.Pos.Col)
	})
	return &ValidationError{Errs: l.errs}
}
