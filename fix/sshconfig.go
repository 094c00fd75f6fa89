package fix

import (
	"fmt"
	"strings"

	"github.com/sshdoctor/sshdoctor/internal/sshmatch"
)

// SetHostOption returns the ssh client configuration text with keyword set
// to value for Host alias, changing as little as possible:
//
//   - a Host block naming alias exactly gets the line changed in place, or
//     added right after its Host line;
//   - otherwise a new "Host alias" block is inserted before the first line
//     that could also apply to alias (a Host with wildcards or negations, a
//     Match, an Include), because ssh keeps the first value it reads and a
//     block after "Host *" would be ignored; with no such line it goes at
//     the end.
//
// Comments and layout are kept. conflict is non-empty when a setting before
// any Host line (which applies to every host and wins) sets the same
// keyword: then text is unchanged and the caller must say so.
func SetHostOption(text, alias, keyword, value string) (out string, conflict string) {
	var lines []string
	trailingNL := strings.HasSuffix(text, "\n")
	if text != "" {
		lines = strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	}
	kw := strings.ToLower(keyword)
	inBlock := false // inside any Host/Match block
	exact := -1      // line index of a Host block naming alias exactly
	insertAt := -1   // where a new block goes
	for i, l := range lines {
		k, args := splitConfigLine(l)
		switch k {
		case "":
			continue
		case "host":
			inBlock = true
			if exact < 0 && hostNamesExactly(args, alias) {
				exact = i
			} else if insertAt < 0 && exact < 0 && hostMayMatch(args, alias) {
				insertAt = i
			}
		case "match", "include":
			if insertAt < 0 && exact < 0 {
				insertAt = i
			}
			if k == "match" {
				inBlock = true
			}
		default:
			if !inBlock && k == kw {
				return text, fmt.Sprintf("line %d sets %s for every host (%q), and ssh keeps that first value", i+1, keyword, strings.TrimSpace(l))
			}
		}
	}
	newLine := keyword + " " + value
	if exact >= 0 {
		indent := "    "
		end := len(lines)
		for i := exact + 1; i < len(lines); i++ {
			k, _ := splitConfigLine(lines[i])
			if k == "host" || k == "match" {
				end = i
				break
			}
		}
		for i := exact + 1; i < end; i++ {
			k, _ := splitConfigLine(lines[i])
			if k == "" {
				continue
			}
			indent = leadingSpace(lines[i])
			if k == kw && kw != "identityfile" {
				lines[i] = indent + newLine
				return join(lines, trailingNL), ""
			}
		}
		lines = append(lines[:exact+1], append([]string{indent + newLine}, lines[exact+1:]...)...)
		return join(lines, trailingNL), ""
	}
	block := []string{"Host " + alias, "    " + newLine, ""}
	if insertAt < 0 {
		if len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) != "" {
			block = append([]string{""}, block[:2]...)
		} else {
			block = block[:2]
		}
		lines = append(lines, block...)
		return join(lines, true), ""
	}
	lines = append(lines[:insertAt], append(block, lines[insertAt:]...)...)
	return join(lines, trailingNL || len(lines) > 0), ""
}

// HostOption returns the value keyword has in the Host block naming alias
// exactly, or "".
func HostOption(text, alias, keyword string) string {
	in := false
	for _, l := range strings.Split(text, "\n") {
		k, args := splitConfigLine(l)
		switch k {
		case "host":
			in = hostNamesExactly(args, alias)
		case "match":
			in = false
		case strings.ToLower(keyword):
			if in {
				return strings.Join(args, " ")
			}
		}
	}
	return ""
}

func join(lines []string, trailingNL bool) string {
	s := strings.Join(lines, "\n")
	if trailingNL {
		s += "\n"
	}
	return s
}

// splitConfigLine returns the lower-case keyword and the arguments of an
// ssh_config line ("Key value", "Key=value"); "" for blank lines and
// comments.
func splitConfigLine(l string) (string, []string) {
	t := strings.TrimSpace(l)
	if t == "" || t[0] == '#' {
		return "", nil
	}
	k, rest, _ := strings.Cut(t, " ")
	if i := strings.IndexAny(t, " \t="); i >= 0 {
		k, rest = t[:i], strings.TrimLeft(t[i:], " \t=")
	} else {
		k, rest = t, ""
	}
	return strings.ToLower(k), strings.Fields(rest)
}

func leadingSpace(l string) string {
	return l[:len(l)-len(strings.TrimLeft(l, " \t"))]
}

func hostNamesExactly(patterns []string, alias string) bool {
	for _, p := range patterns {
		if p == alias {
			return true
		}
	}
	return false
}

// hostMayMatch reports whether a Host line could apply to alias: a pattern
// with wildcards that matches it, or any negation (conservatively).
func hostMayMatch(patterns []string, alias string) bool {
	for _, p := range patterns {
		if strings.HasPrefix(p, "!") {
			return true
		}
		if strings.ContainsAny(p, "*?") && globMatch(p, alias) {
			return true
		}
	}
	return false
}

// globMatch is ssh's pattern matching: '*' any run, '?' one character.
func globMatch(pattern, s string) bool { return sshmatch.Pattern(s, pattern) }
