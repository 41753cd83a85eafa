package sanitize

import "reflect"

// Deep returns v with every string in it made safe: at any depth, in
// struct fields, slices, arrays, maps (keys too), pointers and interfaces.
// A struct field tagged `sanitize:"text"` passes Text, which keeps its
// line breaks; every other string passes Line.
//
// v itself is never modified: what changes is copied, and what does not
// is shared, so a value that needed nothing costs no allocation. Unexported
// fields and errors are left as they are; an error is made safe where it
// is printed. It is for values that are read by many and cross into a
// view, such as a run's events, where a field added later must not be
// forgotten.
func Deep[T any](v T) T {
	out, changed := deep(reflect.ValueOf(&v).Elem(), false)
	if !changed {
		return v
	}
	return out.Interface().(T)
}

var errorType = reflect.TypeFor[error]()

func deep(v reflect.Value, text bool) (reflect.Value, bool) {
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		c := Line(s)
		if text {
			c = Text(s)
		}
		if c == s {
			return v, false
		}
		n := reflect.New(v.Type()).Elem()
		n.SetString(c)
		return n, true
	case reflect.Struct:
		var n reflect.Value
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			c, changed := deep(v.Field(i), f.Tag.Get("sanitize") == "text")
			if !changed {
				continue
			}
			if !n.IsValid() {
				n = reflect.New(t).Elem()
				n.Set(v)
			}
			n.Field(i).Set(c)
		}
		if !n.IsValid() {
			return v, false
		}
		return n, true
	case reflect.Pointer:
		if v.IsNil() {
			return v, false
		}
		c, changed := deep(v.Elem(), text)
		if !changed {
			return v, false
		}
		n := reflect.New(v.Type().Elem())
		n.Elem().Set(c)
		return n, true
	case reflect.Interface:
		if v.IsNil() || v.Type().Implements(errorType) {
			return v, false
		}
		c, changed := deep(v.Elem(), text)
		if !changed {
			return v, false
		}
		n := reflect.New(v.Type()).Elem()
		n.Set(c)
		return n, true
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return v, false
		}
		var n reflect.Value
		for i := range v.Len() {
			c, changed := deep(v.Index(i), text)
			if !changed {
				continue
			}
			if !n.IsValid() {
				n = copyList(v)
			}
			n.Index(i).Set(c)
		}
		if !n.IsValid() {
			return v, false
		}
		return n, true
	case reflect.Map:
		if v.IsNil() {
			return v, false
		}
		n := reflect.MakeMapWithSize(v.Type(), v.Len())
		dirty := false
		for it := v.MapRange(); it.Next(); {
			k, kc := deep(it.Key(), text)
			e, ec := deep(it.Value(), text)
			dirty = dirty || kc || ec
			n.SetMapIndex(k, e)
		}
		if !dirty {
			return v, false
		}
		return n, true
	default:
		return v, false
	}
}

// copyList returns a copy of a slice or an array that can be set.
func copyList(v reflect.Value) reflect.Value {
	if v.Kind() == reflect.Array {
		n := reflect.New(v.Type()).Elem()
		n.Set(v)
		return n
	}
	n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
	reflect.Copy(n, v)
	return n
}
