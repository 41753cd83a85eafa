package spec

import (
	"strings"
)

// MinSecret is the shortest secret cutover accepts: masking a shorter
// value reveals it, since every occurrence of it in the output is masked.
const MinSecret = 4

// Lookup returns a variable's value and whether it is set.
type Lookup func(name string) (string, bool)

// Vars builds a Lookup that prefers explicit values (--set) over the
// environment lookup it is given.
func Vars(set map[string]string, env Lookup) Lookup {
	return func(name string) (string, bool) {
		if v, ok := set[name]; ok {
			return v, true
		}
		if env != nil {
			return env(name)
		}
		return "", false
	}
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

func isIdent(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// ValidName reports whether s is a variable or environment name.
func ValidName(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdent(s[i]) {
			return false
		}
	}
	return true
}

// expand replaces ${NAME} with the variable's value. Only the exact form
// ${IDENT} is cutover's: every other use of $ ($HOME, ${x:-y}, $$) is left
// for the shell, and $${NAME} stands for a literal ${NAME}. It returns the
// names that were referenced but not set.
func expand(s string, lookup Lookup, used map[string]string) (string, []string) {
	return scanRefs(s, lookup, used, true)
}

// checkRefs is expand for text the shell expands itself: it checks that
// every ${NAME} is set and records it, but leaves the references in place.
// $${NAME} still stands for a literal ${NAME}, exempt from the check.
func checkRefs(s string, lookup Lookup, used map[string]string) (string, []string) {
	return scanRefs(s, lookup, used, false)
}

// scanRefs finds the ${NAME} references in s, records their values in used
// and, when substitute is set, replaces them with those values.
func scanRefs(s string, lookup Lookup, used map[string]string, substitute bool) (string, []string) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	var missing []string
	for i := 0; i < len(s); i++ {
		if strings.HasPrefix(s[i:], "$${") {
			b.WriteString("${")
			i += 2
			continue
		}
		name, ok := refAt(s, i)
		if !ok {
			b.WriteByte(s[i])
			continue
		}
		val, set := lookup(name)
		if set {
			used[name] = val
		} else {
			missing = append(missing, name)
		}
		if !substitute {
			b.WriteByte(s[i])
			continue
		}
		b.WriteString(val)
		i += len(name) + 2 // "${" + name + "}" less the loop's own step
	}
	return b.String(), missing
}

// refAt returns the variable name of a ${IDENT} reference starting at i.
func refAt(s string, i int) (string, bool) {
	if !strings.HasPrefix(s[i:], "${") {
		return "", false
	}
	end := strings.IndexByte(s[i+2:], '}')
	if end < 0 {
		return "", false
	}
	name := s[i+2 : i+2+end]
	return name, ValidName(name)
}

// Exports returns the variables a run exports to its steps: the file's
// defaults (overridden by lookup), every variable the file referenced, and
// the explicit values in set. It also returns the values of the secretEnv
// variables, wherever they came from, for masking.
func (p *Pipeline) Exports(set map[string]string, lookup Lookup) (vars map[string]string, secrets []string) {
	vars = map[string]string{}
	for k, v := range p.Vars {
		if lv, ok := lookup(k); ok {
			v = lv
		}
		vars[k] = v
	}
	for k, v := range p.Source.Vars {
		vars[k] = v
	}
	for k, v := range set {
		vars[k] = v
	}
	for _, name := range p.SecretEnv {
		if v, ok := vars[name]; ok {
			secrets = append(secrets, v)
		} else if v, ok := lookup(name); ok {
			secrets = append(secrets, v)
		}
	}
	return vars, secrets
}
