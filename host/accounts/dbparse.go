package accounts

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// LineError is a line of passwd, shadow or group that the C library would
// skip: the account or group it was meant to define does not exist for sshd.
type LineError struct {
	// File is the database's path on the inspected system ("/etc/passwd").
	File string
	// Line is the 1-based line number.
	Line int
	// Text is the line, control characters escaped and cut to 120 bytes;
	// for shadow, the password field is replaced by "<hash>".
	Text string
	// Reason says what is wrong, in a few words.
	Reason string
}

// dbLine is one line of an nss "files" database that is neither empty nor a
// comment, with its number.
type dbLine struct {
	n    int
	text string
}

// dbLines splits data the way glibc's nss_files reads it: one record a line,
// leading white space skipped, empty lines and lines starting with '#'
// ignored. A line is cut at a NUL byte, as the C string it becomes would be.
func dbLines(data []byte) []dbLine {
	var out []dbLine
	// Split on '\n' only: a '\r' left by a Windows editor stays part of the
	// line, as it does for glibc, and e.g. makes the shell "/bin/bash\r".
	for i, raw := range bytes.Split(data, []byte("\n")) {
		s := string(raw)
		if j := strings.IndexByte(s, 0); j >= 0 {
			s = s[:j]
		}
		s = strings.TrimLeft(s, " \t\v\f\r")
		if s == "" || s[0] == '#' {
			continue
		}
		out = append(out, dbLine{i + 1, s})
	}
	return out
}

// cursor walks a record field by field with the semantics of glibc's
// files-parse.c macros (STRING_FIELD, INT_FIELD, INT_FIELD_MAYBE_NULL), so
// that what we accept is what getpwnam and getspnam accept.
type cursor struct{ s string }

var errField = errors.New("bad field")

// str is STRING_FIELD: everything up to the next ':' (consumed) or the end.
func (c *cursor) str() string {
	i := strings.IndexByte(c.s, ':')
	if i < 0 {
		v := c.s
		c.s = ""
		return v
	}
	v := c.s[:i]
	c.s = c.s[i+1:]
	return v
}

func (c *cursor) atEnd() bool { return c.s == "" }

// num is INT_FIELD: a number that must be there, then ':' or the end.
// glibc uses strtoul and so would also take a sign or leading blanks; we
// accept digits only, which is what every tool that writes these files
// produces.
func (c *cursor) num() (int64, error) {
	v, rest, ok := leadingNumber(c.s)
	if !ok {
		return 0, errField
	}
	return v, c.terminate(rest)
}

// maybeNum is INT_FIELD_MAYBE_NULL: an empty field gives def; but the
// record may not end here, because more fields are expected.
func (c *cursor) maybeNum(def int64) (int64, error) {
	if c.s == "" {
		return 0, errField
	}
	v, rest, ok := leadingNumber(c.s)
	if !ok {
		v, rest = def, c.s
	}
	return v, c.terminate(rest)
}

func (c *cursor) terminate(rest string) error {
	switch {
	case rest == "":
		c.s = ""
	case rest[0] == ':':
		c.s = rest[1:]
	default:
		return errField
	}
	return nil
}

// leadingNumber reads an optionally negative decimal number at the start of
// s. shadow files use -1 in numeric fields now and then; strtoul wraps it
// to the same -1 once glibc converts it to a long.
func leadingNumber(s string) (int64, string, bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return 0, s, false
	}
	v, err := strconv.ParseInt(s[:j], 10, 64)
	if err != nil || v > 1<<32-1 || v < -(1<<31) {
		return 0, s, false
	}
	return v, s[j:], true
}

// Escape renders text from a file for display: printable ASCII as it is,
// everything else as Go escapes, cut to max bytes with "..." appended.
func Escape(s string, max int) string {
	q := strconv.QuoteToASCII(s)
	q = q[1 : len(q)-1]
	q = strings.ReplaceAll(q, `\"`, `"`)
	if max > 0 && len(q) > max {
		q = q[:max] + "..."
	}
	return q
}
