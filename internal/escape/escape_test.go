package escape

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain ASCII is unchanged", "SSH-2.0-OpenSSH_9.2p1 Debian-2", "SSH-2.0-OpenSSH_9.2p1 Debian-2"},
		{"printable UTF-8 is unchanged", "héllo 日本", "héllo 日本"},
		{"empty", "", ""},
		{"clear screen", "\x1b[2J", `\e[2J`},
		{"OSC window title with BEL", "\x1b]0;pwned\x07", `\e]0;pwned\x07`},
		{"CR LF TAB", "a\r\nb\tc", `a\r\nb\tc`},
		{"NUL and DEL", "a\x00b\x7f", `a\x00b\x7f`},
		{"other C0", "\x01\x08\x0b\x0c\x1f", `\x01\x08\x0b\x0c\x1f`},
		{"C1 CSI as UTF-8", "a\u009b31mb", `a\u{009b}31mb`},
		{"C1 NEL as UTF-8", "\u0085", `\u{0085}`},
		{"raw C1 byte is invalid UTF-8", "a\x9bb", `a\x9bb`},
		{"invalid UTF-8 bytes", "\xff\xfe", `\xff\xfe`},
		{"truncated UTF-8 sequence", "\xe6\x97", `\xe6\x97`},
		{"right-to-left override", "user\u202Egnp.exe", `user\u{202e}gnp.exe`},
		{"bidi isolates and marks", "\u2066\u2067\u2068\u2069\u200e\u200f\u061c", `\u{2066}\u{2067}\u{2068}\u{2069}\u{200e}\u{200f}\u{061c}`},
		{"backslash is doubled", `C:\path\e`, `C:\\path\\e`},
		{"escaped-looking text stays distinguishable", `\e[2J`, `\\e[2J`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTerminal(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"backslashes are kept", `already \e escaped \\ text`, `already \e escaped \\ text`},
		{"ESC is still escaped", "\x1b[31mred", `\e[31mred`},
		{"BEL is still escaped", "ding\x07", `ding\x07`},
		{"C1 is still escaped", "\u009b", `\u{009b}`},
		{"bidi is still escaped", "\u202e", `\u{202e}`},
		{"invalid UTF-8 is still escaped", "\xc0", `\xc0`},
		{"newline is escaped", "a\nb", `a\nb`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Terminal(tt.in); got != tt.want {
				t.Errorf("Terminal(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestBytes(t *testing.T) {
	if got, want := Bytes([]byte("HTTP/1.1 400\r\n\x00\xff")), `HTTP/1.1 400\r\n\x00\xff`; got != want {
		t.Errorf("Bytes = %q, want %q", got, want)
	}
}

// unescape inverts String, so that tests can check String loses nothing.
func unescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 >= len(s) {
			return "", fmt.Errorf("dangling backslash")
		}
		i++
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'e':
			b.WriteByte(0x1b)
		case 'x':
			if i+2 >= len(s) {
				return "", fmt.Errorf("short \\x")
			}
			n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", err
			}
			b.WriteByte(byte(n))
			i += 2
		case 'u':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 || i+1 >= len(s) || s[i+1] != '{' {
				return "", fmt.Errorf("bad \\u")
			}
			n, err := strconv.ParseUint(s[i+2:i+end], 16, 32)
			if err != nil {
				return "", err
			}
			b.WriteRune(rune(n))
			i += end
		default:
			return "", fmt.Errorf("unknown escape \\%c", s[i])
		}
	}
	return b.String(), nil
}

// safe reports the first character of s that could act on a terminal.
func unsafeRune(s string) (rune, bool) {
	if !utf8.ValidString(s) {
		return utf8.RuneError, true
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || isBidi(r) {
			return r, true
		}
	}
	return 0, false
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b]0;pwned\x07\x1b[2J", "\u202e", "\xff", `\e`, "\u009b", "a\\x1b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := String(s)
		if r, bad := unsafeRune(out); bad {
			t.Fatalf("String(%q) = %q still holds %U", s, out, r)
		}
		back, err := unescape(out)
		if err != nil {
			t.Fatalf("String(%q) = %q does not unescape: %v", s, out, err)
		}
		if back != s {
			t.Fatalf("String is lossy: %q -> %q -> %q", s, out, back)
		}
		term := Terminal(s)
		if r, bad := unsafeRune(term); bad {
			t.Fatalf("Terminal(%q) = %q still holds %U", s, term, r)
		}
		// Escaping twice must stay safe and must not touch escaped text
		// again (evidence escaped by String goes through Terminal on display).
		if Terminal(out) != out {
			t.Fatalf("Terminal(String(%q)) = %q, want it unchanged (%q)", s, Terminal(out), out)
		}
	})
}
