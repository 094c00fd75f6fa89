package dest

import (
	"errors"
	"strings"

	"github.com/sshdoctor/sshdoctor/internal/sshmatch"
)

// cursor is a position in a line for strdelim; null is C's NULL pointer,
// which is not the same as an empty remainder.
type cursor struct {
	s    string
	null bool
}

// strdelim returns the next token of a configuration line the way
// OpenSSH's strdelim does: split at white space or one '=', with "double
// quotes" grouping. It reports false for an unterminated quote or when the
// line is used up.
func strdelim(c *cursor) (string, bool) {
	if c.null {
		return "", false
	}
	const ws = " \t\r\n"
	i := strings.IndexAny(c.s, ws+"\"=")
	if i < 0 {
		old := c.s
		c.null, c.s = true, ""
		return old, true
	}
	if c.s[i] == '"' {
		head := c.s[:i]
		rest := c.s[i+1:]
		j := strings.IndexByte(rest, '"')
		if j < 0 {
			c.null, c.s = true, ""
			return "", false
		}
		tok := head + rest[:j]
		c.s = strings.TrimLeft(rest[j+1:], ws)
		return tok, true
	}
	eq := c.s[i] == '='
	tok := c.s[:i]
	rest := strings.TrimLeft(c.s[i+1:], ws)
	if !eq && strings.HasPrefix(rest, "=") {
		rest = strings.TrimLeft(rest[1:], ws)
	}
	c.s = rest
	return tok, true
}

// argvSplit splits the arguments of a configuration line as OpenSSH's
// argv_split: white space separates, quotes group, backslash escapes
// quotes, backslash and space, and '#' at the start of a word ends the line.
func argvSplit(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' || s[i] == '\t' {
			continue
		}
		if s[i] == '#' {
			break
		}
		var arg []byte
		var quote byte
		for ; i < len(s); i++ {
			c := s[i]
			switch {
			case c == '\\':
				if i+1 < len(s) && (s[i+1] == '\'' || s[i+1] == '"' || s[i+1] == '\\' || (quote == 0 && s[i+1] == ' ')) {
					i++
					arg = append(arg, s[i])
				} else {
					arg = append(arg, c)
				}
				continue
			case quote == 0 && (c == ' ' || c == '\t'):
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
				continue
			case quote != 0 && c == quote:
				quote = 0
				continue
			default:
				arg = append(arg, c)
				continue
			}
			break
		}
		out = append(out, string(arg))
		if i >= len(s) {
			if quote != 0 {
				return nil, errors.New("unterminated quote")
			}
			break
		}
	}
	return out, nil
}

// matchPattern matches s against a pattern with '*' and '?', byte by byte
// and case-sensitively, as OpenSSH's match_pattern. It runs in O(len(s) *
// len(p)) whatever the pattern.
func matchPattern(s, p string) bool { return sshmatch.Pattern(s, p) }

// matchPatternList matches s against a comma-separated pattern list, as
// OpenSSH's match_pattern_list: 1 for a match, -1 when a negated pattern
// matches, 0 otherwise. With lower, patterns are lower-cased first.
func matchPatternList(s, list string, lower bool) int { return sshmatch.PatternList(s, list, lower) }

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func eqFold(a, b string) bool { return len(a) == len(b) && asciiLower(a) == asciiLower(b) }
