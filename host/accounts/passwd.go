package accounts

import "strings"

// PasswdEntry is one record of /etc/passwd.
type PasswdEntry struct {
	// Name is the login name.
	Name string
	// Password is the second field: "x" when the hash is in /etc/shadow.
	Password string
	// UID and GID are the numeric user and primary group ids.
	UID, GID int64
	// Gecos is the comment field; empty when none.
	Gecos string
	// Home is the home directory; empty when the field is empty.
	Home string
	// Shell is the login shell exactly as written (it may even hold a
	// trailing '\r'); empty means /bin/sh to sshd.
	Shell string
	// Line is the 1-based line number in the file.
	Line int
	// Compat is true for the "+" and "-" lines of nss_compat: they name no
	// local account, and lookups skip them.
	Compat bool
}

// ParsePasswd parses /etc/passwd as glibc does. Records that glibc would
// skip come back as LineErrors (with File empty: the caller knows the file);
// comments and blank lines are neither.
func ParsePasswd(data []byte) ([]PasswdEntry, []LineError) {
	var out []PasswdEntry
	var bad []LineError
	for _, l := range dbLines(data) {
		e, reason := parsePasswdLine(l.text)
		if reason != "" {
			bad = append(bad, LineError{Line: l.n, Text: Escape(l.text, 120), Reason: reason})
			continue
		}
		e.Line = l.n
		out = append(out, e)
	}
	return out, bad
}

func parsePasswdLine(s string) (PasswdEntry, string) {
	var e PasswdEntry
	c := cursor{s}
	e.Name = c.str()
	compat := strings.HasPrefix(e.Name, "+") || strings.HasPrefix(e.Name, "-")
	if compat {
		// nss_compat lines may leave every other field empty; they never
		// define a local account, so their fields do not matter here.
		e.Compat = true
		return e, ""
	}
	if e.Name == "" {
		return e, "empty user name"
	}
	e.Password = c.str()
	uid, err := c.num()
	if err != nil || uid < 0 {
		return e, "uid is not a number"
	}
	gid, err := c.num()
	if err != nil || gid < 0 {
		return e, "gid is not a number"
	}
	e.UID, e.GID = uid, gid
	e.Gecos = c.str()
	e.Home = c.str()
	// The shell is the rest of the line, colons included.
	e.Shell = c.s
	return e, ""
}
