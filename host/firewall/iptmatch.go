package firewall

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// option reads a module option (--dport 22) and returns how many values it took.
func (p *iptRule) option(opt string, rest []string, neg bool) (int, error) {
	val := ""
	if len(rest) > 0 {
		val = rest[0]
	}
	text := opt + " " + val
	if neg {
		text = "! " + text
	}
	mod := p.module
	switch {
	case opt == "--comment" && mod == "comment":
		p.r.Comment = val
		return 1, nil
	case (opt == "--dport" || opt == "--destination-port") && (mod == "tcp" || mod == "udp" || mod == "sctp" || mod == "dccp" || mod == ""):
		nums, ok := parsePorts(val, ":")
		if !ok {
			p.unknown(text)
			return 1, nil
		}
		if p.proto != "" && p.proto != "tcp" && p.proto != "6" {
			p.add(&Never{Why: text})
			return 1, nil
		}
		p.add(&Match{Field: FieldDport, Negate: neg, Val: Value{Kind: ValNums, Nums: nums}})
		return 1, nil
	case (opt == "--dports" || opt == "--destination-ports") && mod == "multiport":
		nums, ok := parsePorts(val, ":")
		if !ok {
			p.unknown(text)
			return 1, nil
		}
		p.add(&Match{Field: FieldDport, Negate: neg, Val: Value{Kind: ValNums, Nums: nums}})
		return 1, nil
	case opt == "--ports" && mod == "multiport":
		// Source or destination port: the source port is not known, so
		// only a destination port in the list decides.
		nums, ok := parsePorts(val, ":")
		if !ok || neg {
			p.unknown(text)
			return 1, nil
		}
		if numsContain(nums, 0) {
			p.unknown(text)
			return 1, nil
		}
		p.r.Exprs = append(p.r.Exprs, &portsEither{nums: nums, text: text})
		return 1, nil
	case opt == "--sport" || opt == "--source-port" || opt == "--sports" || opt == "--source-ports":
		p.unknown(text + " (the client's source port is not known)")
		return 1, nil
	case opt == "--syn" && mod == "tcp":
		p.add(&Match{Field: FieldTCPFlags, Negate: neg, Mask: 0x17, Val: Value{Kind: ValNums, Nums: []NumRange{{0x02, 0x02}}}})
		return 0, nil
	case opt == "--tcp-flags" && mod == "tcp":
		if len(rest) < 2 {
			return 0, fmt.Errorf("--tcp-flags needs a mask and a value")
		}
		mask, ok1 := iptFlags(rest[0])
		cmp, ok2 := iptFlags(rest[1])
		if !ok1 || !ok2 {
			p.unknown(text + " " + rest[1])
			return 2, nil
		}
		p.add(tcpFlagsMatch(mask, cmp, neg, "--tcp-flags "+rest[0]+" "+rest[1]))
		return 2, nil
	case (opt == "--ctstate" && mod == "conntrack") || (opt == "--state" && mod == "state"):
		var names []string
		for _, s := range strings.Split(val, ",") {
			names = append(names, strings.ToLower(s))
		}
		p.add(&Match{Field: FieldCtState, Negate: neg, Val: Value{Kind: ValNames, Names: names}})
		return 1, nil
	case opt == "--ctdir" && mod == "conntrack":
		p.add(&Match{Field: FieldCtDir, Negate: neg, Val: Value{Kind: ValNames, Names: []string{strings.ToLower(val)}}})
		return 1, nil
	case (opt == "--src-range" || opt == "--dst-range") && mod == "iprange":
		lo, hi, ok := strings.Cut(val, "-")
		a, err1 := netip.ParseAddr(lo)
		b, err2 := netip.ParseAddr(hi)
		if !ok || err1 != nil || err2 != nil {
			p.unknown(text)
			return 1, nil
		}
		f := FieldSaddr
		if opt == "--dst-range" {
			f = FieldDaddr
		}
		p.add(&Match{Field: f, Negate: neg, Val: Value{Kind: ValAddrs, Addrs: RangeSet(a, b)}})
		return 1, nil
	case opt == "--dst-type" && mod == "addrtype":
		var names []string
		for _, s := range strings.Split(val, ",") {
			names = append(names, strings.ToLower(s))
		}
		p.add(&Match{Field: FieldFibDaddrType, Negate: neg, Val: Value{Kind: ValNames, Names: names}})
		return 1, nil
	case opt == "--pkt-type" && mod == "pkttype":
		p.add(&Match{Field: FieldPktType, Negate: neg, Val: Value{Kind: ValNames, Names: []string{strings.ToLower(val)}}})
		return 1, nil
	case opt == "--match-set" && mod == "set":
		if len(rest) < 2 {
			return 0, fmt.Errorf("--match-set needs a set and a direction")
		}
		p.matchSet(rest[0], rest[1], neg)
		return 2, nil
	case mod == "set" && (opt == "--return-nomatch" || opt == "--update-counters" || opt == "--update-subcounters"):
		return 0, nil
	case mod == "limit" && opt == "--limit":
		p.add(&Assume{Result: true, Why: "rate limit not exceeded (-m limit --limit " + val + ")"})
		return 1, nil
	case mod == "limit" && opt == "--limit-burst":
		return 1, nil
	case mod == "hashlimit" && (opt == "--hashlimit-upto" || opt == "--hashlimit"):
		p.add(&Assume{Result: true, Why: "rate limit not exceeded (-m hashlimit " + text + ")"})
		return 1, nil
	case mod == "hashlimit" && opt == "--hashlimit-above":
		p.add(&Assume{Result: false, Why: "rate limit not exceeded (-m hashlimit " + text + ")"})
		return 1, nil
	case mod == "hashlimit":
		if opt == "--hashlimit-name" || strings.HasPrefix(opt, "--hashlimit-") {
			return 1, nil
		}
	case mod == "connlimit" && opt == "--connlimit-above":
		p.add(&Assume{Result: false, Why: "connection count under its limit (-m connlimit " + text + ")"})
		return 1, nil
	case mod == "connlimit" && opt == "--connlimit-upto":
		p.add(&Assume{Result: true, Why: "connection count under its limit (-m connlimit " + text + ")"})
		return 1, nil
	case mod == "connlimit":
		if opt == "--connlimit-mask" {
			return 1, nil
		}
		if opt == "--connlimit-saddr" || opt == "--connlimit-daddr" {
			return 0, nil
		}
	case mod == "rpfilter":
		// Its flags (read when -m rpfilter was seen) take no value.
		return 0, nil
	}
	// An option the evaluator does not know: the rule is uncertain. Take
	// the value along when it does not look like an option.
	n := 0
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") && rest[0] != "!" {
		n = 1
	}
	w := "-m " + mod + " " + opt
	if n == 1 {
		w += " " + rest[0]
	}
	if neg {
		w = "! " + w
	}
	p.unknown(w)
	return n, nil
}

// recent reads the options of -m recent. "--set" only records the source
// and always matches; "--update"/"--rcheck" with "--hitcount" limit how
// often a source connects (assumed not exceeded); without a hit count they
// ask whether the source was seen before, which is state the evaluator
// cannot see.
func (p *iptRule) recent(opts []string) {
	has := func(o string) bool {
		for _, x := range opts {
			if x == o {
				return true
			}
		}
		return false
	}
	text := "-m recent " + strings.Join(opts, " ")
	inv := len(opts) > 0 && opts[0] == "!"
	switch {
	case has("--set") && !inv:
		p.add(&Stmt{})
	case (has("--update") || has("--rcheck")) && has("--hitcount"):
		p.add(&Assume{Result: inv, Why: "the client has not connected too often lately (" + text + ")"})
	default:
		p.unknown(text)
	}
}

// portsEither is multiport --ports: the source or the destination port is
// in the list. Read as "dport in list, else unknown".
type portsEither struct {
	nums []NumRange
	text string
}

func (*portsEither) isExpr() {}

func (p *iptRule) matchSet(name, dir string, neg bool) {
	text := "-m set --match-set " + name + " " + dir
	if neg {
		text = "-m set ! --match-set " + name + " " + dir
	}
	p.r.sets = append(p.r.sets, name)
	s := p.ipsets[name]
	if s == nil {
		p.unknown(text + " (the ipset's contents are not known)")
		return
	}
	if !s.Supported {
		p.unknown(text + " (" + s.Why + ")")
		return
	}
	var f Field
	switch dir {
	case "src":
		f = FieldSaddr
	case "dst":
		f = FieldDaddr
	default:
		p.unknown(text + " (a set with several dimensions)")
		return
	}
	var val Value
	for _, el := range s.Elems {
		val = unionValue(val, el.Val)
	}
	val.Kind = ValAddrs
	p.add(&Match{Field: f, Negate: neg, Val: val})
}

// parseIPTAddrs reads -s/-d values: "10.0.0.0/8", "1.2.3.4", "10.0.0.0/255.0.0.0",
// or a comma-separated list of them.
func parseIPTAddrs(v string, family int) (AddrSet, bool) {
	var out AddrSet
	for _, part := range strings.Split(v, ",") {
		a, m, hasMask := strings.Cut(part, "/")
		addr, err := netip.ParseAddr(a)
		if err != nil || (addr.Is4() != (family == 4)) {
			return AddrSet{}, false
		}
		if !hasMask {
			out = out.Union(SingleAddr(addr))
			continue
		}
		bits, err := strconv.Atoi(m)
		if err != nil {
			mask, err := netip.ParseAddr(m)
			if err != nil {
				return AddrSet{}, false
			}
			bits = maskLen(mask)
			if bits < 0 {
				return AddrSet{}, false
			}
		}
		if bits < 0 || bits > addr.BitLen() {
			return AddrSet{}, false
		}
		out = out.Union(PrefixSet(netip.PrefixFrom(addr, bits)))
	}
	return out, true
}

// maskLen returns the prefix length of a contiguous netmask, -1 otherwise.
func maskLen(m netip.Addr) int {
	b := m.AsSlice()
	n := 0
	seenZero := false
	for _, x := range b {
		for i := 7; i >= 0; i-- {
			if x&(1<<i) != 0 {
				if seenZero {
					return -1
				}
				n++
			} else {
				seenZero = true
			}
		}
	}
	return n
}

// parsePorts reads "22", "1000:2000", "22,80,8000:8080".
func parsePorts(v, rangeSep string) ([]NumRange, bool) {
	var out []NumRange
	for _, part := range strings.Split(v, ",") {
		lo, hi, isRange := strings.Cut(part, rangeSep)
		a, ok := portNumber(lo, 0)
		if !ok {
			return nil, false
		}
		b := a
		if isRange {
			if b, ok = portNumber(hi, 65535); !ok {
				return nil, false
			}
		}
		if b < a {
			a, b = b, a
		}
		out = append(out, NumRange{a, b})
	}
	return out, true
}

func portNumber(s string, empty uint32) (uint32, bool) {
	if s == "" {
		return empty, true
	}
	if n, err := strconv.ParseUint(s, 10, 16); err == nil {
		return uint32(n), true
	}
	n, ok := serviceNumbers[s]
	return n, ok
}

func iptFlags(s string) (uint32, bool) {
	bitsOf := map[string]uint32{"FIN": 0x01, "SYN": 0x02, "RST": 0x04, "PSH": 0x08, "ACK": 0x10, "URG": 0x20,
		"ECE": 0x40, "CWR": 0x80, "ALL": 0xff, "NONE": 0}
	var out uint32
	for _, f := range strings.Split(s, ",") {
		b, ok := bitsOf[strings.ToUpper(f)]
		if !ok {
			return 0, false
		}
		out |= b
	}
	return out, true
}
