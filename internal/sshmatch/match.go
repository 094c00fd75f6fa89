// Package sshmatch is OpenSSH's pattern matching (match.c, addrmatch.c),
// shared by everything that reads OpenSSH files: sshd_config (Match,
// Allow/Deny), ssh_config (Host, Match), known_hosts, authorized_keys
// (from=) and algorithm lists.
package sshmatch

import (
	"net/netip"
	"strconv"
	"strings"
)

// Pattern is match_pattern(): '*' matches any run of bytes, '?' any
// one byte, everything else itself (case-sensitive, no escapes, and '!' is
// an ordinary character here). It backtracks only to the last '*', which
// gives the same answers as sshd's recursion without its exponential cost.
func Pattern(s, pattern string) bool {
	si, pi := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(pattern) && pattern[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(pattern) && (pattern[pi] == '?' || pattern[pi] == s[si]):
			si++
			pi++
		case star >= 0:
			mark++
			si, pi = mark, star+1
		default:
			return false
		}
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}

// maxSubpattern is the size of match_pattern_list's buffer: a longer
// subpattern makes the whole list fail to match.
const maxSubpattern = 1024

// PatternList is match_pattern_list(): list is comma-separated
// subpatterns, each possibly negated with a leading '!'. It returns 1 for a
// positive match, -1 as soon as a negated subpattern matches, and 0 for no
// match. With lower set, the subpatterns are lowercased (s must already be).
func PatternList(s, list string, lower bool) int {
	got := 0
	for i := 0; i < len(list); {
		neg := false
		if list[i] == '!' {
			neg = true
			i++
		}
		j := i
		for j < len(list) && list[j] != ',' {
			j++
		}
		sub := list[i:j]
		if len(sub) >= maxSubpattern-1 {
			return 0
		}
		if lower {
			sub = ASCIILower(sub)
		}
		i = j
		if i < len(list) {
			i++ // the comma
		}
		if Pattern(s, sub) {
			if neg {
				return -1
			}
			got = 1
		}
	}
	return got
}

// ASCIILower lower-cases ASCII letters only, as C tolower in the C locale.
func ASCIILower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// AddrList is addr_match_list(): list entries are addresses, CIDR
// networks or wildcard patterns over the address text, each possibly
// negated with '!'. It returns 1 for a match, 0 for none, -1 for a negated
// match and -2 for an invalid list (an empty entry, or a network with host
// bits set or a bad prefix length). An empty addr, or one that does not
// parse, only validates the list (0 or -2).
//
// Addresses parse with Go's strict rules; glibc would also take legacy
// IPv4 forms such as "10.1", which nobody writes in sshd_config.
func AddrList(addr, list string) int {
	var try netip.Addr
	haveAddr := false
	if addr != "" {
		a, err := netip.ParseAddr(addr)
		if err != nil {
			return 0
		}
		try, haveAddr = a.Unmap().WithZone(""), true
	}
	ret := 0
	for _, cp := range strings.Split(list, ",") {
		neg := strings.HasPrefix(cp, "!")
		if neg {
			cp = cp[1:]
		}
		if cp == "" {
			return -2
		}
		pfx, r := ParseCIDR(cp)
		switch {
		case r == -2:
			return -2
		case r == 0:
			if haveAddr && pfx.Contains(try) {
				if neg {
					return -1
				}
				ret = 1
			}
		default:
			if haveAddr && Pattern(addr, cp) {
				if neg {
					return -1
				}
				ret = 1
			}
		}
	}
	return ret
}

// ParseCIDR is addr_pton_cidr(): 0 and the prefix for "addr" or
// "addr/len", -1 when s is not of that form (it is then a wildcard
// pattern), -2 when it is but the length is out of range or host bits are
// set.
func ParseCIDR(s string) (netip.Prefix, int) {
	if len(s) >= 64 {
		return netip.Prefix{}, -1
	}
	host, bits, hasLen := strings.Cut(s, "/")
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}, -1
	}
	a = a.Unmap()
	n := a.BitLen()
	if hasLen {
		if bits == "" || strings.Trim(bits, "0123456789") != "" {
			return netip.Prefix{}, -1
		}
		v, err := strconv.Atoi(bits)
		if err != nil {
			return netip.Prefix{}, -1 // strtonum's range error
		}
		if v > a.BitLen() {
			return netip.Prefix{}, -2
		}
		n = v
	}
	p := netip.PrefixFrom(a.WithZone(""), n)
	if p.Masked().Addr() != p.Addr() {
		return netip.Prefix{}, -2
	}
	return p, 0
}
