// Package dest turns what the user typed into what ssh would connect to:
// it parses every destination form sshdoctor accepts and resolves it through
// the ssh client configuration (with `ssh -G` where ssh is installed).
package dest

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Dest is a parsed destination, before the ssh client configuration is applied.
type Dest struct {
	// Input is the destination exactly as typed.
	Input string
	// User is the login name given in the destination; empty means none.
	User string
	// Host is the host name, alias or address, without brackets.
	Host string
	// Port is the port given in the destination; 0 means none.
	Port int
}

// Error is a destination that cannot be parsed. Its message says what is
// wrong; Hint says what to do.
type Error struct {
	Input string
	Msg   string
	Hint  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("bad destination %q: %s", e.Input, e.Msg)
}

func bad(in, hint, format string, args ...any) error {
	return &Error{Input: in, Msg: fmt.Sprintf(format, args...), Hint: hint}
}

const formsHint = "write it as host, user@host, host:port, [v6addr]:port or ssh://user@host:port"

// Parse parses a destination in any form sshdoctor accepts: host, user@host,
// host:port, user@host:port, [v6addr], [v6addr]:port, a bare IPv6 address,
// ssh://[user@]host[:port], and Host aliases.
func Parse(in string) (Dest, error) {
	d := Dest{Input: in}
	s := strings.TrimSpace(in)
	if s == "" {
		return d, bad(in, formsHint, "it is empty")
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return d, bad(in, formsHint, "it contains white space")
	}
	if rest, ok := cutPrefixFold(s, "ssh://"); ok {
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			if strings.Trim(rest[i:], "/") != "" {
				return d, bad(in, "an ssh:// URI takes no path, query or fragment", "it has a path after the host")
			}
			rest = rest[:i]
		}
		s = rest
		if s == "" {
			return d, bad(in, formsHint, "the ssh:// URI has no host")
		}
	}
	// ssh splits user from host at the last '@'.
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		d.User, s = s[:i], s[i+1:]
		if d.User == "" {
			return d, bad(in, "drop the '@' or put a user name before it", "the user name before '@' is empty")
		}
	}
	host, port, err := splitHostPort(in, s)
	if err != nil {
		return d, err
	}
	d.Host, d.Port = host, port
	if err := validHost(in, d.Host); err != nil {
		return d, err
	}
	if err := validUser(in, d.User); err != nil {
		return d, err
	}
	return d, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

func splitHostPort(in, s string) (string, int, error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, bad(in, "close the IPv6 address with ']', as in [2001:db8::1]:22", "the '[' of the IPv6 address is never closed")
		}
		addr := s[1:end]
		if addr == "" {
			return "", 0, bad(in, formsHint, "the brackets hold no address")
		}
		if _, err := netip.ParseAddr(addr); err != nil || !strings.Contains(addr, ":") {
			return "", 0, bad(in, "put only an IPv6 address inside brackets, as in [2001:db8::1]:22", "%q is not an IPv6 address", addr)
		}
		rest := s[end+1:]
		if rest == "" {
			return addr, 0, nil
		}
		if !strings.HasPrefix(rest, ":") {
			return "", 0, bad(in, "write the port after a colon, as in [2001:db8::1]:22", "unexpected %q after ']'", rest)
		}
		p, err := parsePort(in, rest[1:])
		return addr, p, err
	}
	if strings.Contains(s, "]") {
		return "", 0, bad(in, "open the IPv6 address with '[', as in [2001:db8::1]:22", "a ']' without '['")
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, 0, nil
	case 1:
		h, p, _ := strings.Cut(s, ":")
		if h == "" {
			return "", 0, bad(in, formsHint, "there is no host before the ':'")
		}
		port, err := parsePort(in, p)
		return h, port, err
	default:
		// Several colons and no brackets: a bare IPv6 address, as ssh reads it.
		if _, err := netip.ParseAddr(s); err != nil {
			return "", 0, bad(in, "write an IPv6 address with a port as [2001:db8::1]:22", "%q is not a valid IPv6 address", s)
		}
		return s, 0, nil
	}
}

func parsePort(in, p string) (int, error) {
	if p == "" {
		return 0, bad(in, "put the port number after the colon, or drop the colon", "the port after ':' is empty")
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		if _, err := strconv.ParseUint(p, 10, 64); err == nil {
			return 0, bad(in, "give a port between 1 and 65535", "port %s is out of range", p)
		}
		return 0, bad(in, "give a port between 1 and 65535", "port %q is not a number", p)
	}
	if n < 1 || n > 65535 {
		return 0, bad(in, "give a port between 1 and 65535", "port %d is out of range", n)
	}
	return n, nil
}

// validHost applies the checks ssh itself makes before it looks a name up.
func validHost(in, h string) error {
	if h == "" {
		return bad(in, formsHint, "the host is empty")
	}
	if h[0] == '-' {
		return bad(in, "a host name cannot start with '-'", "%q looks like a flag, not a host", h)
	}
	for _, r := range h {
		if r < 0x20 || r == 0x7f || strings.ContainsRune("'`\"$\\;&<>|(){},", r) {
			return bad(in, "a host name holds letters, digits, '.', '-', '_' and ':' only", "the host contains the character %q", r)
		}
	}
	return nil
}

func validUser(in, u string) error {
	for _, r := range u {
		if r < 0x20 || r == 0x7f || strings.ContainsRune("'`\"$\\;&<>|(){}", r) {
			return bad(in, "check the user name before '@'", "the user name contains the character %q", r)
		}
	}
	if strings.HasPrefix(u, "-") {
		return bad(in, "check the user name before '@'", "the user name %q starts with '-'", u)
	}
	return nil
}
