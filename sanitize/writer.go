package sanitize

import (
	"bytes"
	"io"
	"unicode/utf8"
)

// NewWriter returns a writer that passes everything written to it through
// Text on its way to w. It is for a command's standard output and error,
// where many sinks write: whatever one of them forgets, the terminal still
// gets nothing it would obey.
//
// Text is applied to each write as it comes, so that a prompt without a
// newline shows at once; only a rune or a "\r\n" cut by the end of a write
// waits for the next. An escape sequence cut in two is still dropped: its
// start, to the end of the write, goes, and its rest prints as text.
func NewWriter(w io.Writer) io.Writer { return &writer{w: w} }

type writer struct {
	w    io.Writer
	tail []byte // the start of a rune, or a "\r", that the next write ends
}

func (sw *writer) Write(p []byte) (int, error) {
	buf := append(sw.tail, p...)
	cut := len(buf) - unfinished(buf)
	sw.tail = append([]byte(nil), buf[cut:]...)
	if cut == 0 {
		return len(p), nil
	}
	if _, err := io.WriteString(sw.w, Text(string(buf[:cut]))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// unfinished returns how many bytes at the end of b may belong with what
// comes next: a trailing "\r", or the start of a multi-byte rune.
func unfinished(b []byte) int {
	if bytes.HasSuffix(b, []byte("\r")) {
		return 1
	}
	for n := 1; n < utf8.UTFMax && n <= len(b); n++ {
		c := b[len(b)-n]
		if c < utf8.RuneSelf {
			return 0
		}
		if utf8.RuneStart(c) {
			if utf8.FullRune(b[len(b)-n:]) {
				return 0
			}
			return n
		}
	}
	return 0
}
