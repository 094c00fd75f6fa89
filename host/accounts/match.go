package accounts

import (
	"strings"

	"github.com/sshdoctor/sshdoctor/internal/sshmatch"
)

// This file exposes OpenSSH's pattern matching (internal/sshmatch), which
// AllowUsers, DenyUsers, AllowGroups, DenyGroups, from= in authorized_keys
// and PubkeyAcceptedAlgorithms all use, plus sshd's user@host rules on top.

// MatchPattern is match_pattern(): '*' matches any run of bytes, '?' any
// one byte, everything else itself (case-sensitive, no escapes, and '!' is
// an ordinary character here). It backtracks only to the last '*', which
// gives the same answers as sshd's recursion without its exponential cost.
func MatchPattern(s, pattern string) bool { return sshmatch.Pattern(s, pattern) }

// MatchPatternList is match_pattern_list(): list is comma-separated
// subpatterns, each possibly negated with a leading '!'. It returns 1 for a
// positive match, -1 as soon as a negated subpattern matches, and 0 for no
// match. With lower set, the subpatterns are lowercased (s must already be).
func MatchPatternList(s, list string, lower bool) int { return sshmatch.PatternList(s, list, lower) }

func asciiLower(s string) string { return sshmatch.ASCIILower(s) }

// AddrMatchList is addr_match_list(): list entries are addresses, CIDR
// networks or wildcard patterns over the address text, each possibly
// negated with '!'. It returns 1 for a match, 0 for none, -1 for a negated
// match and -2 for an invalid list (an empty entry, or a network with host
// bits set or a bad prefix length). An empty addr, or one that does not
// parse, only validates the list (0 or -2).
//
// Addresses parse with Go's strict rules; glibc would also take legacy
// IPv4 forms such as "10.1", which nobody writes in sshd_config.
func AddrMatchList(addr, list string) int { return sshmatch.AddrList(addr, list) }

// MatchHostAndIP is match_host_and_ip(): patterns (a comma list) against
// the client's canonical host name and address. 1 means a match; 0 no
// match, or a negated match on either the address or the name; -1 an
// invalid address list. An empty host or ip is sshd's NULL: no match (0),
// or -1 for an invalid list.
func MatchHostAndIP(host, ip, patterns string) int {
	mip := AddrMatchList(ip, patterns)
	if mip == -2 {
		return -1
	}
	if host == "" || ip == "" || mip == -1 {
		return 0
	}
	mhost := MatchPatternList(asciiLower(host), patterns, true)
	if mhost == -1 {
		return 0
	}
	if mhost == 0 && mip == 0 {
		return 0
	}
	return 1
}

// MatchUser is match_user() as AllowUsers and DenyUsers use it: pattern
// is USER or USER@HOST, split at the first '@'. USER is a single
// match_pattern (no lists, no negation); HOST is a match_host_and_ip list
// (CIDR, wildcards, negation). It returns 1, 0, or -1 for an invalid HOST
// list. host and ip empty mean the client is unknown: a USER@HOST pattern
// whose USER matches then returns 0; use UserPatternNeedsClient to tell
// that case apart.
func MatchUser(user, host, ip, pattern string) int {
	u, h, ok := strings.Cut(pattern, "@")
	if !ok {
		if MatchPattern(user, pattern) {
			return 1
		}
		return 0
	}
	if !MatchPattern(user, u) {
		return 0
	}
	return MatchHostAndIP(host, ip, h)
}

// UserPatternNeedsClient reports whether pattern has a HOST part and its
// USER part matches user: then whether it matches depends on the client.
func UserPatternNeedsClient(user, pattern string) bool {
	u, _, ok := strings.Cut(pattern, "@")
	return ok && MatchPattern(user, u)
}

// ValidUserPattern is match_user's test mode, which sshd runs on every
// AllowUsers and DenyUsers pattern when it reads its configuration: false
// when the HOST part is not a valid address list.
func ValidUserPattern(pattern string) bool {
	_, h, ok := strings.Cut(pattern, "@")
	return !ok || AddrMatchList("", h) != -2
}
