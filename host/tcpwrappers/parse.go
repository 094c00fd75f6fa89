// Package tcpwrappers reads /etc/hosts.allow and /etc/hosts.deny the way
// libwrap (TCP wrappers) reads them, tells whether sshd is built with libwrap
// at all, and evaluates the two files for a client address.
//
// The reading follows hosts_access(5) and hosts_options(5) as Debian's
// libwrap0 7.6.q implements them. Where Debian's library differs from the
// manual page, the library wins; these were measured against Debian 12's
// sshd (see the package tests):
//
//   - only a '#' in the first column starts a comment; "  # x" is a rule
//     whose daemon list holds the words "#" and "x", and a '#' later on a
//     line is an ordinary word;
//   - a line without a newline at its end (the last line of a file written
//     with echo -n), or longer than 2046 bytes after joining continuation
//     lines, ends the reading of its file: in hosts.deny it refuses every
//     client, in hosts.allow it grants nobody and hides the lines after it;
//   - a daemon list may name the server port ("22: 10.0.0.1");
//   - "net/masklength" works for IPv4 as for "net/mask", and a net with host
//     bits set ("10.0.0.1/24") never matches anything;
//   - an unknown option, or an option with a missing or extra value, refuses
//     the client whose rule it is, in either file.
package tcpwrappers

import (
	"bytes"
	"strings"
)

// Files read by libwrap, as paths on the inspected system.
const (
	AllowFile = "/etc/hosts.allow"
	DenyFile  = "/etc/hosts.deny"
)

// maxLine is the longest logical line libwrap accepts: its buffer is 2048
// bytes (BUFLEN) and must hold the line, its newline and a NUL.
const maxLine = 2046

// File is one access control table as libwrap reads it.
type File struct {
	// Path is where the file is on the inspected system (AllowFile or
	// DenyFile).
	Path string
	// Lines is the number of physical lines, an unterminated last one
	// included; 0 for an empty file.
	Lines int
	// Rules are the rules in file order. Comments, blank lines and lines
	// libwrap skips are not rules.
	Rules []Rule
	// Skipped are lines libwrap ignores with a warning: those without a
	// ":" between the daemon list and the client list. Empty when none.
	Skipped []Problem
	// Broken is the line where libwrap stopped reading: one without a
	// newline at its end, or too long. libwrap treats it as a match that
	// refuses the client: every client in hosts.deny; in hosts.allow it
	// grants nobody and the lines after it are never read. nil when the
	// whole file was read.
	Broken *Problem
}

// Problem is a line libwrap did not take as a rule.
type Problem struct {
	// Line is the 1-based number of the first physical line.
	Line int
	// Text is the line (continuations joined), at most 200 bytes of it.
	Text string
	// Why says what libwrap objects to, in its own words where it has
	// them ("missing newline or line too long").
	Why string
}

// Rule is one entry: daemon_list : client_list [ : options ].
type Rule struct {
	// Line is the 1-based number of the rule's first physical line;
	// EndLine that of its last, when backslashes continue it.
	Line, EndLine int
	// Text is the logical line: continuation backslash-newlines removed,
	// without its final newline.
	Text string
	// Daemons and Clients are the words of the two lists, split as libwrap
	// splits them (blanks and commas). EXCEPT stays a word.
	Daemons, Clients []string
	// HasOptions is true when the rule has a third field, even an empty
	// one (which libwrap rejects). Options is that field, unparsed.
	HasOptions bool
	Options    string
}

// listSeparators are the characters libwrap's strtok splits lists at.
const listSeparators = ", \t\r\n"

// Parse reads a hosts.allow or hosts.deny file. It never fails: what
// libwrap would skip is recorded in File.Skipped, and where it would stop,
// in File.Broken.
func Parse(path string, data []byte) *File {
	f := &File{Path: path, Lines: bytes.Count(data, []byte{'\n'})}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		f.Lines++
	}
	line := 0
	for len(data) > 0 {
		// xgets: read physical lines, joining those that end in a
		// backslash before the newline.
		start := line + 1
		var logical []byte
		complete := false
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				logical = append(logical, data...)
				data = nil
				break
			}
			line++
			seg := data[:i]
			data = data[i+1:]
			if len(seg) > 0 && seg[len(seg)-1] == '\\' {
				logical = append(logical, seg[:len(seg)-1]...)
				continue
			}
			logical = append(logical, seg...)
			complete = true
			break
		}
		text := string(logical)
		if i := strings.IndexByte(text, 0); i >= 0 && complete {
			// libwrap measures the line with strlen: a NUL hides the
			// newline, which makes the line look unterminated.
			f.Broken = &Problem{Line: start, Text: clip(text[:i]), Why: "NUL byte in the line"}
			return f
		}
		if !complete || len(logical) > maxLine {
			var why string
			switch {
			case !complete:
				why = "missing newline at the end of the file"
			default:
				why = "line too long (more than 2046 bytes)"
			}
			f.Broken = &Problem{Line: start, Text: clip(text), Why: why}
			return f
		}
		if len(text) > 0 && text[0] == '#' {
			continue
		}
		if strings.Trim(text, " \t\r\n") == "" {
			continue
		}
		daemons, rest, ok := splitAt(text, ':')
		if !ok {
			f.Skipped = append(f.Skipped, Problem{Line: start, Text: clip(text), Why: `missing ":" separator`})
			continue
		}
		clients, opts, hasOpts := splitAt(rest, ':')
		f.Rules = append(f.Rules, Rule{
			Line: start, EndLine: line, Text: text,
			Daemons:    fields(daemons),
			Clients:    fields(clients),
			HasOptions: hasOpts,
			Options:    opts,
		})
	}
	return f
}

// splitAt splits s at the first sep that is not inside [brackets], as
// Debian's split_at does so that IPv6 patterns keep their colons. ok is
// false when there is no such separator.
func splitAt(s string, sep byte) (before, after string, ok bool) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
		default:
			if depth == 0 && s[i] == sep {
				return s[:i], s[i+1:], true
			}
		}
	}
	return s, "", false
}

// fields splits a list at blanks and commas, as strtok does.
func fields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(listSeparators, r) })
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
