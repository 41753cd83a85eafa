package sanitize

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"plain", "plain\ttext", "plain\ttext"},
		{"trailing CR", "crlf\r", "crlf"},
		{"CR inside", "ok\rfake", "ok\uFFFDfake"},
		{"SGR", "\x1b[1;31mred\x1b[0m", "red"},
		{"OSC 0 title, BEL", "title\x1b]0;x\x07done", "titledone"},
		{"OSC 52 clipboard, ST", "a\x1b]52;c;aGVsbG8=\x1b\\b", "ab"},
		{"OSC unterminated", "a\x1b]52;c;aGVsbG8=", "a"},
		{"DCS payload", "a\x1bPq#0;2;0;0;0#1!14@\x1b\\b", "ab"},
		{"tput sgr0", "x\x1b(B\x1b[m", "x"},
		{"keypad", "x\x1b=y\x1b>", "xy"},
		{"lone ESC", "end\x1b", "end"},
		{"8-bit CSI byte", "a\x9b31mb", "a\uFFFD31mb"},
		{"C1 rune", "a\u009b31mb", "a\uFFFD31mb"},
		{"bell and NUL", "bell\x07nul\x00", "bell\uFFFDnul\uFFFD"},
		{"DEL", "a\x7fb", "a\uFFFDb"},
		{"invalid UTF-8", "bad \xff\xfe utf8", "bad \uFFFD utf8"},
		{"newline", "one\ntwo", "one\u2424two"},
		{"line separator", "one\u2028two", "one\u2424two"},
		{"bidi override", "abc\u202Edef", "abc⟨U+202E⟩def"},
		{"bidi isolate", "\u2066x\u2069", "⟨U+2066⟩x⟨U+2069⟩"},
		{"zero width", "a\u200Bb\u200Dc\uFEFFd\u00ADe", "abcde"},
		{"variation selector", "\u2764\uFE0F", "\u2764"},
		{"tag characters", "flag\U000E0067\U000E0062", "flag"},
		{"unicode kept", "ünïcödé 日本 ✓", "ünïcödé 日本 ✓"},
	} {
		if got := Line(c.in); got != c.want {
			t.Errorf("%s: Line(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

func TestText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"one\ntwo", "one\ntwo"},
		{"one\r\ntwo\r\n", "one\ntwo\n"},
		{"one\u2029two", "one\ntwo"},
		{"lone\rCR", "lone\uFFFDCR"},
		{"\x1b]0;evil\x07title\n\x1b[2Jclear", "title\nclear"},
	} {
		if got := Text(c.in); got != c.want {
			t.Errorf("Text(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// checkSafe fails t if out holds anything a terminal would act on or that
// would move a border.
func checkSafe(t *testing.T, fn, in, out string, newlines bool) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("%s(%q) = %q: invalid UTF-8", fn, in, out)
	}
	for _, r := range out {
		switch {
		case r == '\t', r == '\n' && newlines:
		case r < 0x20, r >= 0x7f && r <= 0x9f:
			t.Fatalf("%s(%q) = %q: control character %U", fn, in, out, r)
		case bidi(r):
			t.Fatalf("%s(%q) = %q: bidi control %U", fn, in, out, r)
		case unicode.Is(unicode.Cf, r):
			t.Fatalf("%s(%q) = %q: format character %U", fn, in, out, r)
		}
	}
}

func FuzzSanitize(f *testing.F) {
	for _, s := range []string{
		"plain", "\x1b]52;c;aGVsbG8=\x07", "\x1b]0;title\x1b\\", "\x1bP1$r0m\x1b\\",
		"\x1b(B", "\x1b=", "\x9b2J", "\u009b2J", "\xc2", "a\u202Eb", "\u200B", "\x1b[", "\x1b]",
		"line\r\nnext\r", "\x1b\x1b[31m", "\x1bX sos \x1b\\", "\x1b_apc\x1b\\", "\x1b^pm\x1b\\",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		line, text := Line(in), Text(in)
		checkSafe(t, "Line", in, line, false)
		checkSafe(t, "Text", in, text, true)
		if strings.ContainsRune(line, '\n') {
			t.Fatalf("Line(%q) = %q: holds a newline", in, line)
		}
		if again := Line(line); again != line {
			t.Fatalf("Line is not idempotent on %q: %q then %q", in, line, again)
		}
		if again := Text(text); again != text {
			t.Fatalf("Text is not idempotent on %q: %q then %q", in, text, again)
		}
	})
}

func TestWriter(t *testing.T) {
	var out strings.Builder
	w := NewWriter(&out)
	for _, chunk := range []string{"prompt: ", "✓"[:1], "✓"[1:], " ok\r", "\nnext\x1b]0;evil\x07 line\n"} {
		if n, err := w.Write([]byte(chunk)); err != nil || n != len(chunk) {
			t.Fatalf("Write(%q) = %d, %v", chunk, n, err)
		}
		if chunk == "prompt: " && out.String() != "prompt: " {
			t.Fatalf("a write without a newline waits: got %q", out.String())
		}
	}
	if want := "prompt: ✓ ok\nnext line\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
