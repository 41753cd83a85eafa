package spec

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
// is skipped as text. An entry of a flow sequence that turns out to be a
// key ("[[a]: b]") is a one-pair mapping, a level the scan learns of only
// at its ":"; the deepest the entry went before it is then counted again
// with that level.
func deepNesting(data []byte, limit int) (pos Pos, ok bool) {
	sc := nestScan{limit: limit, scalarKey: -1, scalarIndent: -1}
	line := 0
	for start := 0; start < len(data); {
		end, next := lineBreak(data, start)
		line++
		if col, deep := sc.line(data[start:end]); deep {
			return Pos{Line: line, Col: col}, true
		}
		start = next
	}
	return Pos{}, false
}

// nestScan is deepNesting's state from one line to the next.
type nestScan struct {
	limit  int
	levels []level     // the open block levels
	flow   []flowLevel // open [ and {
	// pairs counts the open flow sequences whose entry is a one-pair
	// mapping.
	pairs int
	quote byte // the quote of a quoted scalar that spans lines
	// A block scalar's text is the lines indented more than its key
	// (scalarKey), as deep as its first line (scalarIndent) or more.
	scalarKey, scalarIndent int
}

// line scans one line, and returns the column where it goes too deep.
func (sc *nestScan) line(l []byte) (col int, deep bool) {
	indent := 0
	for indent < len(l) && l[indent] == ' ' {
		indent++
	}
	blank := indent == len(l)
	if sc.inBlockScalar(indent, blank) {
		return 0, false
	}
	i := 0
	if sc.quote == 0 && len(sc.flow) == 0 {
		if blank || l[indent] == '#' {
			return 0, false
		}
		sc.levels = blockLine(sc.levels, indent, entry(l[indent:]))
		i = indent
		if len(sc.levels) > sc.limit {
			return i + 1, true
		}
	}
	// nodeStart is set where a value may begin: there, [ { ' " | >
	// are indicators; elsewhere in block context they are text.
	nodeStart, keyCol := sc.quote == 0, indent
	for i < len(l) {
		if sc.quote != 0 {
			i = sc.quoted(l, i)
			continue
		}
		var structural bool
		i, nodeStart, structural = sc.token(l, i, nodeStart, &keyCol)
		if structural && sc.note(sc.depth()) > sc.limit {
			return i, true
		}
	}
	return 0, false
}

// token steps over what starts at l[i], outside a quoted scalar, where a
// value may start if nodeStart. It returns where the next token starts,
// whether a value may start there, and whether this one opened a level or
// separated values. keyCol follows the key a block scalar would belong to.
func (sc *nestScan) token(l []byte, i int, nodeStart bool, keyCol *int) (next int, valueNext, structural bool) {
	c := l[i]
	switch {
	case c == ' ' || c == '\t' || c == '\r':
		return i + 1, nodeStart, false
	case c == '#' && (i == 0 || l[i-1] == ' ' || l[i-1] == '\t'):
		return len(l), nodeStart, false // a comment
	case nodeStart && (c == '-' || c == '?') && (i+1 == len(l) || l[i+1] == ' ' || l[i+1] == '\t') && len(sc.flow) == 0:
		// A block entry nests one level, even several on one line:
		// "- - - x".
		sc.levels = append(sc.levels, level{col: i, kind: levelEntry})
		*keyCol = i
		return i + 1, true, true
	case c == '[' || c == '{':
		if len(sc.flow) == 0 && !nodeStart {
			return i + 1, false, false // text in a plain scalar
		}
		sc.flow = append(sc.flow, flowLevel{kind: c})
		return i + 1, true, true
	case c == ']' || c == '}':
		sc.closeFlow()
		return i + 1, false, false
	case c == ',' && len(sc.flow) > 0:
		sc.nextFlowEntry()
		return i + 1, true, true
	case c == '?' && nodeStart && len(sc.flow) > 0 && (i+1 == len(l) || l[i+1] == ' ' || l[i+1] == '\t'):
		sc.pair()
		return i + 1, true, true
	case c == ':' && len(sc.flow) > 0:
		sc.pair()
		return i + 1, true, true
	case c == ':' && (i+1 == len(l) || l[i+1] == ' ' || l[i+1] == '\t'):
		return i + 1, true, true
	case nodeStart && (c == '\'' || c == '"'):
		sc.quote = c
		return i + 1, true, false
	case nodeStart && (c == '|' || c == '>') && len(sc.flow) == 0:
		// A block scalar: the lines under its key are text.
		sc.scalarKey = *keyCol
		return len(l), true, false
	case nodeStart && (c == '&' || c == '!'):
		// An anchor or a tag comes before the node itself.
		for i < len(l) && l[i] != ' ' && l[i] != '\t' {
			i++
		}
		return i, true, false
	}
	// A plain scalar, or a key: text until ": ", a flow indicator in flow
	// context, or a comment.
	if nodeStart {
		*keyCol = i
	}
	return i + 1, false, false
}

// flowLevel is an open [ or {.
type flowLevel struct {
	kind byte
	// pair is set when this sequence's entry is a one-pair mapping.
	pair bool
	// deepest is the deepest the current entry has gone.
	deepest int
}

// depth is how deep the scan is now.
func (sc *nestScan) depth() int { return len(sc.levels) + len(sc.flow) + sc.pairs }

// note records that the current flow entry went d deep, and returns the
// deepest it has gone, a key's levels counted again when it became one.
func (sc *nestScan) note(d int) int {
	n := len(sc.flow)
	if n == 0 {
		return d
	}
	sc.flow[n-1].deepest = max(sc.flow[n-1].deepest, d)
	return sc.flow[n-1].deepest
}

// closeFlow closes the innermost [ or {; how deep it went counts for the
// entry that holds it.
func (sc *nestScan) closeFlow() {
	n := len(sc.flow)
	if n == 0 {
		return
	}
	top := sc.flow[n-1]
	if top.pair {
		sc.pairs--
	}
	sc.flow = sc.flow[:n-1]
	sc.note(top.deepest)
}

// nextFlowEntry ends the innermost flow collection's entry.
func (sc *nestScan) nextFlowEntry() {
	n := len(sc.flow)
	if n == 0 {
		return
	}
	if sc.flow[n-1].pair {
		sc.flow[n-1].pair = false
		sc.pairs--
	}
	sc.flow[n-1].deepest = sc.depth()
}

// pair notes a ":" or "? " in flow: in a sequence, the entry is a
// one-pair mapping, one level deeper than counted so far, its key too.
func (sc *nestScan) pair() {
	n := len(sc.flow)
	if top := &sc.flow[n-1]; top.kind == '[' && !top.pair {
		top.pair = true
		sc.pairs++
		top.deepest++
	}
}

// inBlockScalar reports whether a line is a block scalar's text.
func (sc *nestScan) inBlockScalar(indent int, blank bool) bool {
	if sc.scalarKey < 0 {
		return false
	}
	if sc.scalarIndent < 0 && !blank && indent > sc.scalarKey {
		sc.scalarIndent = indent
	}
	if blank || sc.scalarIndent >= 0 && indent >= sc.scalarIndent {
		return true
	}
	sc.scalarKey, sc.scalarIndent = -1, -1
	return false
}

// quoted steps over one character of a quoted scalar, from i.
func (sc *nestScan) quoted(l []byte, i int) int {
	switch c := l[i]; {
	case c == '\\' && sc.quote == '"':
		i++
	case c == sc.quote && sc.quote == '\'' && i+1 < len(l) && l[i+1] == '\'':
		i++
	case c == sc.quote:
		sc.quote = 0
	}
	return i + 1
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
