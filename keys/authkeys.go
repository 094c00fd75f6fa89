package keys

import (
	"bytes"
	"strings"

	"golang.org/x/crypto/ssh"
)

// KeyLine is a line of an authorized_keys file that authorizes a key.
type KeyLine struct {
	// Line is its 1-based line number.
	Line int
	// Options are the line's options ("from=...,no-pty"); empty means none.
	Options []string
}

// FindKey returns the lines of an authorized_keys file whose key is key
// (compared by key blob, whatever the options or comment). Comments, blank
// lines and lines that do not parse authorize nothing and are never
// returned.
func FindKey(content []byte, key ssh.PublicKey) []KeyLine {
	var out []KeyLine
	forEachLine(content, func(n int, line []byte) {
		if opts, ok := lineHasKey(line, key); ok {
			out = append(out, KeyLine{Line: n, Options: opts})
		}
	})
	return out
}

// RemoveKey returns content without the lines that authorize key, and
// those lines. Every other byte is kept as it was: comments, blank lines,
// other keys, line endings, a missing final newline.
func RemoveKey(content []byte, key ssh.PublicKey) ([]byte, []KeyLine) {
	var out bytes.Buffer
	var removed []KeyLine
	forEachLine(content, func(n int, line []byte) {
		if opts, ok := lineHasKey(line, key); ok {
			removed = append(removed, KeyLine{Line: n, Options: opts})
			return
		}
		out.Write(line)
	})
	return out.Bytes(), removed
}

// forEachLine calls fn with each line of content, its line ending
// included, numbered from 1.
func forEachLine(content []byte, fn func(n int, line []byte)) {
	for n := 1; len(content) > 0; n++ {
		i := bytes.IndexByte(content, '\n')
		if i < 0 {
			fn(n, content)
			return
		}
		fn(n, content[:i+1])
		content = content[i+1:]
	}
}

// lineHasKey parses one line as sshd does (options, key type, key,
// comment) and reports whether it holds key.
func lineHasKey(line []byte, key ssh.PublicKey) ([]string, bool) {
	t := bytes.TrimSpace(line)
	if len(t) == 0 || t[0] == '#' {
		return nil, false
	}
	pk, _, opts, rest, err := ssh.ParseAuthorizedKey(t)
	if err != nil || len(bytes.TrimSpace(rest)) > 0 {
		// ParseAuthorizedKey skips lines it cannot parse and goes on to the
		// next; one line in means one key out, or none.
		return nil, false
	}
	if !bytes.Equal(pk.Marshal(), key.Marshal()) {
		return nil, false
	}
	return opts, true
}

// HasOption reports whether opts holds the option name (case-insensitive,
// with or without a value).
func HasOption(opts []string, name string) bool {
	for _, o := range opts {
		k, _, _ := strings.Cut(o, "=")
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}
