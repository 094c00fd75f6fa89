package sshdconfig

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/sshdoctor/sshdoctor/internal/sshmatch"
)

// Conn describes a connection, for evaluating Match blocks: the -C of
// `sshd -T`. A zero field means unknown, and a criterion on an unknown field
// does not match, as in sshd's test mode.
type Conn struct {
	// User is the login name; empty means unknown.
	User string
	// Groups are the user's groups (primary and supplementary), for Match
	// Group. Nil means the user has no groups or does not exist.
	Groups []string
	// Host is what Match Host compares with. sshd uses the client's address
	// here unless UseDNS is yes (see ConnFor); empty means unknown.
	Host string
	// Addr is the client's address; empty means unknown.
	Addr string
	// LocalAddr and LocalPort are the server's end of the connection;
	// empty and 0 mean unknown.
	LocalAddr string
	LocalPort int
	// RDomain is the routing domain; empty means unknown.
	RDomain string
}

// matchAttrs maps Match criteria to their canonical spelling.
var matchAttrs = map[string]string{
	"user": "User", "group": "Group", "host": "Host", "address": "Address",
	"localaddress": "LocalAddress", "localport": "LocalPort", "rdomain": "RDomain",
}

// parseMatch parses the rest of a Match line like match_cfg_line in syntax
// mode: it tokenizes with strdelim (so "User=alice" works) and checks what
// sshd checks at startup.
func parseMatch(rest string) (*MatchBlock, *lineProblem) {
	blk := &MatchBlock{Text: "Match " + rest}
	bad := func(why string) (*MatchBlock, *lineProblem) {
		return nil, &lineProblem{reason: "Bad Match condition", fatal: true, hint: why}
	}
	cp, live := rest, true
	next := func() (string, bool) {
		if !live {
			return "", false
		}
		tok, r, more, unterminated := strdelim(cp)
		if unterminated {
			live = false
			return "", false
		}
		cp, live = r, more
		return tok, true
	}
	attributes := 0
	for {
		attrib, ok := next()
		if !ok || attrib == "" || attrib[0] == '#' {
			break
		}
		attributes++
		if strings.EqualFold(attrib, "all") {
			arg, ok := next()
			if attributes > 1 || (ok && arg != "" && arg[0] != '#') {
				return bad("'all' cannot be combined with other Match attributes")
			}
			blk.All = true
			return blk, nil
		}
		arg, ok := next()
		if !ok || arg == "" || arg[0] == '#' {
			return bad("Missing Match criteria for " + attrib)
		}
		name, known := matchAttrs[strings.ToLower(attrib)]
		if !known {
			return bad("Unsupported Match attribute " + attrib)
		}
		switch name {
		case "Address", "LocalAddress":
			if AddrMatchList("", arg) != 0 {
				return nil, &lineProblem{reason: fmt.Sprintf("Invalid Match %s argument '%s'", strings.ToLower(name), arg),
					style: styleAtLine, fatal: true}
			}
		case "LocalPort":
			if a2port(arg) == -1 {
				return bad(fmt.Sprintf("Invalid LocalPort '%s' on Match line", arg))
			}
		}
		blk.Criteria = append(blk.Criteria, Criterion{Attr: name, Patterns: arg})
	}
	if attributes == 0 {
		return bad("One or more attributes required for Match")
	}
	return blk, nil
}

// matches evaluates the block for a connection; conn nil is sshd's startup
// pass, where only Match All is active.
func (b *MatchBlock) matches(conn *Conn) bool {
	if b.All {
		return true
	}
	if conn == nil {
		return false
	}
	for _, c := range b.Criteria {
		if !c.matches(conn) {
			return false
		}
	}
	return true
}

// Matches reports whether the block applies to a connection.
func (b *MatchBlock) Matches(conn Conn) bool { return b.matches(&conn) }

func (c Criterion) matches(conn *Conn) bool {
	switch c.Attr {
	case "User":
		return conn.User != "" && MatchPatternList(conn.User, c.Patterns, false) == 1
	case "Group":
		return conn.User != "" && groupListMatch(conn.Groups, c.Patterns)
	case "Host":
		return conn.Host != "" && MatchPatternList(strings.ToLower(conn.Host), c.Patterns, true) == 1
	case "Address":
		return conn.Addr != "" && AddrMatchList(conn.Addr, c.Patterns) == 1
	case "LocalAddress":
		return conn.LocalAddr != "" && AddrMatchList(conn.LocalAddr, c.Patterns) == 1
	case "LocalPort":
		return conn.LocalPort != 0 && a2port(c.Patterns) == conn.LocalPort
	case "RDomain":
		return conn.RDomain != "" && MatchPatternList(conn.RDomain, c.Patterns, false) == 1
	}
	return false
}

// groupListMatch is ga_match_pattern_list: a negated match on any group
// wins over a positive match on another.
func groupListMatch(groups []string, patterns string) bool {
	found := false
	for _, g := range groups {
		switch MatchPatternList(g, patterns, false) {
		case -1:
			return false
		case 1:
			found = true
		}
	}
	return found
}

// MatchPattern matches s against a pattern with sshd's wildcards: '*' for
// any run of characters, '?' for one. It is match.c's match_pattern, done
// with backtracking over the last '*' only, so that hostile patterns cost
// linear time instead of exponential.
func MatchPattern(s, pattern string) bool { return sshmatch.Pattern(s, pattern) }

// MatchPatternList matches s against a comma-separated list of patterns,
// each possibly negated with '!'. It returns 1 for a positive match, -1 when
// a negated pattern matches (which wins), and 0 for no match: so "!root"
// alone matches nobody, and excluding root takes "*,!root". With lower, the
// patterns are compared in lower case (for host names).
func MatchPatternList(s, patterns string, lower bool) int {
	return sshmatch.PatternList(s, patterns, lower)
}

// AddrMatchList matches an address against a list of CIDR blocks and
// wildcard patterns, each possibly negated, like addrmatch.c's
// addr_match_list. It returns 1 for a match, 0 for none, -1 for a negated
// match and -2 for a list that does not parse (an empty entry, or a network
// with host bits set such as 10.1.2.3/8). An empty addr only validates the
// list.
func AddrMatchList(addr, list string) int { return sshmatch.AddrList(addr, list) }

// a2port is misc.c's a2port: a number from 0 to 65535 or a service name
// from the services database; -1 when neither.
func a2port(s string) int {
	if n, ok := strtonum(s, 0, 65535); ok == "" {
		return int(n)
	}
	if s == "" {
		return -1
	}
	if p, err := net.LookupPort("tcp", s); err == nil {
		return p
	}
	return -1
}

// strtonum is OpenBSD's strtonum: it returns the number, or the error word
// sshd prints ("invalid", "too small", "too large").
func strtonum(s string, lo, hi int64) (int64, string) {
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	n, err := strconv.ParseInt(strings.TrimPrefix(t, "+"), 10, 64)
	if t == "" || strings.HasPrefix(t, "+-") || strings.HasPrefix(t, "++") {
		return 0, "invalid"
	}
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			if strings.HasPrefix(t, "-") {
				return 0, "too small"
			}
			return 0, "too large"
		}
		return 0, "invalid"
	}
	if n < lo {
		return 0, "too small"
	}
	if n > hi {
		return 0, "too large"
	}
	return n, ""
}

// MatchUser is match.c's match_user for AllowUsers and DenyUsers: pattern
// is "user" or "user@host", the user part a single wildcard pattern and the
// host part a pattern list matched against both the host name and the
// address (a CIDR block only against the address). It returns 1 for a
// match, 0 for none and -1 for a pattern whose host part does not parse.
// With user, host and addr all empty it only validates the pattern.
func MatchUser(user, host, addr, pattern string) int {
	u, h, hasHost := strings.Cut(pattern, "@")
	if user == "" && host == "" && addr == "" {
		// sshd's validation mode: only the host part can be invalid.
		if hasHost && matchHostAndIP("", "", h) < 0 {
			return -1
		}
		return 0
	}
	if !hasHost {
		if MatchPattern(user, pattern) {
			return 1
		}
		return 0
	}
	if !MatchPattern(user, u) {
		return 0
	}
	return matchHostAndIP(host, addr, h)
}

// matchHostAndIP is match_host_and_ip.
func matchHostAndIP(host, addr, patterns string) int {
	mip := AddrMatchList(addr, patterns)
	switch {
	case mip == -2:
		return -1
	case host == "" || addr == "" || mip == -1:
		return 0
	}
	mhost := MatchPatternList(strings.ToLower(host), patterns, true)
	if mhost == -1 || (mhost == 0 && mip == 0) {
		return 0
	}
	return 1
}
