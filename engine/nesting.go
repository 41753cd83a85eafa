package engine

// maxNesting bounds how deep a pipeline file may nest, checked on its text
// before any YAML parser reads it: both parsers cutover has used take time
// and memory that grow with the square of the depth (100 KB of "[" took
// 29.5 s and 15 GB), while a real pipeline nests about ten deep.
const maxNesting = maxDepth

// deepNesting scans data once and returns where its nesting first goes
// deeper than limit, or ok false. It reads as much YAML as decides depth:
// indentation, "- " and "? " entries, flow brackets, quoted scalars
// (which hide brackets), block scalars (whose lines are text) and
// comments. It may count a level too many (a plain scalar continued on a
// more indented line), never one too few: nothing YAML reads as structure
// is skipped as text.
func deepNesting(data []byte, limit int) (pos Pos, ok bool) {
	var (
		levels []level // the open block levels
		flow   int     // open [ and {
		quote  byte    // the quote of a quoted scalar that spans lines
		// A block scalar's text is the lines indented more than its key
		// (scalarKey), as deep as its first line (scalarIndent) or more.
		scalarKey, scalarIndent = -1, -1
	)
	line := 0
	for start := 0; start < len(data); {
		end, next := lineBreak(data, start)
		l := data[start:end]
		start = next
		line++

		indent := 0
		for indent < len(l) && l[indent] == ' ' {
			indent++
		}
		blank := indent == len(l)
		if scalarKey >= 0 {
			if scalarIndent < 0 && !blank && indent > scalarKey {
				scalarIndent = indent
			}
			if blank || scalarIndent >= 0 && indent >= scalarIndent {
				continue
			}
			scalarKey, scalarIndent = -1, -1
		}
		i := 0
		if quote == 0 && flow == 0 {
			if blank || l[indent] == '#' {
				continue
			}
			levels = blockLine(levels, indent, entry(l[indent:]))
			i = indent
			if len(levels) > limit {
				return Pos{Line: line, Col: i + 1}, true
			}
		}
		// nodeStart is set where a value may begin: there, [ { ' " | >
		// are indicators; elsewhere in block context they are text.
		nodeStart, keyCol := quote == 0, indent
		for i < len(l) {
			c := l[i]
			if quote != 0 {
				switch {
				case c == '\\' && quote == '"':
					i++
				case c == quote && quote == '\'' && i+1 < len(l) && l[i+1] == '\'':
					i++
				case c == quote:
					quote = 0
				}
				i++
				continue
			}
			switch {
			case c == ' ' || c == '\t' || c == '\r':
				i++
				continue
			case c == '#' && (i == 0 || l[i-1] == ' ' || l[i-1] == '\t'):
				i = len(l) // a comment
				continue
			case nodeStart && (c == '-' || c == '?') && (i+1 == len(l) || l[i+1] == ' ' || l[i+1] == '\t') && flow == 0:
				// A block entry nests one level, even several on one
				// line: "- - - x".
				levels = append(levels, level{col: i, kind: levelEntry})
				keyCol = i
				i++
			case c == '[' || c == '{':
				i++
				if flow == 0 && !nodeStart {
					continue // text in a plain scalar
				}
				flow++
			case c == ']' || c == '}':
				if flow > 0 {
					flow--
				}
				nodeStart = false
				i++
				continue
			case c == ',' && flow > 0:
				i++
			case c == ':' && (i+1 == len(l) || l[i+1] == ' ' || l[i+1] == '\t' || flow > 0):
				i++
			case nodeStart && (c == '\'' || c == '"'):
				quote = c
				i++
				continue
			case nodeStart && (c == '|' || c == '>') && flow == 0:
				// A block scalar: the lines under its key are text.
				scalarKey = keyCol
				i = len(l)
				continue
			case nodeStart && (c == '&' || c == '!'):
				// An anchor or a tag comes before the node itself.
				for i < len(l) && l[i] != ' ' && l[i] != '\t' {
					i++
				}
				continue
			default:
				// A plain scalar, or a key: text until ": ", a flow
				// indicator in flow context, or a comment.
				if nodeStart {
					keyCol = i
				}
				nodeStart = false
				i++
				continue
			}
			nodeStart = true
			if len(levels)+flow > limit {
				return Pos{Line: line, Col: i}, true
			}
		}
	}
	return Pos{}, false
}

// level is one open block level of a scan: a mapping or a sequence whose
// lines start at col, or what a "- " entry holds.
type level struct {
	col  int
	kind byte
}

const (
	levelMapping  = 'm' // lines of keys at col
	levelSequence = 's' // lines of "- " at col
	levelEntry    = 'e' // the node after a "- " or "? " at col
)

// entry reports whether a line (from its first non-space) is a block
// entry: "- x" or "? x".
func entry(l []byte) bool {
	return len(l) > 0 && (l[0] == '-' || l[0] == '?') && (len(l) == 1 || l[1] == ' ' || l[1] == '\t' || l[1] == '\r')
}

// blockLine updates the open levels for a line that starts at column col.
// A sequence may sit at its key's own column ("a:\n- b"), so a column can
// hold a mapping and, inside it, a sequence.
func blockLine(levels []level, col int, isEntry bool) []level {
	for len(levels) > 0 {
		top := levels[len(levels)-1]
		deeper := top.col > col
		done := top.col == col && (top.kind == levelEntry || !isEntry && top.kind == levelSequence)
		if !deeper && !done {
			break
		}
		levels = levels[:len(levels)-1]
	}
	want := byte(levelMapping)
	if isEntry {
		want = levelSequence
	}
	if n := len(levels); n > 0 && levels[n-1].col == col && levels[n-1].kind == want {
		return levels // the same collection goes on
	}
	return append(levels, level{col: col, kind: want})
}

// lineBreak finds the end of the line that starts at start, and where the
// next one starts. A line ends where yaml.v3 ends one: at \n, \r, \r\n,
// NEL (U+0085), LS (U+2028) or PS (U+2029).
func lineBreak(data []byte, start int) (end, next int) {
	for i := start; i < len(data); i++ {
		switch c := data[i]; {
		case c == '\n':
			return i, i + 1
		case c == '\r':
			if i+1 < len(data) && data[i+1] == '\n' {
				return i, i + 2
			}
			return i, i + 1
		case c == 0xC2 && i+1 < len(data) && data[i+1] == 0x85:
			return i, i + 2
		case c == 0xE2 && i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xA8 || data[i+2] == 0xA9):
			return i, i + 3
		}
	}
	return len(data), len(data) + 1
}
