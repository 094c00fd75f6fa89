// Package escape makes untrusted text safe to print on a terminal.
package escape

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// String makes text safe to print on a terminal. Control characters (C0, DEL,
// C1), invalid UTF-8 bytes, backslashes and Unicode bidirectional overrides
// are written as visible escapes, so a hostile server cannot move the cursor,
// change colours, retitle the window or reorder what the user reads.
func String(s string) string { return esc(s, true) }

// Terminal is String without escaping backslashes: for text that may
// already hold escapes (evidence made with String), so that they are not
// doubled, while control characters are still neutralised.
func Terminal(s string) string { return esc(s, false) }

func esc(s string, backslash bool) string {
	if isPlain(s, backslash) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\' && backslash:
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == 0x1b:
			b.WriteString(`\e`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r <= 0x9f, isBidi(r):
			fmt.Fprintf(&b, `\u{%04x}`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func isPlain(s string, backslash bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || (backslash && c == '\\') {
			return false
		}
	}
	return true
}

func isBidi(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c
}

// Bytes escapes raw bytes (which need not be UTF-8) for display.
func Bytes(p []byte) string { return String(string(p)) }
