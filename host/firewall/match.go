package firewall

import (
	"net/netip"
	"strings"
)

func containsName(names []string, n string) bool {
	for _, x := range names {
		if x == n {
			return true
		}
	}
	return false
}

// match splits src by m. For a field other than the source address, all of
// src goes to yes or to no, or unknown is true (with why).
func (e *evaluator) match(m *Match, src AddrSet, untracked bool) (yes, no AddrSet, unknown bool, why string) {
	if m.Family != 0 && m.Family != e.pkt.Family {
		return AddrSet{}, src, false, ""
	}
	if m.Field == FieldSaddr {
		if m.Val.Kind != ValAddrs {
			return AddrSet{}, AddrSet{}, true, "source compared with something that is not an address"
		}
		in := src.Intersect(m.Val.Addrs)
		out := src.Minus(m.Val.Addrs)
		if m.Negate {
			in, out = out, in
		}
		return in, out, false, ""
	}
	res, known, why := e.test(m, untracked)
	if !known {
		return AddrSet{}, AddrSet{}, true, why
	}
	if res {
		return src, AddrSet{}, false, ""
	}
	return AddrSet{}, src, false, ""
}

// test decides a match on a concrete field. The bool known is false when
// the packet's field is not known (why says which).
func (e *evaluator) test(m *Match, untracked bool) (res, known bool, why string) {
	neg := func(b bool) bool { return b != m.Negate }
	p := e.pkt
	switch m.Field {
	case FieldDaddr:
		if m.Val.Kind != ValAddrs {
			return false, false, "destination compared with something that is not an address"
		}
		if !p.Dst.IsValid() {
			// Unknown, but a client elsewhere never connects to a loopback address.
			loop := PrefixSet(netip.MustParsePrefix("127.0.0.0/8")).Union(SingleAddr(netip.IPv6Loopback()))
			if m.Val.Addrs.Minus(loop).IsEmpty() {
				return neg(false), true, ""
			}
			return false, false, "the result depends on the local address the client connects to"
		}
		return neg(m.Val.Addrs.Contains(p.Dst)), true, ""
	case FieldDport:
		return neg(numsContain(m.Val.Nums, uint32(p.DPort))), true, ""
	case FieldL4Proto:
		return neg(numsContain(m.Val.Nums, 6)), true, ""
	case FieldNFProto:
		v := uint32(2)
		if p.Family == 6 {
			v = 10
		}
		return neg(numsContain(m.Val.Nums, v)), true, ""
	case FieldIifname:
		if p.Iif == "" {
			if namesMatch(m.Val.Names, "lo") && !anyNonLoopback(m.Val.Names) {
				// Only "lo": a connection from elsewhere never arrives there.
				return neg(false), true, ""
			}
			return false, false, "the result depends on the interface the connection arrives on"
		}
		return neg(namesMatch(m.Val.Names, p.Iif)), true, ""
	case FieldCtState:
		var st string
		switch {
		case untracked:
			st = "untracked"
		case e.ct == ctNew:
			st = "new"
		case e.ct == ctNone:
			st = "invalid"
		default:
			return false, false, "conntrack runs at this chain's priority: the order is not known"
		}
		return neg(containsName(m.Val.Names, st)), true, ""
	case FieldCtStatus, FieldCtDir:
		switch {
		case untracked || e.ct == ctNone:
			return false, true, "" // no conntrack entry: the match fails either way
		case e.ct == ctUnknown:
			return false, false, "conntrack runs at this chain's priority: the order is not known"
		}
		if m.Field == FieldCtDir {
			return neg(containsName(m.Val.Names, "original")), true, ""
		}
		return neg(false), true, "" // a new connection without NAT has no status bits
	case FieldFibDaddrType:
		return neg(containsName(m.Val.Names, "local")), true, ""
	case FieldPktType:
		return neg(containsName(m.Val.Names, "host") || containsName(m.Val.Names, "unicast")), true, ""
	case FieldTCPFlags:
		const syn = 0x02
		if m.Mask == 0 {
			return neg(numsContain(m.Val.Nums, syn) || anyBit(m.Val.Nums, syn)), true, ""
		}
		want := uint32(0)
		if len(m.Val.Nums) > 0 {
			want = m.Val.Nums[0].Lo
		}
		return neg(syn&m.Mask == want), true, ""
	}
	return false, false, "a match on something the evaluator does not follow"
}

func anyBit(ns []NumRange, bit uint32) bool {
	for _, n := range ns {
		if n.Lo == n.Hi && n.Lo&bit != 0 {
			return true
		}
	}
	return false
}

func numsContain(ns []NumRange, v uint32) bool {
	for _, n := range ns {
		if v >= n.Lo && v <= n.Hi {
			return true
		}
	}
	return false
}

// namesMatch reports whether name matches one of the patterns; a trailing
// "*" (nft) or "+" (iptables) matches any suffix.
func namesMatch(patterns []string, name string) bool {
	for _, p := range patterns {
		if strings.HasSuffix(p, "*") || strings.HasSuffix(p, "+") {
			if strings.HasPrefix(name, p[:len(p)-1]) {
				return true
			}
			continue
		}
		if p == name {
			return true
		}
	}
	return false
}

// anyNonLoopback reports whether some pattern could match an interface
// other than lo.
func anyNonLoopback(patterns []string) bool {
	for _, p := range patterns {
		if p != "lo" {
			return true
		}
	}
	return false
}
