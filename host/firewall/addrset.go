package firewall

import (
	"math"
	"math/bits"
	"net/netip"
	"sort"
	"strings"
)

// addrRange is an inclusive range of addresses of one family.
type addrRange struct{ lo, hi netip.Addr }

// AddrSet is a set of IP addresses of one or both families, kept as sorted,
// disjoint, non-adjacent inclusive ranges. The evaluator follows the client's
// source address symbolically with it: "from anywhere" is the whole address
// space, and every rule that looks at the source splits the set.
//
// The zero AddrSet is empty.
type AddrSet struct {
	r []addrRange
}

// allV4 and allV6 are the whole address spaces of each family.
var (
	allV4 = AddrSet{r: []addrRange{{netip.AddrFrom4([4]byte{}), netip.AddrFrom4([4]byte{255, 255, 255, 255})}}}
	allV6 = AddrSet{r: []addrRange{{netip.IPv6Unspecified(), netip.AddrFrom16([16]byte{
		255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255})}}}
)

// AllAddrs returns every address of the family (4 or 6).
func AllAddrs(family int) AddrSet {
	if family == 6 {
		return allV6
	}
	return allV4
}

// SingleAddr returns the set holding only a. An IPv4-mapped IPv6 address
// stays IPv6: it is what an "ip6 saddr ::ffff:..." rule compares, and an
// IPv4 packet never matches it.
func SingleAddr(a netip.Addr) AddrSet {
	if !a.IsValid() {
		return AddrSet{}
	}
	return AddrSet{r: []addrRange{{a, a}}}
}

// PrefixSet returns the addresses of p; empty for an invalid prefix.
func PrefixSet(p netip.Prefix) AddrSet {
	if !p.IsValid() {
		return AddrSet{}
	}
	p = p.Masked()
	lo := p.Addr()
	return AddrSet{r: []addrRange{{lo, lastAddr(p)}}}
}

// RangeSet returns the addresses from lo to hi inclusive; empty when they are
// of different families or out of order.
func RangeSet(lo, hi netip.Addr) AddrSet {
	if !lo.IsValid() || !hi.IsValid() || lo.Is4() != hi.Is4() || hi.Less(lo) {
		return AddrSet{}
	}
	return AddrSet{r: []addrRange{{lo, hi}}}
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr()
	if a.Is4() {
		b := a.As4()
		for i := p.Bits(); i < 32; i++ {
			b[i/8] |= 0x80 >> (i % 8)
		}
		return netip.AddrFrom4(b)
	}
	b := a.As16()
	for i := p.Bits(); i < 128; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom16(b)
}

// IsEmpty reports whether the set holds no address.
func (s AddrSet) IsEmpty() bool { return len(s.r) == 0 }

// Contains reports whether a is in the set.
func (s AddrSet) Contains(a netip.Addr) bool {
	i := sort.Search(len(s.r), func(i int) bool { return !s.r[i].hi.Less(a) })
	return i < len(s.r) && !a.Less(s.r[i].lo)
}

// Union returns the addresses in s or t.
func (s AddrSet) Union(t AddrSet) AddrSet {
	if s.IsEmpty() {
		return t
	}
	if t.IsEmpty() {
		return s
	}
	all := make([]addrRange, 0, len(s.r)+len(t.r))
	all = append(all, s.r...)
	all = append(all, t.r...)
	return normalize(all)
}

// normalize sorts ranges and merges overlapping or adjacent ones.
func normalize(rs []addrRange) AddrSet {
	sort.Slice(rs, func(i, j int) bool { return rs[i].lo.Less(rs[j].lo) })
	out := rs[:0:0]
	for _, r := range rs {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.lo.Is4() == r.lo.Is4() && (!last.hi.Less(r.lo) || last.hi.Next() == r.lo) {
				if last.hi.Less(r.hi) {
					last.hi = r.hi
				}
				continue
			}
		}
		out = append(out, r)
	}
	return AddrSet{r: out}
}

// Intersect returns the addresses in both s and t.
func (s AddrSet) Intersect(t AddrSet) AddrSet {
	var out []addrRange
	i, j := 0, 0
	for i < len(s.r) && j < len(t.r) {
		a, b := s.r[i], t.r[j]
		lo, hi := a.lo, a.hi
		if lo.Less(b.lo) {
			lo = b.lo
		}
		if b.hi.Less(hi) {
			hi = b.hi
		}
		if lo.Is4() == hi.Is4() && !hi.Less(lo) {
			out = append(out, addrRange{lo, hi})
		}
		if a.hi.Less(b.hi) {
			i++
		} else {
			j++
		}
	}
	return AddrSet{r: out}
}

// Minus returns the addresses in s and not in t.
func (s AddrSet) Minus(t AddrSet) AddrSet {
	if s.IsEmpty() || t.IsEmpty() {
		return s
	}
	var out []addrRange
	j := 0
	for _, a := range s.r {
		lo := a.lo
		done := false
		for j < len(t.r) && t.r[j].hi.Less(lo) {
			j++
		}
		for k := j; k < len(t.r) && !a.hi.Less(t.r[k].lo); k++ {
			b := t.r[k]
			if lo.Less(b.lo) {
				out = append(out, addrRange{lo, b.lo.Prev()})
			}
			if !b.hi.Less(a.hi) {
				done = true
				break
			}
			lo = b.hi.Next()
		}
		if !done {
			out = append(out, addrRange{lo, a.hi})
		}
	}
	return AddrSet{r: out}
}

// Equal reports whether both sets hold the same addresses.
func (s AddrSet) Equal(t AddrSet) bool {
	if len(s.r) != len(t.r) {
		return false
	}
	for i := range s.r {
		if s.r[i] != t.r[i] {
			return false
		}
	}
	return true
}

// Prefixes returns the set as the fewest CIDR prefixes that cover it exactly.
func (s AddrSet) Prefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, r := range s.r {
		out = appendRangePrefixes(out, r.lo, r.hi)
	}
	return out
}

// appendRangePrefixes splits [lo, hi] into aligned prefixes, largest first.
func appendRangePrefixes(out []netip.Prefix, lo, hi netip.Addr) []netip.Prefix {
	width := 128
	if lo.Is4() {
		width = 32
	}
	for {
		// The largest prefix starting at lo: limited by lo's alignment
		// and by how far hi is.
		tz := trailingZeros(lo, width)
		n := tz
		for n > 0 {
			p := netip.PrefixFrom(lo, width-n)
			if !hi.Less(lastAddr(p)) {
				break
			}
			n--
		}
		p := netip.PrefixFrom(lo, width-n)
		out = append(out, p)
		last := lastAddr(p)
		if last == hi || !last.Next().IsValid() {
			return out
		}
		lo = last.Next()
	}
}

func trailingZeros(a netip.Addr, width int) int {
	b := a.As16()
	hi := uint64(0)
	lo := uint64(0)
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	n := 0
	if lo == 0 {
		n = 64 + bits.TrailingZeros64(hi)
	} else {
		n = bits.TrailingZeros64(lo)
	}
	if n > width {
		n = width
	}
	return n
}

// String renders the set as comma-separated prefixes ("10.0.0.0/8, 192.0.2.7/32").
func (s AddrSet) String() string {
	ps := s.Prefixes()
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return strings.Join(parts, ", ")
}

// Size returns how many addresses the set holds (rounded, for IPv6).
func (s AddrSet) Size() float64 {
	var n float64
	for _, p := range s.Prefixes() {
		n += math.Pow(2, float64(p.Addr().BitLen()-p.Bits()))
	}
	return n
}

// MarshalText writes the set as its prefixes, so that facts marshal to
// readable JSON.
func (s AddrSet) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Family returns 4 or 6 when every address in s is of that family, 0 when
// the set is empty or mixed.
func (s AddrSet) Family() int {
	if s.IsEmpty() {
		return 0
	}
	f := 6
	if s.r[0].lo.Is4() {
		f = 4
	}
	for _, r := range s.r {
		if r.lo.Is4() != (f == 4) {
			return 0
		}
	}
	return f
}

// OnlyFamily returns the part of s in the family (4 or 6).
func (s AddrSet) OnlyFamily(family int) AddrSet {
	return s.Intersect(AllAddrs(family))
}
