// Package sanitize makes text that cutover did not write itself safe to
// put on a terminal: pipeline files and their variables, step output, key
// comments, flags, and what a cluster or Prometheus says. A terminal obeys
// escape sequences in what it prints, so a raw string can set the window
// title, write the clipboard (OSC 52), or redraw the screen to lie; bidi
// controls can reorder what is shown; zero-width characters shift borders.
//
// Every string from outside that reaches a terminal passes through Line or
// Text once, before it is styled. The package imports nothing of cutover's
// and may be imported by every package.
package sanitize

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// Replacement stands for a control character or an invalid byte, so that a
// reader sees something was there.
const Replacement = '\uFFFD'

// newlineMark stands for a line break inside a one-line string (U+2424
// SYMBOL FOR NEWLINE), so that a name or a reason cannot start a line of
// its own and pass for another event.
const newlineMark = '\u2424'

// Line returns s made safe to print as one line of a terminal:
//   - escape sequences (CSI, OSC, DCS, APC, PM, SOS and the short ESC
//     ones such as ESC ( B) are dropped whole, even unterminated;
//   - other control characters, C1 controls and invalid UTF-8 become
//     U+FFFD, a line break U+2424, and a trailing carriage return goes;
//   - bidi controls are shown as ⟨U+202E⟩, and zero-width characters and
//     variation selectors are dropped, so that no border moves.
//
// Tabs are kept. Text that needs none of this is returned as it is.
func Line(s string) string {
	s = strings.TrimSuffix(s, "\r")
	if plain(s, false) {
		return s
	}
	return clean(s, false)
}

// Text is Line for text of several lines: line breaks (\n, \r\n, U+2028,
// U+2029) are kept as \n.
func Text(s string) string {
	if plain(s, true) {
		return s
	}
	return clean(strings.ReplaceAll(s, "\r\n", "\n"), true)
}

// plain reports whether s is printable ASCII (and tabs, and newlines when
// they are kept), which is nearly all text, and needs no work.
func plain(s string, newlines bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f || c == '\t' || c == '\n' && newlines {
			continue
		}
		return false
	}
	return true
}

func clean(s string, newlines bool) string {
	s = strings.ToValidUTF8(s, string(Replacement))
	var b strings.Builder
	b.Grow(len(s))
	for len(s) > 0 {
		seq, _, n, _ := ansi.DecodeSequence(s, ansi.NormalState, nil)
		if n <= 0 { // cannot happen on valid UTF-8; never loop forever
			n, seq = 1, s[:1]
		}
		s = s[n:]
		switch c := seq[0]; {
		case c == ansi.ESC:
			// An escape sequence, whole or cut off by the end of s: dropped.
		case c < utf8.RuneSelf && len(seq) == 1:
			writeRune(&b, rune(c), newlines)
		default:
			for _, r := range seq {
				writeRune(&b, r, newlines)
			}
		}
	}
	return b.String()
}

func writeRune(b *strings.Builder, r rune, newlines bool) {
	switch {
	case r == '\t':
		b.WriteByte('\t')
	case r == '\n' || r == '\u2028' || r == '\u2029':
		if newlines {
			b.WriteByte('\n')
		} else {
			b.WriteRune(newlineMark)
		}
	case bidi(r):
		fmt.Fprintf(b, "⟨U+%04X⟩", r)
	case unicode.IsControl(r):
		b.WriteRune(Replacement)
	case unicode.Is(unicode.Cf, r), unicode.Is(unicode.Variation_Selector, r):
		// Zero-width: joiners, soft hyphens, tags and the like draw
		// nothing, or a width the terminal and the layout disagree on.
	default:
		b.WriteRune(r)
	}
}

// bidi reports the characters that reorder how a line is displayed
// (Unicode's explicit directional formatting characters and marks), which
// can make text read differently from what it is (CVE-2021-42574).
func bidi(r rune) bool {
	switch {
	case r == '\u061C', r == '\u200E', r == '\u200F':
		return true
	case r >= '\u202A' && r <= '\u202E':
		return true
	case r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}
