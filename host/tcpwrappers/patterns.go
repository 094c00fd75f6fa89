package tcpwrappers

import (
	"net/netip"
	"strconv"
	"strings"
)

// notInAddr is libwrap's NOT_INADDR: the word has characters other than
// digits, dots and slashes, so it may be a host name.
func notInAddr(w string) bool {
	return strings.Trim(w, "0123456789./") != ""
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// stringMatch is libwrap's string_match: ".suffix", "prefix.", ALL, KNOWN,
// Debian's '*' and '?' wildcards, "[v6addr]", or a case-insensitive exact
// match.
func stringMatch(tok, s string) bool {
	if rest, ok := strings.CutPrefix(s, "::ffff:"); ok && dotQuad(rest) {
		s = rest
	}
	switch {
	case tok == "":
		return false
	case tok[0] == '.':
		n := len(s) - len(tok)
		return n > 0 && strings.EqualFold(tok, s[n:])
	case strings.EqualFold(tok, "ALL"):
		return true
	case strings.EqualFold(tok, "KNOWN"):
		return !strings.EqualFold(s, "unknown")
	case tok[len(tok)-1] == '.':
		return len(s) >= len(tok) && strings.EqualFold(tok, s[:len(tok)])
	case strings.ContainsAny(tok, "*?"):
		return wildMatch(strings.ToLower(tok), strings.ToLower(s))
	case tok[0] == '[' && tok[len(tok)-1] == ']':
		p, err := netip.ParseAddr(tok[1 : len(tok)-1])
		a, err2 := netip.ParseAddr(s)
		return err == nil && err2 == nil && p.Is6() && a.Is6() && p.WithZone("") == a.WithZone("")
	}
	return strings.EqualFold(tok, s)
}

// wildMatch matches s against a pattern of '*' (any run) and '?' (any one
// character).
func wildMatch(pat, s string) bool {
	// Iterative matching with backtracking to the last star keeps this
	// linear in practice and free of recursion on hostile input.
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pat) && (pat[p] == '?' || pat[p] == s[i]):
			p++
			i++
		case p < len(pat) && pat[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}

// dotQuad reports whether s is four dot-separated decimal numbers of at
// most 255, the only IPv4 form libwrap's dot_quad_addr accepts.
func dotQuad(s string) bool {
	_, ok := parseDotQuad(s)
	return ok
}

func parseDotQuad(s string) (uint32, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return 0, false
	}
	var v uint32
	for _, p := range parts {
		if !isDigits(p) || len(p) > 3 {
			return 0, false
		}
		n, _ := strconv.Atoi(p)
		if n > 255 {
			return 0, false
		}
		v = v<<8 | uint32(n)
	}
	return v, true
}

// maskedMatch is libwrap's masked_match: "n.n.n.n/m.m.m.m" or
// "n.n.n.n/bits" for IPv4, where the address AND the mask must equal the
// net exactly (so host bits in the net never match), and "[net]/bits" for
// IPv6.
func maskedMatch(netTok, maskTok string, addr netip.Addr) bool {
	if net, ok := parseDotQuad(netTok); ok {
		mask, ok := parseDotQuad(maskTok)
		if !ok {
			bits, err := strconv.Atoi(maskTok)
			if !isDigits(maskTok) || err != nil || bits > 32 {
				return false
			}
			mask = ^uint32(0) << (32 - bits)
			if bits == 0 {
				mask = 0
			}
		}
		if !addr.Is4() {
			return false
		}
		a := addr.As4()
		av := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
		return av&mask == net
	}
	if len(netTok) < 2 || netTok[0] != '[' || netTok[len(netTok)-1] != ']' {
		return false
	}
	net, err := netip.ParseAddr(netTok[1 : len(netTok)-1])
	if err != nil || !net.Is6() || !addr.Is6() || !isDigits(maskTok) {
		return false
	}
	bits, err := strconv.Atoi(maskTok)
	if err != nil || bits > 128 {
		return false
	}
	p1, _ := net.WithZone("").Prefix(bits)
	return p1.Contains(addr.WithZone(""))
}

// HostBitsSet reports a "net/mask" word whose net has bits outside the
// mask: libwrap compares the masked address with the net as written, so
// such a pattern matches no address at all ("10.0.0.1/24").
func HostBitsSet(w string) bool {
	netTok, maskTok, ok := splitAt(w, '/')
	if !ok {
		return false
	}
	net, ok := parseDotQuad(netTok)
	if !ok {
		return false
	}
	mask, ok := parseDotQuad(maskTok)
	if !ok {
		bits, err := strconv.Atoi(maskTok)
		if !isDigits(maskTok) || err != nil || bits > 32 {
			return false
		}
		mask = 0
		if bits > 0 {
			mask = ^uint32(0) << (32 - bits)
		}
	}
	return net&^mask != 0
}
