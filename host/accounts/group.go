package accounts

import "strings"

// GroupEntry is one record of /etc/group.
type GroupEntry struct {
	// Name is the group name.
	Name string
	// GID is the numeric group id.
	GID int64
	// Members are the users listed in the fourth field (supplementary
	// members); nil when none. Primary members are in passwd, not here.
	Members []string
	// Line is the 1-based line number in the file.
	Line int
	// Compat is true for nss_compat "+" and "-" lines, which lookups skip.
	Compat bool
}

// ParseGroup parses /etc/group as glibc does; records glibc would skip
// come back as LineErrors (File empty).
func ParseGroup(data []byte) ([]GroupEntry, []LineError) {
	var out []GroupEntry
	var bad []LineError
	for _, l := range dbLines(data) {
		e, reason := parseGroupLine(l.text)
		if reason != "" {
			bad = append(bad, LineError{Line: l.n, Text: Escape(l.text, 120), Reason: reason})
			continue
		}
		e.Line = l.n
		out = append(out, e)
	}
	return out, bad
}

func parseGroupLine(s string) (GroupEntry, string) {
	var e GroupEntry
	c := cursor{s}
	e.Name = c.str()
	if strings.HasPrefix(e.Name, "+") || strings.HasPrefix(e.Name, "-") {
		e.Compat = true
		return e, ""
	}
	if e.Name == "" {
		return e, "empty group name"
	}
	c.str() // the group password, unused by sshd
	gid, err := c.num()
	if err != nil || gid < 0 {
		return e, "gid is not a number"
	}
	e.GID = gid
	// glibc's member list: comma separated, leading blanks of each member
	// skipped, empty members dropped.
	for _, m := range strings.Split(c.s, ",") {
		m = strings.TrimLeft(m, " \t\v\f\r")
		if m != "" {
			e.Members = append(e.Members, m)
		}
	}
	return e, ""
}
