package sshdconfig

import "strings"

// The lexical rules below follow OpenSSH 9.2 (misc.c: strdelim_internal and
// argv_split; servconf.c: process_server_config_line_depth) closely, because
// a line that sshd reads differently from us is exactly the kind of bug this
// package exists to find.

const whitespace = " \t\r\n"

// strdelim splits the next token off s the way sshd's strdelim does: tokens
// end at whitespace, a double quote or one '=', and a token may be a double
// quoted string. It returns the token and the rest; rest is nil-like
// (ok=false) when sshd's pointer would be NULL, that is when nothing follows.
// unterminated reports a quote that never closed: sshd then returns NULL.
func strdelim(s string) (tok, rest string, more, unterminated bool) {
	i := strings.IndexAny(s, whitespace+`"=`)
	if i < 0 {
		return s, "", false, false
	}
	if s[i] == '"' {
		// sshd drops the opening quote and searches for the closing one
		// from there, so `ab"cd"` yields "abcd"... up to the next quote:
		// the token is everything before the closing quote, quote removed.
		inner := s[:i] + s[i+1:]
		j := strings.IndexByte(inner[i:], '"')
		if j < 0 {
			return "", "", false, true
		}
		j += i
		tok = inner[:j]
		rest = inner[j+1:]
		rest = strings.TrimLeft(rest, whitespace)
		return tok, rest, true, false
	}
	wasEquals := s[i] == '='
	tok = s[:i]
	rest = s[i+1:]
	rest = strings.TrimLeft(rest, whitespace)
	if !wasEquals && strings.HasPrefix(rest, "=") {
		rest = strings.TrimLeft(rest[1:], whitespace)
	}
	return tok, rest, true, false
}

// splitKeyword separates a configuration line into its keyword and the rest
// of the line, as sshd does before it looks the keyword up. ok is false for
// blank lines and comments. hasArgs is false when nothing follows the keyword
// (sshd: "no argument after keyword").
func splitKeyword(line string) (keyword, rest string, hasArgs, ok bool) {
	tok, rest, more, unterminated := strdelim(line)
	if unterminated {
		return "", "", false, false
	}
	if tok == "" && more {
		// Leading whitespace: sshd takes the next token.
		tok, rest, more, unterminated = strdelim(rest)
		if unterminated {
			return "", "", false, false
		}
	}
	if tok == "" || tok[0] == '#' {
		return "", "", false, false
	}
	if !more || rest == "" {
		return tok, "", false, true
	}
	return tok, rest, true, true
}

// splitArgs splits the arguments of a directive like sshd's argv_split with
// comment termination: single or double quotes group words, a backslash
// escapes a quote, a backslash or (outside quotes) a space, and a '#' that
// starts a word ends the line. ok is false for an unterminated quote
// (sshd: "invalid quotes").
func splitArgs(s string) (args []string, ok bool) {
	i := 0
	for i < len(s) {
		c := s[i]
		if c == ' ' || c == '\t' {
			i++
			continue
		}
		if c == '#' {
			break
		}
		var b strings.Builder
		var quote byte
		for ; i < len(s); i++ {
			c = s[i]
			switch {
			case c == '\\':
				if i+1 < len(s) {
					n := s[i+1]
					if n == '\'' || n == '"' || n == '\\' || (quote == 0 && n == ' ') {
						i++
						b.WriteByte(n)
						continue
					}
				}
				b.WriteByte(c)
				continue
			case quote == 0 && (c == ' ' || c == '\t'):
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
				continue
			case quote != 0 && c == quote:
				quote = 0
				continue
			default:
				b.WriteByte(c)
				continue
			}
			break // unquoted blank ends the word
		}
		if i >= len(s) && quote != 0 {
			return nil, false
		}
		args = append(args, b.String())
	}
	return args, true
}

// cleanLine applies sshd's per-line trimming: load_server_config strips
// leading blanks and carriage returns, and the line parser strips trailing
// whitespace and form feeds.
func cleanLine(line string) string {
	line = strings.TrimLeft(line, " \t\r")
	return strings.TrimRight(line, whitespace+"\f")
}
