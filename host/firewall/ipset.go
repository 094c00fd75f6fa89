package firewall

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// ParseIPSetSave reads the output of `ipset save` (or `ipset list -o
// save`) into sets by name, for ParseIPTablesSave. Sets of one address
// dimension (hash:ip, hash:net, bitmap:ip) are understood, nomatch
// entries included; others (hash:ip,port, list:set...) are kept with
// Supported false.
func ParseIPSetSave(data []byte) (map[string]*Set, error) {
	sets := map[string]*Set{}
	type entry struct {
		p       netip.Prefix
		lo, hi  netip.Addr
		nomatch bool
	}
	entries := map[string][]entry{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	n := 0
	for sc.Scan() {
		n++
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "create", "-N", "-exist":
			if len(f) < 3 {
				return nil, fmt.Errorf("firewall: ipset save line %d: short create line", n)
			}
			s := &Set{Name: f[1], Type: f[2], Supported: true}
			s.Managed = setManager("", s.Name)
			switch f[2] {
			case "hash:ip", "hash:net", "bitmap:ip":
			default:
				s.Supported, s.Why = false, "an ipset of type "+f[2]
			}
			sets[s.Name] = s
		case "add", "-A":
			if len(f) < 3 {
				return nil, fmt.Errorf("firewall: ipset save line %d: short add line", n)
			}
			s := sets[f[1]]
			if s == nil {
				return nil, fmt.Errorf("firewall: ipset save line %d: element of unknown set %q", n, f[1])
			}
			if !s.Supported {
				continue
			}
			e := entry{}
			for _, opt := range f[3:] {
				if opt == "nomatch" {
					e.nomatch = true
				}
			}
			v := f[2]
			switch {
			case strings.Contains(v, "/"):
				p, err := netip.ParsePrefix(v)
				if err != nil {
					s.Supported, s.Why = false, "an element that is not understood: "+v
					continue
				}
				e.p = p.Masked()
			case strings.Contains(v, "-"):
				lo, hi, _ := strings.Cut(v, "-")
				a, err1 := netip.ParseAddr(lo)
				b, err2 := netip.ParseAddr(hi)
				if err1 != nil || err2 != nil {
					s.Supported, s.Why = false, "an element that is not understood: "+v
					continue
				}
				e.lo, e.hi = a, b
			default:
				a, err := netip.ParseAddr(v)
				if err != nil {
					s.Supported, s.Why = false, "an element that is not understood: "+v
					continue
				}
				e.p = netip.PrefixFrom(a, a.BitLen())
			}
			entries[s.Name] = append(entries[s.Name], e)
		case "-F", "flush", "-X", "destroy", "swap", "rename":
		default:
			return nil, fmt.Errorf("firewall: ipset save line %d: unexpected %q", n, truncate(f[0], 40))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("firewall: ipset save: %w", err)
	}
	for name, es := range entries {
		s := sets[name]
		if !s.Supported {
			continue
		}
		// hash:net looks up the most specific prefix first, so a nomatch
		// entry only excludes addresses no longer entry claims: apply the
		// entries from the shortest prefix to the longest.
		sort.SliceStable(es, func(i, j int) bool { return bitsOf(es[i].p) < bitsOf(es[j].p) })
		var all AddrSet
		for _, e := range es {
			var part AddrSet
			if e.p.IsValid() {
				part = PrefixSet(e.p)
			} else {
				part = RangeSet(e.lo, e.hi)
			}
			if e.nomatch {
				all = all.Minus(part)
			} else {
				all = all.Union(part)
			}
		}
		s.Elems = []SetElem{{Val: Value{Kind: ValAddrs, Addrs: all}}}
	}
	return sets, nil
}

func bitsOf(p netip.Prefix) int {
	if !p.IsValid() {
		return -1
	}
	return p.Bits()
}
